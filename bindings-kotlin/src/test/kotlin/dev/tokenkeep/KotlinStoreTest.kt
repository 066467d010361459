package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.StorageErrorKind
import dev.tokenkeep.ffi.StoreException
import dev.tokenkeep.ffi.TokenKeepException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArraySet
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
        val lockTimeouts = CopyOnWriteArraySet<Long>()
        override fun lock(key: String, timeoutMs: Long) { called("lock"); lockTimeouts += timeoutMs }
        override fun unlock(key: String) { called("unlock") }
    }

    @Test
    fun `the core keeps tokens in a Kotlin store, from its own threads`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val store = MapStore()
            val clock = ManualClock()
            val testThread = Thread.currentThread().name
            val refreshed = signedInKeeper(fixture, clock = clock, store = store).use { keeper ->
                assertNotNull(store.records["default"], "sign-in saved a record")
                clock.advanceSecs(3_600)
                keeper.accessToken() // refresh: lock, load, save, unlock on the core's runtime
            }
            val kinds = store.calls.map { it.first }.toSet()
            assertTrue(kinds.containsAll(listOf("load", "save", "lock", "unlock")), "$kinds")
            assertEquals(setOf(60_000L), store.lockTimeouts.toSet(), "the policy's storeLockTimeoutMs, as a Long")
            // The refresh ran on the core's runtime: its native threads called the store.
            val lockThreads = store.calls.filter { it.first == "lock" }.map { it.second }
            assertTrue(lockThreads.isNotEmpty() && lockThreads.none { it == testThread }, "lock called on $lockThreads")
            val record = String(store.records.getValue("default"))
            assertTrue(record.contains("\"schema_version\""), "a versioned record")

            // A new keeper of the same account starts from the stored tokens.
            TokenKeeper(fixture.options().apply { this.store = store; this.clock = clock }).use { again ->
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
            val error = assertFailsWith<TokenKeepException.Storage> { TokenKeeper(fixture.options().apply { store = broken }) }
            assertEquals(StorageErrorKind.CORRUPT, error.kind)
            assertTrue(error.message.contains("record `default` is truncated"), error.message)

            val failing = object : SimpleTokenStore() {
                override fun load(key: String): ByteArray? = null
                override fun save(key: String, record: ByteArray) = throw IllegalStateException("disk full")
                override fun delete(key: String) = Unit
            }
            TokenKeeper(fixture.options().apply { store = failing }).use { keeper ->
                val saveError = assertFailsWith<TokenKeepException.Storage> {
                    keeper.setTokenResponse(fixture.signInTokens())
                }
                assertEquals(StorageErrorKind.OTHER, saveError.kind)
            }
        }
    }

    @Test
    fun `the base store's lock and unlock do nothing (the core locks within the process)`() {
        val store = object : SimpleTokenStore() {
            override fun load(key: String): ByteArray? = null
            override fun save(key: String, record: ByteArray) = Unit
            override fun delete(key: String) = Unit
        }
        store.lock("k", 1_000)
        store.lock("k", 0) // not exclusive: a second lock on the same key returns at once
        store.unlock("k")
        store.unlock("never-locked")
    }

    @Test
    fun `two sessions of one account sharing a store refresh once`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val store = MapStore()
            val clock = ManualClock()
            signedInKeeper(fixture, clock = clock, store = store).use { a ->
                TokenKeeper(fixture.options().apply { this.store = store; this.clock = clock }).use { b ->
                    val before = a.accessToken()
                    clock.advanceSecs(3_600)
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
