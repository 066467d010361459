import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One signed-in account's tokens, kept valid by the core: the class apps
/// use. It *is* the core's generated `TokenKeeper` (every method, with the
/// core's name; network calls `async` with a `…Blocking` twin), shadowing
/// it in modules that `import TokenKeep`, plus what a Swift app needs:
///
/// * `accessToken()` answers from an ``AccessTokenCache`` while the core's
///   lease runs, so most calls do not cross into the core (off when
///   `options.clock` is a `ManualClock`: a monotonic clock does not follow it);
/// * `data(for:)` and `authorize(_:)` send `URLRequest`s with the token
///   through a `URLSession` of its own (TokenKeeper+URLSession.swift).
public final class TokenKeeper: TokenKeepGenerated.TokenKeeper, @unchecked Sendable {
    private let cache: AccessTokenCache?
    /// Concurrent `accessToken()` callers share one native call.
    private let sharedAccessToken = SharedCall<String>()
    let urlSession: URLSession

    /// Checks `options`, loads the account's tokens from `options.store` and
    /// returns the keeper; a bad option is `TokenKeepError.Configuration`
    /// here, not at the first request. `urlSessionConfiguration` configures
    /// the session `data(for:)` sends with (timeouts, cache policy, headers).
    public convenience init(
        options: TokenKeeperOptions, urlSessionConfiguration: URLSessionConfiguration = .default
    ) throws {
        let core = try TokenKeepGenerated.TokenKeeper(options: options)
        self.init(core: core, caching: options.clock == nil, urlSessionConfiguration: urlSessionConfiguration)
    }

    /// Adopts a handle made by the generated code (no token cache). Use
    /// ``init(options:urlSessionConfiguration:)``.
    public required convenience init(unsafeFromHandle handle: UInt64) {
        self.init(core: TokenKeepGenerated.TokenKeeper(unsafeFromHandle: handle), caching: false, urlSessionConfiguration: .default)
    }

    /// `core` owns one handle to the Rust keeper and lives on in the redirect
    /// guard (which asks it where the token may go); `self` gets a clone.
    private init(core: TokenKeepGenerated.TokenKeeper, caching: Bool, urlSessionConfiguration: URLSessionConfiguration) {
        cache = caching ? AccessTokenCache() : nil
        urlSession = URLSession(configuration: urlSessionConfiguration, delegate: RedirectGuard(keeper: core), delegateQueue: nil)
        super.init(unsafeFromHandle: core.uniffiCloneHandle())
        // The core calls the cache's `invalidate()` on every change.
        if let cache { setTokenCache(cache: cache) }
    }

    deinit {
        // A URLSession keeps its delegate until it is invalidated.
        urlSession.finishTasksAndInvalidate()
    }

    /// A valid access token: the cached one while its lease runs, else the
    /// core's (refreshed first if needed; one refresh for all callers).
    /// Sensitive: send it, never log it. Concurrent callers past the cache
    /// share one call into the core (``SharedCall``).
    public override func accessToken() async throws -> String {
        if let token = cache?.get() { return token }
        return try await sharedAccessToken.join { [self] in try await coreAccessToken() }
    }

    /// The core's token, through the cache's lease when there is a cache.
    private func coreAccessToken() async throws -> String {
        guard let cache else { return try await super.accessToken() }
        if let token = cache.get() { return token }
        let ticket = cache.ticket()
        let lease = try await accessTokenLease()
        cache.put(ticket: ticket, token: lease.accessToken(), validForMs: lease.validForMs())
        return lease.accessToken()
    }
}
