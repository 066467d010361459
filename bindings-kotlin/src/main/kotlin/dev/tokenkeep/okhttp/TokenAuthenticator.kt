package dev.tokenkeep.okhttp

import dev.tokenkeep.TokenKeepException
import dev.tokenkeep.TokenSession
import java.security.MessageDigest
import okhttp3.Authenticator
import okhttp3.Request
import okhttp3.Response
import okhttp3.Route

/**
 * Answers an HTTP 401 from one of the session's API origins: gets a new
 * access token (refreshing once) and retries the request once.
 *
 * It acts only on requests whose bearer token [TokenInterceptor] attached
 * and that still carry it (not after a redirect dropped it), and only for
 * origins in `apiOrigins`; anything else gets no answer (`null`), so OkHttp
 * returns the 401. A request already retried with a new token is not
 * retried again. If another caller renewed the token meanwhile, the request
 * is retried with that token without another refresh.
 *
 * When the refresh fails (session expired, offline, …) the call fails with
 * [TokenKeepIOException] carrying the reason.
 */
class TokenAuthenticator(private val session: TokenSession) : Authenticator {
    override fun authenticate(route: Route?, response: Response): Request? {
        val request = response.request
        val attached = request.tag(AttachedToken::class.java) ?: return null
        if (attached.retried || !session.allows(request.url)) return null
        if (request.header(AUTHORIZATION) != "Bearer ${attached.token}") return null

        session.invalidateCachedToken()
        val fresh = try {
            val current = session.accessTokenBlocking()
            if (!sameToken(current, attached.token)) {
                current // someone else already renewed it
            } else {
                session.refreshBlocking().use { it.accessToken() }
            }
        } catch (e: TokenKeepException) {
            throw TokenKeepIOException(e)
        }
        return request.withToken(fresh, retried = true)
    }

    private fun sameToken(a: String, b: String): Boolean =
        MessageDigest.isEqual(a.toByteArray(Charsets.UTF_8), b.toByteArray(Charsets.UTF_8))
}
