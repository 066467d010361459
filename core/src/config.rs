//! What a session needs to know about its authorization server and client.
//!
//! [`ClientConfig`] is plain data (no secrets: the client secret is handed to
//! the builder separately, so a config can be logged or printed). It is
//! checked once, when the session is built, into [`ValidatedConfig`]: every
//! URL parsed, HTTPS required except for loopback hosts (RFC 6749 §3.1 and
//! §10.9 require TLS for the token endpoint; `http://127.0.0.1` and
//! `http://localhost` stay allowed for tests and local servers), and the API
//! origins the access token may be sent to normalised.
//!
//! An error about a URL quotes it through [`quotable_url`]: without its
//! query, fragment and userinfo, any of which may hold a credential
//! (`?client_secret=…`, `https://user:password@…`); a URL that parses is
//! named by its origin only.

use std::collections::HashMap;
use std::net::IpAddr;

use url::Url;

use crate::error::Error;
use crate::token_response::ResponseMapping;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3,
/// OpenID Connect Core §9 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ClientAuthMethod {
    /// A public client: `client_id` in the form, no secret (mobile and
    /// desktop apps, with PKCE).
    None,
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    /// The default when a secret is given.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
}

/// The authorization server and client a session talks to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientConfig {
    /// The token endpoint (RFC 6749 §3.2). HTTPS unless loopback.
    pub token_endpoint: String,
    /// The client identifier (RFC 6749 §2.2).
    pub client_id: String,
    /// The authorization endpoint (RFC 6749 §3.1), for sign-in with PKCE.
    #[uniffi(default = None)]
    pub authorization_endpoint: Option<String>,
    /// The revocation endpoint (RFC 7009), called on logout.
    #[uniffi(default = None)]
    pub revocation_endpoint: Option<String>,
    /// The device authorization endpoint (RFC 8628 §3.1), for sign-in on
    /// devices without a browser.
    #[uniffi(default = None)]
    pub device_authorization_endpoint: Option<String>,
    /// The redirect URI registered for this client (sign-in with PKCE).
    #[uniffi(default = None)]
    pub redirect_uri: Option<String>,
    /// Scopes to request (sign-in and client_credentials).
    #[uniffi(default = [])]
    pub scopes: Vec<String>,
    /// How to authenticate the client; by default `ClientSecretBasic` when a
    /// client secret is given and `None` otherwise.
    #[uniffi(default = None)]
    pub auth_method: Option<ClientAuthMethod>,
    /// Extra form parameters sent with every token request (for example
    /// `refresh_token_ttl`, or `audience`).
    #[uniffi(default)]
    pub extra_token_params: HashMap<String, String>,
    /// Origins (`https://api.example.com`) that authorized requests may send
    /// the access token to. A request to any other origin is refused.
    #[uniffi(default = [])]
    pub api_origins: Vec<String>,
    /// Get tokens with the client_credentials grant (RFC 6749 §4.4) whenever
    /// there is no refresh token: machine-to-machine sessions.
    #[uniffi(default = false)]
    pub client_credentials: bool,
    /// Field names for servers that do not answer in RFC 6749's shape.
    #[uniffi(default = None)]
    pub response_mapping: Option<ResponseMapping>,
    /// On the refresh_token grant, an HTTP 400 or 401 without an RFC 6749
    /// §5.2 error body (some servers answer every error with a bare 400)
    /// means the server refused the refresh token: the session ends, as on
    /// `invalid_grant`. Set to false for a server that answers so for
    /// passing trouble too; the answer is then a `Protocol` error and the
    /// tokens are kept. Default true.
    #[uniffi(default = true)]
    pub unexplained_refusal_ends_session: bool,
}

impl ClientConfig {
    /// A config with the two required fields and every default.
    pub fn new(token_endpoint: impl Into<String>, client_id: impl Into<String>) -> Self {
        ClientConfig {
            token_endpoint: token_endpoint.into(),
            client_id: client_id.into(),
            authorization_endpoint: None,
            revocation_endpoint: None,
            device_authorization_endpoint: None,
            redirect_uri: None,
            scopes: Vec::new(),
            auth_method: None,
            extra_token_params: HashMap::new(),
            api_origins: Vec::new(),
            client_credentials: false,
            response_mapping: None,
            unexplained_refusal_ends_session: true,
        }
    }
}

/// A [`ClientConfig`] whose URLs have been parsed and checked.
#[derive(Debug, Clone)]
pub(crate) struct ValidatedConfig {
    pub token_endpoint: Url,
    pub client_id: String,
    pub authorization_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub device_authorization_endpoint: Option<Url>,
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    pub auth_method: ClientAuthMethod,
    pub extra_token_params: Vec<(String, String)>,
    pub api_origins: Vec<String>,
    pub client_credentials: bool,
    pub response_mapping: ResponseMapping,
    pub unexplained_refusal_ends_session: bool,
}

impl ValidatedConfig {
    /// Checks `config`; `has_secret` says whether a client secret was given.
    pub(crate) fn check(config: ClientConfig, has_secret: bool) -> Result<Self, Error> {
        if config.client_id.trim().is_empty() {
            return Err(Error::configuration("client_id is empty"));
        }
        let token_endpoint = secure_url(&config.token_endpoint, "token_endpoint")?;
        let authorization_endpoint =
            optional_secure_url(config.authorization_endpoint.as_deref(), "authorization_endpoint")?;
        let revocation_endpoint = optional_secure_url(config.revocation_endpoint.as_deref(), "revocation_endpoint")?;
        let device_authorization_endpoint = optional_secure_url(
            config.device_authorization_endpoint.as_deref(),
            "device_authorization_endpoint",
        )?;
        let auth_method = match (config.auth_method, has_secret) {
            (None, true) => ClientAuthMethod::ClientSecretBasic,
            (None, false) => ClientAuthMethod::None,
            (Some(ClientAuthMethod::None), _) => ClientAuthMethod::None,
            (Some(method), true) => method,
            (Some(method), false) => {
                return Err(Error::configuration(format!(
                "auth_method {method:?} needs a client secret; give one to the builder or use ClientAuthMethod::None"
            )))
            }
        };
        if config.client_credentials && !has_secret {
            return Err(Error::configuration(
                "client_credentials sessions need a client secret (RFC 6749 §4.4 is for confidential clients)",
            ));
        }
        let api_origins = config
            .api_origins
            .iter()
            .map(|o| secure_url(o, "api_origins").map(|u| origin_of(&u)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut extra_token_params: Vec<(String, String)> = config.extra_token_params.into_iter().collect();
        extra_token_params.sort();
        Ok(ValidatedConfig {
            token_endpoint,
            client_id: config.client_id,
            authorization_endpoint,
            revocation_endpoint,
            device_authorization_endpoint,
            redirect_uri: config.redirect_uri,
            scopes: config.scopes,
            auth_method,
            extra_token_params,
            api_origins,
            client_credentials: config.client_credentials,
            response_mapping: config.response_mapping.unwrap_or_default(),
            unexplained_refusal_ends_session: config.unexplained_refusal_ends_session,
        })
    }

    /// Whether the access token may be sent to `url`'s origin.
    pub(crate) fn allows_origin(&self, url: &Url) -> bool {
        let origin = origin_of(url);
        self.api_origins.contains(&origin)
    }
}

/// `scheme://host:port` of `url`, the unit that may receive the token.
pub(crate) fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// [`secure_url`] for an optional setting.
fn optional_secure_url(raw: Option<&str>, what: &str) -> Result<Option<Url>, Error> {
    raw.map(|u| secure_url(u, what)).transpose()
}

/// Parses `raw` and requires HTTPS, or HTTP to a loopback host.
pub(crate) fn secure_url(raw: &str, what: &str) -> Result<Url, Error> {
    let url = Url::parse(raw).map_err(|e| {
        Error::configuration(format!(
            "{what} `{}` is not a valid URL: {e}; give an absolute https URL",
            quotable_url(raw)
        ))
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::configuration(format!(
            "{what} must use https; plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost), got {}",
            origin_of(&url)
        ))),
        other => Err(Error::configuration(format!(
            "{what} must be an https URL, got scheme `{other}`"
        ))),
    }
}

/// The longest quoted URL text in an error, in characters.
const MAX_QUOTED_URL_CHARS: usize = 200;

/// `raw` (which may not parse) as error text may quote it: the query and
/// the fragment become `?…` / `#…`, userinfo becomes `…@`, control
/// characters are dropped, and it is cut at [`MAX_QUOTED_URL_CHARS`].
pub(crate) fn quotable_url(raw: &str) -> String {
    let (head, tail) = match raw.find(['?', '#']) {
        Some(i) if raw[i..].starts_with('?') => (&raw[..i], "?…"),
        Some(i) => (&raw[..i], "#…"),
        None => (raw, ""),
    };
    let (scheme, rest) = head.find("://").map_or(("", head), |i| head.split_at(i + 3));
    let authority_end = rest.find(['/', '\\']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("…@{}", &rest[at + 1..]),
        None => rest.to_owned(),
    };
    let shown: String = scheme
        .chars()
        .chain(rest.chars())
        .filter(|c| !c.is_control())
        .take(MAX_QUOTED_URL_CHARS)
        .collect();
    format!("{shown}{tail}")
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_required_except_for_loopback() {
        for ok in [
            "https://auth.example.com/token",
            "http://127.0.0.1:8080/token",
            "http://localhost/t",
            "http://[::1]:9/t",
        ] {
            assert!(secure_url(ok, "token_endpoint").is_ok(), "{ok}");
        }
        let err = secure_url("http://auth.example.com/token", "token_endpoint").expect_err("http");
        assert!(err.to_string().contains("must use https"), "{err}");
        assert!(secure_url("ftp://x/y", "token_endpoint").is_err());
        assert!(secure_url("not a url", "token_endpoint").is_err());
    }

    /// Issue 11, item 2.
    #[test]
    fn quoted_urls_lose_query_fragment_and_userinfo() {
        for (raw, shown) in [
            (
                "https://a b.example/token?client_secret=s3",
                "https://a b.example/token?…",
            ),
            ("https://u:s3@a b.example/t#s3", "https://…@a b.example/t#…"),
            ("u:s3@host/path", "…@host/path"),
            ("https://host/p@th", "https://host/p@th"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(quotable_url(raw), shown, "{raw}");
        }
        assert_eq!(quotable_url(&"x".repeat(500)).len(), MAX_QUOTED_URL_CHARS);
        let err = secure_url("https://u:s3cret@a b.example/t?k=s3cret", "token_endpoint").expect_err("invalid");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().contains("https://…@a b.example/t?…"), "{err}");
    }

    #[test]
    fn auth_method_defaults_follow_the_secret() {
        let c = ClientConfig::new("https://a.example/token", "app");
        assert_eq!(
            ValidatedConfig::check(c.clone(), true).expect("ok").auth_method,
            ClientAuthMethod::ClientSecretBasic
        );
        assert_eq!(
            ValidatedConfig::check(c.clone(), false).expect("ok").auth_method,
            ClientAuthMethod::None
        );
        let post = ClientConfig {
            auth_method: Some(ClientAuthMethod::ClientSecretPost),
            ..c
        };
        assert!(ValidatedConfig::check(post, false).is_err());
    }

    #[test]
    fn origins_are_normalised() {
        let c = ClientConfig {
            api_origins: vec![
                "https://api.example.com/".into(),
                "https://API.example.com:443/v1".into(),
            ],
            ..ClientConfig::new("https://a.example/token", "app")
        };
        let v = ValidatedConfig::check(c, false).expect("ok");
        let url = Url::parse("https://api.example.com/v2/me?x=1").expect("url");
        assert!(v.allows_origin(&url));
        let other = Url::parse("https://api.example.com.evil.test/").expect("url");
        assert!(!v.allows_origin(&other));
    }
}
