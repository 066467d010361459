package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.SessionState
import dev.tokenkeep.ffi.TokenKeepException
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
            // Two keepers hold copies of the same refresh token (a leaked
            // copy, or two processes that do not share a store).
            val tokens = fixture.signInTokens()
            val refreshToken = FixtureServer.string(tokens, "refresh_token")
            val clock = ManualClock()
            val listener = RecordingListener()
            val a = TokenKeeper(fixture.options().apply { this.clock = clock })
            val b = TokenKeeper(fixture.options().apply { this.clock = clock; this.listener = listener })
            a.use {
                b.use {
                    a.setTokenResponse(tokens).close()
                    b.setTokenResponse(tokens).close()
                    clock.advanceSecs(3_600)
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
                        is TokenKeepException.BadResponse,
                        is TokenKeepException.Configuration,
                        is TokenKeepException.Storage,
                        is TokenKeepException.Internal -> "report"
                    }
                    assertEquals("sign in", whatToDo)
                    assertIs<TokenKeepException.SessionExpired>(error)
                    assertEquals("invalid_grant", error.oauthError, "the server's OAuth error code is carried")
                    assertEquals("session expired, sign in again: ${error.detail}", error.message, "the core's wording")
                    assertEquals(error.toString(), error.message, "message is the core's Display")
                    assertTrue(!error.message.contains(refreshToken), "no token in the message")
                    assertEquals(SessionState.SESSION_EXPIRED, b.state())
                    assertNull(b.tokens())
                    flushEvents()
                    assertEquals(1, listener.expired.size, "one session-expired event")

                    // Both forms keep saying so, without asking the server.
                    val requests = fixture.tokenRequests()
                    assertFailsWith<TokenKeepException.SessionExpired> { b.accessTokenBlocking() }
                    assertFailsWith<TokenKeepException.SessionExpired> { b.refresh() }
                    assertEquals(requests, fixture.tokenRequests())

                    // The server revoked the whole family: a's rotated tokens are dead too.
                    clock.advanceSecs(3_600)
                    assertFailsWith<TokenKeepException.SessionExpired> { a.accessToken() }
                }
            }
        }
    }
}
