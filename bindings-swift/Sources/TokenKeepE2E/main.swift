// TokenKeepE2E: runs every scenario of tests/e2e/scenarios.json from Swift
// against the authorization server at $E2E_ISSUER and writes
// $E2E_RESULTS_DIR/swift.json ({"language": "swift", "results": {id: "pass" |
// "fail: why"}}). Prints one line per scenario; exits non-zero if any failed.
//
// Started by tests/e2e/swift/run-scenarios.sh (from tests/e2e/run.sh, which
// also starts and stops the server). The scenarios mirror the Rust runner
// (tests/e2e/rust/src/scenarios.rs), one function per id.
import Foundation
import TokenKeep

/// Writes `line` to stdout at once (unbuffered, also into a pipe).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func environment(_ name: String) throws -> String {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
        throw Failure("$\(name) is not set (run tests/e2e/run.sh)")
    }
    return value
}

/// Runs the scenarios and writes the report; whether all passed.
func runAll() async throws -> Bool {
    let scenariosPath = try environment("E2E_SCENARIOS")
    let document: [String: Any]
    do {
        let data = try Data(contentsOf: URL(fileURLWithPath: scenariosPath))
        document = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    } catch {
        throw Failure("cannot read \(scenariosPath): \(error)")
    }
    guard let scenarios = document["scenarios"] as? [[String: Any]] else { throw Failure("no scenarios in \(scenariosPath)") }
    let server = try E2EServer(issuer: try environment("E2E_ISSUER"), settings: document["server"])
    let resultsDirectory = try environment("E2E_RESULTS_DIR")

    var results: [String: String] = [:]
    var allPassed = true
    for scenario in scenarios {
        guard let id = scenario["id"] as? String else { throw Failure("a scenario without an id") }
        let outcome: String
        do {
            try await run(id, server)
            outcome = "pass"
        } catch {
            allPassed = false
            outcome = "fail: \(error)"
        }
        say("swift  \(id.padding(toLength: max(28, id.count), withPad: " ", startingAt: 0)) \(outcome)")
        results[id] = outcome
    }

    try FileManager.default.createDirectory(atPath: resultsDirectory, withIntermediateDirectories: true)
    let report = try JSONSerialization.data(
        withJSONObject: ["language": "swift", "results": results] as [String: Any], options: [.sortedKeys])
    try report.write(to: URL(fileURLWithPath: resultsDirectory).appendingPathComponent("swift.json"))
    return allPassed
}

do {
    exit(try await runAll() ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("tokenkeep-e2e (swift): \(error)\n".utf8))
    exit(1)
}
