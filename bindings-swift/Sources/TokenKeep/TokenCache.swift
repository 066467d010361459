import Foundation

/// The fast path: the access token kept in Swift until a deadline the core
/// hands out, so most requests do not cross into the core at all.
///
/// `TokenKeeper.accessTokenLease()` returns the token and `validForMs`: how
/// long it may be served without asking again (until it is due for refresh
/// or expires, at most 60 s), so refresh-ahead still happens on time. The
/// cache remembers that answer on `ContinuousClock`, which keeps counting
/// while the device sleeps, measured from just *before* the call.
///
/// The entry is dropped when the core reports that the tokens changed or the
/// session ended (its listener events) and when a server rejects the token
/// (``invalidate()``, on HTTP 401). A generation counter keeps a lease that
/// was fetched before an invalidation from being stored after it. Off with a
/// `ManualClock`: wall time does not follow a manual clock.
final class TokenCache: Sendable {
    private let keeper: TokenKeeper
    private let state: State

    /// A cache in front of `keeper`; `enabled: false` asks the core every time.
    init(keeper: TokenKeeper, enabled: Bool) {
        self.keeper = keeper
        self.state = State(enabled: enabled)
        if enabled {
            keeper.addListener(listener: Invalidator(state: state))
        }
    }

    /// A valid access token: the cached one while its lease runs, else the core's.
    func accessToken() async throws -> String {
        guard state.enabled else { return try await keeper.accessToken() }
        if let token = state.current() { return token }
        let ticket = state.ticket()
        let lease = try await keeper.accessTokenLease()
        let token = lease.accessToken()
        state.keep(token, for: .milliseconds(lease.validForMs()), ticket: ticket)
        return token
    }

    /// Forgets the token (the server rejected it, or the app changed tokens).
    func invalidate() {
        state.invalidate()
    }

    /// The entry and its generation, behind a lock. Separate from the cache so
    /// that the listener the keeper holds does not hold the keeper.
    private final class State: @unchecked Sendable {
        let enabled: Bool
        private let lock = NSLock()
        private var entry: (token: String, until: ContinuousClock.Instant)? // guarded by lock
        private var generation: UInt64 = 0 // guarded by lock

        init(enabled: Bool) { self.enabled = enabled }

        func current() -> String? {
            lock.withLock {
                guard let entry, ContinuousClock.now < entry.until else { return nil }
                return entry.token
            }
        }

        func ticket() -> (generation: UInt64, start: ContinuousClock.Instant) {
            lock.withLock { (generation, ContinuousClock.now) }
        }

        func keep(_ token: String, for duration: Duration, ticket: (generation: UInt64, start: ContinuousClock.Instant)) {
            guard duration > .zero else { return }
            lock.withLock {
                if ticket.generation == generation { entry = (token, ticket.start + duration) }
            }
        }

        func invalidate() {
            lock.withLock {
                generation &+= 1
                entry = nil
            }
        }
    }

    /// Drops the entry on every core event: tokens changed (refreshed, set,
    /// adopted from another session, logged out), session expired, and a
    /// failed refresh.
    private final class Invalidator: SessionListener {
        private let state: State
        init(state: State) { self.state = state }
        func onTokensChanged(event: TokensChanged) { state.invalidate() }
        func onSessionExpired(message: String) { state.invalidate() }
        func onRefreshFailed(failure: RefreshFailure) { state.invalidate() }
    }
}
