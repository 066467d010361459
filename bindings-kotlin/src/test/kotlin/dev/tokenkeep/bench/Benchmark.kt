@file:JvmName("BenchmarkKt")

package dev.tokenkeep.bench

import dev.tokenkeep.FixtureServer
import dev.tokenkeep.TokenKeeper
import dev.tokenkeep.okhttp.authorizedBy
import dev.tokenkeep.signedInKeeper
import kotlinx.coroutines.runBlocking
import okhttp3.OkHttpClient
import okhttp3.Request

/**
 * Per-call cost of getting a token and of an authorized OkHttp call, against
 * the fixture server on loopback. A plain harness (warm-up, then five timed
 * rounds; the median round is printed), not JMH: the figures are for
 * comparing the paths with each other on one machine.
 *
 *     cd bindings-kotlin && mvn -q -Pbench test-compile exec:exec
 */
fun main() {
    FixtureServer().use { fixture ->
        signedInKeeper(fixture).use { keeper ->
            run(fixture, keeper)
        }
    }
}

private var sink = 0L

private fun run(fixture: FixtureServer, keeper: TokenKeeper) {
    println("tokenkeep JVM benchmark (${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}, " +
        "${Runtime.getRuntime().availableProcessors()} cores)")
    println("%-58s %14s".format("path", "per call"))

    measure("accessTokenBlocking(), cached fast path", 2_000_000) { sink += keeper.accessTokenBlocking().length }
    measureBatch("accessToken() (suspend), cached fast path", 2_000_000) {
        runBlocking { repeat(it) { sink += keeper.accessToken().length } }
    }
    measure("accessTokenLeaseBlocking(), raw FFI call", 20_000) {
        sink += keeper.accessTokenLeaseBlocking().use { it.accessToken() }.length
    }
    measure("maySendTokenTo(url), raw FFI call", 20_000) { if (keeper.maySendTokenTo(fixture.baseUrl)) sink++ }

    // Both clients (and the server) warm up together first, so neither gains from running second.
    val authorized = OkHttpClient.Builder().authorizedBy(keeper).build()
    val plain = OkHttpClient()
    val me = Request.Builder().url(fixture.url("/api/me")).build()
    val byHand = me.newBuilder().header("Authorization", "Bearer ${keeper.accessTokenBlocking()}").build()
    fun OkHttpClient.call(request: Request) =
        newCall(request).execute().use { check(it.code == 200); sink += it.body!!.string().length }
    repeat(3_000) { plain.call(byHand); authorized.call(me) }
    measure("OkHttp GET /api/me, header set by hand (baseline)", 2_000) { plain.call(byHand) }
    measure("OkHttp GET /api/me, authorized by tokenkeep", 2_000) { authorized.call(me) }
    check(fixture.refreshRequests() == 0) { "the benchmark refreshed: its figures mix in network time" }
    if (sink == 42L) println() // keeps the results alive
}

/** Times [calls] calls of [call]; prints the median of five rounds. */
private fun measure(name: String, calls: Int, call: () -> Unit) =
    measureBatch(name, calls) { n -> repeat(n) { call() } }

/** Times [batch] over [calls] calls (it makes the calls itself); prints the median of five rounds. */
private fun measureBatch(name: String, calls: Int, batch: (Int) -> Unit) {
    batch(calls / 2) // warm-up: JIT, connection pool, caches
    val rounds = (1..5).map {
        val start = System.nanoTime()
        batch(calls)
        (System.nanoTime() - start).toDouble() / calls
    }.sorted()
    println("%-58s %14s".format(name, format(rounds[2])))
}

private fun format(nanos: Double): String = when {
    nanos < 1_000 -> "%.1f ns".format(nanos)
    nanos < 1_000_000 -> "%.2f µs".format(nanos / 1_000)
    else -> "%.2f ms".format(nanos / 1_000_000)
}
