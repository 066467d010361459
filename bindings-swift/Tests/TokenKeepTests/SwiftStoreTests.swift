import Foundation
import TokenKeep
import XCTest

/// A store written in Swift, called by the core from its own threads.
final class SwiftStoreTests: FixtureTestCase {
    func testTheCoreKeepsTokensInASwiftStoreFromItsOwnThreads() async throws {
        let clock = ManualClock()
        let store = DictionaryStore()
        let keeper = try makeKeeper(clock: clock, store: store)
        try await server.signIn(keeper)
        XCTAssertNotNil(store.record("default"))

        clock.advanceSecs(secs: 3_600)
        let refreshed = try await keeper.accessToken()
        XCTAssertTrue(
            // "tokenkeep-runtime", cut to 15 characters by Linux.
            store.saveThreads.contains { $0.hasPrefix("tokenkeep-") },
            "the refresh saved from the core's own runtime thread: \(store.saveThreads)")

        // A new session on the same store starts from the stored, refreshed tokens.
        let requests = try await server.stats()["token_requests"] as? [String: Any]
        let reopened = try makeKeeper(clock: clock, store: store)
        let reopenedToken = try await reopened.accessToken()
        XCTAssertEqual(reopenedToken, refreshed)
        let requestsAfter = try await server.stats()["token_requests"] as? [String: Any]
        XCTAssertEqual(requests?["total"] as? Int, requestsAfter?["total"] as? Int, "no network call")

        _ = try await reopened.logout()
        XCTAssertNil(store.record("default"), "logout removes the record")
    }

    func testTwoSessionsSharingASwiftStoreRefreshOnce() async throws {
        // The core's per-account lock (the store's own lock does nothing)
        // lets the second session adopt the first one's refresh instead of
        // presenting the spent refresh token.
        let clock = ManualClock()
        let store = DictionaryStore()
        let a = try makeKeeper(clock: clock, store: store)
        try await server.signIn(a)
        let b = try makeKeeper(clock: clock, store: store)
        clock.advanceSecs(secs: 3_600)

        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<40 {
                let keeper = i % 2 == 0 ? a : b
                group.addTask { try await keeper.accessToken() }
            }
            var seen = Set<String>()
            for try await token in group { seen.insert(token) }
            return seen
        }
        XCTAssertEqual(tokens.count, 1)
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
        XCTAssertEqual(a.state(), .valid)
        XCTAssertEqual(b.state(), .valid)
    }

    func testAStoreFailureIsAStorageErrorOfItsKind() async throws {
        let keeper = try makeKeeper(store: FailingStore(error: StoreError.Io(detail: "disk full at /data/tokens")))
        XCTAssertThrowsError(try keeper.setTokens(accessToken: "at_x", refreshToken: "rt_x", expiresInSecs: 60)) {
            guard case TokenKeepError.Storage(let kind, let detail) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(kind, .io)
            XCTAssertTrue(detail.contains("disk full"), detail)
            XCTAssertEqual($0.localizedDescription, ($0 as? TokenKeepError)?.description)
        }

        struct Unexpected: Error {}
        let other = try makeKeeper(store: FailingStore(error: Unexpected()))
        XCTAssertThrowsError(try other.setTokens(accessToken: "at_x", expiresInSecs: 60)) {
            guard case TokenKeepError.Storage(let kind, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(kind, .other)
        }
    }
}

/// The smallest useful Swift store: a dictionary behind a lock (no
/// `lock`/`unlock`: the defaults do nothing).
final class DictionaryStore: TokenStore, @unchecked Sendable {
    private let lock = NSLock()
    private var records: [String: Data] = [:]
    private var threads = Set<String>()

    func load(key: String) throws -> Data? { lock.withLock { records[key] } }

    func save(key: String, record: Data) throws {
        let thread = currentThreadName()
        lock.withLock {
            records[key] = record
            threads.insert(thread)
        }
    }

    func delete(key: String) throws { _ = lock.withLock { records.removeValue(forKey: key) } }

    func record(_ key: String) -> Data? { lock.withLock { records[key] } }
    /// The names of the threads `save` was called on.
    var saveThreads: Set<String> { lock.withLock { threads } }
}

/// A store whose writes fail with `error`.
final class FailingStore: TokenStore, @unchecked Sendable {
    private let error: any Error
    init(error: any Error) { self.error = error }
    func load(key: String) throws -> Data? { nil }
    func save(key: String, record: Data) throws { throw error }
    func delete(key: String) throws {}
}

/// The OS name of the calling thread (Rust names its threads; Swift's do not
/// matter here).
func currentThreadName() -> String {
    #if os(Linux)
    let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
    return comm.trimmingCharacters(in: .whitespacesAndNewlines)
    #else
    var name = [CChar](repeating: 0, count: 64)
    pthread_getname_np(pthread_self(), &name, name.count)
    return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    #endif
}
