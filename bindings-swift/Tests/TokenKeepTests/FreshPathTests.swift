import Foundation
import TokenKeep
import XCTest

/// Signing in and serving a fresh token, with no refresh.
final class FreshPathTests: FixtureTestCase {
    func testSignInThroughAuthorizeThenServeTheSameTokenWithoutRefreshing() async throws {
        let keeper = try makeKeeper()
        XCTAssertEqual(keeper.state(), .empty)
        let signedIn = try await server.signIn(keeper)
        XCTAssertTrue(signedIn.hasRefreshToken())
        XCTAssertEqual(keeper.state(), .valid)

        let first = try await keeper.accessToken()
        XCTAssertEqual(first, signedIn.accessToken())
        for _ in 0..<100 {
            let again = try await keeper.accessToken()
            XCTAssertEqual(again, first)
        }
        let stats = try await server.stats()
        let tokenRequests = try XCTUnwrap(stats["token_requests"] as? [String: Any])
        XCTAssertEqual(tokenRequests["authorization_code"] as? Int, 1)
        XCTAssertEqual(tokenRequests["refresh_token"] as? Int, 0)
    }

    func testTheBlockingTwinServesTheSameTokenFromAnyThread() async throws {
        let keeper = try makeKeeper()
        let token = try await server.signIn(keeper).accessToken()
        let fromThread = try await withCheckedThrowingContinuation { (done: CheckedContinuation<String, any Error>) in
            Thread.detachNewThread { done.resume(with: Result { try keeper.accessTokenBlocking() }) }
        }
        XCTAssertEqual(fromThread, token)
    }
}
