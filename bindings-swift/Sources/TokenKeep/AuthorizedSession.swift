import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends `URLRequest`s to your API with the session's access token, through
/// URLSession.
///
/// * The token is attached only to URLs whose origin is one of the keeper's
///   `apiOrigins` (or of the narrower list you pass); any other URL is
///   refused with `TokenKeepError.Configuration` before anything is sent.
/// * A redirect to another origin is followed without the `Authorization`
///   header (``RedirectGuard``).
/// * On HTTP 401 from the origin the token was sent to, the core's
///   `refreshIfRejected` renews the token (one refresh for any number of
///   rejected requests, none if it already changed) and the request is
///   retried once. A second 401 is returned to the caller.
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
/// let api = try AuthorizedSession(keeper: keeper)
/// let (data, response) = try await api.data(for: URLRequest(url: meURL))
/// ```
public final class AuthorizedSession: Sendable {
    /// The session whose tokens are sent.
    public let keeper: TokenKeeper
    /// Where the token may go: the keeper's api origins, or the narrower
    /// list given to `init`.
    public let origins: OriginPolicy
    private let urlSession: URLSession
    private let cache: TokenCache

    /// A helper sending requests for `keeper` to its api origins.
    ///
    /// - Parameters:
    ///   - apiOrigins: where the token may go; by default the keeper's
    ///     (`keeper.apiOrigins()`). A list given here can only narrow them:
    ///     an origin the keeper would not send its token to throws
    ///     `TokenKeepError.Configuration`.
    ///   - configuration: the URLSession configuration (timeouts, cache
    ///     policy, extra headers). A session of its own is made with it.
    ///   - cachesTokens: keep the token between requests (see ``TokenCache``).
    ///     Pass `false` when the keeper runs on a `ManualClock`.
    public init(
        keeper: TokenKeeper,
        apiOrigins: [String]? = nil,
        configuration: URLSessionConfiguration = .default,
        cachesTokens: Bool = true
    ) throws {
        let origins = try OriginPolicy(apiOrigins ?? keeper.apiOrigins())
        if let outside = origins.origins.sorted().first(where: { !keeper.maySendTokenTo(url: $0) }) {
            throw TokenKeepError.Configuration(
                message: "apiOrigins: \(outside) is not one of the keeper's api origins \(keeper.apiOrigins()); AuthorizedSession can only narrow them"
            )
        }
        self.keeper = keeper
        self.origins = origins
        self.urlSession = URLSession(configuration: configuration, delegate: RedirectGuard(), delegateQueue: nil)
        self.cache = TokenCache(keeper: keeper, enabled: cachesTokens)
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
        let fresh = try await keeper.refreshIfRejected(rejectedAccessToken: token).accessToken()
        return try await send(request, token: fresh)
    }

    // Why the origin is checked here and not with `keeper.maySendTokenTo`:
    // the list of origins is the core's (normalised, https-or-loopback,
    // checked in `init`), but the URL is judged as Foundation parsed it, the
    // parse URLSession connects with. The core would re-parse the URL's text
    // with WHATWG rules, and parsers disagree on crafted URLs: the text
    // `http://127.0.0.1:8080\@evil.example/` is 127.0.0.1 to WHATWG and
    // evil.example to Foundation. Judging the parse that is used to connect,
    // a disagreement can only refuse a request, never send the token
    // elsewhere (the core accepts `http://127.1` and `http://0x7f.1` as
    // 127.0.0.1; they are refused here). It also keeps requests off the FFI
    // boundary (the point of `TokenCache`), and `RedirectGuard` and the 401
    // check in `data(for:)` compare URLs that URLSession hands back, which
    // only Foundation has parsed.
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
