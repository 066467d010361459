import Foundation
import TokenKeep
import XCTest

/// The core's encrypted file store, from Swift: tokens survive a new keeper
/// on a reopened store, and a wrong key is a typed storage error that
/// deletes nothing.
final class EncryptedFileStoreTests: FixtureTestCase {
    private let key = Data((0..<32).map { UInt8($0) })
    private let otherKey = Data((1...32).map { UInt8($0) })
    private var directory: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenkeep-tests-\(UUID().uuidString)")
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        directory = nil
        super.tearDown()
    }

    private func keeper(_ key: Data) throws -> TokenKeeper {
        let store = try EncryptedFileStore.open(directory: directory.path, key: key)
        return try makeKeeper(accountId: "user-7", store: store.asTokenStore())
    }

    /// The bytes of every file in the store's directory, by name.
    private func files() throws -> [String: Data] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return try Dictionary(uniqueKeysWithValues: names.map {
            ($0, try Data(contentsOf: directory.appendingPathComponent($0)))
        })
    }

    func testTokensSurviveANewKeeperOnAReopenedStore() async throws {
        let signedIn = try await server.signIn(try keeper(key))
        let token = signedIn.accessToken()
        let refreshToken = try XCTUnwrap(signedIn.refreshToken())
        for (name, bytes) in try files() {
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertFalse(text.contains(token) || text.contains(refreshToken), "plaintext token in \(name)")
        }

        let requests = try await server.stats()["token_requests"] as? [String: Any]
        let reopened = try keeper(key) // a new store instance on the same directory, as after a restart
        XCTAssertEqual(reopened.state(), .valid)
        let again = try await reopened.accessToken()
        XCTAssertEqual(again, token)
        XCTAssertEqual(reopened.tokens()?.refreshToken(), refreshToken)
        let requestsAfter = try await server.stats()["token_requests"] as? [String: Any]
        XCTAssertEqual(requests?["total"] as? Int, requestsAfter?["total"] as? Int, "no network call")
    }

    func testAWrongKeyIsAStorageErrorAndTheRecordStays() async throws {
        let token = try await server.signIn(try keeper(key)).accessToken()
        let before = try files()
        XCTAssertFalse(before.isEmpty)

        XCTAssertThrowsError(try keeper(otherKey)) { error in
            guard case TokenKeepError.Storage(let kind, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(kind, .wrongKey)
            XCTAssertFalse(detail.contains(token), detail)
            XCTAssertFalse("\(error)".contains(token))
        }

        XCTAssertEqual(try files(), before, "nothing was deleted or rewritten")
        let rightKey = try await keeper(key).accessToken()
        XCTAssertEqual(rightKey, token)
    }

    func testOpeningTheStoreWithAKeyOfTheWrongSizeIsAStorageError() {
        XCTAssertThrowsError(try EncryptedFileStore.open(directory: directory.path, key: Data(count: 5))) {
            guard case TokenKeepError.Storage(_, let detail) = $0 else { return XCTFail("not TokenKeepError.Storage: \($0)") }
            XCTAssertTrue(detail.contains("32 bytes"), detail)
        }
        XCTAssertThrowsError(try SqliteStore.open(path: directory.appendingPathComponent("t.db").path, key: Data(count: 31))) {
            guard case TokenKeepError.Storage = $0 else { return XCTFail("not TokenKeepError.Storage: \($0)") }
        }
    }
}
