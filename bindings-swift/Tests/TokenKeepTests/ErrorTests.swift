import Foundation
import TokenKeep
import XCTest

/// The errors an app switches on: session expired (invalid_grant ends the
/// session, the listener is told once), transient with Retry-After (tokens
/// kept), not signed in.
final class ErrorTests: FixtureTestCase {
    func testReusingARotatedRefreshTokenEndsTheSession() async throws {
        // Two sessions hold copies of the same refresh token (a leaked copy,
        // or two processes that do not share a store).
        let clock = ManualClock()
        let listener = RecordingListener()
        let a = try makeKeeper(clock: clock, listener: listener)
        let b = try makeKeeper(clock: clock)
        let tokens = try await server.signIn(a)
        _ = try b.setTokens(
            accessToken: tokens.accessToken(), refreshToken: tokens.refreshToken(), expiresInSecs: 3_600, scope: nil)

        clock.advanceSecs(secs: 3_600)
        _ = try await a.accessToken() // a refreshes first and rotates
        do {
            _ = try await b.accessToken()
            XCTFail("b presented the spent refresh token and must have failed")
        } catch let error as TokenKeepError {
            switch error {
            case .SessionExpired(let message):
                XCTAssertTrue(message.contains("invalid_grant"), message)
            default:
                XCTFail("expected SessionExpired, got \(error)")
            }
            XCTAssertTrue(error.requiresSignIn)
            XCTAssertEqual(advice(for: error), "sign in")
            XCTAssertTrue(error.localizedDescription.hasPrefix("Session expired, sign in again"), error.localizedDescription)
        }
        XCTAssertEqual(b.state(), .sessionExpired)
        XCTAssertNil(b.tokens())

        // The server revoked the whole family: a's rotated tokens are dead too.
        clock.advanceSecs(secs: 3_600)
        await assertThrowsSessionExpired { _ = try await a.accessToken() }
        XCTAssertEqual(a.state(), .sessionExpired)
        await eventually("one session-expired event") { listener.sessionExpiries.count == 1 }

        // Further calls fail the same way without asking the server.
        let before = try await server.stats()["token_requests"] as? [String: Any]
        await assertThrowsSessionExpired { _ = try await a.refresh() }
        let after = try await server.stats()["token_requests"] as? [String: Any]
        XCTAssertEqual(before?["total"] as? Int, after?["total"] as? Int)
    }

    func testATransientFailureKeepsTheTokensAndCarriesRetryAfter() async throws {
        let clock = ManualClock()
        var policy = RefreshPolicy()
        policy.maxRetries = 0
        let keeper = try makeKeeper(clock: clock, policy: policy)
        try await server.signIn(keeper)
        try await server.admin("/admin/faults", ["count": 1, "status": 503, "retry_after": 2])

        clock.advanceSecs(secs: 3_600)
        do {
            _ = try await keeper.accessToken()
            XCTFail("the token endpoint answered 503")
        } catch let error as TokenKeepError {
            guard case .Transient(_, let retryAfterSecs) = error else {
                return XCTFail("expected Transient, got \(error)")
            }
            XCTAssertEqual(retryAfterSecs, 2)
            XCTAssertEqual(error.retryAfter, .seconds(2))
            XCTAssertEqual(advice(for: error), "retry in 2 s")
            XCTAssertFalse(error.requiresSignIn)
            XCTAssertTrue(error.description.contains("try again later"), error.description)
        }
        XCTAssertNotNil(keeper.tokens(), "tokens are kept after a transient failure")
        _ = try await keeper.accessToken() // the fault is used up: the refresh goes through
    }

    func testWithoutTokensTheErrorSaysSignIn() async throws {
        let keeper = try makeKeeper()
        do {
            _ = try await keeper.accessToken()
            XCTFail("no tokens yet")
        } catch TokenKeepError.NotSignedIn(let message) {
            XCTAssertFalse(message.isEmpty)
        }
    }

    /// The switch an app writes (exhaustive: a new case breaks this build).
    private func advice(for error: TokenKeepError) -> String {
        switch error {
        case .SessionExpired, .NotSignedIn: return "sign in"
        case .Transient(_, let retryAfterSecs): return "retry in \(retryAfterSecs ?? 0) s"
        case .Authorization: return "sign-in failed"
        case .Storage(let kind, _): return "storage: \(kind)"
        case .Protocol, .Configuration, .Internal: return "report"
        }
    }

    private func assertThrowsSessionExpired(
        _ call: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line
    ) async {
        do {
            try await call()
            XCTFail("expected SessionExpired", file: file, line: line)
        } catch TokenKeepError.SessionExpired {
        } catch {
            XCTFail("expected SessionExpired, got \(error)", file: file, line: line)
        }
    }
}
