/// Stores written in Swift implement `load`, `save` and `delete`; `lock` and
/// `unlock` default to doing nothing.
///
/// The core holds the in-process lock of each account itself, for every
/// store, so a store's own lock only matters for exclusion *across*
/// processes (an app and its extensions sharing a Keychain access group, two
/// CLI processes on one file). Implement both to provide one; throw
/// `StoreError.LockTimeout` when `timeoutMs` passes.
extension TokenStore {
    /// Does nothing: no lock across processes.
    public func lock(key: String, timeoutMs: Int64) throws {}

    /// Does nothing: no lock across processes.
    public func unlock(key: String) throws {}
}
