package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test

class ConcurrencyTest {
    @Test
    fun `200 coroutines and 50 threads on an expired token make one refresh`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            signedInKeeper(fixture, clock = clock).use { keeper ->
                val old = keeper.accessToken()
                clock.advanceSecs(3_600)

                val gate = CompletableDeferred<Unit>()
                val latch = CountDownLatch(1)
                val fromThreads = ConcurrentLinkedQueue<Result<String>>()
                val threads = (1..50).map {
                    thread(name = "caller-$it") {
                        latch.await()
                        fromThreads += runCatching { keeper.accessTokenBlocking() }
                    }
                }
                val fromCoroutines = withTimeout(30_000) {
                    coroutineScope {
                        val calls = (1..200).map { async(Dispatchers.Default) { gate.await(); keeper.accessToken() } }
                        gate.complete(Unit)
                        latch.countDown()
                        calls.awaitAll()
                    }
                }
                threads.forEach { it.join(30_000); assertTrue(!it.isAlive, "${it.name} finished") }

                val tokens = fromCoroutines + fromThreads.map { it.getOrThrow() }
                assertEquals(250, tokens.size)
                assertEquals(1, tokens.toSet().size, "every caller got the same token")
                assertNotEquals(old, tokens.first())
                assertEquals(1, fixture.refreshRequests(), "one refresh for 250 callers")
            }
        }
    }

    @Test
    fun `after a refresh returns no caller is served the replaced token`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val running = AtomicBoolean(true)
                val readers = (1..8).map {
                    thread(name = "reader-$it") { while (running.get()) keeper.accessTokenBlocking() }
                }
                try {
                    repeat(5) {
                        val refreshed = keeper.refreshBlocking().use { it.accessToken() }
                        repeat(200) { assertEquals(refreshed, keeper.accessTokenBlocking()) }
                    }
                } finally {
                    running.set(false)
                    readers.forEach { it.join(10_000) }
                }
                assertEquals(5, fixture.refreshRequests())
            }
        }
    }
}
