package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.RefreshFailure
import dev.tokenkeep.ffi.SessionListener
import dev.tokenkeep.ffi.TokenCache
import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.ffi.TokensChanged
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertNull
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/** The JVM-side fast path: the core drops the cached token, synchronously, on every change. */
class CacheTest {
    /** Counts the core's invalidations. */
    private class CountingCache : TokenCache {
        val invalidations = AtomicInteger()
        override fun invalidate() { invalidations.incrementAndGet() }
    }

    @Test
    fun `logout drops the cached token at once`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                keeper.accessToken()
                keeper.logoutBlocking()
                assertFailsWith<TokenKeepException.NotSignedIn> { keeper.accessTokenBlocking() }
                assertFailsWith<TokenKeepException.NotSignedIn> { keeper.accessToken() }
            }
        }
    }

    @Test
    fun `the keeper's changes drop the cached token before they return, whatever the listeners do`() {
        FixtureServer().use { fixture ->
            // A listener that blocks the event thread: only the core's
            // synchronous TokenCache hook can be at work here.
            val release = CountDownLatch(1)
            val blocking = object : SessionListener {
                override fun onTokensChanged(event: TokensChanged) { release.await(10, TimeUnit.SECONDS) }
                override fun onSessionExpired(reason: String) = Unit
                override fun onRefreshFailed(failure: RefreshFailure) = Unit
            }
            try {
                signedInKeeper(fixture, listener = blocking).use { keeper ->
                    val first = keeper.accessTokenBlocking()
                    val refreshed = keeper.refreshBlocking().use { it.accessToken() }
                    assertNotEquals(first, refreshed)
                    assertEquals(refreshed, keeper.accessTokenBlocking(), "after refresh")

                    val other = fixture.signInTokens()
                    keeper.setTokenResponse(other).close()
                    assertEquals(FixtureServer.string(other, "access_token"), keeper.accessTokenBlocking(), "after setTokenResponse")

                    keeper.setTokens("at_set_by_hand", expiresInSecs = 600).close()
                    assertEquals("at_set_by_hand", keeper.accessTokenBlocking(), "after setTokens")

                    keeper.logoutBlocking()
                    assertFailsWith<TokenKeepException.NotSignedIn> { keeper.accessTokenBlocking() }
                }
            } finally {
                release.countDown()
            }
        }
    }

    @Test
    fun `a failed refresh drops the cache`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val cache = AccessTokenCache()
                val token = keeper.accessTokenBlocking()
                cache.put(cache.ticket(), token, 60_000)
                assertEquals(token, cache.get())
                keeper.setTokenCache(cache)
                fixture.admin("/admin/faults", """{"count": 5, "status": 503}""")
                assertFailsWith<TokenKeepException.Transient> { keeper.refreshBlocking() }
                assertNull(cache.get(), "dropped by the core before refreshBlocking returned")
            }
        }
    }

    @Test
    fun `a refresh that ends the session drops the cached token`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                keeper.accessTokenBlocking() // cached
                fixture.admin("/admin/revoke-all")
                assertFailsWith<TokenKeepException.SessionExpired> { keeper.refreshBlocking() }
                assertFailsWith<TokenKeepException.SessionExpired> { keeper.accessTokenBlocking() }
            }
        }
    }

    @Test
    fun `refreshIfRejected drops the cache even when the token had already changed`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val counting = CountingCache()
                keeper.setTokenCache(counting)
                keeper.refreshIfRejectedBlocking("at_not_the_current_one").close()
                assertEquals(1, counting.invalidations.get())
                assertEquals(0, fixture.refreshRequests(), "another token was rejected: no refresh")
            }
        }
    }

    @Test
    fun `a lookup that started before an invalidation does not store its token after it`() {
        val cache = AccessTokenCache()
        val ticket = cache.ticket()
        cache.invalidate() // the tokens changed while the lease was on its way
        assertEquals("at_old", cache.put(ticket, "at_old", 60_000))
        assertNull(cache.get(), "not cached")
        cache.put(cache.ticket(), "at_new", 60_000)
        assertEquals("at_new", cache.get(), "cached when nothing intervened")
        cache.put(cache.ticket(), "at_zero", 0)
        assertEquals("at_new", cache.get(), "a lease of 0 ms is not cached")
    }

    @Test
    fun `with a manual clock nothing is cached`() {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            signedInKeeper(fixture, clock = clock).use { keeper ->
                val first = keeper.accessTokenBlocking()
                clock.advanceSecs(3_600)
                assertNotEquals(first, keeper.accessTokenBlocking(), "the clock moved: refreshed, not cached")
            }
        }
    }
}
