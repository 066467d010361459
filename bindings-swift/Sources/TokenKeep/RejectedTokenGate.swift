/// What to retry with after a server answered HTTP 401 to an access token:
/// at most one refresh however many requests were rejected at once.
///
/// Each rejected request asks the gate with the token it sent. If the
/// session's token has changed since (someone else refreshed), that token is
/// used; if a refresh for this same rejected token is already running, its
/// result is shared; otherwise the gate starts one. The actor makes the
/// check-then-start step atomic; tokens are compared in constant time.
actor RejectedTokenGate {
    private let keeper: TokenKeeper
    private var running: (rejected: String, refresh: Task<String, any Error>)?

    init(keeper: TokenKeeper) {
        self.keeper = keeper
    }

    /// A token to retry with, other than `rejected` unless the refresh handed
    /// it back again.
    func token(replacing rejected: String) async throws -> String {
        if let current = keeper.tokens()?.accessToken(), !sameSecret(current, rejected) {
            return try await keeper.accessToken()
        }
        if let running, sameSecret(running.rejected, rejected) {
            return try await running.refresh.value
        }
        let keeper = self.keeper
        let refresh = Task { try await keeper.refresh().accessToken() }
        running = (rejected, refresh)
        defer {
            if running?.refresh == refresh { running = nil }
        }
        return try await refresh.value
    }
}

/// Whether two secrets are equal, in time that depends only on their length.
func sameSecret(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in x.indices { difference |= x[i] ^ y[i] }
    return difference == 0
}
