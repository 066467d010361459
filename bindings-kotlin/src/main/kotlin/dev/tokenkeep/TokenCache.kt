package dev.tokenkeep

import java.util.concurrent.atomic.AtomicLong

/**
 * The fast path: the access token kept on the JVM side for as long as the
 * core's [TokenLease] allows, so a fresh token costs a field read instead of
 * a native call (one JNA call costs 10-50 µs; see the README's figures).
 *
 * The core decides how long: `validForMs` ends when a refresh becomes due
 * (so refresh-ahead still runs on time) or the token expires, and never
 * later than a minute. The deadline is taken on [System.nanoTime], from
 * *before* the core was asked, so the cache never outlives the lease.
 *
 * The entry is dropped ([invalidate]) when the core says the tokens changed
 * or the session ended (listener events), when this process changes them
 * through the session (refresh, logout, sign-in, new tokens), and when an
 * API answered 401 to it. An entry read from the core before an
 * invalidation is never stored after it (the generation check), so a token
 * replaced mid-call cannot come back.
 *
 * Disabled (every call asks the core) when the session runs on a
 * [ManualClock]: test time moves without `nanoTime` moving.
 */
internal class TokenCache(val enabled: Boolean) {
    private class Entry(val token: String, val deadlineNanos: Long)

    /** When a lookup started: the generation it saw and the time. */
    class Ticket internal constructor(internal val generation: Long, internal val startedNanos: Long)

    @Volatile
    private var entry: Entry? = null
    private val generation = AtomicLong()

    @Volatile
    private var disabled = !enabled

    /** The cached token, if there is one and its lease has not run out. */
    fun get(): String? {
        val current = entry ?: return null
        return if (System.nanoTime() - current.deadlineNanos < 0) current.token else null
    }

    /** Call before asking the core for a lease. */
    fun ticket(): Ticket = Ticket(generation.get(), System.nanoTime())

    /** Takes the token out of [lease] (and frees it), caching it if allowed. */
    fun admit(ticket: Ticket, lease: TokenLease): String {
        val token: String
        val validForMs: Long
        try {
            token = lease.accessToken()
            validForMs = lease.validForMs()
        } finally {
            lease.close()
        }
        if (!disabled && validForMs > 0) {
            val fresh = Entry(token, ticket.startedNanos + validForMs * 1_000_000)
            synchronized(this) {
                if (generation.get() == ticket.generation && !disabled) entry = fresh
            }
        }
        return token
    }

    /** Forgets the cached token; lookups already in flight will not store theirs. */
    fun invalidate() {
        synchronized(this) {
            generation.incrementAndGet()
            entry = null
        }
    }

    /** Forgets the cached token and caches nothing from now on (the session closed). */
    fun disable() {
        disabled = true
        invalidate()
    }

    override fun toString(): String = "TokenCache(${if (enabled) "enabled" else "disabled"}, token [redacted])"
}
