package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.ffi.flushListenerEvents
import java.util.concurrent.CopyOnWriteArrayList
import java.util.logging.Handler
import java.util.logging.Level
import java.util.logging.LogRecord as JulRecord
import java.util.logging.Logger
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/** The core's log lines reach java.util.logging (no SLF4J provider here), with no token. */
class LoggingTest {
    /** Keeps what reaches logger `dev.tokenkeep` and its children. */
    private class Capture : Handler() {
        val records = CopyOnWriteArrayList<JulRecord>()
        override fun publish(record: JulRecord) { records += record }
        override fun flush() {}
        override fun close() {}
    }

    @Test
    fun `a transient refresh failure logs a warning naming the account and no token`() = runBlocking<Unit> {
        val logger = Logger.getLogger(TokenKeepLogging.LOGGER_NAME)
        val capture = Capture()
        logger.addHandler(capture)
        logger.level = Level.FINE
        try {
            FixtureServer().use { fixture ->
                val clock = ManualClock()
                val options = fixture.options().apply {
                    accountId = "kotlin-log-account"
                    policy.maxRetries = 0
                    this.clock = clock
                }
                TokenKeeper(options).use { keeper ->
                    assertEquals("java.util.logging", TokenKeepLogging.backend())
                    keeper.setTokenResponse(fixture.signInTokens())
                    val (access, refresh) = keeper.tokens()!!.use { it.accessToken() to it.refreshToken()!! }
                    clock.advanceSecs(3_600)
                    fixture.admin("/admin/faults", """{"status": 503}""")
                    assertFailsWith<TokenKeepException.Transient> { keeper.accessToken() }
                    assertTrue(flushListenerEvents(5_000), "the core's event thread drained")

                    val warning = capture.records.singleOrNull {
                        it.level == Level.WARNING && it.message.startsWith("token refresh failed") &&
                            "account=kotlin-log-account" in it.message
                    }
                    checkNotNull(warning) { "a refresh warning among ${capture.records.map { it.message }}" }
                    assertEquals("dev.tokenkeep.session.refresh", warning.loggerName)
                    assertTrue("503" in warning.message, warning.message)
                    for (record in capture.records) {
                        assertTrue(access !in record.message && refresh !in record.message, "a token in: ${record.message}")
                    }
                }
            }
        } finally {
            logger.removeHandler(capture)
            logger.level = null
            TokenKeepLogging.syncLevel()
        }
    }
}
