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
            accessToken: tokens.accessToken(), refreshToken: tokens.refreshToken(), expiresInSecs: 3_600)

        clock.advanceSecs(secs: 3_600)
        _ = try await a.accessToken() // a refreshes first and rotates
        do {
            _ = try await b.accessToken()
            XCTFail("b presented the spent refresh token and must have failed")
        } catch let error as TokenKeepError {
            guard case .SessionExpired(let detail, let oauthError) = error else {
                return XCTFail("expected SessionExpired, got \(error)")
            }
            XCTAssertEqual(oauthError, "invalid_grant")
            XCTAssertEqual(advice(for: error), "sign in")
            // The core's wording (its Display), in every Swift spelling of the text.
            XCTAssertEqual(error.description, "session expired, sign in again: \(detail)")
            XCTAssertEqual(error.localizedDescription, error.description)
            XCTAssertEqual("\(error)", error.description)
        }
        XCTAssertEqual(b.state(), .sessionExpired)
        XCTAssertNil(b.tokens())

        // The server revoked the whole family: a's rotated tokens are dead too.
        clock.advanceSecs(secs: 3_600)
        await assertThrowsSessionExpired { _ = try await a.accessToken() }
        XCTAssertEqual(a.state(), .sessionExpired)
        XCTAssertTrue(flushListenerEvents(timeoutMs: 5_000))
        XCTAssertEqual(listener.sessionExpiries.count, 1, "one session-expired event: \(listener.sessionExpiries)")

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
            guard case .Transient(let detail, _, let retryAfterSecs) = error else {
                return XCTFail("expected Transient, got \(error)")
            }
            XCTAssertEqual(retryAfterSecs, 2)
            XCTAssertEqual(advice(for: error), "retry in 2 s")
            XCTAssertEqual(error.localizedDescription, "temporary failure, try again later: \(detail)")
        }
        XCTAssertNotNil(keeper.tokens(), "tokens are kept after a transient failure")
        _ = try await keeper.accessToken() // the fault is used up: the refresh goes through
    }

    func testWithoutTokensTheErrorSaysSignIn() async throws {
        let keeper = try makeKeeper()
        do {
            _ = try await keeper.accessToken()
            XCTFail("no tokens yet")
        } catch TokenKeepError.NotSignedIn(let detail) {
            XCTAssertFalse(detail.isEmpty)
        }
    }

    func testAnInvalidOptionIsAConfigurationErrorWithTheCoresText() throws {
        var options = server.options()
        options.policy.maxRetries = -1
        XCTAssertThrowsError(try TokenKeeper(options: options)) {
            guard case TokenKeepError.Configuration(let detail, let oauthError) = $0 else { return XCTFail("\($0)") }
            XCTAssertNil(oauthError)
            XCTAssertTrue(detail.contains("max_retries"), detail)
            XCTAssertEqual($0.localizedDescription, ($0 as? TokenKeepError)?.description)
        }
    }

    func testTheOptionsDescriptionHidesTheClientSecret() {
        var options = server.options()
        options.clientSecret = "s3cr3t-client-value"
        for text in [String(describing: options), String(reflecting: options)] {
            XCTAssertFalse(text.contains("s3cr3t-client-value"), text)
            XCTAssertTrue(text.contains("public-app"), "the description shows the other fields: \(text)")
        }
    }

    /// The switch an app writes (exhaustive: a new case breaks this build).
    private func advice(for error: TokenKeepError) -> String {
        switch error {
        case .SessionExpired, .NotSignedIn: return "sign in"
        case .Transient(_, _, let retryAfterSecs): return "retry in \(retryAfterSecs ?? 0) s"
        case .Authorization: return "sign-in failed"
        case .Storage(let kind, _): return "storage: \(kind)"
        case .BadResponse, .Configuration, .Internal: return "report"
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
