import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenKeep
import XCTest

/// The URLSession helper: Bearer token, one refresh and retry on 401, the
/// token kept to the api origins.
final class AuthorizedSessionTests: FixtureTestCase {
    private var keeper: TokenKeeper!
    private var api: AuthorizedSession!

    override func setUpWithError() throws {
        try super.setUpWithError()
        keeper = try makeKeeper()
        api = try AuthorizedSession(keeper: keeper) // the keeper's api origins
    }

    override func tearDown() {
        api = nil
        keeper = nil
        super.tearDown()
    }

    private func get(_ url: String) async throws -> (Data, HTTPURLResponse) {
        try await api.data(for: URLRequest(url: URL(string: url)!))
    }

    func testARequestCarriesTheBearerToken() async throws {
        try await server.signIn(keeper)
        let (data, response) = try await get(server.url("/api/me"))
        XCTAssertEqual(response.statusCode, 200)
        let me = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        XCTAssertEqual(me?["client_id"] as? String, "public-app")

        let authorized = try await api.authorize(URLRequest(url: URL(string: server.url("/api/me"))!))
        let token = try await keeper.accessToken()
        XCTAssertEqual(authorized.value(forHTTPHeaderField: "Authorization"), "Bearer \(token)")
    }

    func testA401RefreshesOnceAndRetriesOnce() async throws {
        let signedIn = try await server.signIn(keeper)
        _ = try await get(server.url("/api/me"))
        try await server.admin("/admin/expire-access-tokens")

        let (_, response) = try await get(server.url("/api/me"))
        XCTAssertEqual(response.statusCode, 200, "retried with a refreshed token")
        let refreshes = try await server.refreshRequests()
        let apiRequests = try await server.stat("api_requests")
        XCTAssertEqual(refreshes, 1)
        XCTAssertEqual(apiRequests, 3, "200, then 401 and its one retry")
        let current = try await api.accessToken()
        XCTAssertNotEqual(current, signedIn.accessToken())
    }

    func testManyRequestsRejectedAtOnceShareOneRefresh() async throws {
        try await server.signIn(keeper)
        _ = try await get(server.url("/api/me"))
        try await server.admin("/admin/expire-access-tokens")

        let api = self.api!, url = server.url("/api/me")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask { try await api.data(for: URLRequest(url: URL(string: url)!)).1.statusCode }
            }
            var all: [Int] = []
            for try await status in group { all.append(status) }
            return all
        }
        XCTAssertEqual(statuses, Array(repeating: 200, count: 20))
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
    }

    func testASecond401IsReturnedAndADeadSessionThrows() async throws {
        try await server.signIn(keeper)
        try await server.admin("/admin/revoke-all")
        do {
            _ = try await get(server.url("/api/me"))
            XCTFail("the refresh token was revoked")
        } catch TokenKeepError.SessionExpired {
        }
        let apiRequests = try await server.stat("api_requests")
        XCTAssertEqual(apiRequests, 1, "no retry without a new token")
    }

    func testACrossOriginRedirectDropsTheToken() async throws {
        try await server.signIn(keeper)
        let port = try XCTUnwrap(URL(string: server.baseURL)?.port)
        let elsewhere = "http://localhost:\(port)/api/me"
        let (_, response) = try await get(server.url("/api/redirect?to=\(elsewhere)"))
        XCTAssertEqual(response.statusCode, 401, "localhost got no token")
        XCTAssertEqual(response.url?.host, "localhost")
        let apiRequests = try await server.stat("api_requests")
        let withAuthorization = try await server.stat("api_requests_with_authorization")
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(apiRequests, 2)
        XCTAssertEqual(withAuthorization, 1, "only the request to 127.0.0.1 carried the token")
        XCTAssertEqual(refreshes, 0, "a 401 from a host that got no token triggers no refresh")
    }

    func testASameOriginRedirectKeepsTheToken() async throws {
        try await server.signIn(keeper)
        let (_, response) = try await get(server.url("/api/redirect?to=\(server.url("/api/me"))"))
        XCTAssertEqual(response.statusCode, 200)
        let withAuthorization = try await server.stat("api_requests_with_authorization")
        XCTAssertEqual(withAuthorization, 2)
    }

    func testAnOriginOutsideApiOriginsIsRefusedBeforeSending() async throws {
        try await server.signIn(keeper)
        let port = try XCTUnwrap(URL(string: server.baseURL)?.port)
        let refused = [
            "http://localhost:\(port)/api/me", "https://127.0.0.1:\(port)/api/me", "http://127.0.0.1:1/api/me",
            // 127.0.0.1 to a WHATWG parser, localhost to Foundation (and so to URLSession).
            "http://127.0.0.1:\(port)\\@localhost:\(port)/api/me",
        ]
        for url in refused {
            let request = URLRequest(url: URL(string: url)!)
            do {
                _ = try await api.data(for: request)
                XCTFail("sent the token to \(url)")
            } catch TokenKeepError.Configuration(let message) {
                XCTAssertTrue(message.contains("refusing"), message)
            }
            do {
                _ = try await api.authorize(request)
                XCTFail("authorized \(url)")
            } catch TokenKeepError.Configuration {
            }
        }
        let apiRequests = try await server.stat("api_requests")
        XCTAssertEqual(apiRequests, 0)
    }

    func testTheCachedTokenIsDroppedWhenTheCoreRefreshes() async throws {
        try await server.signIn(keeper)
        let cached = try await api.accessToken()
        let again = try await api.accessToken()
        XCTAssertEqual(again, cached)

        let refreshed = try await keeper.refresh().accessToken()
        XCTAssertNotEqual(refreshed, cached)
        // The core's tokens-changed event reaches the cache on its dispatch thread.
        XCTAssertTrue(flushListenerEvents(timeoutMs: 5_000))
        let afterEvent = try await api.accessToken()
        XCTAssertEqual(afterEvent, refreshed)
    }

    func testTheOriginsAreTheKeepersAndAListGivenCanOnlyNarrowThem() throws {
        XCTAssertEqual(api.origins.origins, Set(keeper.apiOrigins()))
        XCTAssertEqual(keeper.apiOrigins(), [server.baseURL])

        let narrowed = try AuthorizedSession(keeper: keeper, apiOrigins: [server.baseURL + "/ignored/path"])
        XCTAssertEqual(narrowed.origins.origins, [server.baseURL])

        let port = try XCTUnwrap(URL(string: server.baseURL)?.port)
        XCTAssertThrowsError(try AuthorizedSession(keeper: keeper, apiOrigins: ["http://localhost:\(port)"])) {
            guard case TokenKeepError.Configuration(let message) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("can only narrow"), message)
        }
        let noOrigins = try TokenKeeperBuilder(config: ClientConfig(tokenEndpoint: server.url("/token"), clientId: "public-app")).build()
        XCTAssertThrowsError(try AuthorizedSession(keeper: noOrigins, apiOrigins: [server.baseURL]))
        XCTAssertEqual(try AuthorizedSession(keeper: noOrigins).origins.origins, [], "sends nothing anywhere")
    }

    func testOriginsAreComparedTheWayTheCoreComparesThem() throws {
        let policy = try OriginPolicy(["HTTPS://API.Example.com:443", "http://127.0.0.1:8080", "http://[::1]:9000"])
        XCTAssertEqual(policy.origins, ["https://api.example.com", "http://127.0.0.1:8080", "http://[::1]:9000"])
        XCTAssertTrue(policy.allows(URL(string: "https://api.example.com/v1/me?x=1")))
        XCTAssertFalse(policy.allows(URL(string: "https://api.example.com:8443/v1/me")))
        XCTAssertFalse(policy.allows(URL(string: "http://api.example.com/v1/me")))
        XCTAssertTrue(policy.allows(URL(string: "http://[::1]:9000/x")))
        XCTAssertThrowsError(try OriginPolicy(["api.example.com"]))
    }
}
