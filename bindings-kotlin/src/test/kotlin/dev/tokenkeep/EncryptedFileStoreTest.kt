package dev.tokenkeep

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
 * The core's encrypted file store, from Kotlin: tokens survive a new session
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
    fun `tokens survive a new session on a reopened store`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val (token, refreshToken) = signedInSession(fixture, store = store(key), accountId = "user-7").use { session ->
                session.tokens()!!.use { it.accessToken() to assertNotNull(it.refreshToken()) }
            }
            for ((name, bytes) in files()) {
                val text = String(bytes.toByteArray(), Charsets.ISO_8859_1)
                assertFalse(text.contains(token) || text.contains(refreshToken), "plaintext token in $name")
            }

            val requests = fixture.tokenRequests()
            TokenSession(fixture.config(), accountId = "user-7", store = store(key)).use { reopened ->
                assertEquals(SessionState.VALID, reopened.state())
                assertEquals(token, reopened.accessToken())
                assertEquals(refreshToken, reopened.tokens()!!.use { it.refreshToken() })
            }
            assertEquals(requests, fixture.tokenRequests(), "no network call")
        }
    }

    @Test
    fun `a wrong key is a WRONG_KEY storage error and the record stays`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val token = signedInSession(fixture, store = store(key), accountId = "user-7").use { it.accessToken() }
            val before = files()
            assertTrue(before.keys.any { it.endsWith(".tkrec") }, "a record file: ${before.keys}")

            val error = assertFailsWith<TokenKeepException.Storage> {
                TokenSession(fixture.config(), accountId = "user-7", store = store(otherKey))
            }
            assertEquals(StorageErrorKind.WRONG_KEY, error.kind)
            assertTrue(error.message.startsWith("token store error (wrong_key): "), error.message)
            assertFalse(error.toString().contains(token) || error.stackTraceToString().contains(token))

            assertEquals(before, files(), "nothing was deleted or rewritten")
            TokenSession(fixture.config(), accountId = "user-7", store = store(key)).use { rightKey ->
                assertEquals(token, rightKey.accessToken())
            }
        }
    }
}
