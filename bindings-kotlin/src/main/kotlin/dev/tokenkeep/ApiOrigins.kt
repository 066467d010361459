package dev.tokenkeep

import java.net.URI
import java.net.URISyntaxException

/**
 * The origins (`scheme://host:port`, RFC 6454) a session's access token may
 * be sent to: the `apiOrigins` of its [ClientConfig]. HTTP integrations (the
 * OkHttp interceptor, or your own) ask [allows] before attaching the token.
 *
 * Matching is by whole origin: `https://api.example.com` does not match
 * `http://api.example.com`, `https://api.example.com:8443` or
 * `https://api.example.com.evil.test`. Scheme and host compare
 * case-insensitively; a missing port is the scheme's default.
 */
class ApiOrigins(origins: Collection<String>) {
    private data class Origin(val scheme: String, val host: String, val port: Int)

    private val allowed: Set<Origin> = origins.mapTo(HashSet()) { raw ->
        parse(raw) ?: throw IllegalArgumentException("api origin `$raw` is not an absolute http(s) URL")
    }

    /** Whether the token may go to `scheme://host:port` (`port` -1: the scheme's default). */
    fun allows(scheme: String, host: String, port: Int): Boolean {
        val s = scheme.lowercase()
        val p = if (port == -1) defaultPort(s) else port
        return allowed.contains(Origin(s, normaliseHost(host), p))
    }

    /** Whether the token may go to [url]'s origin. */
    fun allows(url: String): Boolean {
        val origin = parse(url) ?: return false
        return allowed.contains(origin)
    }

    /** Whether no origin is allowed (the token goes nowhere but through [TokenKeeper.send]). */
    fun isEmpty(): Boolean = allowed.isEmpty()

    override fun toString(): String =
        allowed.joinToString(prefix = "ApiOrigins(", postfix = ")") { "${it.scheme}://${it.host}:${it.port}" }

    private companion object {
        fun parse(raw: String): Origin? {
            val uri = try {
                URI(raw.trim())
            } catch (e: URISyntaxException) {
                return null
            }
            val scheme = uri.scheme?.lowercase() ?: return null
            if (scheme != "http" && scheme != "https") return null
            val host = uri.host ?: return null
            val port = if (uri.port == -1) defaultPort(scheme) else uri.port
            return Origin(scheme, normaliseHost(host), port)
        }

        fun defaultPort(scheme: String): Int = if (scheme == "https") 443 else 80

        /** Lower case, IPv6 without brackets (`URI` keeps them, OkHttp drops them). */
        fun normaliseHost(host: String): String = host.lowercase().removePrefix("[").removeSuffix("]")
    }
}
