package dev.tokenkeep.okhttp

import dev.tokenkeep.FixtureServer
import dev.tokenkeep.TokenKeeper
import dev.tokenkeep.ffi.TokenKeepException
import dev.tokenkeep.signedInKeeper
import java.io.IOException
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import okhttp3.Call
import okhttp3.Callback
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.Response
import org.junit.jupiter.api.Test

class OkHttpTest {
    private fun OkHttpClient.get(url: String): Pair<Int, String> =
        newCall(Request.Builder().url(url).build()).execute().use { it.code to it.body!!.string() }

    @Test
    fun `the token goes to the API, and a 401 gets one refresh and one retry`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val client = OkHttpClient.Builder().authorizedBy(keeper).build()
                val (status, body) = client.get(fixture.url("/api/me"))
                assertEquals(200, status, body)
                assertTrue(body.contains("\"sub\""), body)
                assertEquals(1, fixture.apiRequestsWithAuthorization())
                val before = keeper.accessTokenBlocking()

                fixture.admin("/admin/expire-access-tokens") // the cached token is now rejected
                val (again, _) = client.get(fixture.url("/api/me"))
                assertEquals(200, again)
                assertEquals(1, fixture.refreshRequests(), "one refresh")
                assertEquals(3, fixture.apiRequests(), "200, then 401 and its retry")
                assertNotEquals(before, keeper.accessTokenBlocking())

                // Fresh again: no more refreshes.
                repeat(5) { assertEquals(200, client.get(fixture.url("/api/me")).first) }
                assertEquals(1, fixture.refreshRequests())
            }
        }
    }

    @Test
    fun `many requests rejected at once share one refresh in the core`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val client = OkHttpClient.Builder().authorizedBy(keeper).build()
                assertEquals(200, client.get(fixture.url("/api/me")).first) // caches the token
                fixture.admin("/admin/expire-access-tokens")

                val callers = 8
                val start = CyclicBarrier(callers)
                val pool = Executors.newFixedThreadPool(callers)
                try {
                    val statuses = (1..callers).map {
                        pool.submit<Int> { start.await(); client.get(fixture.url("/api/me")).first }
                    }.map { it.get(30, TimeUnit.SECONDS) }
                    assertEquals(List(callers) { 200 }, statuses)
                } finally {
                    pool.shutdown()
                }
                assertEquals(1, fixture.refreshRequests(), "every rejected request got the one refreshed token")
            }
        }
    }

    @Test
    fun `a request retried once is not retried again`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                // A network interceptor that spoils every token on the wire: the API always says 401.
                val client = OkHttpClient.Builder()
                    .authorizedBy(keeper)
                    .addNetworkInterceptor { chain ->
                        chain.proceed(chain.request().newBuilder().header("Authorization", "Bearer spoiled").build())
                    }
                    .build()
                assertEquals(401, client.get(fixture.url("/api/me")).first)
                assertEquals(1, fixture.refreshRequests(), "one refresh")
                assertEquals(2, fixture.apiRequests(), "the request and one retry")
            }
        }
    }

    @Test
    fun `no token goes to another origin, directly or through a redirect`() {
        FixtureServer().use { api ->
            FixtureServer().use { other ->
                signedInKeeper(api).use { keeper ->
                    for (client in listOf(
                        OkHttpClient.Builder().authorizedBy(keeper).build(),
                        OkHttpClient.Builder().addNetworkInterceptor(TokenInterceptor(keeper))
                            .authenticator(TokenAuthenticator(keeper)).build(),
                    )) {
                        // Another server on the same host: another port is another origin.
                        assertEquals(401, client.get(other.url("/api/me")).first)
                        // The same server under another name is another origin too.
                        val localhost = api.baseUrl.replace("127.0.0.1", "localhost")
                        assertEquals(401, client.get("$localhost/api/me").first)
                        // A redirect from the API to elsewhere.
                        val (status, _) = client.get(api.url("/api/redirect?to=") + other.url("/api/me"))
                        assertEquals(401, status)
                        // A same-origin redirect keeps the token.
                        assertEquals(200, client.get(api.url("/api/redirect?to=") + api.url("/api/me")).first)
                    }
                    assertEquals(4, other.apiRequests())
                    assertEquals(0, other.apiRequestsWithAuthorization(), "the other server never saw a token")
                    assertEquals(0, api.refreshRequests(), "a 401 from elsewhere triggers no refresh")
                    // At the API, per client: localhost without a token; the redirect, and the same-origin pair, with it.
                    assertEquals(8, api.apiRequests())
                    assertEquals(6, api.apiRequestsWithAuthorization())
                }
            }
        }
    }

    @Test
    fun `a keeper that cannot get a token fails the call with the reason`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val client = OkHttpClient.Builder().authorizedBy(keeper).build()
                assertEquals(200, client.get(fixture.url("/api/me")).first)
                fixture.admin("/admin/revoke-all") // access and refresh tokens dead
                val failure = assertFailsWith<TokenKeepIOException> { client.get(fixture.url("/api/me")) }
                assertIs<TokenKeepException.SessionExpired>(failure.error)
                assertEquals(failure.error.message, failure.message, "the core's wording")

                // Asynchronous calls get it in onFailure.
                val result = CompletableFuture<IOException>()
                client.newCall(Request.Builder().url(fixture.url("/api/me")).build()).enqueue(object : Callback {
                    override fun onFailure(call: Call, e: IOException) { result.complete(e) }
                    override fun onResponse(call: Call, response: Response) { response.close(); result.complete(null) }
                })
                val async = result.get(10, TimeUnit.SECONDS)
                assertIs<TokenKeepIOException>(async)
                assertIs<TokenKeepException.SessionExpired>(async.error)
            }
        }
    }

    @Test
    fun `the core decides the origin, so a URL with user info gets no token`() {
        FixtureServer().use { fixture ->
            signedInKeeper(fixture).use { keeper ->
                val client = OkHttpClient.Builder().authorizedBy(keeper).build()
                val withUserInfo = fixture.url("/api/me").replace("http://", "http://user:pw@")
                assertEquals(401, client.get(withUserInfo).first)
                assertEquals(0, fixture.apiRequestsWithAuthorization(), "URL with user info: no token")
                assertEquals(200, client.get(fixture.url("/api/me")).first)
                assertEquals(1, fixture.apiRequestsWithAuthorization())
            }
        }
    }

    @Test
    fun `without sign-in requests to the API fail, others go out untouched`() {
        FixtureServer().use { fixture ->
            FixtureServer().use { other ->
                TokenKeeper(fixture.options()).use { keeper ->
                    val client = OkHttpClient.Builder().authorizedBy(keeper).build()
                    val failure = assertFailsWith<TokenKeepIOException> { client.get(fixture.url("/api/me")) }
                    assertIs<TokenKeepException.NotSignedIn>(failure.error)
                    assertEquals(401, client.get(other.url("/api/me")).first)
                }
            }
        }
    }
}
