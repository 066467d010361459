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
        var options = server.options(client: client)
        options.accountId = accountId ?? options.accountId
        options.clock = clock
        options.store = store
        options.policy = policy ?? options.policy
        options.listener = listener
        return try TokenKeeper(options: options)
    }
}

/// Records a session's events, from whatever thread the core calls on.
final class RecordingListener: SessionListener, @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [TokensChanged] = []
    private var expired: [String] = []
    private var failures: [RefreshFailure] = []

    func onTokensChanged(event: TokensChanged) { lock.withLock { changes.append(event) } }
    func onSessionExpired(reason: String) { lock.withLock { expired.append(reason) } }
    func onRefreshFailed(failure: RefreshFailure) { lock.withLock { failures.append(failure) } }

    var tokenChanges: [TokensChanged] { lock.withLock { changes } }
    var sessionExpiries: [String] { lock.withLock { expired } }
    var refreshFailures: [RefreshFailure] { lock.withLock { failures } }
}
