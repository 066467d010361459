import Foundation
import TokenKeep
import XCTest

/// Refresh on expiry, single flight and rotation, on a manual clock.
final class RefreshTests: FixtureTestCase {
    func testAnExpiredTokenIsRefreshedOnTheNextCall() async throws {
        let clock = ManualClock()
        let keeper = try makeKeeper(clock: clock)
        let before = try await server.signIn(keeper).accessToken()

        clock.advanceSecs(secs: 3_600)
        XCTAssertEqual(keeper.state(), .expired)
        let after = try await keeper.accessToken()
        XCTAssertNotEqual(after, before)
        XCTAssertEqual(keeper.state(), .valid)
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
    }

    func testTwoHundredConcurrentTasksOnAnExpiredTokenMakeOneRefresh() async throws {
        let clock = ManualClock()
        let keeper = try makeKeeper(clock: clock)
        let before = try await server.signIn(keeper).accessToken()
        clock.advanceSecs(secs: 3_600)

        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<200 {
                group.addTask { try await keeper.accessToken() }
            }
            var seen: [String] = []
            for try await token in group { seen.append(token) }
            return seen
        }
        XCTAssertEqual(tokens.count, 200)
        XCTAssertEqual(Set(tokens).count, 1, "every task got the one refreshed token")
        XCTAssertNotEqual(tokens.first, before)
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
    }

    func testEachRefreshRotatesTheRefreshTokenAndRetiresTheOldOne() async throws {
        let clock = ManualClock()
        let keeper = try makeKeeper(clock: clock)
        let signedIn = try await server.signIn(keeper)
        let original = try XCTUnwrap(signedIn.refreshToken())

        clock.advanceSecs(secs: 3_600)
        _ = try await keeper.accessToken()
        let rotated = try XCTUnwrap(keeper.tokens()?.refreshToken())
        XCTAssertNotEqual(rotated, original)
        let originalActive = try await server.isActive(original)
        let rotatedActive = try await server.isActive(rotated)
        XCTAssertFalse(originalActive, "the presented refresh token is spent")
        XCTAssertTrue(rotatedActive)

        // The rotated token is what the next refresh presents.
        let next = try await keeper.refresh()
        XCTAssertNotEqual(next.refreshToken(), rotated)
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 2)
    }
}
