package dev.tokenkeep.okhttp

import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.ffi.TokenKeeperInterface
import okhttp3.Interceptor
import okhttp3.Request
import okhttp3.Response

/**
 * Attaches `Authorization: Bearer <access token>` to requests the core's
 * `maySendTokenTo` allows (an origin in `apiOrigins`, https or loopback
 * http, no user info), and to no other.
 *
 * Add it as an application interceptor with [TokenAuthenticator] (what
 * [authorizedBy] does): OkHttp drops `Authorization` itself when a redirect
 * leaves the origin, and the authenticator sees which token was sent.
 *
 * A request that already carries an `Authorization` header is left alone.
 * The token comes from `accessTokenBlocking()` (the cached one while fresh;
 * one shared refresh when expired). If no token can be had the call fails
 * with [TokenKeepIOException].
 */
class TokenInterceptor(private val keeper: TokenKeeperInterface) : Interceptor {
    override fun intercept(chain: Interceptor.Chain): Response {
        val request = chain.request()
        if (request.header(AUTHORIZATION) != null || !keeper.maySendTokenTo(request.url.toString())) {
            return chain.proceed(request)
        }
        val token = try {
            keeper.accessTokenBlocking()
        } catch (e: TokenKeepException) {
            throw TokenKeepIOException(e)
        }
        return chain.proceed(request.withToken(token, retried = false))
    }
}

internal const val AUTHORIZATION = "Authorization"

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
