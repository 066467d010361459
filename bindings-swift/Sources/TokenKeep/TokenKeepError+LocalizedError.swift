import Foundation

/// `TokenKeepError` is the one error of every tokenkeep call; its text is
/// the core's, worded once for every language ("session expired, sign in
/// again: …"): the generated `description` calls the core's `Display`, and
/// this makes `localizedDescription` and string interpolation say the same.
/// Switch on the variant to decide what to do; `oauthError` carries the
/// server's RFC 6749 §5.2 `error` code when it sent one.
extension TokenKeepError: CustomStringConvertible, LocalizedError {
    /// The core's text (``description``).
    public var errorDescription: String? { description }
}
