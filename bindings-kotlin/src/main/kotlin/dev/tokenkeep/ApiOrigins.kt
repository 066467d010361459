package dev.tokenkeep

import java.net.URI
import java.net.URISyntaxException

/**
 * The origins (`scheme://host:port`, RFC 6454) a session's access token may
 * be sent to: the keeper's `apiOrigins()` (the core's normalised list from
 * [ClientConfig.apiOrigins]), or a narrower list. HTTP integrations (the
 * OkHttp interceptor, or your own) ask [allows] before attaching the token.
 *
 * Matching is by whole origin: `https://api.example.com` does not match
 * `http://api.example.com`, `https://api.example.com:8443` or
 * `https://api.example.com.evil.test`. Scheme and host compare
 * case-insensitively; a missing port is the scheme's default.
 *
 * Why this check is made here and not with the core's
 * `TokenKeeper.maySendTokenTo(url)`: the list is the core's (a narrower
 * one is checked against it when the session is built), but the URL is
 * judged as the HTTP client parsed it. OkHttp hands the interceptor and the
 * authenticator an `HttpUrl` whose scheme, host and port are the ones it
 * connects to, and [allows] compares exactly those. The core would re-parse
 * the URL's text with its own (WHATWG) parser, and URL parsers disagree on
 * crafted input: backslashes, user info, shortened IPv4 (the core reads
 * `http://127.1` as 127.0.0.1, OkHttp keeps the host `127.1`). Judging the
 * parse that is used to connect, a disagreement can only withhold the
 * token, never send it elsewhere. It also keeps every request off the FFI
 * boundary (one native call costs 20-45 µs; see the README), which is the
 * point of the token cache.
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

    internal companion object {
        /**
         * The origins of a session over [keeper]: its own `apiOrigins()`, or
         * [narrowed] once the core confirmed it would send the token to each.
         */
        @Throws(TokenKeepException::class)
        fun of(keeper: TokenKeeper, narrowed: Collection<String>?): ApiOrigins {
            if (narrowed == null) return ApiOrigins(keeper.apiOrigins())
            narrowed.firstOrNull { !keeper.maySendTokenTo(it) }?.let { outside ->
                throw TokenKeepException.Configuration(
                    "apiOrigins: `$outside` is not one of the session's api origins ${keeper.apiOrigins()}; " +
                        "a list given to TokenSession can only narrow them",
                )
            }
            return ApiOrigins(narrowed)
        }

        private fun parse(raw: String): Origin? {
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

        private fun defaultPort(scheme: String): Int = if (scheme == "https") 443 else 80

        /** Lower case, IPv6 without brackets (`URI` keeps them, OkHttp drops them). */
        private fun normaliseHost(host: String): String = host.lowercase().removePrefix("[").removeSuffix("]")
    }
}
