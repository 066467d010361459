package dev.tokenkeep

import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * A base for token stores written in Kotlin or Java: implement [load],
 * [save] and [delete]; locking is done here, within this process.
 *
 * The session keeps one opaque record per account id (versioned JSON
 * written by the core) and calls the store from its own native threads,
 * never from yours: implementations must be thread-safe and should not
 * touch thread-bound state (UI, a thread's database connection). A record
 * holds live credentials: a store that writes to disk must encrypt it (on
 * Android, with a key from the Android Keystore). The core's
 * `EncryptedFileStore` and `SqliteStore` already do.
 *
 * Throw a [StoreException] to report a failure (`StoreException.Io`,
 * `Corrupt`, …); the session turns it into `TokenKeepException.Storage` of
 * the same kind and never deletes a record it could not read. Any other
 * exception arrives as `StorageErrorKind.OTHER` with its message. Java
 * cannot declare the checked `StoreException` on these methods (the
 * interface does not): `throw SimpleTokenStore.fail(new StoreException.Corrupt("…"))`.
 *
 * [lock] and [unlock] give an in-process lock per key: enough for one
 * process, where it also stops two sessions of the same account from
 * refreshing at once. A store shared between processes (a file on a shared
 * volume, a database) must make the lock exclusive across them: override
 * both in Kotlin (Java cannot override them: their timeout is unsigned).
 *
 * ```kotlin
 * class PrefsStore(private val prefs: SharedPreferences) : SimpleTokenStore() {
 *     override fun load(key: String) = prefs.getString(key, null)?.let { decrypt(it) }
 *     override fun save(key: String, record: ByteArray) { prefs.edit().putString(key, encrypt(record)).commit() }
 *     override fun delete(key: String) { prefs.edit().remove(key).commit() }
 * }
 * ```
 */
abstract class SimpleTokenStore : TokenStore {
    private val guard = ReentrantLock()
    private val released = guard.newCondition()
    private val held = HashSet<String>()

    /** The record stored under [key], or `null` when there is none. */
    abstract override fun load(key: String): ByteArray?

    /** Replaces the record under [key] (atomically, if it persists). */
    abstract override fun save(key: String, record: ByteArray)

    /** Removes the record under [key]; a missing record is not an error. */
    abstract override fun delete(key: String)

    /**
     * Takes this process's lock on [key], waiting at most [timeoutMs]
     * (then [StoreException.LockTimeout]). The lock is not bound to a thread:
     * the session may release it from another thread than took it.
     */
    override fun lock(key: String, timeoutMs: ULong) {
        var leftNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMs.coerceAtMost(Long.MAX_VALUE.toULong()).toLong())
        guard.withLock {
            while (key in held) {
                if (leftNanos <= 0) {
                    throw StoreException.LockTimeout("waited $timeoutMs ms for the lock on key `$key` in ${javaClass.simpleName}")
                }
                leftNanos = released.awaitNanos(leftNanos)
            }
            held += key
        }
    }

    /** Releases the lock taken with [lock]. */
    override fun unlock(key: String) {
        guard.withLock {
            held -= key
            released.signalAll()
        }
    }

    companion object {
        /**
         * Throws [error] from a Java implementation, whose methods cannot
         * declare the checked [StoreException]. Write
         * `throw SimpleTokenStore.fail(new StoreException.WrongKey("…"));`
         * (it never returns; the return type lets Java write `throw`).
         */
        @JvmStatic
        fun fail(error: StoreException): RuntimeException = throw error
    }
}
