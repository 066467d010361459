package dev.tokenkeep

import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/** The JVM-side fast path: what drops the cached token, and what it never does. */
class CacheTest {
    @Test
    fun `logout drops the cached token at once`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInSession(fixture).use { session ->
                session.accessToken()
                session.logoutBlocking()
                assertFailsWith<TokenKeepException.NotSignedIn> { session.accessTokenBlocking() }
                assertFailsWith<TokenKeepException.NotSignedIn> { session.accessToken() }
            }
        }
    }

    @Test
    fun `new tokens replace the cached one at once`() {
        FixtureServer().use { fixture ->
            signedInSession(fixture).use { session ->
                val first = session.accessTokenBlocking()
                val other = fixture.signInTokens()
                session.setTokenResponse(other).close()
                assertEquals(FixtureServer.string(other, "access_token"), session.accessTokenBlocking())
                assertNotEquals(first, session.accessTokenBlocking())
            }
        }
    }

    @Test
    fun `the session's own changes drop the cached token before they return, whatever the listeners do`() {
        FixtureServer().use { fixture ->
            // Listeners run in order on one dispatch thread: a listener that
            // blocks holds back the cache's own listener, so only the
            // session's synchronous invalidation can be at work here.
            val release = CountDownLatch(1)
            val blocking = object : SessionListener {
                override fun onTokensChanged(event: TokensChanged) { release.await(10, TimeUnit.SECONDS) }
                override fun onSessionExpired(message: String) = Unit
                override fun onRefreshFailed(failure: RefreshFailure) = Unit
            }
            try {
                signedInSession(fixture, listener = blocking).use { session ->
                    val first = session.accessTokenBlocking()
                    val refreshed = session.refreshBlocking().use { it.accessToken() }
                    assertNotEquals(first, refreshed)
                    assertEquals(refreshed, session.accessTokenBlocking(), "after refresh")

                    val other = fixture.signInTokens()
                    session.setTokenResponse(other).close()
                    assertEquals(FixtureServer.string(other, "access_token"), session.accessTokenBlocking(), "after setTokenResponse")

                    session.logoutBlocking()
                    assertFailsWith<TokenKeepException.NotSignedIn> { session.accessTokenBlocking() }
                }
            } finally {
                release.countDown()
            }
        }
    }

    @Test
    fun `a change the core reports through its listener drops the cached token`() {
        FixtureServer().use { fixture ->
            signedInSession(fixture).use { session ->
                val first = session.accessTokenBlocking()
                // The raw keeper bypasses the session's own invalidation:
                // only the core's TokensChanged event can tell the cache.
                val refreshed = session.keeper.refreshBlocking().use { it.accessToken() }
                assertNotEquals(first, refreshed)
                eventually("the cache follows the core's event") { session.accessTokenBlocking() == refreshed }
            }
        }
    }

    @Test
    fun `a lookup that started before an invalidation does not store its token after it`() {
        FixtureServer().use { fixture ->
            signedInSession(fixture).use { session ->
                val cache = TokenCache(enabled = true)
                val ticket = cache.ticket()
                val lease = session.keeper.accessTokenLeaseBlocking()
                cache.invalidate() // the tokens changed while the lease was on its way
                val token = cache.admit(ticket, lease)
                assertEquals(session.accessTokenBlocking(), token)
                assertTrue(cache.get() == null, "not cached")
                cache.admit(cache.ticket(), session.keeper.accessTokenLeaseBlocking())
                assertEquals(token, cache.get(), "cached when nothing intervened")
            }
        }
    }

    @Test
    fun `with a manual clock nothing is cached`() {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            signedInSession(fixture, clock = clock).use { session ->
                val first = session.accessTokenBlocking()
                clock.advanceSecs(3_600u)
                assertNotEquals(first, session.accessTokenBlocking(), "the clock moved: refreshed, not cached")
            }
        }
    }
}
