import Foundation

/// One native wait for concurrent async callers of a keeper: the core
/// already sends one refresh however many callers ask, but each caller
/// crossing into it on its own costs a native call and a wake-up. So callers
/// that arrive while a call is in flight await its `Task` instead.
///
/// The call is an unstructured `Task`, no caller's child: cancelling a
/// caller (the first included) ends only that caller's wait; the others get
/// the result, and an error reaches every one of them. A caller arriving
/// after the call ended starts a new one.
final class SharedCall<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var inFlight: Task<Value, Error>?

    /// The result of the call in flight, or of `call` run as a new one.
    func join(_ call: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = lock.withLock { () -> Task<Value, Error> in
            if let running = inFlight { return running }
            let started = Task { [self] in
                // Takes the lock, so it cannot run before `inFlight` is set.
                defer { lock.withLock { inFlight = nil } }
                return try await call()
            }
            inFlight = started
            return started
        }
        return try await task.value
    }
}
