package dev.tokenkeep.okhttp

import dev.tokenkeep.TokenKeepException
import java.io.IOException

/**
 * An OkHttp call failed because no access token could be had: the
 * [error] says why (sign in again, try later, …). OkHttp lets interceptors
 * and authenticators fail only with an [IOException]; catch this one and
 * `when` over [error] as anywhere else.
 *
 * ```kotlin
 * try {
 *     client.newCall(request).execute().use { … }
 * } catch (e: TokenKeepIOException) {
 *     if (e.error.needsSignIn) showSignIn() else retryLater()
 * }
 * ```
 */
class TokenKeepIOException(val error: TokenKeepException) : IOException(error.message, error)
