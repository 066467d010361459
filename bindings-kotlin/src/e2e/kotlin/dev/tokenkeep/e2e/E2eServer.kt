package dev.tokenkeep.e2e

import dev.tokenkeep.TokenKeeper
import dev.tokenkeep.ffi.TokenKeeperOptions
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.longOrNull
import okhttp3.Credentials
import okhttp3.FormBody
import okhttp3.HttpUrl.Companion.toHttpUrl
import okhttp3.OkHttpClient
import okhttp3.Request

/**
 * The e2e authorization server as the scenarios see it: endpoints and
 * clients from `scenarios.json`, the browserless sign-in and device
 * approval, grant counts, and introspection.
 */
class E2eServer(private val issuer: String, private val settings: JsonObject) {
    private val http = OkHttpClient()

    fun setting(name: String): JsonElement? = settings[name]

    private fun text(name: String): String = settings.getValue(name).jsonPrimitive.content

    fun url(endpoint: String): String = issuer + settings.getValue("endpoints").jsonObject.getValue(endpoint).jsonPrimitive.content

    /** Long enough for an access token to have surely expired. */
    val pastExpiry: Duration
        get() = ((setting("access_token_ttl_secs")?.jsonPrimitive?.longOrNull ?: 3) * 1_000 + 300).milliseconds

    /** A keeper of the public client, with sign-in and device endpoints. */
    fun userKeeper(): TokenKeeper = TokenKeeper(
        TokenKeeperOptions(
            tokenEndpoint = url("token"),
            clientId = text("public_client"),
            authorizationEndpoint = url("authorization"),
            revocationEndpoint = url("revocation"),
            deviceAuthorizationEndpoint = url("device_authorization"),
            redirectUri = text("redirect_uri"),
            scopes = settings.getValue("scopes").jsonArray.map { it.jsonPrimitive.content },
        ),
    )

    /** A client_credentials keeper of the machine client. */
    fun m2mKeeper(): TokenKeeper = TokenKeeper(
        TokenKeeperOptions(
            tokenEndpoint = url("token"),
            clientId = text("m2m_client"),
            clientSecret = text("m2m_secret"),
            clientCredentials = true,
        ),
    )

    /** Signs [session] in: authorization URL → the server's test sign-in → callback. */
    suspend fun signIn(session: TokenKeeper) {
        session.authorizationRequest(emptyMap()).use { request ->
            val signInUrl = url("test_sign_in").toHttpUrl().newBuilder().addQueryParameter("url", request.url()).build()
            val answer = call(Request.Builder().url(signInUrl).build())
            val callback = answer.jsonObject["callback_url"]?.jsonPrimitive?.content
                ?: throw ScenarioFailure("test sign-in failed: $answer")
            session.completeAuthorization(request, callback).close()
        }
    }

    /** Approves a device sign-in as the test user. */
    suspend fun approveDevice(userCode: String) {
        val form = FormBody.Builder().add("user_code", userCode).build()
        call(Request.Builder().url(url("test_approve_device")).post(form).build(), what = "device approval")
    }

    /** How many grants of [grantType] the token endpoint has served. */
    suspend fun grants(grantType: String): Long {
        val stats = call(Request.Builder().url(url("test_stats")).build())
        return stats.jsonObject["token_requests"]?.jsonObject?.get(grantType)?.jsonPrimitive?.longOrNull
            ?: throw ScenarioFailure("no $grantType count in $stats")
    }

    /** Whether the server considers [token] active (RFC 7662). */
    suspend fun isActive(token: String): Boolean {
        val request = Request.Builder()
            .url(url("introspection"))
            .header("Authorization", Credentials.basic(text("introspection_client"), text("introspection_secret")))
            .post(FormBody.Builder().add("token", token).build())
            .build()
        val answer = call(request, what = "introspection")
        return answer.jsonObject["active"]?.jsonPrimitive?.booleanOrNull
            ?: throw ScenarioFailure("introspection answered $answer")
    }

    /** Sends [request] off the caller's thread; a JSON answer with a 2xx status, or why not. */
    private suspend fun call(request: Request, what: String = request.url.encodedPath): JsonElement =
        withContext(Dispatchers.IO) {
            http.newCall(request).execute().use { response ->
                val body = response.body?.string().orEmpty()
                if (!response.isSuccessful) throw ScenarioFailure("$what answered ${response.code}: $body")
                Json.parseToJsonElement(body)
            }
        }
}
