package dev.tokenkeep

import dev.tokenkeep.ffi.LogLevel
import dev.tokenkeep.ffi.LogRecord
import dev.tokenkeep.ffi.LogSink
import dev.tokenkeep.ffi.setLogLevel
import dev.tokenkeep.ffi.setLogSink

/**
 * tokenkeep's log lines on the JVM's logging: logger `dev.tokenkeep`.
 *
 * The core logs what happens to tokens (a failed refresh is a warning,
 * tokens that could not be stored an error; never a token). Installed when
 * the first [TokenKeeper] is made, this adapter forwards each record to
 * SLF4J when an SLF4J provider is on the classpath and to
 * `java.util.logging` otherwise (on Android that reaches logcat). Loggers
 * are named after the core's module: `dev.tokenkeep.session`,
 * `dev.tokenkeep.store.sqlite`, …, all below `dev.tokenkeep`.
 *
 * Levels: ERROR, WARN, INFO, DEBUG, TRACE are SLF4J's of the same name and
 * java.util.logging's SEVERE, WARNING, INFO, FINE, FINER.
 *
 * Each record that crosses from the core costs a native callback (about
 * 150 µs on JNA), so the core filters by level before crossing: it passes on
 * what logger `dev.tokenkeep` (or a child of it) has enabled, read when the
 * adapter is installed and again whenever a [TokenKeeper] is made. After
 * changing the level later, call [syncLevel].
 *
 * Records are delivered on the core's event thread (the one that calls
 * listeners), never on a thread that refreshes.
 */
object TokenKeepLogging {
    /** The parent logger of every tokenkeep record. */
    const val LOGGER_NAME: String = "dev.tokenkeep"

    @Volatile
    private var forwarder: LogForwarder? = null

    /**
     * Makes the adapter the core's log sink, replacing any other (the first
     * [TokenKeeper] made does this; call it again after your own `setLogSink`
     * to come back). Returns whether the core's records reach it: `false`
     * when the process already has another tracing subscriber in the core.
     */
    @JvmStatic
    @Synchronized
    fun install(): Boolean {
        val chosen = forwarder ?: LogForwarder.forThisClasspath()
        if (!setLogSink(ForwardingSink(chosen), chosen.mostVerboseEnabled())) return false
        forwarder = chosen
        return true
    }

    /** [install] the first time; afterwards only [syncLevel], so an app's own sink stays. */
    internal fun installOnce() {
        if (forwarder == null) install() else syncLevel()
    }

    /** Passes the level now enabled on logger `dev.tokenkeep` (or a child) to the core. */
    @JvmStatic
    fun syncLevel() {
        forwarder?.let { setLogLevel(it.mostVerboseEnabled()) }
    }

    /** The name of the SLF4J or java.util.logging backend records go to. */
    @JvmStatic
    fun backend(): String? = forwarder?.name

    /** The core's sink: hands each record to the chosen backend. */
    private class ForwardingSink(private val forwarder: LogForwarder) : LogSink {
        override fun log(record: LogRecord) {
            runCatching { forwarder.forward(record) } // a logging failure must not reach the core's event thread
        }

        override fun toString(): String = "ForwardingSink(${forwarder.name})"
    }
}
