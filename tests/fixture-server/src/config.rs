//! Server configuration: global token lifetimes, rotation, and the registered clients.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Default access-token lifetime in seconds.
pub const DEFAULT_ACCESS_TTL_SECS: u64 = 3600;
/// Default refresh-token lifetime in seconds.
pub const DEFAULT_REFRESH_TTL_SECS: u64 = 86_400;
/// Default minimum polling interval of the device authorization grant, in seconds.
pub const DEFAULT_DEVICE_INTERVAL_SECS: u64 = 1;
/// Default lifetime of a device code (and its user code), in seconds.
pub const DEFAULT_DEVICE_CODE_TTL_SECS: u64 = 600;

/// How the token endpoint shapes a successful response for a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseStyle {
    /// RFC 6749 §5.1: `access_token`, `token_type`, `expires_in` (a number), ...
    #[default]
    Standard,
    /// Vendor style: `accessToken`, `refreshToken`, `accessTokenExpiredAt` and
    /// `refreshTokenExpiredAt` (absolute Unix seconds), `tokenType`, `scope`.
    CamelCase,
    /// Like [`ResponseStyle::Standard`] but `expires_in` is a JSON string (`"3600"`).
    StringExpiresIn,
}

impl ResponseStyle {
    /// The name used on the command line and in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::CamelCase => "camel-case",
            Self::StringExpiresIn => "string-expires-in",
        }
    }
}

impl fmt::Display for ResponseStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResponseStyle {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standard" => Ok(Self::Standard),
            "camel-case" => Ok(Self::CamelCase),
            "string-expires-in" => Ok(Self::StringExpiresIn),
            other => Err(format!(
                "unknown response style {other:?} (expected standard, camel-case or string-expires-in)"
            )),
        }
    }
}

/// One registered OAuth client. Every client may use every grant type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSpec {
    /// The `client_id`.
    pub client_id: String,
    /// The secret of a confidential client; `None` for a public client (auth method `none`).
    pub client_secret: Option<String>,
    /// Access-token lifetime for this client; `None` = the server's global value.
    pub access_ttl_secs: Option<u64>,
    /// Refresh-token lifetime for this client; `None` = the server's global value.
    pub refresh_ttl_secs: Option<u64>,
    /// Refresh-token rotation for this client; `None` = the server's global value.
    pub rotation: Option<bool>,
    /// Refresh-token reuse grace period for this client, in seconds; `None` = the
    /// server's global value (see [`ServerConfig::refresh_reuse_grace_secs`]).
    pub refresh_reuse_grace_secs: Option<u64>,
    /// Whether revoking a refresh token leaves its access tokens active for
    /// this client; `None` = the server's global value (see
    /// [`ServerConfig::refresh_revocation_keeps_access`]).
    pub refresh_revocation_keeps_access: Option<bool>,
    /// Shape of successful token responses.
    pub response_style: ResponseStyle,
}

impl ClientSpec {
    /// A public client (no secret) using the global settings.
    pub fn public(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            ..Self::default()
        }
    }

    /// A confidential client with a secret, using the global settings.
    pub fn confidential(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            ..Self::default()
        }
    }

    /// The clients every server starts with: `public-app`, `confidential-app`
    /// (secret `confidential-secret`), `m2m-client` (secret `m2m-secret`) and
    /// `camel-app` (public, [`ResponseStyle::CamelCase`]).
    pub fn defaults() -> Vec<Self> {
        vec![
            Self::public("public-app"),
            Self::confidential("confidential-app", "confidential-secret"),
            Self::confidential("m2m-client", "m2m-secret"),
            Self {
                response_style: ResponseStyle::CamelCase,
                ..Self::public("camel-app")
            },
        ]
    }
}

/// Configuration of one fixture server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// TCP port on 127.0.0.1; `0` picks a free port.
    pub port: u16,
    /// Global access-token lifetime in seconds (default 3600).
    pub access_ttl_secs: u64,
    /// Global refresh-token lifetime in seconds (default 86400).
    pub refresh_ttl_secs: u64,
    /// Global refresh-token rotation (default `true`).
    pub rotation: bool,
    /// Global refresh-token reuse grace period in seconds (default 0: off). With
    /// rotation, the refresh token a family most recently rotated away may be
    /// presented again for this long after its rotation and is answered like a
    /// normal refresh (a new access and refresh token in the same family) instead
    /// of being treated as reuse, as Okta, Auth0 and Keycloak allow. An older
    /// token of the family, or the same token later, is still reuse.
    pub refresh_reuse_grace_secs: u64,
    /// Revoking a refresh token (RFC 7009) leaves the access tokens of its
    /// family active (default `false`: the whole family is revoked). RFC 7009
    /// §2.1 allows both; some servers do this, so a client that wants the
    /// access token dead must revoke it too.
    pub refresh_revocation_keeps_access: bool,
    /// Registered clients (default: [`ClientSpec::defaults`]).
    pub clients: Vec<ClientSpec>,
    /// `interval` announced by `/device_authorization`, in seconds (default 1). The
    /// server never enforces it (no `slow_down` unless a fault injects one).
    pub device_interval_secs: u64,
    /// Lifetime of device and user codes in seconds (default 600), announced as
    /// `expires_in`.
    pub device_code_ttl_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            port: 0,
            access_ttl_secs: DEFAULT_ACCESS_TTL_SECS,
            refresh_ttl_secs: DEFAULT_REFRESH_TTL_SECS,
            rotation: true,
            refresh_reuse_grace_secs: 0,
            refresh_revocation_keeps_access: false,
            clients: ClientSpec::defaults(),
            device_interval_secs: DEFAULT_DEVICE_INTERVAL_SECS,
            device_code_ttl_secs: DEFAULT_DEVICE_CODE_TTL_SECS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_style_round_trips() {
        for style in [
            ResponseStyle::Standard,
            ResponseStyle::CamelCase,
            ResponseStyle::StringExpiresIn,
        ] {
            assert_eq!(style.as_str().parse::<ResponseStyle>(), Ok(style));
            let json = serde_json::to_string(&style).expect("serializable");
            assert_eq!(json, format!("\"{}\"", style.as_str()));
        }
        assert!("camelCase".parse::<ResponseStyle>().is_err());
    }

    #[test]
    fn default_config_has_the_documented_clients() {
        let config = ServerConfig::default();
        let ids: Vec<_> = config.clients.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["public-app", "confidential-app", "m2m-client", "camel-app"]);
        assert!(config.rotation);
        assert_eq!(config.refresh_reuse_grace_secs, 0);
        assert_eq!(config.access_ttl_secs, 3600);
        assert_eq!(config.refresh_ttl_secs, 86_400);
        assert_eq!(config.device_interval_secs, 1);
        assert_eq!(config.device_code_ttl_secs, 600);
    }
}
