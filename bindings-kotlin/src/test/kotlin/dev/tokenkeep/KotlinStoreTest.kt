package dev.tokenkeep

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArraySet
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/** A token store written in Kotlin, called by the core from its own threads. */
class KotlinStoreTest {
    /** Keeps records in a map and notes which threads called it. */
    class MapStore : SimpleTokenStore() {
        val records = ConcurrentHashMap<String, ByteArray>()
        /** (call, thread name) pairs. */
        val calls = CopyOnWriteArraySet<Pair<String, String>>()

        private fun called(what: String) {
            calls += what to Thread.currentThread().name
        }

        override fun load(key: String): ByteArray? = records[key].also { called("load") }
        override fun save(key: String, record: ByteArray) { called("save"); records[key] = record }
        override fun delete(key: String) { called("delete"); records.remove(key) }
        override fun lock(key: String, timeoutMs: ULong) { called("lock"); super.lock(key, timeoutMs) }
        override fun unlock(key: String) { called("unlock"); super.unlock(key) }
    }

    @Test
    fun `the core keeps tokens in a Kotlin store, from its own threads`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val store = MapStore()
            val clock = ManualClock()
            val testThread = Thread.currentThread().name
            val refreshed = signedInSession(fixture, clock = clock, store = store).use { session ->
                assertNotNull(store.records["default"], "sign-in saved a record")
                clock.advanceSecs(3_600u)
                session.accessToken() // refresh: lock, load, save, unlock on the core's runtime
            }
            val kinds = store.calls.map { it.first }.toSet()
            assertTrue(kinds.containsAll(listOf("load", "save", "lock", "unlock")), "$kinds")
            // The refresh ran on the core's runtime: its native threads called the store.
            val lockThreads = store.calls.filter { it.first == "lock" }.map { it.second }
            assertTrue(lockThreads.isNotEmpty() && lockThreads.none { it == testThread }, "lock called on $lockThreads")
            val record = String(store.records.getValue("default"))
            assertTrue(record.contains("\"schema_version\""), "a versioned record")

            // A new session of the same account starts from the stored tokens.
            TokenSession(fixture.config(), store = store, manualClock = clock).use { again ->
                val requests = fixture.tokenRequests()
                assertEquals(refreshed, again.accessToken())
                assertEquals(requests, fixture.tokenRequests())
                again.logout()
            }
            assertNull(store.records["default"], "logout deleted the record")
        }
    }

    @Test
    fun `a store's exceptions arrive as Storage errors of the same kind`() {
        FixtureServer().use { fixture ->
            val broken = object : SimpleTokenStore() {
                override fun load(key: String): ByteArray = throw StoreException.Corrupt("record `$key` is truncated")
                override fun save(key: String, record: ByteArray) = Unit
                override fun delete(key: String) = Unit
            }
            val error = assertFailsWith<TokenKeepException.Storage> { TokenSession(fixture.config(), store = broken) }
            assertEquals(StorageErrorKind.CORRUPT, error.kind)
            assertTrue(error.message.startsWith("token store error (corrupt): "), error.message)
            assertTrue(error.message.contains("record `default` is truncated"), error.message)

            val failing = object : SimpleTokenStore() {
                override fun load(key: String): ByteArray? = null
                override fun save(key: String, record: ByteArray) = throw IllegalStateException("disk full")
                override fun delete(key: String) = Unit
            }
            TokenSession(fixture.config(), store = failing).use { session ->
                val saveError = assertFailsWith<TokenKeepException.Storage> {
                    session.setTokenResponse(fixture.signInTokens())
                }
                assertEquals(StorageErrorKind.OTHER, saveError.kind)
            }
        }
    }

    @Test
    fun `the base store's lock is exclusive per key, times out, and may be released from another thread`() {
        val store = MapStore()
        store.lock("k", 1_000u)
        assertFailsWith<StoreException.LockTimeout> { store.lock("k", 20u) }
        store.lock("other", 10u)

        val acquired = CountDownLatch(1)
        val waiter = thread { store.lock("k", 5_000u); acquired.countDown() }
        assertEquals(1L, acquired.count, "still held")
        thread { store.unlock("k") }.join()
        assertTrue(acquired.await(5, TimeUnit.SECONDS), "released from another thread")
        waiter.join()
    }

    @Test
    fun `two sessions of one account sharing a store refresh once`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val store = MapStore()
            val clock = ManualClock()
            signedInSession(fixture, clock = clock, store = store).use { a ->
                TokenSession(fixture.config(), policy = fastPolicy(), store = store, manualClock = clock).use { b ->
                    val before = a.accessToken()
                    clock.advanceSecs(3_600u)
                    val fromA = a.accessToken()
                    val fromB = b.accessToken() // re-reads the record under the lock and adopts a's refresh
                    assertNotEquals(before, fromA)
                    assertEquals(fromA, fromB)
                    assertEquals(1, fixture.refreshRequests())
                }
            }
        }
    }
}
