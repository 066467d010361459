import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Plain HTTP for the tests' talk with the fixture (admin, stats, sign-in).
enum HTTP {
    private static let session = URLSession(configuration: .ephemeral)

    static func send(
        _ method: String, _ url: String, body: Data? = nil, contentType: String? = nil
    ) async throws -> (Data, Int) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await session.data(for: request)
        return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
    }

    /// The `Location` of a 302 answer, without following it (the fixture's
    /// sign-in redirects to the app's custom-scheme redirect URI).
    static func redirectLocation(of url: String) async throws -> String {
        let stopper = RedirectStopper()
        let session = URLSession(configuration: .ephemeral, delegate: stopper, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            stopper.continuation = continuation
            session.dataTask(with: URL(string: url)!).resume()
        }
    }
}

/// A delegate that refuses every redirect and reports the first one's Location.
private final class RedirectStopper: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    var continuation: CheckedContinuation<String, any Error>?

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        defer { continuation = nil }
        if let error {
            continuation?.resume(throwing: error)
        } else if let http = task.response as? HTTPURLResponse, let location = http.value(forHTTPHeaderField: "Location") {
            continuation?.resume(returning: location)
        } else {
            continuation?.resume(throwing: FixtureError.noRedirect((task.response as? HTTPURLResponse)?.statusCode ?? 0))
        }
    }
}
