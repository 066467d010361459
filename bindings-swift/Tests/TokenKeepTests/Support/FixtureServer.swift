import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenKeep
import XCTest

/// The fixture authorization server (tests/fixture-server), run as a child
/// process on 127.0.0.1 for one test and stopped by its own PID.
///
/// The binary is `TOKENKEEP_FIXTURE_SERVER`, else the workspace's
/// `target/debug/tokenkeep-fixture-server`. Its stdin is a pipe held open
/// by the test: closing it stops the server, and so does the test process
/// dying (the pipe closes with it).
final class FixtureServer: @unchecked Sendable {
    /// `http://127.0.0.1:PORT`.
    let baseURL: String
    private let process: Process
    private let stdin: Pipe

    private init(process: Process, stdin: Pipe, baseURL: String) {
        self.process = process
        self.stdin = stdin
        self.baseURL = baseURL
    }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["TOKENKEEP_FIXTURE_SERVER"], !path.isEmpty {
            return path
        }
        // Tests/TokenKeepTests/Support/FixtureServer.swift → the workspace root.
        let repo = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent("target/debug/tokenkeep-fixture-server").path
    }

    /// Starts a server (extra command-line flags in `arguments`) and waits
    /// at most 10 s for its `listening on …` line.
    static func start(_ arguments: [String] = []) throws -> FixtureServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--port", "0"] + arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()

        let line = LineReader(stdout.fileHandleForReading)
        guard let first = line.firstLine(timeout: 10), first.hasPrefix("listening on ") else {
            process.terminate()
            process.waitUntilExit()
            throw FixtureError.startFailed(binary)
        }
        return FixtureServer(process: process, stdin: stdin, baseURL: String(first.dropFirst("listening on ".count)))
    }

    /// Stops the server: closes its stdin, then SIGTERM, then SIGKILL, each
    /// given a few seconds, all aimed at this server's PID only.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        if waitForExit(seconds: 5) { return }
        process.terminate()
        if waitForExit(seconds: 3) { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private func waitForExit(seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    func url(_ path: String) -> String { baseURL + path }

    /// The options of a public client of this server, signing in through
    /// `/authorize` (or `/device_authorization`) and sending the token to
    /// this server's `/api`.
    func options(client: String = "public-app") -> TokenKeeperOptions {
        TokenKeeperOptions(
            tokenEndpoint: url("/token"), clientId: client, authorizationEndpoint: url("/authorize"),
            revocationEndpoint: url("/revoke"), deviceAuthorizationEndpoint: url("/device_authorization"),
            redirectUri: "com.example.app:/callback", apiOrigins: [baseURL])
    }

    // MARK: - Admin and stats

    /// `GET /stats` as JSON.
    func stats() async throws -> [String: Any] {
        let (data, _) = try await HTTP.send("GET", url("/stats"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// `token_requests.refresh_token` from `/stats`.
    func refreshRequests() async throws -> Int {
        let stats = try await stats()
        let tokenRequests = try XCTUnwrap(stats["token_requests"] as? [String: Any])
        return try XCTUnwrap(tokenRequests["refresh_token"] as? Int)
    }

    /// A number at the top level of `/stats` (`api_requests`, …).
    func stat(_ name: String) async throws -> Int {
        let stats = try await stats()
        return try XCTUnwrap(stats[name] as? Int)
    }

    /// `POST` to an admin endpoint with a JSON body.
    @discardableResult
    func admin(_ path: String, _ body: [String: Any] = [:]) async throws -> Data {
        let json = try JSONSerialization.data(withJSONObject: body)
        let (data, status) = try await HTTP.send("POST", url(path), body: json, contentType: "application/json")
        XCTAssertEqual(status, 200, "POST \(path)")
        return data
    }

    /// Approves a device sign-in as the test user (`POST /device/approve`,
    /// the fixture's browserless approval); returns the HTTP status.
    func approveDevice(userCode: String) async throws -> Int {
        let form = "user_code=" + userCode.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let (_, status) = try await HTTP.send(
            "POST", url("/device/approve"), body: Data(form.utf8), contentType: "application/x-www-form-urlencoded")
        return status
    }

    /// Whether the server considers `token` active (RFC 7662).
    func isActive(_ token: String) async throws -> Bool {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let form = "token=" + token.addingPercentEncoding(withAllowedCharacters: allowed)!
        let (data, _) = try await HTTP.send(
            "POST", url("/introspect"), body: Data(form.utf8), contentType: "application/x-www-form-urlencoded")
        let answer = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return answer["active"] as? Bool ?? false
    }

    /// Signs `keeper` in with the fixture's test sign-in: the authorize URL
    /// answers 302 to the redirect URI with a code at once.
    @discardableResult
    func signIn(_ keeper: TokenKeeper) async throws -> TokenSet {
        let request = try keeper.authorizationRequest(extraParams: [:])
        let location = try await HTTP.redirectLocation(of: request.url())
        return try await keeper.completeAuthorization(request: request, callbackUrl: location)
    }
}

enum FixtureError: Error {
    case startFailed(String)
    case noRedirect(Int)
}

/// Reads the server's first stdout line on a thread of its own, bounded.
private final class LineReader: @unchecked Sendable {
    private let handle: FileHandle
    init(_ handle: FileHandle) { self.handle = handle }

    func firstLine(timeout: Double) -> String? {
        let done = DispatchSemaphore(value: 0)
        let box = LineBox()
        Thread.detachNewThread { [handle] in
            var bytes = [UInt8]()
            while true {
                let chunk = handle.readData(ofLength: 1)
                if chunk.isEmpty || chunk.first == UInt8(ascii: "\n") { break }
                bytes.append(contentsOf: chunk)
            }
            box.set(String(decoding: bytes, as: UTF8.self))
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return box.get()
    }
}

private final class LineBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ v: String) { lock.withLock { value = v } }
    func get() -> String? { lock.withLock { value } }
}
