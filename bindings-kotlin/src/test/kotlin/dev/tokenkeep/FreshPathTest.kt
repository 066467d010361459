package dev.tokenkeep

import java.util.concurrent.ExecutionException
import java.util.concurrent.TimeUnit.SECONDS
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

class FreshPathTest {
    @Test
    fun `a fresh token comes from every variant without a token request`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInSession(fixture).use { session ->
                val requests = fixture.tokenRequests() // the sign-in's code grant
                val token = session.accessToken()
                assertEquals(token, session.accessTokenBlocking())
                assertEquals(token, session.accessTokenAsync().get(5, SECONDS))
                assertEquals(token, session.keeper.accessToken(), "the uncached core call agrees")
                assertEquals(token, session.keeper.accessTokenBlocking())
                assertEquals(SessionState.VALID, session.state())
                assertEquals(requests, fixture.tokenRequests(), "no token request for a fresh token")
                assertTrue(fixture.isActive(token), "the server issued this token")
            }
        }
    }

    @Test
    fun `before sign-in every variant says not signed in`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            TokenSession(fixture.config()).use { session ->
                assertEquals(SessionState.EMPTY, session.state())
                assertFailsWith<TokenKeepException.NotSignedIn> { session.accessToken() }
                assertFailsWith<TokenKeepException.NotSignedIn> { session.accessTokenBlocking() }
                val failure = assertFailsWith<ExecutionException> { session.accessTokenAsync().get(5, SECONDS) }
                assertIs<TokenKeepException.NotSignedIn>(failure.cause)
                assertEquals(0, fixture.tokenRequests())
            }
        }
    }

    @Test
    fun `a wrong configuration fails at build time with a message that says what to fix`() {
        val error = assertFailsWith<TokenKeepException.Configuration> {
            TokenSession(ClientConfig(tokenEndpoint = "http://auth.example.com/token", clientId = "app"))
        }
        assertTrue(error.message.startsWith("configuration error: "), error.message)
        assertTrue(error.message.contains("must use https"), error.message)
    }

    @Test
    fun `a closed session refuses calls`() {
        FixtureServer().use { fixture ->
            val session = signedInSession(fixture)
            session.accessTokenBlocking()
            session.close()
            assertFailsWith<IllegalStateException> { session.accessTokenBlocking() }
        }
    }
}
