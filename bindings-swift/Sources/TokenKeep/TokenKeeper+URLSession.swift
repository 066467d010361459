import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sending `URLRequest`s to your API with the access token, through the
/// keeper's own `URLSession`.
///
/// * The token goes only where the core's `maySendTokenTo(url:)` allows
///   (the `apiOrigins` of the options); any other URL is refused with
///   `TokenKeepError.Configuration` before anything is sent, and a redirect
///   elsewhere is followed without the `Authorization` header (``RedirectGuard``).
/// * On HTTP 401 from a URL that got the token, the core's
///   `refreshIfRejected(rejectedAccessToken:)` renews it (one refresh for any
///   number of rejected requests, none if it already changed) and the
///   request is retried once; a second 401 is returned.
///
/// Errors: ``TokenKeepError`` when no token can be had, URLSession's
/// `URLError` when the request fails; HTTP statuses are answers.
extension TokenKeeper {
    /// Sends `request` with the access token; on HTTP 401 refreshes once and
    /// retries once. Returns the body and the HTTP response (any status).
    public func data(for request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let token = try await token(for: request)
        let first = try await send(request, token: token)
        // The redirect guard keeps the token exactly where maySendTokenTo
        // allows: a 401 from anywhere else was not about this token.
        guard first.1.statusCode == 401, maySendTokenTo(url: first.1.url) else { return first }
        let fresh = try await refreshIfRejected(rejectedAccessToken: token).accessToken()
        return try await send(request, token: fresh)
    }

    /// `request` with `Authorization: Bearer <token>`, for requests you send
    /// yourself (then you handle 401 and redirects). Throws
    /// `TokenKeepError.Configuration` if the token may not go to its URL.
    public func authorize(_ request: URLRequest) async throws -> URLRequest {
        Self.authorized(request, token: try await token(for: request))
    }

    private func token(for request: URLRequest) async throws -> String {
        guard maySendTokenTo(url: request.url) else {
            let origin = request.url.flatMap(Self.origin(of:)) ?? "a URL without an http(s) host"
            throw TokenKeepError.Configuration(
                detail: "refusing to send the access token to \(origin): not one of the api origins \(apiOrigins())",
                oauthError: nil)
        }
        return try await accessToken()
    }

    private func send(_ request: URLRequest, token: String) async throws -> (Data, HTTPURLResponse) {
        let (data, response) = try await urlSession.data(for: Self.authorized(request, token: token))
        guard let http = response as? HTTPURLResponse else {
            throw TokenKeepError.BadResponse(detail: "the answer to an API request was not an HTTP response", oauthError: nil)
        }
        return (data, http)
    }

    private static func authorized(_ request: URLRequest, token: String) -> URLRequest {
        var request = request
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        return request
    }
}

extension TokenKeepGenerated.TokenKeeper {
    /// Whether the token may be sent to `url` (the core's rule), judged on
    /// Foundation's parse of it, the one URLSession connects with: its
    /// scheme, host and port are handed to the core's
    /// `maySendTokenTo(url:)`, and user info is refused. Parsers disagree on
    /// crafted URLs (`http://127.0.0.1:8080\@evil.example/` is 127.0.0.1 to
    /// WHATWG and evil.example to Foundation); judging the parse used to
    /// connect, a disagreement can only refuse a request.
    public func maySendTokenTo(url: URL?) -> Bool {
        guard let origin = url.flatMap(Self.origin(of:)) else { return false }
        return maySendTokenTo(url: origin + "/")
    }

    /// `scheme://host[:port]` as Foundation parsed `url`; nil without a host or with user info.
    static func origin(of url: URL) -> String? {
        guard let parts = URLComponents(url: url, resolvingAgainstBaseURL: true), let scheme = parts.scheme,
              let host = parts.percentEncodedHost, !host.isEmpty, parts.user == nil, parts.password == nil
        else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed)" + (parts.port.map { ":\($0)" } ?? "")
    }
}
