package dev.tokenkeep

/**
 * Builds a [TokenSession] from Java, where Kotlin's named arguments and
 * unsigned numbers are out of reach. Get one from [TokenSession.builder];
 * every setter returns the builder.
 *
 * ```java
 * TokenSession session = TokenSession.builder("https://auth.example.com/oauth/token", "my-app")
 *     .apiOrigins("https://api.example.com")
 *     .revocationEndpoint("https://auth.example.com/oauth/revoke")
 *     .accountId("user-42")
 *     .store(EncryptedFileStore.Companion.open(tokensDirectory, keyFromKeystore))
 *     .refreshAheadSeconds(120)
 *     .build();
 * ```
 *
 * Kotlin code passes a [ClientConfig] and named arguments to the
 * [TokenSession] constructor instead. Settings not offered here are set on
 * the [ClientConfig] or [RefreshPolicy] given to [config] / [policy].
 */
class TokenSessionBuilder internal constructor(private var config: ClientConfig) {
    private var accountId: String? = null
    private var clientSecret: String? = null
    private var policy = RefreshPolicy()
    private var store: TokenStore? = null
    private var manualClock: ManualClock? = null
    private val listeners = mutableListOf<SessionListener>()

    /** Replaces the whole client configuration (copied). */
    fun config(config: ClientConfig) = apply { this.config = config.copy() }

    /** The authorization endpoint (RFC 6749 §3.1), for sign-in with PKCE. */
    fun authorizationEndpoint(url: String) = apply { config.authorizationEndpoint = url }

    /** The revocation endpoint (RFC 7009), called on logout. */
    fun revocationEndpoint(url: String) = apply { config.revocationEndpoint = url }

    /**
     * The device authorization endpoint (RFC 8628 §3.1), for sign-in on a
     * device without a browser: `startDeviceAuthorization…`, then
     * `completeDeviceAuthorization…`.
     */
    fun deviceAuthorizationEndpoint(url: String) = apply { config.deviceAuthorizationEndpoint = url }

    /** The redirect URI of this client, for sign-in with PKCE. */
    fun redirectUri(uri: String) = apply { config.redirectUri = uri }

    /** The scopes to request. */
    fun scopes(vararg scopes: String) = apply { config.scopes = scopes.toList() }

    /** The origins the access token may be sent to (`https://api.example.com`). */
    fun apiOrigins(vararg origins: String) = apply { config.apiOrigins = origins.toList() }

    /** How the client authenticates at the token endpoint (default: by whether a secret is given). */
    fun authMethod(method: ClientAuthMethod) = apply { config.authMethod = method }

    /** An extra form parameter sent with every token request (`audience`, …). */
    fun extraTokenParam(name: String, value: String) =
        apply { config.extraTokenParams = config.extraTokenParams + (name to value) }

    /** Machine-to-machine: get tokens with the client_credentials grant (needs a secret). */
    fun clientCredentials(enabled: Boolean) = apply { config.clientCredentials = enabled }

    /** Field names for servers that do not answer in RFC 6749's shape. */
    fun responseMapping(mapping: ResponseMapping) = apply { config.responseMapping = mapping }

    /** The account's key in the store. */
    fun accountId(accountId: String) = apply { this.accountId = accountId }

    /** The client secret (confidential clients). Sensitive; never shown. */
    fun clientSecret(secret: String) = apply { this.clientSecret = secret }

    /** Where tokens are kept (default: in memory). */
    fun store(store: TokenStore) = apply { this.store = store }

    /**
     * Keeps tokens in the core's encrypted files (one per account, shared
     * safely between processes). Java opens it with
     * `EncryptedFileStore.Companion.open(directory, key32)`.
     */
    fun store(store: EncryptedFileStore): TokenSessionBuilder = store(store.asTokenStore())

    /**
     * Keeps tokens in the core's encrypted SQLite database (one row per
     * account). Java opens it with `SqliteStore.Companion.open(path, key32)`.
     */
    fun store(store: SqliteStore): TokenSessionBuilder = store(store.asTokenStore())

    /** Test time; also turns the JVM-side token cache off. */
    fun manualClock(clock: ManualClock) = apply { this.manualClock = clock }

    /** A listener for token changes, session expiry and refresh failures. */
    fun listener(listener: SessionListener) = apply { listeners += listener }

    /** Replaces the whole refresh policy (copied). */
    fun policy(policy: RefreshPolicy) = apply { this.policy = policy.copy() }

    /** Refresh this long before expiry while still serving the token (default 60). */
    fun refreshAheadSeconds(seconds: Long) = apply { policy.refreshAheadSecs = seconds.unsigned() }

    /** Treat tokens as expired this early (default 10). */
    fun clockSkewSeconds(seconds: Long) = apply { policy.clockSkewSecs = seconds.unsigned() }

    /** Refresh when the refresh token has this little left; 0 turns it off (default 3600). */
    fun refreshTokenKeepaliveSeconds(seconds: Long) = apply { policy.refreshTokenKeepaliveSecs = seconds.unsigned() }

    /** Retries of transient failures (default 3). */
    fun maxRetries(retries: Int) = apply { policy.maxRetries = retries.toLong().unsigned().toUInt() }

    /** First backoff between retries, doubling up to [maxBackoffMillis] (default 250). */
    fun initialBackoffMillis(millis: Long) = apply { policy.initialBackoffMs = millis.unsigned() }

    /** Longest backoff between retries (default 30 000). */
    fun maxBackoffMillis(millis: Long) = apply { policy.maxBackoffMs = millis.unsigned() }

    /** Longest `Retry-After` waited out; longer fails at once (default 60). */
    fun maxRetryAfterSeconds(seconds: Long) = apply { policy.maxRetryAfterSecs = seconds.unsigned() }

    /** Connect timeout (default 10 000). */
    fun connectTimeoutMillis(millis: Long) = apply { policy.connectTimeoutMs = millis.unsigned() }

    /** Whole-request timeout (default 30 000). */
    fun requestTimeoutMillis(millis: Long) = apply { policy.requestTimeoutMs = millis.unsigned() }

    /** Refresh in the background when due, without waiting for a caller (default off). */
    fun proactiveRefresh(enabled: Boolean) = apply { policy.proactiveRefresh = enabled }

    /** How long to wait for the store's lock on the account (default 60 000). */
    fun storeLockTimeoutMillis(millis: Long) = apply { policy.storeLockTimeoutMs = millis.unsigned() }

    /**
     * Checks the configuration, loads the account's tokens from the store
     * and returns the session.
     *
     * @throws TokenKeepException.Configuration if the configuration is wrong.
     * @throws TokenKeepException.Storage if the stored record cannot be read.
     */
    @Throws(TokenKeepException::class)
    fun build(): TokenSession =
        TokenSession(config.copy(), accountId, clientSecret, policy.copy(), store, manualClock, listeners.toList())

    override fun toString(): String =
        "TokenSessionBuilder(clientId=${config.clientId}, accountId=${accountId ?: "default"}, secret=${if (clientSecret != null) "[redacted]" else "none"})"

    private fun Long.unsigned(): ULong {
        require(this >= 0) { "must not be negative: $this" }
        return toULong()
    }
}
