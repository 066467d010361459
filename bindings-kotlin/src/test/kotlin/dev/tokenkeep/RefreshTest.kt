package dev.tokenkeep

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/** Refresh on expiry and rotation, on the core's ManualClock. */
class RefreshTest {
    @Test
    fun `an expired token is refreshed once and both tokens are rotated`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            val listener = RecordingListener()
            signedInSession(fixture, clock = clock, listener = listener).use { session ->
                val firstAccess = session.accessToken()
                val firstRefresh = session.tokens()!!.use { it.refreshToken()!! }

                clock.advanceSecs(3_600u)
                assertEquals(SessionState.EXPIRED, session.state())
                val secondAccess = session.accessToken()
                assertNotEquals(firstAccess, secondAccess)
                assertEquals(1, fixture.refreshRequests())

                val secondRefresh = session.tokens()!!.use { it.refreshToken()!! }
                assertNotEquals(firstRefresh, secondRefresh, "rotation: a new refresh token replaced the old one")
                assertFalse(fixture.isActive(firstRefresh), "the spent refresh token is dead at the server")
                assertTrue(fixture.isActive(secondRefresh))
                assertTrue(fixture.isActive(secondAccess))

                assertEquals(secondAccess, session.accessToken(), "fresh again: no second refresh")
                assertEquals(1, fixture.refreshRequests())
                eventually("a Refreshed event") { listener.changed.any { it.reason == ChangeReason.REFRESHED } }
            }
        }
    }

    @Test
    fun `inside the refresh-ahead window the current token is served while one refresh runs`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            signedInSession(fixture, clock = clock).use { session ->
                val first = session.accessToken()
                clock.advanceSecs(3_550u) // due at 3540 s, expired from 3590 s
                assertEquals(first, session.accessToken(), "still served while due")
                eventually("the background refresh") { fixture.refreshRequests() == 1 }
                eventually("the refreshed token") { session.accessTokenBlocking() != first }
                assertEquals(1, fixture.refreshRequests())
            }
        }
    }

    @Test
    fun `refresh and logout through the session`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInSession(fixture).use { session ->
                val first = session.accessToken()
                val refreshed = session.refresh().use { it.accessToken() }
                assertNotEquals(first, refreshed)
                assertEquals(refreshed, session.accessToken(), "the cache was dropped by refresh()")
                assertTrue(session.logout().fullyRevoked, "the server confirmed both revocations")
                assertEquals(SessionState.LOGGED_OUT, session.state())
                assertFalse(fixture.isActive(refreshed))
            }
        }
    }
}
