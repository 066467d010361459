package dev.tokenkeep

import dev.tokenkeep.ffi.EncryptedFileStore
import dev.tokenkeep.ffi.SessionState
import dev.tokenkeep.ffi.StorageErrorKind
import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.ffi.TokenStore
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.listDirectoryEntries
import kotlin.io.path.name
import kotlin.io.path.readBytes
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The core's encrypted file store, from Kotlin: tokens survive a new keeper
 * on a reopened store, and a wrong key is a typed storage error that deletes
 * nothing.
 */
class EncryptedFileStoreTest {
    private val key = ByteArray(32) { it.toByte() }
    private val otherKey = ByteArray(32) { (it + 1).toByte() }

    @TempDir
    lateinit var directory: Path

    /** A new store instance on [directory], as after a restart. */
    private fun store(key: ByteArray): TokenStore =
        EncryptedFileStore.open(directory.toString(), key).use { it.asTokenStore() }

    /** The bytes of every file in the store's directory, by name. */
    private fun files(): Map<String, List<Byte>> =
        directory.listDirectoryEntries().filter { Files.isRegularFile(it) }.associate { it.name to it.readBytes().toList() }

    @Test
    fun `tokens survive a new keeper on a reopened store`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val (token, refreshToken) = signedInKeeper(fixture, store = store(key), accountId = "user-7").use { keeper ->
                keeper.tokens()!!.use { it.accessToken() to assertNotNull(it.refreshToken()) }
            }
            for ((name, bytes) in files()) {
                val text = String(bytes.toByteArray(), Charsets.ISO_8859_1)
                assertFalse(text.contains(token) || text.contains(refreshToken), "plaintext token in $name")
            }

            val requests = fixture.tokenRequests()
            TokenKeeper(fixture.options().apply { accountId = "user-7"; store = store(key) }).use { reopened ->
                assertEquals(SessionState.VALID, reopened.state())
                assertEquals(token, reopened.accessToken())
                assertEquals(refreshToken, reopened.tokens()!!.use { it.refreshToken() })
            }
            assertEquals(requests, fixture.tokenRequests(), "no network call")
        }
    }

    @Test
    fun `opening a store with a key of the wrong length throws a Storage error`() {
        val error = assertFailsWith<TokenKeepException.Storage> { EncryptedFileStore.open(directory.toString(), ByteArray(7)) }
        assertTrue(error.message.isNotEmpty() && error.message == error.toString(), error.message)
    }

    @Test
    fun `a wrong key is a WRONG_KEY storage error and the record stays`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val token = signedInKeeper(fixture, store = store(key), accountId = "user-7").use { it.accessToken() }
            val before = files()
            assertTrue(before.keys.any { it.endsWith(".tkrec") }, "a record file: ${before.keys}")

            val error = assertFailsWith<TokenKeepException.Storage> {
                TokenKeeper(fixture.options().apply { accountId = "user-7"; store = store(otherKey) })
            }
            assertEquals(StorageErrorKind.WRONG_KEY, error.kind)
            assertEquals(error.toString(), error.message, "the core's wording")
            assertFalse(error.toString().contains(token) || error.stackTraceToString().contains(token))

            val rotation = EncryptedFileStore.open(directory.toString(), otherKey).use {
                assertFailsWith<TokenKeepException.Storage> { it.rotateKey(ByteArray(32) { 9 }) }
            }
            assertEquals(StorageErrorKind.WRONG_KEY, rotation.kind, "rotating away from a key the records are not under")
            assertEquals(before, files(), "nothing was deleted or rewritten")
            TokenKeeper(fixture.options().apply { accountId = "user-7"; store = store(key) }).use { rightKey ->
                assertEquals(token, rightKey.accessToken())
            }
        }
    }
}
