import Foundation

/// A ``TokenStore`` written in Swift whose records belong to this process
/// (the Keychain, files in the app's container, memory): implement `load`,
/// `save` and `delete`; `lock` and `unlock` come with it.
///
/// The core refreshes under the store's lock for the account key, so that two
/// sessions sharing a store never refresh the same rotating refresh token
/// twice (the second refresh would end the session). Here that lock is
/// process-wide and per key: exclusive between every session of this process,
/// whatever store instance they hold, which is what a store that no other
/// process writes needs. A store shared between processes (an app and its
/// extensions writing one file) must implement `lock`/`unlock` itself with
/// a cross-process lock.
///
/// The core calls every method from its own threads, never the main thread,
/// and may call `lock` on one thread and `unlock` on another. Methods must be
/// thread-safe and must not hop to the main actor synchronously (that can
/// deadlock an app that waits for the core on the main thread).
///
/// Errors: throw a ``StoreError`` to say which kind of failure it was (the
/// app sees `TokenKeepError.Storage(kind:message:)`); any other error
/// arrives as kind `.other` with its description. Never put the record's
/// bytes in a message: they hold live tokens.
///
/// ```swift
/// final class DictionaryStore: ProcessLocalTokenStore, @unchecked Sendable {
///     private let lock = NSLock()
///     private var records: [String: Data] = [:]
///     func load(key: String) throws -> Data? { lock.withLock { records[key] } }
///     func save(key: String, record: Data) throws { lock.withLock { records[key] = record } }
///     func delete(key: String) throws { lock.withLock { records[key] = nil } }
/// }
/// ```
public protocol ProcessLocalTokenStore: TokenStore {}

extension ProcessLocalTokenStore {
    /// Takes this process's lock on `key`, waiting at most `timeoutMs`.
    public func lock(key: String, timeoutMs: UInt64) throws {
        guard KeyLocks.process.lock(key, timeoutMs: timeoutMs) else {
            throw StoreError.LockTimeout(message: "waited \(timeoutMs) ms for this process's lock on key `\(key)`")
        }
    }

    /// Releases this process's lock on `key`.
    public func unlock(key: String) throws {
        KeyLocks.process.unlock(key)
    }
}
