import Foundation

/// The origins (`scheme://host[:port]`, RFC 6454) the access token may be
/// sent to: the keeper's `apiOrigins`.
///
/// Origins are compared the way the core compares them: lower-case scheme
/// and host, the port left out when it is the scheme's default, IPv6 hosts
/// in brackets. Only `http` and `https` URLs have an origin here.
public struct OriginPolicy: Sendable, Hashable {
    /// The allowed origins, normalised.
    public let origins: Set<String>

    /// The policy allowing exactly `origins`; throws
    /// `TokenKeepError.Configuration` for an entry that is not an http(s) URL.
    public init<S: Sequence>(_ origins: S) throws where S.Element == String {
        var normalised = Set<String>()
        for entry in origins {
            guard let url = URL(string: entry), let origin = Self.origin(of: url) else {
                throw TokenKeepError.Configuration(message: "api_origins: `\(entry)` is not an http(s) origin such as https://api.example.com")
            }
            normalised.insert(origin)
        }
        self.origins = normalised
    }

    /// Whether the token may be sent to `url`.
    public func allows(_ url: URL?) -> Bool {
        guard let url, let origin = Self.origin(of: url) else { return false }
        return origins.contains(origin)
    }

    /// `scheme://host[:port]` of `url`, or nil when it is not an http(s) URL with a host.
    public static func origin(of url: URL) -> String? {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: true),
              let scheme = components.scheme?.lowercased(),
              let defaultPort = ["http": 80, "https": 443][scheme],
              var host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        if host.contains(":"), !host.hasPrefix("[") { host = "[\(host)]" }
        if let port = components.port, port != defaultPort {
            return "\(scheme)://\(host):\(port)"
        }
        return "\(scheme)://\(host)"
    }
}
