@file:JvmName("TokenKeepErrors")

package dev.tokenkeep

/*
 * Errors: what the generated exceptions say, and the two values Java cannot
 * read from them directly.
 *
 * The exception classes are generated from the core (`TokenKeepException`,
 * a sealed class with one subclass per thing to do; `StoreException` for
 * stores). uniffi renders their `message` as a field dump; the build points
 * every variant's `message` here (scripts/shape-error-messages.sh), so this
 * file is the one place where they are worded. The core's detail never holds
 * a token, a client secret or a URL's query string, and nothing here adds one.
 *
 * ```kotlin
 * try {
 *     session.accessToken()
 * } catch (e: TokenKeepException) {
 *     when (e) {
 *         is TokenKeepException.SessionExpired, is TokenKeepException.NotSignedIn -> showSignIn()
 *         is TokenKeepException.Transient -> retryLater(e.retryAfterSeconds)
 *         is TokenKeepException.Authorization -> showSignInFailed(e.message)
 *         is TokenKeepException.Storage -> report(e.kind, e)
 *         is TokenKeepException.Protocol,
 *         is TokenKeepException.Configuration,
 *         is TokenKeepException.Internal -> report(e)
 *     }
 * }
 * ```
 */

/**
 * The human message of a tokenkeep error: what happened and what to do,
 * worded like the core's `Display`. Used as [TokenKeepException.message].
 */
internal fun describeError(error: TokenKeepException): String = when (error) {
    is TokenKeepException.SessionExpired -> "session expired, sign in again: ${error.detail}"
    is TokenKeepException.NotSignedIn -> "not signed in: ${error.detail}"
    is TokenKeepException.Transient -> {
        val wait = error.retryAfterSecs?.let { " (the server asked to wait $it s)" } ?: ""
        "temporary failure, try again later$wait: ${error.detail}"
    }
    is TokenKeepException.Authorization -> "sign-in failed: ${error.detail}"
    is TokenKeepException.Protocol -> "unusable answer from the server: ${error.detail}"
    is TokenKeepException.Configuration -> "configuration error: ${error.detail}"
    is TokenKeepException.Storage -> "token store error (${error.kind.name.lowercase()}): ${error.detail}"
    is TokenKeepException.Internal -> "internal error in tokenkeep, please report it: ${error.detail}"
}

/** The message of a store's error: the store's own detail, as its author wrote it. */
internal fun describeError(error: StoreException): String = when (error) {
    is StoreException.Io -> error.detail
    is StoreException.WrongKey -> error.detail
    is StoreException.Corrupt -> error.detail
    is StoreException.LockTimeout -> error.detail
    is StoreException.Failed -> error.detail
}

/**
 * Seconds the server asked to wait (`Retry-After`), if it said. Java:
 * `TokenKeepErrors.getRetryAfterSeconds(e)` (the generated `retryAfterSecs`
 * is a Kotlin `ULong`, which Java cannot read).
 */
val TokenKeepException.Transient.retryAfterSeconds: Long?
    get() = retryAfterSecs?.toLong()

/**
 * Whether the user has to sign in (again) before any token can be had:
 * the session expired or there never were tokens.
 */
val TokenKeepException.needsSignIn: Boolean
    get() = this is TokenKeepException.SessionExpired || this is TokenKeepException.NotSignedIn
