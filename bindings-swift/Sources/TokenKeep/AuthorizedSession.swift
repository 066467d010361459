import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends `URLRequest`s to your API with the session's access token, through
/// URLSession.
///
/// * The token is attached only to URLs whose origin is in `apiOrigins`
///   (pass the keeper's `ClientConfig.apiOrigins`); any other URL is refused
///   with `TokenKeepError.Configuration` before anything is sent.
/// * A redirect to another origin is followed without the `Authorization`
///   header (``RedirectGuard``).
/// * On HTTP 401 from the origin the token was sent to, the token is
///   refreshed once (one refresh for any number of rejected requests) and the
///   request is retried once. A second 401 is returned to the caller.
/// * Fresh tokens come from a small cache fed by the core's leases
///   (``TokenCache``), so most requests do not cross into the core.
///
/// Make one per keeper and keep it: each one registers a listener on the
/// keeper (for its cache), and the core has no way to remove listeners.
///
/// Errors: the core's ``TokenKeepError`` when no token can be had (switch on
/// `.SessionExpired` to send the user to sign in), URLSession's `URLError`
/// when the request itself fails. HTTP statuses other than the retried 401
/// are answers, not errors.
///
/// ```swift
/// let api = try AuthorizedSession(keeper: keeper, apiOrigins: config.apiOrigins)
/// let (data, response) = try await api.data(for: URLRequest(url: meURL))
/// ```
public final class AuthorizedSession: Sendable {
    /// The session whose tokens are sent.
    public let keeper: TokenKeeper
    /// Where the token may go.
    public let origins: OriginPolicy
    private let urlSession: URLSession
    private let cache: TokenCache
    private let gate: RejectedTokenGate

    /// A helper sending requests for `keeper` to `apiOrigins`.
    ///
    /// - Parameters:
    ///   - configuration: the URLSession configuration (timeouts, cache
    ///     policy, extra headers). A session of its own is made with it.
    ///   - cachesTokens: keep the token between requests (see ``TokenCache``).
    ///     Pass `false` when the keeper runs on a `ManualClock`.
    public init(
        keeper: TokenKeeper,
        apiOrigins: [String],
        configuration: URLSessionConfiguration = .default,
        cachesTokens: Bool = true
    ) throws {
        self.keeper = keeper
        self.origins = try OriginPolicy(apiOrigins)
        self.urlSession = URLSession(configuration: configuration, delegate: RedirectGuard(), delegateQueue: nil)
        self.cache = TokenCache(keeper: keeper, enabled: cachesTokens)
        self.gate = RejectedTokenGate(keeper: keeper)
    }

    deinit {
        // A URLSession keeps its delegate until it is invalidated.
        urlSession.finishTasksAndInvalidate()
    }

    /// A valid access token, from the cache while its lease runs. Sensitive:
    /// send it, never log it.
    public func accessToken() async throws -> String {
        try await cache.accessToken()
    }

    /// `request` with `Authorization: Bearer <token>`, for requests you send
    /// yourself. Throws `TokenKeepError.Configuration` if its URL is not in
    /// `apiOrigins`. Prefer ``data(for:)``, which also handles 401 and
    /// redirects.
    public func authorize(_ request: URLRequest) async throws -> URLRequest {
        try checkOrigin(of: request)
        return Self.authorized(request, with: try await accessToken())
    }

    /// Sends `request` with the access token; on HTTP 401 refreshes once and
    /// retries once. Returns the body and the HTTP response (any status).
    public func data(for request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        try checkOrigin(of: request)
        let token = try await accessToken()
        let first = try await send(request, token: token)
        guard first.1.statusCode == 401, Self.sameOrigin(first.1.url, request.url) else {
            // Not rejected, or rejected by a host the token was never sent to
            // (a cross-origin redirect drops it): a refresh would not help.
            return first
        }
        cache.invalidate()
        let fresh = try await gate.token(replacing: token)
        return try await send(request, token: fresh)
    }

    private func checkOrigin(of request: URLRequest) throws {
        guard origins.allows(request.url) else {
            let origin = request.url.flatMap(OriginPolicy.origin(of:)) ?? "a URL without an http(s) origin"
            throw TokenKeepError.Configuration(
                message: "refusing to send the access token to \(origin): it is not one of the api origins \(origins.origins.sorted())"
            )
        }
    }

    private func send(_ request: URLRequest, token: String) async throws -> (Data, HTTPURLResponse) {
        let (data, response) = try await urlSession.data(for: Self.authorized(request, with: token))
        guard let http = response as? HTTPURLResponse else {
            // (`TokenKeepError.Protocol` would name the metatype; spell the case with a leading dot.)
            let error: TokenKeepError = .Protocol(message: "the answer to an API request was not an HTTP response")
            throw error
        }
        return (data, http)
    }

    private static func sameOrigin(_ a: URL?, _ b: URL?) -> Bool {
        guard let a = a.flatMap(OriginPolicy.origin(of:)) else { return false }
        return a == b.flatMap(OriginPolicy.origin(of:))
    }

    private static func authorized(_ request: URLRequest, with token: String) -> URLRequest {
        var request = request
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        return request
    }
}
