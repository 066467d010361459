package dev.tokenkeep

import dev.tokenkeep.ffi.SessionState
import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.ffi.TokenKeeperOptions
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

class FreshPathTest {
    @Test
    fun `a fresh token comes from both forms without a token request`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val requests = fixture.tokenRequests() // the sign-in's code grant
                val token = keeper.accessToken()
                assertEquals(token, keeper.accessTokenBlocking())
                assertEquals(token, keeper.accessTokenLeaseBlocking().use { it.accessToken() }, "the uncached core call agrees")
                assertEquals(SessionState.VALID, keeper.state())
                assertEquals(requests, fixture.tokenRequests(), "no token request for a fresh token")
                assertTrue(fixture.isActive(token), "the server issued this token")
            }
        }
    }

    @Test
    fun `before sign-in both forms say not signed in`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            TokenKeeper(fixture.options()).use { keeper ->
                assertEquals(SessionState.EMPTY, keeper.state())
                assertFailsWith<TokenKeepException.NotSignedIn> { keeper.accessToken() }
                assertFailsWith<TokenKeepException.NotSignedIn> { keeper.accessTokenBlocking() }
                assertEquals(0, fixture.tokenRequests())
            }
        }
    }

    @Test
    fun `a wrong configuration fails when the keeper is made`() {
        val error = assertFailsWith<TokenKeepException.Configuration> {
            TokenKeeper(TokenKeeperOptions(tokenEndpoint = "http://auth.example.com/token", clientId = "app"))
        }
        assertTrue(error.message.contains("must use https"), error.message)
        val negative = assertFailsWith<TokenKeepException.Configuration> {
            TokenKeeper(TokenKeeper.options("https://auth.example.com/token", "app").apply { policy.refreshAheadSecs = -1 })
        }
        assertTrue(negative.message.contains("refresh_ahead_secs"), negative.message)
    }

    @Test
    fun `a closed keeper refuses calls and forgets its cached token`() {
        FixtureServer().use { fixture ->
            val keeper = signedInKeeper(fixture)
            keeper.accessTokenBlocking()
            keeper.close()
            assertFailsWith<IllegalStateException> { keeper.accessTokenBlocking() }
        }
    }
}
