import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenKeep
import XCTest

/// No token, refresh token or PKCE verifier in any description or error text.
final class RedactionTests: FixtureTestCase {
    func testNoSecretAppearsInDescriptionsOrErrors() async throws {
        let clock = ManualClock()
        let a = try makeKeeper(clock: clock)
        let b = try makeKeeper(clock: clock)
        let request = try a.authorizationRequest(extraParams: [:])
        let tokens = try await a.completeAuthorization(
            request: request, callbackUrl: try await HTTP.redirectLocation(of: request.url()))
        var secrets = [tokens.accessToken(), try XCTUnwrap(tokens.refreshToken()), request.codeVerifier()]
        _ = try b.setTokens(
            accessToken: tokens.accessToken(), refreshToken: tokens.refreshToken(), expiresInSecs: 3_600)

        var texts: [String] = []
        func look(_ value: Any) {
            texts.append(String(describing: value))
            texts.append(String(reflecting: value))
            if let error = value as? any Error { texts.append(error.localizedDescription) }
        }
        var options = server.options()
        options.clientSecret = "s3cr3t-of-the-client"
        secrets.append("s3cr3t-of-the-client")
        look(options)
        look(tokens)
        look(a)
        look(request)
        look(try await a.accessTokenLease())

        // Errors: session expired (b reuses a's spent refresh token), refusal
        // of a foreign origin, a store failure, a transient failure.
        clock.advanceSecs(secs: 3_600)
        let refreshed = try await a.accessToken()
        secrets.append(refreshed)
        secrets.append(try XCTUnwrap(a.tokens()?.refreshToken()))
        do { _ = try await b.accessToken() } catch { look(error) }
        do { _ = try await a.authorize(URLRequest(url: URL(string: "https://evil.example/?token=x")!)) } catch { look(error) }
        let failing = try makeKeeper(store: FailingStore(error: StoreError.Io(detail: "disk full")))
        do { _ = try failing.setTokens(accessToken: secrets[0], refreshToken: secrets[1], expiresInSecs: 60) } catch { look(error) }
        try await server.admin("/admin/faults", ["count": 10, "status": 503])
        var policy = RefreshPolicy()
        policy.maxRetries = 0
        let c = try makeKeeper(clock: clock, policy: policy)
        _ = try c.setTokens(accessToken: refreshed, refreshToken: a.tokens()?.refreshToken(), expiresInSecs: 60)
        clock.advanceSecs(secs: 120)
        do { _ = try await c.accessToken() } catch { look(error) }
        look(a)

        XCTAssertEqual(texts.filter { $0.contains("Error") || $0.contains("error") || $0.contains("failure") }.isEmpty, false)
        for text in texts {
            for secret in secrets {
                XCTAssertFalse(text.contains(secret), "a secret leaked into: \(text)")
            }
        }
    }
}
