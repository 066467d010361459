package dev.tokenkeep.okhttp

import dev.tokenkeep.ffi.TokenKeepException
import java.io.IOException

/**
 * An OkHttp call failed because no access token could be had: [error] says
 * why. OkHttp lets interceptors and authenticators fail only with an
 * [IOException]; catch this one and `when` over [error] as anywhere else.
 *
 * ```kotlin
 * try {
 *     client.newCall(request).execute().use { … }
 * } catch (e: TokenKeepIOException) {
 *     when (e.error) {
 *         is TokenKeepException.SessionExpired, is TokenKeepException.NotSignedIn -> showSignIn()
 *         else -> retryLater()
 *     }
 * }
 * ```
 */
class TokenKeepIOException(val error: TokenKeepException) : IOException(error.message, error)
