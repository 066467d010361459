import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The URLSession delegate of ``TokenKeeper``'s session: a redirect is
/// followed with the `Authorization` header only to a URL the core's
/// `maySendTokenTo(url:)` allows, so the access token never reaches a host
/// it was not meant for (RFC 6750 §5.3; on Linux, plain URLSession would
/// forward the header).
final class RedirectGuard: NSObject, URLSessionTaskDelegate, Sendable {
    /// The core keeper (not the Swift one, which owns the session: no cycle).
    private let keeper: TokenKeepGenerated.TokenKeeper

    init(keeper: TokenKeepGenerated.TokenKeeper) {
        self.keeper = keeper
    }

    #if canImport(FoundationNetworking)
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(follow(request))
    }
    #else
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest) async -> URLRequest? {
        follow(request)
    }
    #endif

    /// `next`, without its `Authorization` header where the token may not go.
    private func follow(_ next: URLRequest) -> URLRequest {
        guard !keeper.maySendTokenTo(url: next.url) else { return next }
        var stripped = next
        stripped.setValue(nil, forHTTPHeaderField: "Authorization")
        return stripped
    }
}
