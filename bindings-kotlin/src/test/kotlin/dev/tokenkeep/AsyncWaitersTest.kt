package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.TokenKeepException
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Test

/** 1,000 coroutines on one expired token share one native call (issue 13, item 9). */
class AsyncWaitersTest {
    private val callers = 1_000

    @Test
    fun `1000 coroutines on an expired token make one refresh and get one token`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            signedInKeeper(fixture, clock = clock).use { keeper ->
                val old = keeper.accessToken()
                clock.advanceSecs(3_600)
                fixture.admin("/admin/faults", """{"delay_ms": 200}""")
                val tokens = withTimeout(30_000) {
                    coroutineScope { (1..callers).map { async(Dispatchers.Default) { keeper.accessToken() } }.awaitAll() }
                }
                assertEquals(callers, tokens.size)
                assertEquals(1, tokens.toSet().size, "every caller got the same token")
                assertNotEquals(old, tokens.first())
                assertEquals(1, fixture.refreshRequests(), "one refresh for $callers coroutines")
            }
        }
    }

    @Test
    fun `a cancelled coroutine does not disturb the others`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            signedInKeeper(fixture, clock = clock).use { keeper ->
                val old = keeper.accessToken()
                clock.advanceSecs(3_600)
                fixture.admin("/admin/faults", """{"delay_ms": 300}""")
                val calls = (1..callers).map { async { keeper.accessToken() } }
                while (!keeper.sharedAccessToken.isActive) yield()
                calls.first().cancel()
                val results = calls.map { runCatching { withTimeout(30_000) { it.await() } } }
                assertTrue(results.first().exceptionOrNull() is CancellationException, "the first was cancelled")
                val tokens = results.drop(1).map { it.getOrThrow() }
                assertEquals(1, tokens.toSet().size)
                assertNotEquals(old, tokens.first())
                assertEquals(1, fixture.refreshRequests())
            }
        }
    }

    @Test
    fun `a refresh error reaches every coroutine`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            signedInKeeper(fixture, clock = clock).use { keeper ->
                clock.advanceSecs(3_600)
                fixture.admin("/admin/faults", """{"status": 503, "retry_after": 120, "delay_ms": 300}""")
                val results = withTimeout(30_000) {
                    (1..callers).map { async(Dispatchers.Default) { runCatching { keeper.accessToken() } } }.awaitAll()
                }
                assertTrue(results.all { it.exceptionOrNull() is TokenKeepException.Transient }, "every caller got the error")
                assertEquals(1, fixture.refreshRequests())
            }
        }
    }

    @Test
    fun `concurrent callers of a shared call run it once`() = runBlocking<Unit> {
        val shared = SharedCall<Int>()
        val runs = AtomicInteger()
        val release = CompletableDeferred<Unit>()
        // On this one thread: every caller has joined before the call is released.
        val calls = (1..callers).map { async { shared.join { runs.incrementAndGet(); release.await(); 42 } } }
        yield()
        assertTrue(shared.isActive)
        release.complete(Unit)
        assertEquals(List(callers) { 42 }, withTimeout(30_000) { calls.awaitAll() })
        assertEquals(1, runs.get(), "one native call for $callers callers")
        assertTrue(!shared.isActive, "the ended call is forgotten")
    }
}
