package dev.tokenkeep

import dev.tokenkeep.ffi.AccountRegistry
import dev.tokenkeep.ffi.SqliteStore
import dev.tokenkeep.ffi.SweepCounts
import dev.tokenkeep.ffi.SweepOptions
import dev.tokenkeep.ffi.SweepProgress
import dev.tokenkeep.ffi.TokenKeepException
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The keep-alive sweep from Kotlin: due accounts refreshed once, progress, a refused account, bad options. */
class SweepTest {
    /** A sign-in answer whose refresh token tokenkeep believes expires in [secs] seconds. */
    private fun tokensExpiringIn(fixture: FixtureServer, secs: Int, refreshToken: String? = null): String {
        var json = fixture.signInTokens().replace(Regex("\"refresh_token_expires_in\"\\s*:\\s*\\d+"), "\"refresh_token_expires_in\":$secs")
        if (refreshToken != null) json = json.replace(Regex("\"refresh_token\"\\s*:\\s*\"[^\"]*\""), "\"refresh_token\":\"$refreshToken\"")
        return json
    }

    @Test
    fun `a sweep refreshes the due accounts once, reports progress and signs out a refused one`(
        @TempDir dir: Path,
    ) = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            val store = SqliteStore.open(dir.resolve("tokens.sqlite").toString(), ByteArray(32) { 1 })
            AccountRegistry.newOnSqlite(fixture.options(), store, 2).use { registry ->
                for (i in 0 until 4) registry.keeper("due-$i").setTokenResponse(tokensExpiringIn(fixture, 600))
                registry.keeper("later").setTokenResponse(tokensExpiringIn(fixture, 30 * 86_400))
                registry.keeper("refused").setTokenResponse(tokensExpiringIn(fixture, 600, "never-issued"))
                val seen = CopyOnWriteArrayList<SweepCounts>()
                val progress = object : SweepProgress {
                    override fun onProgress(counts: SweepCounts) { seen.add(counts) }
                }

                val summary = registry.sweep(SweepOptions(refreshTokenExpiringWithinSecs = 3_600), progress)

                assertEquals(5L, summary.due, summary.toString())
                assertEquals(4L, summary.refreshed, summary.toString())
                assertEquals(listOf("refused"), summary.signedOut)
                assertTrue(summary.failed.isEmpty(), summary.toString())
                assertEquals(5, fixture.refreshRequests())
                assertTrue("refused" !in registry.accounts(), "the refused account's record is gone")
                flushEvents()
                assertTrue(seen.isNotEmpty(), "progress was reported")
                assertEquals(seen.map { it.refreshed }.sorted(), seen.map { it.refreshed }, "only grows")
                assertEquals(summary.refreshed, seen.last().refreshed)

                val again = registry.sweepBlocking(SweepOptions(refreshTokenExpiringWithinSecs = 3_600), null)
                assertEquals(0L, again.due)
                assertEquals(5, fixture.refreshRequests(), "nothing swept twice")
            }
        }
    }

    @Test
    fun `a bad option is a configuration error naming it`() {
        FixtureServer().use { fixture ->
            AccountRegistry(fixture.options(), 2).use { registry ->
                val error = assertFailsWith<TokenKeepException.Configuration> {
                    registry.sweepBlocking(SweepOptions(refreshTokenExpiringWithinSecs = 60, maxConcurrentRefreshes = 0), null)
                }
                assertTrue("max_concurrent_refreshes" in error.message!!, error.message)
            }
        }
    }
}
