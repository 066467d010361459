package dev.tokenkeep

import dev.tokenkeep.ffi.AccountRegistry
import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.SqliteStore
import dev.tokenkeep.ffi.TokenKeepException
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** AccountRegistry from Kotlin: many accounts over one SQLite store, a bounded set of hot sessions. */
class RegistryTest {
    @Test
    fun `a registry serves every account from one store with at most its hot sessions in memory`(
        @TempDir dir: Path,
    ) = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val clock = ManualClock()
            val store = SqliteStore.open(dir.resolve("tokens.sqlite").toString(), ByteArray(32) { it.toByte() })
            val template = fixture.options().apply { this.clock = clock }
            AccountRegistry.newOnSqlite(template, store, 2).use { registry ->
                val issued = listOf("alice", "bob", "carol").associateWith { user ->
                    registry.keeper(user).setTokenResponse(fixture.signInTokens()).accessToken()
                }
                assertEquals(2L, registry.hotSessions(), "at most max_hot_sessions keepers in memory")
                assertEquals(listOf("alice", "bob", "carol"), registry.accounts().sorted())
                for ((user, token) in issued) {
                    assertEquals(token, registry.accessToken(user), "$user: the stored token, no request")
                }
                assertEquals(0, fixture.refreshRequests())
                clock.advanceSecs(3_600)
                assertNotEquals(issued["alice"], registry.accessTokenBlocking("alice"))
                assertEquals(1, fixture.refreshRequests())
                assertFailsWith<TokenKeepException.NotSignedIn> { registry.accessTokenBlocking("dave") }
            }
        }
    }
}
