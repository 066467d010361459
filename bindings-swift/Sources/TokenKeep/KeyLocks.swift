import Foundation

/// Exclusive locks named by a string, with a timeout, that any thread may
/// release (the core may take a store lock on one thread and release it on
/// another, so a mutex owned by a thread will not do).
final class KeyLocks: @unchecked Sendable {
    /// The locks behind ``ProcessLocalTokenStore``.
    static let process = KeyLocks()

    private let condition = NSCondition()
    private var held = Set<String>() // guarded by `condition`

    /// Takes the lock on `key`; false when it stayed taken for `timeoutMs`.
    func lock(_ key: String, timeoutMs: UInt64) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1000)
        condition.lock()
        defer { condition.unlock() }
        while held.contains(key) {
            if !condition.wait(until: deadline), held.contains(key) {
                return false
            }
        }
        held.insert(key)
        return true
    }

    /// Releases the lock on `key` (releasing a free lock does nothing).
    func unlock(_ key: String) {
        condition.lock()
        held.remove(key)
        condition.broadcast()
        condition.unlock()
    }
}
