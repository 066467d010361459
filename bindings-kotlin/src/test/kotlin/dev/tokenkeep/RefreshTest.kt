package dev.tokenkeep

import dev.tokenkeep.ffi.ChangeReason
import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.SessionState
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
            signedInKeeper(fixture, clock = clock, listener = listener).use { keeper ->
                val firstAccess = keeper.accessToken()
                val firstRefresh = keeper.tokens()!!.use { it.refreshToken()!! }

                clock.advanceSecs(3_600)
                assertEquals(SessionState.EXPIRED, keeper.state())
                val secondAccess = keeper.accessToken()
                assertNotEquals(firstAccess, secondAccess)
                assertEquals(1, fixture.refreshRequests())

                val secondRefresh = keeper.tokens()!!.use { it.refreshToken()!! }
                assertNotEquals(firstRefresh, secondRefresh, "rotation: a new refresh token replaced the old one")
                assertFalse(fixture.isActive(firstRefresh), "the spent refresh token is dead at the server")
                assertTrue(fixture.isActive(secondRefresh))
                assertTrue(fixture.isActive(secondAccess))

                assertEquals(secondAccess, keeper.accessToken(), "fresh again: no second refresh")
                assertEquals(1, fixture.refreshRequests())
                flushEvents()
                val refreshed = listener.changed.single { it.reason == ChangeReason.REFRESHED }
                assertEquals(secondAccess, refreshed.tokens!!.accessToken(), "the event carries the new token set")
            }
        }
    }

    @Test
    fun `inside the refresh-ahead window the current token is served while one refresh runs`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            val listener = RecordingListener()
            signedInKeeper(fixture, clock = clock, listener = listener).use { keeper ->
                val first = keeper.accessToken()
                clock.advanceSecs(3_550) // due at 3540 s, expired from 3590 s
                assertEquals(first, keeper.accessToken(), "still served while due")
                // The sign-in's event first, then the background refresh's.
                val event = generateSequence { listener.nextChange() }.first { it.reason == ChangeReason.REFRESHED }
                assertNotEquals(first, keeper.accessTokenBlocking())
                assertEquals(event.tokens!!.accessToken(), keeper.accessTokenBlocking())
                assertEquals(1, fixture.refreshRequests())
            }
        }
    }

    @Test
    fun `refresh and logout through the keeper`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val first = keeper.accessToken()
                val refreshed = keeper.refresh().use { it.accessToken() }
                assertNotEquals(first, refreshed)
                assertEquals(refreshed, keeper.accessToken(), "the cache was dropped by refresh()")
                assertTrue(keeper.logout().fullyRevoked, "the server confirmed both revocations")
                assertEquals(SessionState.LOGGED_OUT, keeper.state())
                assertFalse(fixture.isActive(refreshed))
            }
        }
    }
}
