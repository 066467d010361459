package dev.tokenkeep

import dev.tokenkeep.ffi.LogLevel
import dev.tokenkeep.ffi.LogRecord
import java.util.logging.Level
import java.util.logging.LogManager
import java.util.logging.Logger

/**
 * Where [TokenKeepLogging] sends the core's records: SLF4J or
 * `java.util.logging`. SLF4J is used only when its API is on the classpath
 * and a provider is bound (with none, SLF4J drops everything); its classes
 * are touched only in [Slf4jForwarder], so the library loads without them.
 */
internal sealed class LogForwarder(val name: String) {
    /** The most verbose core level the backend would show for `dev.tokenkeep`. */
    abstract fun mostVerboseEnabled(): LogLevel

    /** Writes [record] to the backend. */
    abstract fun forward(record: LogRecord)

    /** `tokenkeep::store::sqlite` -> `dev.tokenkeep.store.sqlite`. */
    protected fun loggerName(target: String): String =
        if (target.startsWith("tokenkeep::")) {
            TokenKeepLogging.LOGGER_NAME + "." + target.removePrefix("tokenkeep::").replace("::", ".")
        } else {
            TokenKeepLogging.LOGGER_NAME
        }

    /** The message followed by the structured fields, if any. */
    protected fun text(record: LogRecord): String =
        if (record.fields.isEmpty()) record.message else "${record.message} (${record.fields})"

    /** Forwards to `java.util.logging`. */
    class JavaUtilLogging : LogForwarder("java.util.logging") {
        // Held strongly: java.util.logging keeps loggers only weakly, and a
        // level set on one that was collected would be lost.
        private val root: Logger = Logger.getLogger(TokenKeepLogging.LOGGER_NAME)

        override fun mostVerboseEnabled(): LogLevel {
            var lowest = effectiveLevel(root)
            val names = LogManager.getLogManager().loggerNames
            while (names.hasMoreElements()) {
                val name = names.nextElement()
                if (name.startsWith(TokenKeepLogging.LOGGER_NAME + ".")) {
                    LogManager.getLogManager().getLogger(name)?.let { lowest = minOf(lowest, effectiveLevel(it)) }
                }
            }
            // The most verbose core level whose java.util.logging level is shown.
            return JUL_LEVELS.entries.lastOrNull { it.value.intValue() >= lowest }?.key ?: LogLevel.ERROR
        }

        override fun forward(record: LogRecord) {
            val level = JUL_LEVELS.getValue(record.level)
            val logger = Logger.getLogger(loggerName(record.target))
            if (logger.isLoggable(level)) logger.logp(level, record.target, null, text(record))
        }

        private fun effectiveLevel(logger: Logger): Int {
            var current: Logger? = logger
            while (current != null) {
                current.level?.let { return it.intValue() }
                current = current.parent
            }
            return Level.INFO.intValue()
        }
    }

    /** Forwards to SLF4J (only loaded when SLF4J is present). */
    class Slf4jForwarder : LogForwarder("slf4j") {
        private val root = org.slf4j.LoggerFactory.getLogger(TokenKeepLogging.LOGGER_NAME)

        override fun mostVerboseEnabled(): LogLevel = when {
            root.isTraceEnabled -> LogLevel.TRACE
            root.isDebugEnabled -> LogLevel.DEBUG
            root.isInfoEnabled -> LogLevel.INFO
            root.isWarnEnabled -> LogLevel.WARN
            else -> LogLevel.ERROR
        }

        override fun forward(record: LogRecord) {
            val logger = org.slf4j.LoggerFactory.getLogger(loggerName(record.target))
            val text = text(record)
            when (record.level) {
                LogLevel.ERROR -> logger.error(text)
                LogLevel.WARN -> logger.warn(text)
                LogLevel.INFO -> logger.info(text)
                LogLevel.DEBUG -> logger.debug(text)
                LogLevel.TRACE -> logger.trace(text)
            }
        }

        companion object {
            /** Whether a real provider is bound (not SLF4J's no-operation fallback). */
            fun isBound(): Boolean =
                org.slf4j.LoggerFactory.getILoggerFactory() !is org.slf4j.helpers.NOPLoggerFactory
        }
    }

    companion object {
        /** Core level -> java.util.logging level, least verbose first. */
        private val JUL_LEVELS = linkedMapOf(
            LogLevel.ERROR to Level.SEVERE, LogLevel.WARN to Level.WARNING, LogLevel.INFO to Level.INFO,
            LogLevel.DEBUG to Level.FINE, LogLevel.TRACE to Level.FINER,
        )

        /** SLF4J when it is on the classpath with a provider, else `java.util.logging`. */
        fun forThisClasspath(): LogForwarder {
            val slf4j = try {
                Class.forName("org.slf4j.LoggerFactory", false, LogForwarder::class.java.classLoader)
                Slf4jForwarder.isBound()
            } catch (e: ClassNotFoundException) {
                false
            } catch (e: LinkageError) {
                false
            }
            return if (slf4j) Slf4jForwarder() else JavaUtilLogging()
        }
    }
}
