/// Stores written in Swift implement `load`, `save` and `delete`; `lock` and
/// `unlock` default to doing nothing.
///
/// The core holds the in-process lock of each account itself, for every
/// store, so a store's own lock only matters for exclusion *across*
/// processes (an app and its extensions sharing a Keychain access group, two
/// CLI processes on one file). Implement both to provide one; throw
/// `StoreError.LockTimeout` when `timeoutMs` passes.
///
/// ```swift
/// final class DictionaryStore: TokenStore, @unchecked Sendable {
///     private let lock = NSLock()
///     private var records: [String: Data] = [:]
///     func load(key: String) throws -> Data? { lock.withLock { records[key] } }
///     func save(key: String, record: Data) throws { lock.withLock { records[key] = record } }
///     func delete(key: String) throws { _ = lock.withLock { records.removeValue(forKey: key) } }
/// }
/// ```
extension TokenStore {
    /// Does nothing: no lock across processes.
    public func lock(key: String, timeoutMs: Int64) throws {}

    /// Does nothing: no lock across processes.
    public func unlock(key: String) throws {}
}
