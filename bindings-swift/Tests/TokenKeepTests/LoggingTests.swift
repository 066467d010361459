import Foundation
import TokenKeep
import XCTest

/// The core's log lines reach TokenKeepLogging's handler, with no token.
final class LoggingTests: FixtureTestCase {
    /// Keeps the records it is handed, from the core's event thread.
    final class Capture: @unchecked Sendable {
        private let lock = NSLock()
        private var kept: [LogRecord] = []
        func add(_ record: LogRecord) { lock.withLock { kept.append(record) } }
        var records: [LogRecord] { lock.withLock { kept } }
    }

    func testATransientRefreshFailureLogsAWarningWithoutTokens() async throws {
        let capture = Capture()
        let previous = TokenKeepLogging.handler
        TokenKeepLogging.handler = { capture.add($0) }
        XCTAssertTrue(TokenKeepLogging.install(maxLevel: .debug))
        defer {
            TokenKeepLogging.handler = previous
            TokenKeepLogging.setMaxLevel(.warn)
        }

        let clock = ManualClock()
        var policy = RefreshPolicy()
        policy.maxRetries = 0
        let keeper = try makeKeeper(accountId: "swift-log-account", clock: clock, policy: policy)
        _ = try await server.signIn(keeper)
        let tokens = try XCTUnwrap(keeper.tokens())
        let secrets = [tokens.accessToken(), try XCTUnwrap(tokens.refreshToken())]
        try await server.admin("/admin/faults", ["status": 503])
        clock.advanceSecs(secs: 3_600)
        do {
            _ = try await keeper.accessToken()
            XCTFail("the token endpoint answered 503")
        } catch let error as TokenKeepError {
            guard case .Transient = error else { return XCTFail("expected Transient, got \(error)") }
        }
        XCTAssertTrue(flushListenerEvents(timeoutMs: 5_000))

        let records = capture.records
        let warnings = records.filter {
            $0.level == .warn && $0.message == "token refresh failed" && $0.fields.contains("account=swift-log-account")
        }
        XCTAssertEqual(warnings.count, 1, "\(records)")
        XCTAssertEqual(warnings.first?.target, "tokenkeep::session::refresh")
        for record in records {
            for secret in secrets {
                XCTAssertFalse(TokenKeepLogging.text(of: record).contains(secret), "a token in \(record)")
            }
        }
    }
}
