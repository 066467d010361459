package dev.tokenkeep

import dev.tokenkeep.ffi.ManualClock
import dev.tokenkeep.ffi.RefreshFailure
import dev.tokenkeep.ffi.SessionListener
import dev.tokenkeep.ffi.TokenStore
import dev.tokenkeep.ffi.TokensChanged
import dev.tokenkeep.ffi.flushListenerEvents
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertTrue
import kotlin.test.fail

/**
 * A keeper for [clientId] at [fixture], signed in through the SDK's own
 * PKCE flow (authorization request, the fixture's 302, completeAuthorization).
 */
fun signedInKeeper(
    fixture: FixtureServer,
    clock: ManualClock? = null,
    store: TokenStore? = null,
    listener: SessionListener? = null,
    clientId: String = "public-app",
    accountId: String = "default",
): TokenKeeper {
    val keeper = TokenKeeper(
        fixture.options(clientId).apply {
            this.accountId = accountId
            this.store = store
            this.listener = listener
            this.clock = clock
        },
    )
    keeper.authorizationRequest(emptyMap()).use { request ->
        keeper.completeAuthorizationBlocking(request, fixture.approve(request.url())).close()
    }
    return keeper
}

/** Records every event it is told. Read it after [flushEvents]. */
class RecordingListener : SessionListener {
    val changed = CopyOnWriteArrayList<TokensChanged>()
    val expired = CopyOnWriteArrayList<String>()
    val failed = CopyOnWriteArrayList<RefreshFailure>()
    private val changes = LinkedBlockingQueue<TokensChanged>()

    override fun onTokensChanged(event: TokensChanged) { changed += event; changes += event }
    override fun onSessionExpired(reason: String) { expired += reason }
    override fun onRefreshFailed(failure: RefreshFailure) { failed += failure }

    /** The next TokensChanged event not yet taken, waiting for it at most 5 s. */
    fun nextChange(): TokensChanged = changes.poll(5, TimeUnit.SECONDS) ?: fail("no TokensChanged event within 5 s")
}

/** Waits until every listener event queued so far was delivered (listeners run on the core's event thread). */
fun flushEvents() = assertTrue(flushListenerEvents(5_000), "listener events were not delivered within 5 s")
