package dev.tokenkeep.okhttp

import dev.tokenkeep.TokenKeepException
import dev.tokenkeep.TokenSession
import okhttp3.HttpUrl
import okhttp3.Interceptor
import okhttp3.Request
import okhttp3.Response

/**
 * Attaches `Authorization: Bearer <access token>` to requests whose origin
 * is one of the session's `apiOrigins`, and to no other.
 *
 * Add it as an application interceptor (`addInterceptor`, what
 * [authorizedBy] does) together with [TokenAuthenticator]. It then runs
 * once per call; redirects are followed after it, and OkHttp itself drops
 * `Authorization` when a redirect leaves the host, scheme or port. As a
 * network interceptor (`addNetworkInterceptor`) it runs for every hop and
 * checks each hop's origin, but then [TokenAuthenticator] cannot see which
 * token was sent and leaves 401s alone: the 401 retry needs the application
 * placement.
 *
 * A request that already carries an `Authorization` header is left alone.
 * The token comes from [TokenSession.accessTokenBlocking] (the JVM-side
 * cache while fresh; a refresh, shared with every other caller, when
 * expired). If no token can be had the call fails with
 * [TokenKeepIOException].
 */
class TokenInterceptor(private val session: TokenSession) : Interceptor {
    override fun intercept(chain: Interceptor.Chain): Response {
        val request = chain.request()
        if (request.header(AUTHORIZATION) != null || !session.allows(request.url)) {
            return chain.proceed(request)
        }
        val token = try {
            session.accessTokenBlocking()
        } catch (e: TokenKeepException) {
            throw TokenKeepIOException(e)
        }
        return chain.proceed(request.withToken(token, retried = false))
    }
}

internal const val AUTHORIZATION = "Authorization"

/**
 * Whether the token may go to [url], judged on OkHttp's own parse of it
 * (why not the core's `maySendTokenTo`: see [dev.tokenkeep.ApiOrigins]).
 */
internal fun TokenSession.allows(url: HttpUrl): Boolean = apiOrigins.allows(url.scheme, url.host, url.port)

/**
 * Marks a request whose `Authorization` header this integration wrote, so
 * the authenticator answers only for those and retries each at most once.
 * Its `toString()` shows no token (tags can end up in logs).
 */
internal class AttachedToken(val token: String, val retried: Boolean) {
    override fun toString(): String = "AttachedToken([redacted], retried=$retried)"
}

internal fun Request.withToken(token: String, retried: Boolean): Request =
    newBuilder()
        .header(AUTHORIZATION, "Bearer $token")
        .tag(AttachedToken::class.java, AttachedToken(token, retried))
        .build()
