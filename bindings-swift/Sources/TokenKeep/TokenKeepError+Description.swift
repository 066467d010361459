import Foundation

// Descriptions for people. uniffi's default (`String(reflecting:)`, a dump
// of the enum case) is switched off in uniffi-swift.toml; these read like
// the core's own messages. The core's messages never contain a token, a
// client secret or a URL query, and nothing here adds one.

extension TokenKeepError: CustomStringConvertible, LocalizedError {
    /// What happened and what to do about it, without any secret.
    public var description: String {
        switch self {
        case .SessionExpired(let message):
            return "Session expired, sign in again: \(message)"
        case .NotSignedIn(let message):
            return "Not signed in: \(message)"
        case .Transient(let message, let retryAfterSecs):
            let wait = retryAfterSecs.map { " (the server asked to wait \($0) s)" } ?? ""
            return "Temporary failure, try again later\(wait): \(message)"
        case .Authorization(let message):
            return "Sign-in failed: \(message)"
        case .Protocol(let message):
            return "Unusable answer from the server: \(message)"
        case .Configuration(let message):
            return "Configuration error: \(message)"
        case .Storage(let kind, let message):
            return "Token store error (\(kind)): \(message)"
        case .Internal(let message):
            return "Internal error in tokenkeep (please report it): \(message)"
        }
    }

    /// Same as ``description``; what `localizedDescription` shows.
    public var errorDescription: String? { description }

    /// How long the server asked to wait before trying again, for `.Transient`.
    public var retryAfter: Duration? {
        guard case .Transient(_, let secs?) = self else { return nil }
        return .seconds(Int64(clamping: secs))
    }

    /// Whether the user has to sign in (again) before anything else works.
    public var requiresSignIn: Bool {
        switch self {
        case .SessionExpired, .NotSignedIn: return true
        default: return false
        }
    }
}

extension StoreError: CustomStringConvertible, LocalizedError {
    /// The store's message, prefixed with the kind of failure.
    public var description: String {
        switch self {
        case .Io(let message): return "Storage I/O failure: \(message)"
        case .WrongKey(let message): return "Record encrypted under another key: \(message)"
        case .Corrupt(let message): return "Corrupt record: \(message)"
        case .LockTimeout(let message): return "Timed out waiting for the store lock: \(message)"
        case .Failed(let message): return "Store failure: \(message)"
        }
    }

    /// Same as ``description``; what `localizedDescription` shows.
    public var errorDescription: String? { description }
}
