package dev.tokenkeep.e2e

import dev.tokenkeep.ffi.SessionState
import dev.tokenkeep.ffi.TokenKeepException
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.jsonPrimitive

/*
 * The scenarios of tests/e2e/scenarios.json, written against the Kotlin SDK
 * (TokenKeeper, what apps hold). Each returns normally or throws why it
 * failed: a ScenarioFailure, or the SDK's own exception.
 */

/** Why a scenario failed, in the scenario's words. */
class ScenarioFailure(message: String) : Exception(message)

/** Runs the scenario [id]; an id without an implementation is a failure. */
suspend fun runScenario(id: String, server: E2eServer) = when (id) {
    "sign_in_pkce" -> signInPkce(server)
    "refresh_on_expiry" -> refreshOnExpiry(server)
    "rotation" -> rotation(server)
    "single_flight" -> singleFlight(server)
    "reuse_ends_session" -> reuseEndsSession(server)
    "logout_revokes" -> logoutRevokes(server)
    "client_credentials_renewal" -> clientCredentialsRenewal(server)
    "device_flow" -> deviceFlow(server)
    else -> throw ScenarioFailure("scenario `$id` is not implemented in Kotlin")
}

private fun check(condition: Boolean, what: String) {
    if (!condition) throw ScenarioFailure(what)
}

/** Runs [block] and fails unless it throws an [E]. */
private suspend inline fun <reified E : TokenKeepException> expectFailure(block: () -> Any?) {
    val outcome = try {
        block()
    } catch (e: TokenKeepException) {
        if (e is E) return
        throw ScenarioFailure("expected ${E::class.simpleName}, got ${e::class.simpleName}: ${e.message}")
    }
    throw ScenarioFailure("expected ${E::class.simpleName}, got a result (${outcome?.let { it::class.simpleName }})")
}

private suspend fun signInPkce(server: E2eServer) = server.userKeeper().use { session ->
    server.signIn(session)
    val tokens = session.tokens() ?: throw ScenarioFailure("no tokens after sign-in")
    check(tokens.use { it.hasRefreshToken() }, "no refresh token")
    check(session.state() == SessionState.VALID, "state is ${session.state()}, not VALID")
}

private suspend fun refreshOnExpiry(server: E2eServer) = server.userKeeper().use { session ->
    server.signIn(session)
    val first = session.accessToken()
    val before = server.grants("refresh_token")
    delay(server.pastExpiry)
    val second = session.accessToken()
    check(first != second, "the token did not change after expiry")
    check(server.grants("refresh_token") == before + 1, "not exactly one refresh")
}

private suspend fun rotation(server: E2eServer) = server.userKeeper().use { session ->
    server.signIn(session)
    val old = session.tokens()?.use { it.refreshToken() } ?: throw ScenarioFailure("no refresh token")
    val new = session.refresh().use { it.refreshToken() } ?: throw ScenarioFailure("no new refresh token")
    check(old != new, "the refresh token did not rotate")
    check(!server.isActive(old), "the old refresh token is still active")
    check(server.isActive(new), "the new refresh token is not active")
}

/** Many coroutines ask at once for the expired token: one refresh, one token. */
private suspend fun singleFlight(server: E2eServer) = server.userKeeper().use { session ->
    server.signIn(session)
    delay(server.pastExpiry)
    val before = server.grants("refresh_token")
    val callers = server.setting("concurrent_callers")?.jsonPrimitive?.intOrNull ?: 50
    val start = CompletableDeferred<Unit>()
    val tokens = coroutineScope {
        val calls = List(callers) {
            async(Dispatchers.Default) {
                start.await()
                session.accessToken()
            }
        }
        start.complete(Unit)
        calls.awaitAll()
    }
    check(tokens.toSet().size == 1, "callers got ${tokens.toSet().size} different tokens")
    val refreshes = server.grants("refresh_token") - before
    check(refreshes == 1L, "$refreshes refreshes for $callers callers")
}

private suspend fun reuseEndsSession(server: E2eServer) = server.userKeeper().use { a ->
    server.signIn(a)
    val (access, refresh) = a.tokens()?.use { it.accessToken() to it.refreshToken() } ?: throw ScenarioFailure("no tokens")
    server.userKeeper().use { b ->
        b.setTokens(access, refresh, expiresInSecs = 3).close()
        a.refresh().close()
        expectFailure<TokenKeepException.SessionExpired> { b.refresh().close() }
        check(b.state() == SessionState.SESSION_EXPIRED, "B's state is ${b.state()}, not SESSION_EXPIRED")
    }
}

private suspend fun logoutRevokes(server: E2eServer) = server.userKeeper().use { session ->
    server.signIn(session)
    val refreshToken = session.tokens()?.use { it.refreshToken() } ?: throw ScenarioFailure("no refresh token")
    check(session.logout().fullyRevoked, "the server did not confirm both revocations")
    check(!server.isActive(refreshToken), "the refresh token is still active")
    expectFailure<TokenKeepException.NotSignedIn> { session.accessToken() }
}

private suspend fun clientCredentialsRenewal(server: E2eServer) = server.m2mKeeper().use { session ->
    val before = server.grants("client_credentials")
    val first = session.accessToken()
    delay(server.pastExpiry)
    val second = session.accessToken()
    check(first != second, "the token was not renewed")
    val grants = server.grants("client_credentials") - before
    check(grants == 2L, "$grants client_credentials grants, expected 2")
}

/** The user approves about a second after the device starts polling, from another coroutine. */
private suspend fun deviceFlow(server: E2eServer) = server.userKeeper().use { session ->
    val device = session.startDeviceAuthorization()
    try {
        val tokens = coroutineScope {
            val approval = async(Dispatchers.Default) {
                delay(1.seconds)
                server.approveDevice(device.userCode())
            }
            val tokens = session.completeDeviceAuthorization(device)
            approval.await()
            tokens
        }
        check(tokens.use { it.hasRefreshToken() }, "no refresh token")
        check(session.state() == SessionState.VALID, "state is ${session.state()}, not VALID")
    } finally {
        // Cancelling the coroutine (a failed approval, the timeout) does not
        // stop the core's polling; this does. After a sign-in it does nothing.
        device.cancel()
        device.close()
    }
}
