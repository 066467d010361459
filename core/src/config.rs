//! What a session needs to know about its authorization server and client.
//!
//! [`TokenKeeperOptions`] is one record with defaults; its `Debug` and
//! `Display` never show the client secret, so options can be logged or
//! printed. Its server settings are checked once, when the keeper is
//! made, into [`ValidatedConfig`]: every
//! URL parsed, HTTPS required except for loopback hosts (RFC 6749 §3.1 and
//! §10.9 require TLS for the token endpoint; `http://127.0.0.1` and
//! `http://localhost` stay allowed for tests and local servers), and the API
//! origins the access token may be sent to normalised.
//!
//! ```no_run
//! use tokenkeep::{TokenKeeper, TokenKeeperOptions};
//! let keeper = TokenKeeper::new(TokenKeeperOptions {
//!     account_id: "user-42".into(),
//!     api_origins: vec!["https://api.example.com".into()],
//!     ..TokenKeeperOptions::new("https://auth.example.com/oauth/token", "my-app")
//! })?;
//! # Ok::<(), tokenkeep::TokenKeepError>(())
//! ```
//!
//! An error about a URL quotes it through [`quotable_url`]: without its
//! query, fragment and userinfo, any of which may hold a credential
//! (`?client_secret=…`, `https://user:password@…`); a URL that parses is
//! named by its origin only.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::Mutex;
use url::Url;

use crate::clock::ManualClock;
use crate::error::Error;
use crate::listener::SessionListener;
use crate::policy::RefreshPolicy;
use crate::store::TokenStore;
use crate::token_response::ResponseMapping;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3,
/// OpenID Connect Core §9 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ClientAuthMethod {
    /// A public client: `client_id` in the form, no secret (mobile and
    /// desktop apps, with PKCE). OpenID Connect calls it `none`.
    PublicClient,
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    /// The default when a secret is given.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
}

/// Everything a `TokenKeeper` is made of, in one record with defaults: the
/// authorization server and client, the account, the policy, and where
/// tokens live. Only `token_endpoint` and `client_id` are required; the
/// field names are the same in every language.
///
/// Its `Debug` and `Display` (every language's `repr`/`toString`/
/// `description`) show every field except the client secret, which is
/// shown as `[redacted]`.
#[derive(Clone, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct TokenKeeperOptions {
    /// The token endpoint (RFC 6749 §3.2). HTTPS unless loopback.
    pub token_endpoint: String,
    /// The client identifier (RFC 6749 §2.2).
    pub client_id: String,
    /// The client secret of a confidential client (RFC 6749 §2.3.1).
    /// Sensitive: never shown in `Debug`, `Display` or any error.
    #[uniffi(default = None)]
    pub client_secret: Option<String>,
    /// The account these tokens belong to: their key in the store (a user
    /// id, or user + device). Default `"default"`.
    #[uniffi(default = "default")]
    pub account_id: String,
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
    /// client secret is given and `PublicClient` otherwise.
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
    /// passing trouble too; the answer is then a `BadResponse` error and the
    /// tokens are kept. Default true.
    #[uniffi(default = true)]
    pub unexplained_refusal_ends_session: bool,
    /// When to refresh and how to retry (defaults: [`RefreshPolicy::default`]).
    #[uniffi(default)]
    pub policy: RefreshPolicy,
    /// Where tokens are kept between runs (default: a new in-memory store).
    #[uniffi(default = None)]
    pub store: Option<Arc<dyn TokenStore>>,
    /// A listener for token changes, session expiry and refresh failures
    /// (more can be added with `add_listener`).
    #[uniffi(default = None)]
    pub listener: Option<Arc<dyn SessionListener>>,
    /// A manual clock for tests (default: the system clock).
    #[uniffi(default = None)]
    pub clock: Option<Arc<ManualClock>>,
}

impl TokenKeeperOptions {
    /// Options with the two required fields and every default.
    pub fn new(token_endpoint: impl Into<String>, client_id: impl Into<String>) -> Self {
        TokenKeeperOptions {
            token_endpoint: token_endpoint.into(),
            client_id: client_id.into(),
            client_secret: None,
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
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
            policy: RefreshPolicy::default(),
            store: None,
            listener: None,
            clock: None,
        }
    }
}

/// The account id used when none is given.
pub const DEFAULT_ACCOUNT_ID: &str = "default";

impl fmt::Debug for TokenKeeperOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeeperOptions")
            .field("token_endpoint", &quotable_url(&self.token_endpoint))
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("account_id", &self.account_id)
            .field(
                "authorization_endpoint",
                &self.authorization_endpoint.as_deref().map(quotable_url),
            )
            .field(
                "revocation_endpoint",
                &self.revocation_endpoint.as_deref().map(quotable_url),
            )
            .field(
                "device_authorization_endpoint",
                &self.device_authorization_endpoint.as_deref().map(quotable_url),
            )
            .field("redirect_uri", &self.redirect_uri.as_deref().map(quotable_url))
            .field("scopes", &self.scopes)
            .field("auth_method", &self.auth_method)
            .field(
                "extra_token_params",
                &self.extra_token_params.keys().collect::<Vec<_>>(),
            )
            .field("api_origins", &self.api_origins)
            .field("client_credentials", &self.client_credentials)
            .field("response_mapping", &self.response_mapping)
            .field(
                "unexplained_refusal_ends_session",
                &self.unexplained_refusal_ends_session,
            )
            .field("policy", &self.policy)
            .field("store", &self.store.as_ref().map(|_| "custom"))
            .field("listener", &self.listener.is_some())
            .field("clock", &self.clock.as_ref().map(|_| "manual"))
            .finish()
    }
}

impl fmt::Display for TokenKeeperOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A [`TokenKeeperOptions`]' server and client settings, parsed and checked.
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

/// The checked configurations in use in this process, by their `Debug`
/// text (which shows every field; no secret is part of a `ValidatedConfig`).
static IN_USE: LazyLock<Mutex<HashMap<String, Weak<ValidatedConfig>>>> = LazyLock::new(Default::default);

/// Past this many remembered configurations, the ones no session uses any
/// more are forgotten.
const IN_USE_PRUNE_AT: usize = 64;

impl ValidatedConfig {
    /// This configuration, shared with every session of the process that
    /// has an equal one: 10,000 keepers of one client hold one copy
    /// (about 1 KB: URLs, client id, response mapping), not 10,000.
    pub(crate) fn shared(self) -> Arc<Self> {
        let key = format!("{self:?}");
        let mut in_use = IN_USE.lock();
        if let Some(existing) = in_use.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        if in_use.len() >= IN_USE_PRUNE_AT {
            in_use.retain(|_, config| config.strong_count() > 0);
        }
        let config = Arc::new(self);
        in_use.insert(key, Arc::downgrade(&config));
        config
    }

    /// Checks the server and client settings of `config`.
    pub(crate) fn check(config: &TokenKeeperOptions) -> Result<Self, Error> {
        let has_secret = config.client_secret.is_some();
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
            (None, false) => ClientAuthMethod::PublicClient,
            (Some(ClientAuthMethod::PublicClient), _) => ClientAuthMethod::PublicClient,
            (Some(method), true) => method,
            (Some(method), false) => {
                return Err(Error::configuration(format!(
                "auth_method {method:?} needs a client secret; set client_secret or use ClientAuthMethod::PublicClient"
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
        let mut extra_token_params: Vec<(String, String)> = config.extra_token_params.clone().into_iter().collect();
        extra_token_params.sort();
        Ok(ValidatedConfig {
            token_endpoint,
            client_id: config.client_id.clone(),
            authorization_endpoint,
            revocation_endpoint,
            device_authorization_endpoint,
            redirect_uri: config.redirect_uri.clone(),
            scopes: config.scopes.clone(),
            auth_method,
            extra_token_params,
            api_origins,
            client_credentials: config.client_credentials,
            response_mapping: config.response_mapping.clone().unwrap_or_default(),
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
    fn equal_configurations_share_one_copy_and_different_ones_do_not() {
        let options = |client: &str| TokenKeeperOptions::new("https://auth.example.com/shared-config-test", client);
        let check = |client: &str| ValidatedConfig::check(&options(client)).expect("valid");
        let first = check("app-one").shared();
        let second = check("app-one").shared();
        assert!(Arc::ptr_eq(&first, &second), "one copy for equal configurations");
        let other = check("app-two").shared();
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other.client_id, "app-two");
        drop((first, second));
        let again = check("app-one").shared();
        assert_eq!(again.client_id, "app-one", "rebuilt after every user dropped it");
    }

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
        let c = TokenKeeperOptions::new("https://a.example/token", "app");
        let with_secret = TokenKeeperOptions {
            client_secret: Some("s".into()),
            ..c.clone()
        };
        assert_eq!(
            ValidatedConfig::check(&with_secret).expect("ok").auth_method,
            ClientAuthMethod::ClientSecretBasic
        );
        assert_eq!(
            ValidatedConfig::check(&c).expect("ok").auth_method,
            ClientAuthMethod::PublicClient
        );
        let post = TokenKeeperOptions {
            auth_method: Some(ClientAuthMethod::ClientSecretPost),
            ..c
        };
        assert!(ValidatedConfig::check(&post).is_err());
    }

    #[test]
    fn origins_are_normalised() {
        let c = TokenKeeperOptions {
            api_origins: vec![
                "https://api.example.com/".into(),
                "https://API.example.com:443/v1".into(),
            ],
            ..TokenKeeperOptions::new("https://a.example/token", "app")
        };
        let v = ValidatedConfig::check(&c).expect("ok");
        let url = Url::parse("https://api.example.com/v2/me?x=1").expect("url");
        assert!(v.allows_origin(&url));
        let other = Url::parse("https://api.example.com.evil.test/").expect("url");
        assert!(!v.allows_origin(&other));
    }
}
