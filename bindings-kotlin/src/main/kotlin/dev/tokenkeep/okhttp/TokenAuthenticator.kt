package dev.tokenkeep.okhttp

import dev.tokenkeep.TokenKeepException
import dev.tokenkeep.TokenSession
import okhttp3.Authenticator
import okhttp3.Request
import okhttp3.Response
import okhttp3.Route

/**
 * Answers an HTTP 401 from one of the session's API origins: gets a new
 * access token and retries the request once.
 *
 * It acts only on requests whose bearer token [TokenInterceptor] attached
 * and that still carry it (not after a redirect dropped it), and only for
 * origins in `apiOrigins`; anything else gets no answer (`null`), so OkHttp
 * returns the 401. A request already retried with a new token is not
 * retried again.
 *
 * The new token comes from the core's `refreshIfRejected` with the token
 * that was rejected: one refresh however many requests were rejected at
 * once, and none if another caller already renewed the token (the core
 * compares the tokens in constant time, and a refresh that finishes while
 * it looks is not repeated). The JVM-side cached token is dropped first, so
 * no other call picks the rejected token out of the cache meanwhile.
 *
 * When no token can be had (session expired, offline, …) the call fails
 * with [TokenKeepIOException] carrying the reason.
 */
class TokenAuthenticator(private val session: TokenSession) : Authenticator {
    override fun authenticate(route: Route?, response: Response): Request? {
        val request = response.request
        val attached = request.tag(AttachedToken::class.java) ?: return null
        if (attached.retried || !session.allows(request.url)) return null
        if (request.header(AUTHORIZATION) != "Bearer ${attached.token}") return null

        session.invalidateCachedToken()
        val fresh = try {
            session.refreshIfRejectedBlocking(attached.token).use { it.accessToken() }
        } catch (e: TokenKeepException) {
            throw TokenKeepIOException(e)
        }
        return request.withToken(fresh, retried = true)
    }
}
