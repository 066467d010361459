package dev.tokenkeep

import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.ffi.TokenKeeperOptions
import dev.tokenkeep.ffi.TokenLease

/**
 * One account's OAuth 2.0 session: the core's keeper (generated in
 * `dev.tokenkeep.ffi`) with the access token cached on the JVM side.
 *
 * Every method is the core's, inherited with its name and its `@Throws`:
 * `suspend` calls for coroutines and a `…Blocking` twin of each for Java and
 * plain threads (`accessToken`/`accessTokenBlocking`, `refreshIfRejected`,
 * `setTokens`, `logout`, `maySendTokenTo`, …). The only one done here is the
 * fresh-token path: [accessToken] and [accessTokenBlocking] answer from
 * [AccessTokenCache] while the core's lease on the token runs, so a fresh
 * token costs a field read instead of a native call. The core drops that
 * cache itself, synchronously, whenever the tokens change, a refresh fails or
 * the session ends; nothing here has to remember to. Concurrent suspending
 * [accessToken] callers past the cache share one native call ([SharedCall]). With a `ManualClock` in
 * the options nothing is cached (test time moves, `System.nanoTime` does not).
 *
 * ```kotlin
 * val keeper = TokenKeeper(TokenKeeperOptions(
 *     tokenEndpoint = "https://auth.example.com/oauth/token", clientId = "my-app",
 *     apiOrigins = listOf("https://api.example.com"),
 * ))
 * val token = keeper.accessToken()          // suspend; Java: accessTokenBlocking()
 * ```
 * Java fills the options with [options] and the record's setters (see the README).
 *
 * Errors are the generated [TokenKeepException] (sealed; its `message` is the
 * core's wording). Close the keeper ([AutoCloseable]) to free the native
 * session; the first one made also installs [TokenKeepLogging].
 */
class TokenKeeper @Throws(TokenKeepException::class) constructor(options: TokenKeeperOptions) :
    dev.tokenkeep.ffi.TokenKeeper(options.also { TokenKeepLogging.installOnce() }) {

    private val cache: AccessTokenCache? = if (options.clock == null) AccessTokenCache() else null

    /** Concurrent [accessToken] callers share one native call (see [SharedCall]). */
    internal val sharedAccessToken = SharedCall<String>()

    init {
        cache?.let { setTokenCache(it) }
    }

    /**
     * A valid access token: the cached one while its lease runs, otherwise
     * the core's (refreshing first if it expired; every caller shares one
     * refresh). Sensitive: send it, never log it.
     */
    @Throws(TokenKeepException::class)
    override suspend fun accessToken(): String =
        cache?.get() ?: sharedAccessToken.join { cachedSuspending() }

    private suspend fun cachedSuspending(): String = cached({ super.accessToken() }, { super.accessTokenLease() })

    /** Blocking [accessToken]. */
    @Throws(TokenKeepException::class)
    override fun accessTokenBlocking(): String =
        cached({ super.accessTokenBlocking() }, { super.accessTokenLeaseBlocking() })

    override fun destroy() {
        cache?.invalidate()
        super.destroy()
    }

    /** The cached token, or [lease]'s (cached for as long as it allows); [uncached] without a cache. */
    private inline fun cached(uncached: () -> String, lease: () -> TokenLease): String {
        val cache = cache ?: return uncached()
        cache.get()?.let { return it }
        val ticket = cache.ticket()
        return lease().use { cache.put(ticket, it.accessToken(), it.validForMs()) }
    }

    companion object {
        /**
         * Options with the two required fields and every other at its
         * default, for Java (Kotlin names the arguments instead). Set the
         * rest on the record: `options.setApiOrigins(…)`, `options.setStore(…)`,
         * `options.getPolicy().setRefreshAheadSecs(120)`.
         */
        @JvmStatic
        fun options(tokenEndpoint: String, clientId: String): TokenKeeperOptions =
            TokenKeeperOptions(tokenEndpoint = tokenEndpoint, clientId = clientId)
    }
}
