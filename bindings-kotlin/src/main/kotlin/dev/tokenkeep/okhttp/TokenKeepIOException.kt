package dev.tokenkeep.okhttp

import dev.tokenkeep.ffi.TokenKeepException
import java.io.IOException

/**
 * An OkHttp call failed because no access token could be had: [error] says
 * why. OkHttp lets interceptors and authenticators fail only with an
 * [IOException]; catch this one and `when` over [error] as anywhere else.
 *
 * `catch (e: TokenKeepIOException) { if (e.error is TokenKeepException.SessionExpired) showSignIn() }`
 */
class TokenKeepIOException(val error: TokenKeepException) : IOException(error.message, error)
