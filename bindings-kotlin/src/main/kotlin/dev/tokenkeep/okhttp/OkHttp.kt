@file:JvmName("TokenKeepOkHttp")

package dev.tokenkeep.okhttp

import dev.tokenkeep.ffi.TokenKeeperInterface
import okhttp3.OkHttpClient

/**
 * Sends the keeper's access token with every request to its API origins
 * and retries once after `refreshIfRejected` on 401: adds [TokenInterceptor]
 * as an application interceptor and sets [TokenAuthenticator].
 *
 * ```kotlin
 * val client = OkHttpClient.Builder().authorizedBy(keeper).build()
 * ```
 * ```java
 * OkHttpClient client = TokenKeepOkHttp.authorizedBy(new OkHttpClient.Builder(), keeper).build();
 * ```
 *
 * Requests to any other origin go out untouched. OkHttp is an optional
 * dependency of tokenkeep: add `com.squareup.okhttp3:okhttp` (4.x) yourself.
 */
fun OkHttpClient.Builder.authorizedBy(keeper: TokenKeeperInterface): OkHttpClient.Builder =
    addInterceptor(TokenInterceptor(keeper)).authenticator(TokenAuthenticator(keeper))
