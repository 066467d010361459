package dev.tokenkeep

import dev.tokenkeep.ffi.RefreshPolicy
import dev.tokenkeep.ffi.TokenKeeperOptions
import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.URI
import java.net.URLDecoder
import java.security.MessageDigest
import java.util.Base64
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import okhttp3.FormBody
import okhttp3.HttpUrl.Companion.toHttpUrl
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/**
 * The fixture authorization server (tests/fixture-server), run as a child
 * process on 127.0.0.1 and steered through its HTTP admin API, as the tests
 * of every language do. [close] closes its stdin (it exits at EOF) and
 * destroys it if it has not exited within a few seconds.
 */
class FixtureServer(vararg args: String) : AutoCloseable {
    private val process: Process
    val baseUrl: String

    /** An OkHttp client of its own that follows no redirects (the sign-in answers 302). */
    private val http = OkHttpClient.Builder().followRedirects(false).build()

    init {
        val binary = File(System.getProperty("tokenkeep.fixtureServer") ?: DEFAULT_BINARY)
        check(binary.canExecute()) {
            "fixture server binary not found at $binary: run `cargo build -p tokenkeep-fixture-server`"
        }
        process = ProcessBuilder(listOf(binary.path, "--port", "0") + args)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val stdout = BufferedReader(InputStreamReader(process.inputStream, Charsets.UTF_8))
        val reader = Executors.newSingleThreadExecutor { r -> Thread(r, "fixture-stdout").apply { isDaemon = true } }
        val line = try {
            reader.submit<String?> { stdout.readLine() }.get(20, TimeUnit.SECONDS)
        } catch (e: Exception) {
            process.destroyForcibly()
            throw IllegalStateException("the fixture server did not say where it listens", e)
        } finally {
            reader.shutdown()
        }
        check(line != null && line.startsWith("listening on ")) { "unexpected first line from the fixture server: $line" }
        baseUrl = line.removePrefix("listening on ").trim()
    }

    fun url(path: String) = baseUrl + path

    /** `GET /stats`, the whole JSON text. */
    fun stats(): String = get("/stats")

    /** `token_requests.refresh_token` of `/stats`. */
    fun refreshRequests(): Int = number(stats(), "refresh_token")

    /** `token_requests.total` of `/stats`. */
    fun tokenRequests(): Int = number(stats(), "total")

    fun apiRequests(): Int = number(stats(), "api_requests")

    fun apiRequestsWithAuthorization(): Int = number(stats(), "api_requests_with_authorization")

    /** `token_requests.device_code` of `/stats`: polls with a device code. */
    fun deviceCodeRequests(): Int = number(stats(), "device_code")

    /**
     * The documented test approval of a device sign-in (`POST /device/approve`,
     * or a denial with [deny]); returns the HTTP status.
     */
    fun approveDevice(userCode: String, deny: Boolean = false): Int {
        val form = FormBody.Builder().add("user_code", userCode).apply { if (deny) add("deny", "true") }.build()
        return http.newCall(Request.Builder().url(url("/device/approve")).post(form).build()).execute().use { it.code }
    }

    /** `POST` to an admin path (`/admin/expire-access-tokens`, …) with an optional JSON body. */
    fun admin(path: String, json: String = "{}") {
        val request = Request.Builder().url(url(path)).post(json.toRequestBody(JSON)).build()
        http.newCall(request).execute().use { check(it.isSuccessful) { "$path answered ${it.code}" } }
    }

    /** Whether the server considers [token] active (`POST /introspect`). */
    fun isActive(token: String): Boolean {
        val request = Request.Builder().url(url("/introspect")).post(FormBody.Builder().add("token", token).build()).build()
        return http.newCall(request).execute().use { it.body!!.string().contains("\"active\":true") }
    }

    /**
     * The callback URL of the documented test sign-in: `GET` [authorizeUrl]
     * answers 302 with the code in `Location`.
     */
    fun approve(authorizeUrl: String): String {
        val request = Request.Builder().url(authorizeUrl).build()
        return http.newCall(request).execute().use {
            check(it.code == 302) { "authorize answered ${it.code}: ${it.body?.string()}" }
            it.header("Location")!!
        }
    }

    /**
     * A token endpoint answer (JSON text) for [clientId], from a sign-in done
     * by hand (authorize with PKCE, then the code grant), the way an app would
     * get tokens before handing them to tokenkeep.
     */
    fun signInTokens(clientId: String = "public-app"): String {
        val verifier = "a-test-verifier-that-is-long-enough-for-rfc-7636-0123"
        val challenge = Base64.getUrlEncoder().withoutPadding()
            .encodeToString(MessageDigest.getInstance("SHA-256").digest(verifier.toByteArray()))
        val authorize = url("/authorize").toHttpUrl().newBuilder()
            .addQueryParameter("response_type", "code")
            .addQueryParameter("client_id", clientId)
            .addQueryParameter("redirect_uri", REDIRECT_URI)
            .addQueryParameter("state", "s")
            .addQueryParameter("code_challenge", challenge)
            .addQueryParameter("code_challenge_method", "S256")
            .build()
        val code = queryParameter(approve(authorize.toString()), "code")
        val form = FormBody.Builder()
            .add("grant_type", "authorization_code")
            .add("code", code)
            .add("redirect_uri", REDIRECT_URI)
            .add("code_verifier", verifier)
            .add("client_id", clientId)
            .build()
        val request = Request.Builder().url(url("/token")).post(form).build()
        return http.newCall(request).execute().use {
            check(it.isSuccessful) { "code grant answered ${it.code}" }
            it.body!!.string()
        }
    }

    /** Keeper options for [clientId] here, with this server's API origin allowed and short backoffs. */
    fun options(clientId: String = "public-app") = TokenKeeperOptions(
        tokenEndpoint = url("/token"),
        clientId = clientId,
        authorizationEndpoint = url("/authorize"),
        revocationEndpoint = url("/revoke"),
        redirectUri = REDIRECT_URI,
        apiOrigins = listOf(baseUrl),
        policy = RefreshPolicy(initialBackoffMs = 10, maxBackoffMs = 50),
    )

    private fun get(path: String): String =
        http.newCall(Request.Builder().url(url(path)).build()).execute().use { it.body!!.string() }

    override fun close() {
        runCatching { process.outputStream.close() }
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroy()
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
        }
    }

    companion object {
        const val REDIRECT_URI = "app://callback"
        private const val DEFAULT_BINARY = "../target/debug/tokenkeep-fixture-server"
        private val JSON = "application/json".toMediaType()

        /** A number field of a flat-enough JSON text (the fixture's stats). */
        fun number(json: String, field: String): Int =
            Regex("\"${Regex.escape(field)}\"\\s*:\\s*(\\d+)").find(json)?.groupValues?.get(1)?.toInt()
                ?: error("no number `$field` in $json")

        /** A string field of a JSON text (`refresh_token` of a token answer). */
        fun string(json: String, field: String): String =
            Regex("\"${Regex.escape(field)}\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)
                ?: error("no string `$field` in the JSON answer")

        fun queryParameter(url: String, name: String): String =
            URI(url).rawQuery.split('&').map { it.split('=', limit = 2) }
                .first { URLDecoder.decode(it[0], "UTF-8") == name }
                .let { URLDecoder.decode(it[1], "UTF-8") }
    }
}
