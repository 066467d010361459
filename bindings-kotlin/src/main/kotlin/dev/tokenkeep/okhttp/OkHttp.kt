@file:JvmName("TokenKeepOkHttp")

package dev.tokenkeep.okhttp

import dev.tokenkeep.TokenSession
import okhttp3.OkHttpClient

/**
 * Sends the session's access token with every request to its API origins
 * and retries once after a refresh on 401: adds [TokenInterceptor] as an
 * application interceptor and sets [TokenAuthenticator].
 *
 * ```kotlin
 * val client = OkHttpClient.Builder().authorizedBy(session).build()
 * ```
 * ```java
 * OkHttpClient client = TokenKeepOkHttp.authorizedBy(new OkHttpClient.Builder(), session).build();
 * ```
 *
 * Requests to any other origin go out untouched. OkHttp is an optional
 * dependency of tokenkeep: add `com.squareup.okhttp3:okhttp` (4.x) yourself.
 */
fun OkHttpClient.Builder.authorizedBy(session: TokenSession): OkHttpClient.Builder =
    addInterceptor(TokenInterceptor(session)).authenticator(TokenAuthenticator(session))
