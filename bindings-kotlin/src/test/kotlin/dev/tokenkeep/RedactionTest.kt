package dev.tokenkeep

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
            signedInSession(fixture).use { session ->
                val access = session.accessToken()
                val refresh = session.tokens()!!.use { it.refreshToken()!! }
                val texts = listOf(
                    session.toString(),
                    session.keeper.toString(),
                    session.tokens()!!.use { it.toString() },
                    session.keeper.accessTokenLeaseBlocking().use { it.toString() },
                    session.refresh().use { it.toString() },
                    session.authorizationRequest(emptyMap()).use { it.toString() },
                    TokenSession.builder(fixture.url("/token"), "app").clientSecret("s3cret-value").toString(),
                    TokenCache(true).toString(),
                )
                texts.forEach { assertNoToken(it, access, refresh, "s3cret-value") }
                assertTrue(texts.first().contains("default"), "names the account: ${texts.first()}")
            }
        }
    }

    @Test
    fun `a transient failure says to try later, carries Retry-After, and shows no token`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            val session = TokenSession(
                fixture.config(),
                policy = RefreshPolicy(maxRetries = 0u),
                manualClock = clock,
            )
            session.use {
                val tokens = fixture.signInTokens()
                session.setTokenResponse(tokens).close()
                fixture.admin("/admin/faults", """{"count": 5, "status": 503, "retry_after": 7}""")
                clock.advanceSecs(3_600u)
                val error = assertFailsWith<TokenKeepException.Transient> { session.accessToken() }
                assertEquals(7L, error.retryAfterSeconds)
                assertTrue(error.message.startsWith("temporary failure, try again later (the server asked to wait 7 s): "), error.message)
                assertFalse(error.needsSignIn)
                assertNoToken(error.fullText(), FixtureServer.string(tokens, "access_token"), FixtureServer.string(tokens, "refresh_token"))
                assertEquals(SessionState.EXPIRED, session.state(), "tokens kept")
            }
        }
    }

    @Test
    fun `session-expired and sign-in errors show no token or code`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInSession(fixture).use { session ->
                val access = session.accessToken()
                val refresh = session.tokens()!!.use { it.refreshToken()!! }
                fixture.admin("/admin/revoke-all")
                val expired = assertFailsWith<TokenKeepException.SessionExpired> { session.refresh() }
                assertNoToken(expired.fullText(), access, refresh)

                val request = session.authorizationRequest(emptyMap())
                val callback = fixture.approve(request.url())
                val code = FixtureServer.queryParameter(callback, "code")
                val forged = callback.replace(Regex("state=[^&]*"), "state=forged")
                val signIn = assertFailsWith<TokenKeepException.Authorization> {
                    session.completeAuthorization(request, forged)
                }
                assertTrue(signIn.message.startsWith("sign-in failed: "), signIn.message)
                assertNoToken(signIn.fullText(), code, request.codeVerifier())
                request.close()
            }
        }
    }
}
