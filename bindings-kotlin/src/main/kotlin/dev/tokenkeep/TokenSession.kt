package dev.tokenkeep

import java.util.concurrent.CompletableFuture
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.future.future

/**
 * One account's OAuth 2.0 session: what a Kotlin or Java app holds.
 *
 * Everything of the core's [TokenKeeper] is here (by delegation: `suspend`
 * and `…Blocking` twins of every network call, sign-in, `state()`,
 * `tokens()`, listeners), plus what the JVM needs on top:
 *
 * * [accessToken] and [accessTokenBlocking] answer from a JVM-side cache
 *   while the core's lease on the token runs ([TokenCache]), so a fresh
 *   token costs nanoseconds instead of a native call;
 * * `…Async` variants returning [CompletableFuture] for Java
 *   ([accessTokenAsync], [refreshAsync], [refreshIfRejectedAsync],
 *   [sendAsync], [logoutAsync], [completeAuthorizationAsync],
 *   [startDeviceAuthorizationAsync], [completeDeviceAuthorizationAsync]);
 *   `CompletableFuture` needs Android API 24;
 * * [apiOrigins], for HTTP integrations that attach the token themselves
 *   (see `dev.tokenkeep.okhttp`);
 * * [close], which frees the native session ([AutoCloseable]).
 *
 * Build one with named arguments in Kotlin, or with [builder] in Java:
 *
 * ```kotlin
 * val session = TokenSession(
 *     ClientConfig(tokenEndpoint = "https://auth.example.com/oauth/token", clientId = "my-app",
 *                  apiOrigins = listOf("https://api.example.com")),
 *     accountId = "user-42",
 * )
 * session.setTokenResponse(tokenEndpointJson)   // or sign in: authorizationRequest + completeAuthorization
 * val token = session.accessToken()             // suspend; refreshes first when needed
 * ```
 *
 * Every method is thread-safe. Errors are [TokenKeepException]s (sealed: see
 * `ErrorMessages.kt`). No method's result, `toString()` or error message
 * shows a token except [accessToken] and its twins themselves.
 *
 * @property keeper the core session. Its methods are all reachable through
 *   this class; use it directly only to bypass the cache (benchmarks) or to
 *   hand the keeper to code that expects a [TokenKeeper].
 * @property apiOrigins the origins HTTP integrations attach the access
 *   token for: the keeper's `apiOrigins()`, or the narrower list given to
 *   the constructor.
 *
 * @constructor A session over a [keeper] built elsewhere (with
 *   [TokenKeeperBuilder], for settings the other constructor lacks).
 * @param apiOrigins where integrations may attach the token; by default the
 *   keeper's own `apiOrigins()`. A list given here can only narrow them: an
 *   origin the keeper would not send its token to throws
 *   [TokenKeepException.Configuration].
 * @param cacheTokens keep the token on the JVM side while its lease runs;
 *   pass `false` when the keeper runs on a [ManualClock].
 */
class TokenSession @Throws(TokenKeepException::class) @JvmOverloads constructor(
    val keeper: TokenKeeper,
    apiOrigins: Collection<String>? = null,
    cacheTokens: Boolean = true,
) : TokenKeeperInterface by keeper, AutoCloseable {

    val apiOrigins: ApiOrigins = ApiOrigins.of(keeper, apiOrigins)

    private val cache = TokenCache(cacheTokens)

    /** Runs the `…Async` variants; cancelled by [close]. */
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("tokenkeep"))

    init {
        TokenKeepLogging.install()
        if (cacheTokens) keeper.addListener(CacheInvalidator(cache))
    }

    /**
     * A session built from [config] (Kotlin named arguments; Java: [builder]).
     *
     * @param accountId the account's key in the store (default: the core's `"default"`).
     * @param clientSecret for confidential clients. Sensitive; never shown.
     * @param policy when to refresh and how to retry.
     * @param store where tokens are kept (default: in memory): the core's
     *   `EncryptedFileStore.open(directory, key).asTokenStore()` or
     *   `SqliteStore.open(path, key).asTokenStore()`, or your own (see [SimpleTokenStore]).
     * @param manualClock test time; also turns the JVM-side token cache off.
     * @param listeners told about token changes, session expiry and refresh failures.
     * @throws TokenKeepException.Configuration if the config is wrong,
     *   [TokenKeepException.Storage] if the stored record cannot be read.
     */
    @Throws(TokenKeepException::class)
    constructor(
        config: ClientConfig,
        accountId: String? = null,
        clientSecret: String? = null,
        policy: RefreshPolicy? = null,
        store: TokenStore? = null,
        manualClock: ManualClock? = null,
        listeners: List<SessionListener> = emptyList(),
    ) : this(
        buildKeeper(config, accountId, clientSecret, policy, store, manualClock, listeners),
        cacheTokens = manualClock == null,
    )

    // --- The access token, through the cache ---------------------------------

    /**
     * A valid access token: from the cache while the core's lease runs,
     * otherwise from the core (refreshing first if the token expired; any
     * number of callers share one refresh). Sensitive: send it, never log it.
     */
    @Throws(TokenKeepException::class)
    override suspend fun accessToken(): String {
        cache.get()?.let { return it }
        if (!cache.enabled) return keeper.accessToken()
        val ticket = cache.ticket()
        return cache.admit(ticket, keeper.accessTokenLease())
    }

    /** Blocking [accessToken], for threads without coroutines. */
    @Throws(TokenKeepException::class)
    override fun accessTokenBlocking(): String {
        cache.get()?.let { return it }
        if (!cache.enabled) return keeper.accessTokenBlocking()
        val ticket = cache.ticket()
        return cache.admit(ticket, keeper.accessTokenLeaseBlocking())
    }

    /**
     * [accessToken] as a future (completed at once when the token is cached).
     * Fails with a [TokenKeepException] (wrapped in a `CompletionException`
     * where `CompletableFuture` wraps).
     */
    fun accessTokenAsync(): CompletableFuture<String> =
        cache.get()?.let { CompletableFuture.completedFuture(it) } ?: scope.future { accessToken() }

    /**
     * Forgets the cached access token, so the next call asks the core. Call
     * it when an API rejected the token (HTTP 401); the OkHttp integration does.
     */
    fun invalidateCachedToken() = cache.invalidate()

    // --- Calls that change the tokens: the cache is dropped when they return ---

    @Throws(TokenKeepException::class)
    override suspend fun refresh(): TokenSet = invalidating { keeper.refresh() }

    @Throws(TokenKeepException::class)
    override fun refreshBlocking(): TokenSet = invalidating { keeper.refreshBlocking() }

    /** [refresh] as a future. */
    fun refreshAsync(): CompletableFuture<TokenSet> = scope.future { refresh() }

    /**
     * After an API answered HTTP 401 to [rejectedAccessToken]: the core
     * refreshes once however many callers report it (joining a refresh in
     * flight), or returns the current tokens without a request if they
     * already changed since that token was handed out. The comparison is the
     * core's, in constant time. The OkHttp integration calls this.
     */
    @Throws(TokenKeepException::class)
    override suspend fun refreshIfRejected(rejectedAccessToken: String): TokenSet =
        invalidating { keeper.refreshIfRejected(rejectedAccessToken) }

    @Throws(TokenKeepException::class)
    override fun refreshIfRejectedBlocking(rejectedAccessToken: String): TokenSet =
        invalidating { keeper.refreshIfRejectedBlocking(rejectedAccessToken) }

    /** [refreshIfRejected] as a future. */
    fun refreshIfRejectedAsync(rejectedAccessToken: String): CompletableFuture<TokenSet> =
        scope.future { refreshIfRejected(rejectedAccessToken) }

    @Throws(TokenKeepException::class)
    override suspend fun logout(): LogoutOutcome = invalidating { keeper.logout() }

    @Throws(TokenKeepException::class)
    override fun logoutBlocking(): LogoutOutcome = invalidating { keeper.logoutBlocking() }

    /** [logout] as a future. */
    fun logoutAsync(): CompletableFuture<LogoutOutcome> = scope.future { logout() }

    @Throws(TokenKeepException::class)
    override fun setTokens(accessToken: String, refreshToken: String?, expiresInSecs: ULong?, scope: String?): TokenSet =
        invalidating { keeper.setTokens(accessToken, refreshToken, expiresInSecs, scope) }

    @Throws(TokenKeepException::class)
    override fun setTokenResponse(json: String): TokenSet = invalidating { keeper.setTokenResponse(json) }

    @Throws(TokenKeepException::class)
    override suspend fun completeAuthorization(request: AuthorizationRequest, callbackUrl: String): TokenSet =
        invalidating { keeper.completeAuthorization(request, callbackUrl) }

    @Throws(TokenKeepException::class)
    override fun completeAuthorizationBlocking(request: AuthorizationRequest, callbackUrl: String): TokenSet =
        invalidating { keeper.completeAuthorizationBlocking(request, callbackUrl) }

    /** [completeAuthorization] as a future. */
    fun completeAuthorizationAsync(request: AuthorizationRequest, callbackUrl: String): CompletableFuture<TokenSet> =
        scope.future { completeAuthorization(request, callbackUrl) }

    @Throws(TokenKeepException::class)
    override suspend fun exchangeCode(code: String, codeVerifier: String): TokenSet =
        invalidating { keeper.exchangeCode(code, codeVerifier) }

    @Throws(TokenKeepException::class)
    override fun exchangeCodeBlocking(code: String, codeVerifier: String): TokenSet =
        invalidating { keeper.exchangeCodeBlocking(code, codeVerifier) }

    // Device sign-in (RFC 8628; needs `deviceAuthorizationEndpoint`):
    // startDeviceAuthorization (delegated) gives the user code and URL to
    // show; completeDeviceAuthorization polls until the user approves.

    /** `startDeviceAuthorization` as a future. */
    fun startDeviceAuthorizationAsync(): CompletableFuture<DeviceAuthorization> =
        scope.future { startDeviceAuthorization() }

    @Throws(TokenKeepException::class)
    override suspend fun completeDeviceAuthorization(device: DeviceAuthorization): TokenSet =
        invalidating { keeper.completeDeviceAuthorization(device) }

    @Throws(TokenKeepException::class)
    override fun completeDeviceAuthorizationBlocking(device: DeviceAuthorization): TokenSet =
        invalidating { keeper.completeDeviceAuthorizationBlocking(device) }

    /**
     * [completeDeviceAuthorization] as a future. Cancelling the future (like
     * cancelling the coroutine) does not stop the core's polling, which
     * would still sign the session in: call `device.cancel()` for that.
     */
    fun completeDeviceAuthorizationAsync(device: DeviceAuthorization): CompletableFuture<TokenSet> =
        scope.future { completeDeviceAuthorization(device) }

    // --- Requests sent by the core -------------------------------------------

    /** [send] as a future. The core checks that the URL's origin is one of the keeper's `apiOrigins()`. */
    fun sendAsync(request: HttpRequest): CompletableFuture<HttpResponse> = scope.future { send(request) }

    // --- Lifecycle -------------------------------------------------------------

    /**
     * Frees the native session and cancels pending `…Async` work. Calls
     * after `close` throw [IllegalStateException]. Tokens stay in the store.
     */
    override fun close() {
        cache.disable()
        scope.cancel()
        keeper.close()
    }

    /** The account and state; never a token. */
    override fun toString(): String = keeper.toString()

    private inline fun <T> invalidating(change: () -> T): T =
        try {
            change()
        } finally {
            cache.invalidate()
        }

    companion object {
        /** A Java-style builder for a session of `clientId` at `tokenEndpoint`. */
        @JvmStatic
        fun builder(tokenEndpoint: String, clientId: String): TokenSessionBuilder =
            TokenSessionBuilder(ClientConfig(tokenEndpoint = tokenEndpoint, clientId = clientId))

        /** A Java-style builder starting from [config] (copied). */
        @JvmStatic
        fun builder(config: ClientConfig): TokenSessionBuilder = TokenSessionBuilder(config.copy())
    }
}

/** Drops the cached token whenever the core says the tokens changed or the session ended. */
private class CacheInvalidator(private val cache: TokenCache) : SessionListener {
    override fun onTokensChanged(event: TokensChanged) = cache.invalidate()
    override fun onSessionExpired(message: String) = cache.invalidate()
    override fun onRefreshFailed(failure: RefreshFailure) = Unit
}

/** Builds the core session; each builder setter mutates the same native builder. */
internal fun buildKeeper(
    config: ClientConfig,
    accountId: String?,
    clientSecret: String?,
    policy: RefreshPolicy?,
    store: TokenStore?,
    manualClock: ManualClock?,
    listeners: List<SessionListener>,
): TokenKeeper = TokenKeeperBuilder(config).use { builder ->
    accountId?.let { builder.accountId(it).close() }
    clientSecret?.let { builder.clientSecret(it).close() }
    policy?.let { builder.policy(it).close() }
    store?.let { builder.store(it).close() }
    manualClock?.let { builder.manualClock(it).close() }
    listeners.forEach { builder.listener(it).close() }
    builder.build()
}
