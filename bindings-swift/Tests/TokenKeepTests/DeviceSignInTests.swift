import Foundation
import TokenKeep
import XCTest

/// Sign-in on a device without a browser (RFC 8628), approved at the
/// fixture server's `/device/approve` while the core polls.
final class DeviceSignInTests: FixtureTestCase {
    func testADeviceSignsInWhenTheUserApprovesItsCode() async throws {
        let keeper = try makeKeeper()
        let device = try await keeper.startDeviceAuthorization()
        let userCode = device.userCode()
        XCTAssertEqual(device.verificationUri(), server.url("/device"))
        XCTAssertTrue(device.verificationUriComplete()?.contains(userCode) ?? false)

        // The user approves about a second later, from another task. If that
        // fails, the polling is cancelled instead of running until the code expires.
        let server = self.server!
        let approval = Task {
            do {
                try await Task.sleep(for: .seconds(1))
                let status = try await server.approveDevice(userCode: userCode)
                if status != 200 { device.cancel() }
                return status
            } catch {
                device.cancel()
                throw error
            }
        }
        let tokens = try await keeper.completeDeviceAuthorization(device: device)
        let status = try await approval.value
        XCTAssertEqual(status, 200)
        XCTAssertTrue(tokens.hasRefreshToken())
        XCTAssertEqual(keeper.state(), .valid)
        let stats = try await server.stats()
        let grants = try XCTUnwrap(stats["token_requests"] as? [String: Any])
        XCTAssertGreaterThanOrEqual(grants["device_code"] as? Int ?? 0, 1, "tokens came from the device grant")
        let access = try await keeper.accessToken()
        XCTAssertEqual(access, tokens.accessToken())
        XCTAssertFalse("\(device)".contains("dc_"), "the device code is not shown: \(device)")
    }

    func testACancelledDeviceSignInEndsWithAnAuthorizationError() async throws {
        let keeper = try makeKeeper()
        let device = try await keeper.startDeviceAuthorization()
        device.cancel()
        do {
            _ = try await keeper.completeDeviceAuthorization(device: device)
            XCTFail("the sign-in was cancelled")
        } catch TokenKeepError.Authorization(let detail, _) {
            XCTAssertTrue(detail.contains("cancelled"), detail)
        }
        XCTAssertEqual(keeper.state(), .empty)
    }
}
