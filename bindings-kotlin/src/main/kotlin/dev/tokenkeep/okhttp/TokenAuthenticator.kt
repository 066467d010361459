package dev.tokenkeep.okhttp

import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.ffi.TokenKeeperInterface
import okhttp3.Authenticator
import okhttp3.Request
import okhttp3.Response
import okhttp3.Route

/**
 * Answers an HTTP 401 from one of the keeper's API origins: gets a new
 * access token with the core's `refreshIfRejected` and retries the request
 * once.
 *
 * It acts only on requests whose bearer token [TokenInterceptor] attached
 * and that still carry it (not after a redirect dropped it), and only when
 * the core's `maySendTokenTo` allows the URL; anything else gets no answer
 * (`null`), so OkHttp returns the 401. A request already retried with a new
 * token is not retried again.
 *
 * `refreshIfRejected` refreshes once however many requests were rejected at
 * once, and not at all if another caller already renewed the token; the
 * core also drops the JVM-side cached token. When no token can be had the
 * call fails with [TokenKeepIOException] carrying the reason.
 */
class TokenAuthenticator(private val keeper: TokenKeeperInterface) : Authenticator {
    override fun authenticate(route: Route?, response: Response): Request? {
        val request = response.request
        val attached = request.tag(AttachedToken::class.java) ?: return null
        if (attached.retried || request.header(AUTHORIZATION) != "Bearer ${attached.token}") return null
        if (!keeper.maySendTokenTo(request.url.toString())) return null
        val fresh = try {
            keeper.refreshIfRejectedBlocking(attached.token).use { it.accessToken() }
        } catch (e: TokenKeepException) {
            throw TokenKeepIOException(e)
        }
        return request.withToken(fresh, retried = true)
    }
}
