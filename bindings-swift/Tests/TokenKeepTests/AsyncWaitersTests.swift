import Foundation
import TokenKeep
import XCTest

/// Many tasks on one expired token share one call into the core (issue 13,
/// item 9): one refresh, one token, a cancelled task disturbs no other, an
/// error reaches every task.
final class AsyncWaitersTests: FixtureTestCase {
    private let tasks = 300

    func testManyTasksOnAnExpiredTokenMakeOneRefreshAndGetOneToken() async throws {
        let clock = ManualClock()
        let keeper = try makeKeeper(clock: clock)
        let before = try await server.signIn(keeper).accessToken()
        clock.advanceSecs(secs: 3_600)
        try await server.admin("/admin/faults", ["delay_ms": 200])

        let calls = (0..<tasks).map { _ in Task { try await keeper.accessToken() } }
        var tokens: [String] = []
        for call in calls { tokens.append(try await call.value) }
        XCTAssertEqual(Set(tokens).count, 1, "every task got the one refreshed token")
        XCTAssertNotEqual(tokens.first, before)
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
    }

    func testACancelledTaskDoesNotDisturbTheOthers() async throws {
        let clock = ManualClock()
        let keeper = try makeKeeper(clock: clock)
        let before = try await server.signIn(keeper).accessToken()
        clock.advanceSecs(secs: 3_600)
        try await server.admin("/admin/faults", ["delay_ms": 300])

        let calls = (0..<tasks).map { _ in Task { try await keeper.accessToken() } }
        calls[0].cancel()
        var tokens: [String] = []
        for call in calls.dropFirst() { tokens.append(try await call.value) }
        _ = try? await calls[0].value  // cancelled or served: either leaves the others alone
        XCTAssertEqual(tokens.count, tasks - 1)
        XCTAssertEqual(Set(tokens).count, 1)
        XCTAssertNotEqual(tokens.first, before)
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
    }

    func testARefreshErrorReachesEveryTask() async throws {
        let clock = ManualClock()
        let keeper = try makeKeeper(clock: clock)
        _ = try await server.signIn(keeper)
        clock.advanceSecs(secs: 3_600)
        try await server.admin("/admin/faults", ["status": 503, "retry_after": 120])

        let calls = (0..<tasks).map { _ in Task { try await keeper.accessToken() } }
        for call in calls {
            do {
                _ = try await call.value
                XCTFail("a task got a token although the refresh failed")
            } catch let error as TokenKeepError {
                guard case .Transient = error else { return XCTFail("expected Transient, got \(error)") }
            }
        }
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
    }
}
