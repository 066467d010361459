import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The URLSession delegate of ``AuthorizedSession``: on a redirect to another
/// origin, the `Authorization` header is removed before the request is
/// followed, so the access token never reaches a host it was not meant for
/// (RFC 6750 §5.3 and what browsers do). Same-origin redirects keep it.
final class RedirectGuard: NSObject, URLSessionTaskDelegate, Sendable {
    #if canImport(FoundationNetworking)
    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(Self.follow(request, from: response))
    }
    #else
    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest
    ) async -> URLRequest? {
        Self.follow(request, from: response)
    }
    #endif

    /// `next`, without its `Authorization` header when it leaves the origin
    /// of the response that redirected.
    static func follow(_ next: URLRequest, from response: HTTPURLResponse) -> URLRequest {
        let from = response.url.flatMap(OriginPolicy.origin(of:))
        let to = next.url.flatMap(OriginPolicy.origin(of:))
        guard from == nil || from != to else { return next }
        var stripped = next
        stripped.setValue(nil, forHTTPHeaderField: "Authorization")
        return stripped
    }
}
