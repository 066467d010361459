/**
 * The Kotlin runner of the shared end-to-end scenarios: runs every scenario
 * of `tests/e2e/scenarios.json` (`$E2E_SCENARIOS`) through the Kotlin SDK
 * against the authorization server at `$E2E_ISSUER`, prints one line per
 * scenario, writes `$E2E_RESULTS_DIR/kotlin.json` and exits non-zero if any
 * scenario failed.
 *
 * Started by `tests/e2e/kotlin/run-scenarios.sh` (from `tests/e2e/run.sh`,
 * which also starts and stops the server). Compiled by the Maven profile
 * `e2e` into target/test-classes, never into the JAR.
 */
@file:JvmName("Main")

package dev.tokenkeep.e2e

import java.io.File
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonObject

/** Longest a scenario may take; the device flow polls every 5 s at node-oidc-provider. */
private val SCENARIO_TIMEOUT = 90.seconds

private class Setup(message: String) : Exception(message)

private fun env(name: String): String =
    System.getenv(name)?.takeIf { it.isNotEmpty() } ?: throw Setup("\$$name is not set (run tests/e2e/run.sh)")

fun main() {
    val passed = try {
        runBlocking { run() }
    } catch (e: Setup) {
        System.err.println("tokenkeep-e2e (kotlin): ${e.message}")
        false
    }
    exitProcess(if (passed) 0 else 1)
}

private suspend fun run(): Boolean {
    val path = env("E2E_SCENARIOS")
    val document = try {
        Json.parseToJsonElement(File(path).readText()).jsonObject
    } catch (e: Exception) {
        throw Setup("cannot read $path: ${e.message}")
    }
    val server = E2eServer(env("E2E_ISSUER"), document.getValue("server").jsonObject)
    val resultsDir = File(env("E2E_RESULTS_DIR"))

    val results = LinkedHashMap<String, String>()
    for (scenario in document.getValue("scenarios").jsonArray) {
        val id = scenario.jsonObject.getValue("id").jsonPrimitive.content
        val outcome = try {
            withTimeout(SCENARIO_TIMEOUT) { runScenario(id, server) }
            "pass"
        } catch (e: TimeoutCancellationException) {
            "fail: timed out after $SCENARIO_TIMEOUT"
        } catch (e: ScenarioFailure) {
            "fail: ${e.message}"
        } catch (e: Exception) { // a failed scenario is reported, the others still run
            "fail: ${e::class.simpleName}: ${e.message}"
        }
        println("kotlin  ${id.padEnd(28)} $outcome")
        results[id] = outcome
    }

    resultsDir.mkdirs()
    val report = buildJsonObject {
        put("language", "kotlin")
        putJsonObject("results") { results.forEach { (id, outcome) -> put(id, JsonPrimitive(outcome)) } }
    }
    File(resultsDir, "kotlin.json").writeText(report.toString())
    return results.values.all { it == "pass" }
}
