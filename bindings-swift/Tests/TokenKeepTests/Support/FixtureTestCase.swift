import Foundation
import TokenKeep
import XCTest

/// A test case with a fixture server of its own, started before each test
/// and stopped after it.
class FixtureTestCase: XCTestCase {
    var server: FixtureServer!

    override func setUpWithError() throws {
        try super.setUpWithError()
        server = try FixtureServer.start()
    }

    override func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    /// A keeper for `client` of this test's server.
    func makeKeeper(
        client: String = "public-app",
        accountId: String? = nil,
        clock: ManualClock? = nil,
        store: TokenStore? = nil,
        policy: RefreshPolicy? = nil,
        listener: SessionListener? = nil
    ) throws -> TokenKeeper {
        var builder = TokenKeeperBuilder(config: server.config(client: client))
        if let accountId { builder = builder.accountId(accountId: accountId) }
        if let clock { builder = builder.manualClock(clock: clock) }
        if let store { builder = builder.store(store: store) }
        if let policy { builder = builder.policy(policy: policy) }
        if let listener { builder = builder.listener(listener: listener) }
        return try builder.build()
    }

    /// Waits up to 5 s for `condition`.
    func eventually(_ what: String, _ condition: () async throws -> Bool) async rethrows {
        let deadline = Date(timeIntervalSinceNow: 5)
        while Date() < deadline {
            if try await condition() { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("timed out waiting for: \(what)")
    }
}

/// Records a session's events, from whatever thread the core calls on.
final class RecordingListener: SessionListener, @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [TokensChanged] = []
    private var expired: [String] = []
    private var failures: [RefreshFailure] = []

    func onTokensChanged(event: TokensChanged) { lock.withLock { changes.append(event) } }
    func onSessionExpired(message: String) { lock.withLock { expired.append(message) } }
    func onRefreshFailed(failure: RefreshFailure) { lock.withLock { failures.append(failure) } }

    var tokenChanges: [TokensChanged] { lock.withLock { changes } }
    var sessionExpiries: [String] { lock.withLock { expired } }
    var refreshFailures: [RefreshFailure] { lock.withLock { failures } }
}
