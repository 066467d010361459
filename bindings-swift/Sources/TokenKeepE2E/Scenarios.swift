import Foundation
import TokenKeep

/// Runs the scenario `id`; an id without an implementation is a failure.
func run(_ id: String, _ server: E2EServer) async throws {
    switch id {
    case "sign_in_pkce": try await signInPKCE(server)
    case "refresh_on_expiry": try await refreshOnExpiry(server)
    case "rotation": try await rotation(server)
    case "single_flight": try await singleFlight(server)
    case "reuse_ends_session": try await reuseEndsSession(server)
    case "logout_revokes": try await logoutRevokes(server)
    case "client_credentials_renewal": try await clientCredentialsRenewal(server)
    case "device_flow": try await deviceFlow(server)
    default: throw Failure("scenario `\(id)` is not implemented in Swift")
    }
}

func signInPKCE(_ server: E2EServer) async throws {
    let keeper = try server.userKeeper()
    try await server.signIn(keeper)
    guard let tokens = keeper.tokens() else { throw Failure("no tokens after sign-in") }
    try check(tokens.hasRefreshToken(), "no refresh token")
    try check(keeper.state() == .valid, "state is not Valid")
}

func refreshOnExpiry(_ server: E2EServer) async throws {
    let keeper = try server.userKeeper()
    try await server.signIn(keeper)
    let first = try await keeper.accessToken()
    let before = try await server.grants("refresh_token")
    try await server.sleepPastExpiry()
    let second = try await keeper.accessToken()
    try check(first != second, "the token did not change after expiry")
    let after = try await server.grants("refresh_token")
    try check(after == before + 1, "not exactly one refresh (\(after - before))")
}

func rotation(_ server: E2EServer) async throws {
    let keeper = try server.userKeeper()
    try await server.signIn(keeper)
    guard let old = keeper.tokens()?.refreshToken() else { throw Failure("no refresh token") }
    guard let new = try await keeper.refresh().refreshToken() else { throw Failure("no new refresh token") }
    try check(old != new, "the refresh token did not rotate")
    let oldActive = try await server.isActive(old)
    try check(!oldActive, "the old refresh token is still active")
    let newActive = try await server.isActive(new)
    try check(newActive, "the new refresh token is not active")
}

func singleFlight(_ server: E2EServer) async throws {
    let keeper = try server.userKeeper()
    try await server.signIn(keeper)
    try await server.sleepPastExpiry()
    let before = try await server.grants("refresh_token")
    let callers = server.concurrentCallers
    let tokens = try await withThrowingTaskGroup(of: String.self) { group in
        for _ in 0..<callers {
            group.addTask { try await keeper.accessToken() }
        }
        var all: [String] = []
        for try await token in group { all.append(token) }
        return all
    }
    try check(tokens.count == callers && Set(tokens).count == 1, "callers got different tokens")
    let refreshes = try await server.grants("refresh_token") - before
    try check(refreshes == 1, "\(refreshes) refreshes for \(callers) callers")
}

func reuseEndsSession(_ server: E2EServer) async throws {
    let a = try server.userKeeper()
    try await server.signIn(a)
    guard let tokens = a.tokens() else { throw Failure("no tokens") }
    let b = try server.userKeeper()
    _ = try b.setTokens(
        accessToken: tokens.accessToken(), refreshToken: tokens.refreshToken(), expiresInSecs: 3)
    _ = try await a.refresh()
    do {
        _ = try await b.refresh()
        throw Failure("expected SessionExpired, B refreshed")
    } catch TokenKeepError.SessionExpired {
    } catch let error as TokenKeepError {
        throw Failure("expected SessionExpired, got \(error)")
    }
    try check(b.state() == .sessionExpired, "B's state is not SessionExpired")
}

func logoutRevokes(_ server: E2EServer) async throws {
    let keeper = try server.userKeeper()
    try await server.signIn(keeper)
    guard let refreshToken = keeper.tokens()?.refreshToken() else { throw Failure("no refresh token") }
    let outcome = try await keeper.logout()
    try check(outcome.fullyRevoked, "the server did not confirm both revocations")
    let active = try await server.isActive(refreshToken)
    try check(!active, "the refresh token is still active")
    do {
        _ = try await keeper.accessToken()
        throw Failure("expected NotSignedIn, got a token")
    } catch TokenKeepError.NotSignedIn {
    } catch let error as TokenKeepError {
        throw Failure("expected NotSignedIn, got \(error)")
    }
}

func clientCredentialsRenewal(_ server: E2EServer) async throws {
    let keeper = try server.m2mKeeper()
    let before = try await server.grants("client_credentials")
    let first = try await keeper.accessToken()
    try await server.sleepPastExpiry()
    let second = try await keeper.accessToken()
    try check(first != second, "the token was not renewed")
    let grants = try await server.grants("client_credentials") - before
    try check(grants == 2, "\(grants) client_credentials grants, expected 2")
}

func deviceFlow(_ server: E2EServer) async throws {
    let keeper = try server.userKeeper()
    let device = try await keeper.startDeviceAuthorization()
    let userCode = device.userCode()
    // The user approves about a second later, from another task. If that
    // fails, the polling is cancelled rather than left to run until the code expires.
    let approval = Task {
        do {
            try await Task.sleep(for: .seconds(1))
            try await server.approveDevice(userCode: userCode)
        } catch {
            device.cancel()
            throw error
        }
    }
    let completion: Result<TokenSet, any Error>
    do {
        completion = .success(try await keeper.completeDeviceAuthorization(device: device))
    } catch {
        completion = .failure(error)
    }
    try await approval.value // a failed approval explains a cancelled completion
    let tokens = try completion.get()
    try check(tokens.hasRefreshToken(), "no refresh token")
    try check(keeper.state() == .valid, "state is not Valid")
}
