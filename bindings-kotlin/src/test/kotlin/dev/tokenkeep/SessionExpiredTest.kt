package dev.tokenkeep

import java.util.concurrent.ExecutionException
import java.util.concurrent.TimeUnit.SECONDS
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

class SessionExpiredTest {
    @Test
    fun `reuse of a rotated refresh token ends the session with SessionExpired`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            // Two sessions hold copies of the same refresh token (a leaked
            // copy, or two processes that do not share a store).
            val tokens = fixture.signInTokens()
            val refreshToken = FixtureServer.string(tokens, "refresh_token")
            val clock = ManualClock()
            val listener = RecordingListener()
            val a = TokenSession(fixture.config(), policy = fastPolicy(), manualClock = clock)
            val b = TokenSession(fixture.config(), policy = fastPolicy(), manualClock = clock, listeners = listOf(listener))
            a.use {
                b.use {
                    a.setTokenResponse(tokens).close()
                    b.setTokenResponse(tokens).close()
                    clock.advanceSecs(3_600u)
                    a.accessToken() // refreshes first and rotates

                    val error = try {
                        b.accessToken()
                        fail("b presented the spent refresh token and should have failed")
                    } catch (e: TokenKeepException) {
                        e
                    }
                    val whatToDo = when (error) {
                        is TokenKeepException.SessionExpired, is TokenKeepException.NotSignedIn -> "sign in"
                        is TokenKeepException.Transient -> "retry later"
                        is TokenKeepException.Authorization,
                        is TokenKeepException.Protocol,
                        is TokenKeepException.Configuration,
                        is TokenKeepException.Storage,
                        is TokenKeepException.Internal -> "report"
                    }
                    assertEquals("sign in", whatToDo)
                    assertIs<TokenKeepException.SessionExpired>(error)
                    assertTrue(error.needsSignIn)
                    assertTrue(error.message.startsWith("session expired, sign in again: "), error.message)
                    assertTrue(!error.message.contains(refreshToken), "no token in the message")
                    assertEquals(SessionState.SESSION_EXPIRED, b.state())
                    assertNull(b.tokens())
                    eventually("one session-expired event") { listener.expired.size == 1 }

                    // Every variant keeps saying so, without asking the server.
                    val requests = fixture.tokenRequests()
                    assertFailsWith<TokenKeepException.SessionExpired> { b.accessTokenBlocking() }
                    val async = assertFailsWith<ExecutionException> { b.accessTokenAsync().get(5, SECONDS) }
                    assertIs<TokenKeepException.SessionExpired>(async.cause)
                    assertFailsWith<TokenKeepException.SessionExpired> { b.refresh() }
                    assertEquals(requests, fixture.tokenRequests())

                    // The server revoked the whole family: a's rotated tokens are dead too.
                    clock.advanceSecs(3_600u)
                    assertFailsWith<TokenKeepException.SessionExpired> { a.accessToken() }
                }
            }
        }
    }
}
