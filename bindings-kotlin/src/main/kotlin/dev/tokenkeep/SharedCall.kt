package dev.tokenkeep

import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

/**
 * One native wait for concurrent suspending callers: the core already sends
 * one refresh however many callers ask, but each caller crossing into it on
 * its own costs a native call and a wake-up. So callers that arrive while a
 * call is in flight await its [CompletableDeferred] instead of calling again.
 *
 * The call runs in a scope of its own, not the first caller's: cancelling
 * any caller (the first included) cancels only that caller's wait; the
 * others get the result, and an error reaches every one of them. A caller
 * arriving after the call ended starts a new one.
 */
internal class SharedCall<T> {
    private val inFlight = AtomicReference<CompletableDeferred<T>?>(null)

    /** The result of the call in flight, or of [call] run as a new one. */
    suspend fun join(call: suspend () -> T): T {
        while (true) {
            inFlight.get()?.let { return it.await() }
            val mine = CompletableDeferred<T>()
            if (inFlight.compareAndSet(null, mine)) {
                scope.launch(start = CoroutineStart.UNDISPATCHED) {
                    val result = runCatching { call() }
                    inFlight.compareAndSet(mine, null)
                    result.fold(mine::complete, mine::completeExceptionally)
                }
                return mine.await()
            }
        }
    }

    /** Whether a call is in flight (for tests). */
    internal val isActive: Boolean get() = inFlight.get() != null

    private companion object {
        /** Runs the shared calls: no caller's cancellation reaches them. */
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    }
}
