import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenKeep

/// Why a scenario (or the runner) failed, in words.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Fails with `what` unless `condition` holds.
func check(_ condition: Bool, _ what: @autoclosure () -> String) throws {
    if !condition { throw Failure(what()) }
}

/// The e2e authorization server as the scenarios see it: endpoints and
/// clients from scenarios.json's `server` object, the browserless sign-in
/// and device approval, grant counts, and introspection.
struct E2EServer: Sendable {
    let issuer: String
    private let endpoints: [String: String]
    let publicClient: String
    let redirectURI: String
    let scopes: [String]
    let m2mClient: String
    let m2mSecret: String
    let introspectionClient: String
    let introspectionSecret: String
    let accessTokenTTLSecs: Int
    let concurrentCallers: Int
    private let http = URLSession(configuration: .ephemeral)

    init(issuer: String, settings: Any?) throws {
        guard let settings = settings as? [String: Any] else { throw Failure("scenarios.json has no `server` object") }
        func text(_ name: String) throws -> String {
            guard let value = settings[name] as? String else { throw Failure("scenarios.json: server.\(name) is missing") }
            return value
        }
        self.issuer = issuer
        endpoints = settings["endpoints"] as? [String: String] ?? [:]
        publicClient = try text("public_client")
        redirectURI = try text("redirect_uri")
        scopes = settings["scopes"] as? [String] ?? []
        m2mClient = try text("m2m_client")
        m2mSecret = try text("m2m_secret")
        introspectionClient = try text("introspection_client")
        introspectionSecret = try text("introspection_secret")
        accessTokenTTLSecs = settings["access_token_ttl_secs"] as? Int ?? 3
        concurrentCallers = settings["concurrent_callers"] as? Int ?? 50
    }

    /// The issuer plus the path scenarios.json gives for `endpoint`.
    func url(_ endpoint: String) -> String {
        issuer + (endpoints[endpoint] ?? "")
    }

    /// Sleeps until an access token issued now has surely expired.
    func sleepPastExpiry() async throws {
        try await Task.sleep(for: .milliseconds(accessTokenTTLSecs * 1_000 + 300))
    }

    /// A session of the public client, with sign-in, revocation and device endpoints.
    func userKeeper() throws -> TokenKeeper {
        try TokenKeeper(options: TokenKeeperOptions(
            tokenEndpoint: url("token"), clientId: publicClient, authorizationEndpoint: url("authorization"),
            revocationEndpoint: url("revocation"), deviceAuthorizationEndpoint: url("device_authorization"),
            redirectUri: redirectURI, scopes: scopes))
    }

    /// A client_credentials session of the machine client.
    func m2mKeeper() throws -> TokenKeeper {
        try TokenKeeper(options: TokenKeeperOptions(
            tokenEndpoint: url("token"), clientId: m2mClient, clientSecret: m2mSecret, clientCredentials: true))
    }

    /// Signs `keeper` in: authorization URL → the server's test sign-in → callback.
    func signIn(_ keeper: TokenKeeper) async throws {
        let request = try keeper.authorizationRequest(extraParams: [:])
        let answer = try await json("GET", "test_sign_in", query: ["url": request.url()])
        guard let callback = answer["callback_url"] as? String else {
            throw Failure("test sign-in failed: \(answer)")
        }
        _ = try await keeper.completeAuthorization(request: request, callbackUrl: callback)
    }

    /// Approves a device sign-in as the test user.
    func approveDevice(userCode: String) async throws {
        let (_, status) = try await send("POST", "test_approve_device", form: ["user_code": userCode])
        try check((200..<300).contains(status), "device approval answered \(status)")
    }

    /// How many grants of `grantType` the token endpoint has served.
    func grants(_ grantType: String) async throws -> Int {
        let stats = try await json("GET", "test_stats")
        guard let count = (stats["token_requests"] as? [String: Any])?[grantType] as? Int else {
            throw Failure("no \(grantType) count in \(stats)")
        }
        return count
    }

    /// Whether the server considers `token` active (RFC 7662).
    func isActive(_ token: String) async throws -> Bool {
        let answer = try await json(
            "POST", "introspection", form: ["token": token], basic: (introspectionClient, introspectionSecret))
        guard let active = answer["active"] as? Bool else { throw Failure("introspection answered \(answer)") }
        return active
    }

    // MARK: - HTTP

    private func json(
        _ method: String, _ endpoint: String, query: [String: String] = [:], form: [String: String]? = nil,
        basic: (String, String)? = nil
    ) async throws -> [String: Any] {
        let (data, status) = try await send(method, endpoint, query: query, form: form, basic: basic)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure("\(endpoint) answered \(status) without a JSON object")
        }
        return object
    }

    private func send(
        _ method: String, _ endpoint: String, query: [String: String] = [:], form: [String: String]? = nil,
        basic: (String, String)? = nil
    ) async throws -> (Data, Int) {
        var components = URLComponents(string: url(endpoint))
        if !query.isEmpty { components?.percentEncodedQuery = Self.formEncoded(query) }
        guard let target = components?.url else { throw Failure("not a URL: \(url(endpoint))") }
        var request = URLRequest(url: target, timeoutInterval: 30)
        request.httpMethod = method
        if let form {
            request.httpBody = Data(Self.formEncoded(form).utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        if let (user, password) = basic {
            let credentials = Data("\(Self.formComponent(user)):\(Self.formComponent(password))".utf8).base64EncodedString()
            request.setValue("Basic \(credentials)", forHTTPHeaderField: "Authorization")
        }
        do {
            let (data, response) = try await http.data(for: request)
            return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
        } catch let error as URLError {
            // On Linux a URLError describes itself as `Error Domain=… "(null)"`.
            throw Failure("\(method) \(target.path) failed: URLError \(error.code.rawValue) (\(Self.reason(error.code)))")
        }
    }

    private static func reason(_ code: URLError.Code) -> String {
        switch code {
        case .cannotConnectToHost: return "cannot connect to the server"
        case .timedOut: return "timed out"
        case .networkConnectionLost: return "connection lost"
        default: return "see NSURLErrorDomain"
        }
    }

    /// `application/x-www-form-urlencoded`, keys sorted.
    private static func formEncoded(_ fields: [String: String]) -> String {
        fields.sorted { $0.key < $1.key }.map { "\(formComponent($0.key))=\(formComponent($0.value))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func formComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
