import Foundation

/// The access token kept in Swift until a deadline the core hands out, so
/// that most `accessToken()` calls do not cross into the core.
///
/// A get/put store with a generation counter; every rule about *when* the
/// token stops being the answer is the core's: it calls ``invalidate()``
/// synchronously whenever the tokens change, a refresh fails, the session
/// ends or an API rejects the token (`refreshIfRejected`). `put` keeps a
/// lease only if no invalidation happened since its ``ticket()`` was taken,
/// before the core was asked. Deadlines are on `ContinuousClock` (it keeps
/// counting while the device sleeps), measured from the ticket.
final class AccessTokenCache: TokenCache, @unchecked Sendable {
    struct Ticket {
        let generation: UInt64
        let start: ContinuousClock.Instant
    }

    private let lock = NSLock()
    private var entry: (token: String, until: ContinuousClock.Instant)? // guarded by lock
    private var generation: UInt64 = 0 // guarded by lock

    /// The token while its lease runs.
    func get() -> String? {
        lock.withLock {
            guard let entry, ContinuousClock.now < entry.until else { return nil }
            return entry.token
        }
    }

    /// Take before asking the core for a lease.
    func ticket() -> Ticket {
        lock.withLock { Ticket(generation: generation, start: .now) }
    }

    /// Keeps `token` for `validForMs` from the ticket, unless invalidated since.
    func put(ticket: Ticket, token: String, validForMs: Int64) {
        guard validForMs > 0 else { return }
        lock.withLock {
            if ticket.generation == generation { entry = (token, ticket.start + .milliseconds(validForMs)) }
        }
    }

    /// Forgets the token (called by the core).
    func invalidate() {
        lock.withLock {
            generation &+= 1
            entry = nil
        }
    }
}
