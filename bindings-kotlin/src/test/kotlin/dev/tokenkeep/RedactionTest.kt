package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.SessionState
import dev.tokenkeep.ffi.TokenKeepException
import java.io.PrintWriter
import java.io.StringWriter
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/** No token in toString(), in exception messages or in stack traces; messages say what to do. */
class RedactionTest {
    private fun assertNoToken(text: String, vararg tokens: String) {
        for (token in tokens) assertFalse(text.contains(token), "a token leaked into: $text")
    }

    private fun Throwable.fullText(): String = StringWriter().also { printStackTrace(PrintWriter(it)) }.toString()

    @Test
    fun `toString shows no token`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val access = keeper.accessToken()
                val refresh = keeper.tokens()!!.use { it.refreshToken()!! }
                val options = fixture.options().apply { clientSecret = "s3cret-value" }
                val texts = listOf(
                    keeper.toString(),
                    keeper.tokens()!!.use { it.toString() },
                    keeper.accessTokenLeaseBlocking().use { it.toString() },
                    keeper.refresh().use { it.toString() },
                    keeper.authorizationRequest(emptyMap()).use { it.toString() },
                    options.toString(),
                    AccessTokenCache().apply { put(ticket(), access, 60_000) }.toString(),
                )
                texts.forEach { assertNoToken(it, access, refresh, "s3cret-value") }
                assertTrue(options.toString().contains("public-app"), "shows the fields: $options")
            }
        }
    }

    @Test
    fun `a transient failure says to try later, carries Retry-After, and shows no token`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            val keeper = TokenKeeper(fixture.options().apply { policy.maxRetries = 0; this.clock = clock })
            keeper.use {
                val tokens = fixture.signInTokens()
                keeper.setTokenResponse(tokens).close()
                fixture.admin("/admin/faults", """{"count": 5, "status": 503, "retry_after": 7}""")
                clock.advanceSecs(3_600)
                val error = assertFailsWith<TokenKeepException.Transient> { keeper.accessToken() }
                assertEquals(7L, error.retryAfterSecs)
                assertEquals("temporary failure, try again later: ${error.detail}", error.message, "the core's wording")
                assertNoToken(error.fullText(), FixtureServer.string(tokens, "access_token"), FixtureServer.string(tokens, "refresh_token"))
                assertEquals(SessionState.EXPIRED, keeper.state(), "tokens kept")
            }
        }
    }

    @Test
    fun `keeper-expired and sign-in errors show no token or code`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val access = keeper.accessToken()
                val refresh = keeper.tokens()!!.use { it.refreshToken()!! }
                fixture.admin("/admin/revoke-all")
                val expired = assertFailsWith<TokenKeepException.SessionExpired> { keeper.refresh() }
                assertNoToken(expired.fullText(), access, refresh)

                val request = keeper.authorizationRequest(emptyMap())
                val callback = fixture.approve(request.url())
                val code = FixtureServer.queryParameter(callback, "code")
                val forged = callback.replace(Regex("state=[^&]*"), "state=forged")
                val signIn = assertFailsWith<TokenKeepException.Authorization> {
                    keeper.completeAuthorization(request, forged)
                }
                assertEquals("sign-in failed: ${signIn.detail}", signIn.message)
                assertNoToken(signIn.fullText(), code, request.codeVerifier())
                request.close()
            }
        }
    }
}
