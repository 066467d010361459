package dev.tokenkeep

import dev.tokenkeep.ffi.SessionState
import dev.tokenkeep.ffi.TokenKeepException
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/**
 * Sign-in on a device without a browser (RFC 8628): the core polls the
 * fixture server while the user approves the code at `/device/approve`.
 */
class DeviceSignInTest {
    private fun deviceKeeper(fixture: FixtureServer) =
        TokenKeeper(fixture.options().apply { deviceAuthorizationEndpoint = fixture.url("/device_authorization") })

    @Test
    fun `a device signs in when the user approves its code`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            deviceKeeper(fixture).use { keeper ->
                val device = keeper.startDeviceAuthorization()
                val userCode = device.userCode()
                assertEquals(fixture.url("/device"), device.verificationUri())
                assertTrue(device.verificationUriComplete()!!.contains(userCode))

                // The user approves about a second later, from another thread. If
                // that fails, the polling is cancelled instead of running on until
                // the code expires.
                val status = AtomicInteger()
                val user = thread(name = "user-approves") {
                    try {
                        Thread.sleep(1_000)
                        status.set(fixture.approveDevice(userCode))
                    } finally {
                        if (status.get() != 200) device.cancel()
                    }
                }
                val tokens = keeper.completeDeviceAuthorization(device)
                user.join()
                assertEquals(200, status.get())
                assertTrue(tokens.hasRefreshToken())
                assertEquals(SessionState.VALID, keeper.state())
                assertTrue(fixture.deviceCodeRequests() >= 1, "the tokens came from the device grant")
                assertEquals(tokens.accessToken(), keeper.accessToken())
                assertFalse(device.toString().contains("dc_"), "the device code is not shown: $device")
            }
        }
    }

    @Test
    fun `a denied or cancelled device sign-in ends with an Authorization error`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            deviceKeeper(fixture).use { keeper ->
                val denied = keeper.startDeviceAuthorization()
                assertEquals(200, fixture.approveDevice(denied.userCode(), deny = true))
                val no = assertFailsWith<TokenKeepException.Authorization> { keeper.completeDeviceAuthorization(denied) }
                assertTrue(no.message.contains("denied"), no.message)
                assertEquals("access_denied", no.oauthError)

                val cancelled = keeper.startDeviceAuthorization()
                cancelled.cancel()
                val stopped = assertFailsWith<TokenKeepException.Authorization> {
                    keeper.completeDeviceAuthorization(cancelled)
                }
                assertTrue(stopped.message.contains("cancelled"), stopped.message)
                assertEquals(SessionState.EMPTY, keeper.state())
            }
        }
    }

    @Test
    fun `without a device authorization endpoint the sign-in is a configuration error`() = runBlocking<Unit> {
        FixtureServer().use { fixture ->
            TokenKeeper(fixture.options()).use { keeper ->
                val error = assertFailsWith<TokenKeepException.Configuration> { keeper.startDeviceAuthorization() }
                assertTrue(error.message.contains("device_authorization_endpoint"), error.message)
            }
        }
    }
}
