package dev.tokenkeep

import dev.tokenkeep.ffi.StoreException
import dev.tokenkeep.ffi.TokenStore

/**
 * A base for token stores written in Kotlin or Java: implement [load],
 * [save] and [delete]. (Implementing the generated [TokenStore] directly
 * works as well, from either language; this base only adds the no-op lock.)
 *
 * The keeper keeps one opaque record per account id and calls the store from
 * its own native threads (be thread-safe). A record holds live credentials:
 * encrypt what you write to disk (the core's `EncryptedFileStore` and
 * `SqliteStore` already do).
 *
 * The core holds the in-process lock on an account, so [lock] and [unlock]
 * do nothing here. Override both only when the store is shared between
 * processes (a file on a shared volume, a database) and must exclude them.
 *
 * Throw a [StoreException] to report a failure; the keeper turns it into
 * `TokenKeepException.Storage` of the same kind and never deletes a record it
 * could not read. Java cannot declare the checked `StoreException` on these
 * methods: `throw SimpleTokenStore.fail(new StoreException.Corrupt("…"))`.
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
    /** The record stored under [key], or `null` when there is none. */
    abstract override fun load(key: String): ByteArray?

    /** Replaces the record under [key] (atomically, if it persists). */
    abstract override fun save(key: String, record: ByteArray)

    /** Removes the record under [key]; a missing record is not an error. */
    abstract override fun delete(key: String)

    /** Cross-process lock on [key]: none by default (the core locks within the process). */
    override fun lock(key: String, timeoutMs: Long) = Unit

    /** Releases [lock]: nothing by default. */
    override fun unlock(key: String) = Unit

    companion object {
        /**
         * Throws [error] from Java, whose store methods cannot declare the
         * checked [StoreException]: `throw SimpleTokenStore.fail(new StoreException.WrongKey("…"));`
         * (it never returns; the return type lets Java write `throw`).
         */
        @JvmStatic
        fun fail(error: StoreException): RuntimeException = throw error
    }
}
