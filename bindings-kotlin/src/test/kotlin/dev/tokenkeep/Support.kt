package dev.tokenkeep

import java.util.concurrent.CopyOnWriteArrayList

/** Short backoffs, so retry paths run fast. */
fun fastPolicy() = RefreshPolicy(initialBackoffMs = 10u, maxBackoffMs = 50u)

/**
 * A session for [clientId] at [fixture], signed in through the SDK's own
 * PKCE flow (authorization request, the fixture's 302, completeAuthorization).
 */
fun signedInSession(
    fixture: FixtureServer,
    clock: ManualClock? = null,
    store: TokenStore? = null,
    listener: SessionListener? = null,
    clientId: String = "public-app",
    accountId: String? = null,
): TokenSession {
    val session = TokenSession(
        fixture.config(clientId),
        accountId = accountId,
        policy = fastPolicy(),
        store = store,
        manualClock = clock,
        listeners = listOfNotNull(listener),
    )
    session.authorizationRequest(emptyMap()).use { request ->
        session.completeAuthorizationBlocking(request, fixture.approve(request.url())).close()
    }
    return session
}

/** Records every event it is told, with the thread it was told on. */
class RecordingListener : SessionListener {
    val changed = CopyOnWriteArrayList<TokensChanged>()
    val expired = CopyOnWriteArrayList<String>()
    val failed = CopyOnWriteArrayList<RefreshFailure>()

    override fun onTokensChanged(event: TokensChanged) { changed += event }
    override fun onSessionExpired(message: String) { expired += message }
    override fun onRefreshFailed(failure: RefreshFailure) { failed += failure }
}

/** Waits (at most 5 s) for [condition]; listeners are told on their own thread. */
fun eventually(what: String, condition: () -> Boolean) {
    val deadline = System.nanoTime() + 5_000_000_000L
    while (!condition()) {
        check(System.nanoTime() < deadline) { "timed out waiting for: $what" }
        Thread.sleep(5)
    }
}
