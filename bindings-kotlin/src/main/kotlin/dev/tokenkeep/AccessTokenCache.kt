package dev.tokenkeep

import dev.tokenkeep.ffi.TokenCache

/**
 * The access token kept on the JVM side while the core's lease on it runs:
 * [TokenKeeper]'s fast path (one native call costs 10-50 µs; a hit here is a
 * field read).
 *
 * The core decides how long ([dev.tokenkeep.ffi.TokenLease.validForMs]: until
 * a refresh is due or the token expires, at most a minute), measured here on
 * `System.nanoTime` from *before* the core was asked, so an entry never
 * outlives its lease. The core calls [invalidate] synchronously whenever the
 * tokens change, a refresh fails, the session ends or a token was rejected.
 * A token read from the core before an invalidation is never stored after it:
 * [put] stores only if no invalidation happened since its [ticket].
 */
internal class AccessTokenCache : TokenCache {
    private class Entry(val token: String, val deadlineNanos: Long)

    /** Taken before asking the core: the generation it saw and the time. */
    class Ticket(val generation: Long, val startedNanos: Long)

    @Volatile private var entry: Entry? = null

    @Volatile private var generation = 0L

    /** The cached token, if its lease has not run out. */
    fun get(): String? {
        val current = entry ?: return null
        return if (System.nanoTime() - current.deadlineNanos < 0) current.token else null
    }

    fun ticket(): Ticket = Ticket(generation, System.nanoTime())

    /** Caches [token] for [validForMs] from the ticket's time, unless invalidated since; returns [token]. */
    fun put(ticket: Ticket, token: String, validForMs: Long): String {
        if (validForMs > 0) {
            synchronized(this) {
                if (generation == ticket.generation) entry = Entry(token, ticket.startedNanos + validForMs * 1_000_000)
            }
        }
        return token
    }

    override fun invalidate() {
        synchronized(this) {
            generation++
            entry = null
        }
    }

    override fun toString(): String = "AccessTokenCache(token [redacted])"
}
