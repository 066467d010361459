import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenKeep
import XCTest

/// The URLSession integration: Bearer token, one refresh and retry on 401,
/// the token kept where the core's `maySendTokenTo` allows, the token cache
/// emptied by the core.
final class URLSessionTests: FixtureTestCase {
    private var keeper: TokenKeeper!

    override func setUpWithError() throws {
        try super.setUpWithError()
        keeper = try makeKeeper() // api origins: the fixture server
    }

    override func tearDown() {
        keeper = nil
        super.tearDown()
    }

    private func get(_ url: String) async throws -> (Data, HTTPURLResponse) {
        try await keeper.data(for: URLRequest(url: URL(string: url)!))
    }

    func testARequestCarriesTheBearerToken() async throws {
        try await server.signIn(keeper)
        let (data, response) = try await get(server.url("/api/me"))
        XCTAssertEqual(response.statusCode, 200)
        let me = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        XCTAssertEqual(me?["client_id"] as? String, "public-app")

        let authorized = try await keeper.authorize(URLRequest(url: URL(string: server.url("/api/me"))!))
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
        let current = try await keeper.accessToken()
        XCTAssertNotEqual(current, signedIn.accessToken(), "refreshIfRejected emptied the cache")
    }

    func testManyRequestsRejectedAtOnceShareOneRefresh() async throws {
        try await server.signIn(keeper)
        _ = try await get(server.url("/api/me"))
        try await server.admin("/admin/expire-access-tokens")

        let keeper = self.keeper!, url = server.url("/api/me")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask { try await keeper.data(for: URLRequest(url: URL(string: url)!)).1.statusCode }
            }
            var all: [Int] = []
            for try await status in group { all.append(status) }
            return all
        }
        XCTAssertEqual(statuses, Array(repeating: 200, count: 20))
        let refreshes = try await server.refreshRequests()
        XCTAssertEqual(refreshes, 1)
    }

    func testADeadSessionThrowsWithoutARetry() async throws {
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

    func testARedirectOutsideTheApiOriginsDropsTheToken() async throws {
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

    func testARedirectWithinTheApiOriginsKeepsTheToken() async throws {
        try await server.signIn(keeper)
        let (_, response) = try await get(server.url("/api/redirect?to=\(server.url("/api/me"))"))
        XCTAssertEqual(response.statusCode, 200)
        let withAuthorization = try await server.stat("api_requests_with_authorization")
        XCTAssertEqual(withAuthorization, 2)
    }

    func testAUrlOutsideTheApiOriginsIsRefusedBeforeSending() async throws {
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
                _ = try await keeper.data(for: request)
                XCTFail("sent the token to \(url)")
            } catch TokenKeepError.Configuration(let detail, _) {
                XCTAssertTrue(detail.hasPrefix("refusing to send the access token"), detail)
            }
            do {
                _ = try await keeper.authorize(request)
                XCTFail("authorized \(url)")
            } catch TokenKeepError.Configuration {
            }
        }
        let apiRequests = try await server.stat("api_requests")
        XCTAssertEqual(apiRequests, 0)
    }

    func testFoundationsParseIsJudgedByTheCoresRule() throws {
        var options = server.options()
        options.apiOrigins = ["https://api.example.com", "http://[::1]:9000", "https://xn--bcher-kva.example"]
        let keeper = try TokenKeeper(options: options)
        let urls = [
            "HTTPS://API.Example.com:443/v1/me?x=1", "https://api.example.com:8443/v1", "http://api.example.com/",
            "http://[::1]:9000/x", "https://xn--bcher-kva.example/a", "https://other.example/", "ftp://api.example.com/",
        ]
        for url in urls {
            XCTAssertEqual(keeper.maySendTokenTo(url: URL(string: url)), keeper.maySendTokenTo(url: url), url)
        }
        XCTAssertTrue(keeper.maySendTokenTo(url: URL(string: urls[0])))
        XCTAssertFalse(keeper.maySendTokenTo(url: URL(string: "https://user@api.example.com/")), "user info")
        XCTAssertFalse(keeper.maySendTokenTo(url: nil as URL?))
    }

    func testAKeeperWithoutApiOriginsSendsTheTokenNowhere() async throws {
        var options = server.options()
        options.apiOrigins = []
        let keeper = try TokenKeeper(options: options)
        try await server.signIn(keeper)
        XCTAssertEqual(keeper.apiOrigins(), [])
        do {
            _ = try await keeper.data(for: URLRequest(url: URL(string: server.url("/api/me"))!))
            XCTFail("sent the token without api origins")
        } catch TokenKeepError.Configuration {
        }
    }

    func testTheCachedTokenIsDroppedWhenTheCoreRefreshes() async throws {
        try await server.signIn(keeper)
        let cached = try await keeper.accessToken()
        let again = try await keeper.accessToken()
        XCTAssertEqual(again, cached)

        // The lease would let the cache serve `cached` for up to 60 s more;
        // the core empties it, synchronously, before refresh() returns.
        let refreshed = try await keeper.refresh().accessToken()
        XCTAssertNotEqual(refreshed, cached)
        let afterRefresh = try await keeper.accessToken()
        XCTAssertEqual(afterRefresh, refreshed)
    }

    func testTheCachedTokenIsDroppedWhenARefreshFails() async throws {
        try await server.signIn(keeper)
        _ = try await keeper.accessToken() // cached
        try await server.admin("/admin/revoke-all")
        do {
            _ = try await keeper.refresh()
            XCTFail("the refresh token was revoked")
        } catch TokenKeepError.SessionExpired {
        }
        do {
            let token = try await keeper.accessToken()
            XCTFail("served a token after the failed refresh: the cache was not emptied (\(token.count) chars)")
        } catch let error as TokenKeepError {
            switch error {
            case .SessionExpired, .NotSignedIn: break
            default: XCTFail("\(error)")
            }
        }
    }
}
