//! Errors: a rich internal [`Error`] and the public [`TokenKeepError`].
//!
//! Internally every failure keeps its detail (which HTTP status, which OAuth
//! error code, whether a timeout). Callers, in Rust and in every binding,
//! get a [`TokenKeepError`] whose variant says what to *do*:
//!
//! | variant           | what the caller does                                   |
//! |-------------------|--------------------------------------------------------|
//! | `SessionExpired`  | send the user to sign in again                         |
//! | `NotSignedIn`     | sign in first (no tokens, or logged out)               |
//! | `Transient`       | try again later; tokens are kept                       |
//! | `Authorization`   | the sign-in attempt failed; start it again             |
//! | `BadResponse`     | the server answered something unusable; report it      |
//! | `Configuration`   | fix the configuration (URL, client, origins)           |
//! | `Storage`         | the token store failed; tokens in it are untouched     |
//! | `Internal`        | a bug in tokenkeep; report it                          |
//!
//! One `From` conversion maps the first onto the second. No message contains
//! a token, a client secret or a URL's query, fragment or userinfo: server
//! text is scrubbed of what the request sent (`secret::scrub`), messages name
//! fields rather than quote values, and URLs are quoted through
//! `config::quotable_url`.

use std::fmt;

/// The public error of every tokenkeep call, grouped by what to do about it.
///
/// Its `Display` text (Python `str()`, Kotlin `message`/`toString()`, Swift
/// `description`/`localizedDescription`) is worded here, once, for every
/// language: what happened and what to do. `detail` is the same without the
/// leading category; `oauth_error` is the RFC 6749 §5.2 `error` code when
/// the server sent one (`invalid_grant`, `invalid_scope`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum TokenKeepError {
    /// The session has ended (the refresh token expired, was revoked or was
    /// reused): the user must sign in again. Stored tokens have been removed
    /// when the server refused them; a refresh token past its stated expiry
    /// is never sent, and its record is left for the app's purge.
    #[error("session expired, sign in again: {detail}")]
    SessionExpired {
        /// What happened, without secrets.
        detail: String,
        /// The server's OAuth error code, if it sent one.
        oauth_error: Option<String>,
    },
    /// There are no tokens (never signed in, or logged out).
    #[error("not signed in: {detail}")]
    NotSignedIn {
        /// What happened, without secrets.
        detail: String,
    },
    /// A temporary failure (network, timeout, HTTP 5xx or 429). Tokens are
    /// kept; the same call may succeed later.
    #[error("temporary failure, try again later: {detail}")]
    Transient {
        /// What happened, without secrets.
        detail: String,
        /// The server's OAuth error code, if it sent one
        /// (`temporarily_unavailable`, `server_error`).
        oauth_error: Option<String>,
        /// Seconds the server asked to wait (`Retry-After`), if it said.
        retry_after_secs: Option<i64>,
    },
    /// The sign-in attempt failed: denied, a `state` mismatch, a bad callback
    /// URL, or an authorization or device code the server refused
    /// (`invalid_grant` from a code exchange or device polling). Start the
    /// sign-in again.
    #[error("sign-in failed: {detail}")]
    Authorization {
        /// What happened, without secrets.
        detail: String,
        /// The server's OAuth error code, if it sent one.
        oauth_error: Option<String>,
    },
    /// The server answered something tokenkeep cannot use (malformed JSON, an
    /// unsupported token type, an unexpected OAuth error).
    #[error("unusable answer from the server: {detail}")]
    BadResponse {
        /// What happened, without secrets.
        detail: String,
        /// The server's OAuth error code, if it sent one.
        oauth_error: Option<String>,
    },
    /// The configuration is wrong: a bad URL, HTTP to a non-loopback host, a
    /// request to an origin the session is not configured for, or the server
    /// refused the client (`invalid_client`, `unauthorized_client`) or the
    /// requested scope (`invalid_scope`).
    #[error("configuration error: {detail}")]
    Configuration {
        /// What is wrong and how to fix it.
        detail: String,
        /// The server's OAuth error code, if it sent one.
        oauth_error: Option<String>,
    },
    /// The token store failed. Nothing in it was removed.
    #[error("token store error: {detail}")]
    Storage {
        /// Which kind of storage failure.
        kind: StorageErrorKind,
        /// What happened and where, without secrets.
        detail: String,
    },
    /// A bug in tokenkeep (for example a caught panic). Please report it.
    #[error("internal error in tokenkeep: {detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

impl TokenKeepError {
    /// What happened, without the leading category of the `Display` text.
    pub fn detail(&self) -> &str {
        match self {
            TokenKeepError::SessionExpired { detail, .. }
            | TokenKeepError::NotSignedIn { detail }
            | TokenKeepError::Transient { detail, .. }
            | TokenKeepError::Authorization { detail, .. }
            | TokenKeepError::BadResponse { detail, .. }
            | TokenKeepError::Configuration { detail, .. }
            | TokenKeepError::Storage { detail, .. }
            | TokenKeepError::Internal { detail } => detail,
        }
    }

    /// The server's RFC 6749 §5.2 `error` code, when there was one.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            TokenKeepError::SessionExpired { oauth_error, .. }
            | TokenKeepError::Transient { oauth_error, .. }
            | TokenKeepError::Authorization { oauth_error, .. }
            | TokenKeepError::BadResponse { oauth_error, .. }
            | TokenKeepError::Configuration { oauth_error, .. } => oauth_error.as_deref(),
            _ => None,
        }
    }
}

/// What kind of storage failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StorageErrorKind {
    /// The storage medium failed.
    Io,
    /// The record is encrypted under another key.
    WrongKey,
    /// The record is truncated, tampered with or unreadable.
    Corrupt,
    /// Another process held the lock for too long.
    LockTimeout,
    /// Anything else.
    Other,
}

/// Which kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    Connect,
    Timeout,
    Other,
}

/// Everything that can go wrong inside tokenkeep, with full detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// RFC 6749 §5.2 `invalid_grant`: the refresh token (or code) is dead.
    InvalidGrant { description: Option<String> },
    /// RFC 6749 §5.2 `invalid_client`: the client's credentials were rejected.
    InvalidClient { status: u16, description: Option<String> },
    /// Another RFC 6749 §5.2 error code.
    OAuth {
        status: u16,
        code: String,
        description: Option<String>,
    },
    /// A non-2xx answer without a usable OAuth error body.
    HttpStatus {
        status: u16,
        retry_after_secs: Option<u64>,
        body_hint: String,
    },
    /// The request never got a complete answer.
    Transport { kind: TransportKind, detail: String },
    /// Not tried now, on purpose (another session's attempt failed a moment
    /// ago); try again after `retry_after_secs`.
    RetryLater {
        detail: String,
        retry_after_secs: Option<u64>,
    },
    /// A 2xx answer whose body cannot be used.
    MalformedResponse { detail: String },
    /// The sign-in failed (denied, state mismatch, no code, or the server
    /// refused the authorization or device code).
    Authorization { detail: String, code: Option<String> },
    /// The session was configured wrongly.
    Configuration { detail: String },
    /// The token store failed.
    Storage { kind: StorageErrorKind, detail: String },
    /// No tokens and no way to get some.
    NotSignedIn { detail: String },
    /// The session ended earlier (invalid_grant) and has not been signed in since.
    SessionEnded { detail: String },
    /// A bug (caught panic, runtime failure).
    Internal { detail: String },
}

impl Error {
    /// Whether retrying the same request may succeed (network, timeout, 5xx, 429).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::RetryLater { .. } => true,
            Error::HttpStatus { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Error::OAuth { status, code, .. } => {
                *status >= 500 || code == "temporarily_unavailable" || code == "server_error"
            }
            _ => false,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::HttpStatus { retry_after_secs, .. } | Error::RetryLater { retry_after_secs, .. } => {
                *retry_after_secs
            }
            _ => None,
        }
    }

    pub(crate) fn configuration(detail: impl Into<String>) -> Self {
        Error::Configuration { detail: detail.into() }
    }

    /// A storage failure of another kind than the store's own errors
    /// (say, a record the session cannot decode).
    pub(crate) fn storage(kind: StorageErrorKind, detail: impl Into<String>) -> Self {
        Error::Storage {
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        Error::Internal { detail: detail.into() }
    }
}

fn with_description(base: String, description: &Option<String>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{base} ({d})"),
        _ => base,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&TokenKeepError::from(self.clone()).to_string())
    }
}

impl Error {
    /// A failed sign-in without an OAuth error code.
    pub(crate) fn authorization(detail: impl Into<String>) -> Self {
        Error::Authorization {
            detail: detail.into(),
            code: None,
        }
    }

    /// This error as the answer to a sign-in (a code exchange or device
    /// polling): `invalid_grant` there means the code was refused, a failed
    /// sign-in, not an expired session.
    pub(crate) fn in_sign_in(self) -> Self {
        match self {
            Error::InvalidGrant { description } => Error::Authorization {
                detail: with_description(
                    "the authorization server refused the authorization or device code (invalid_grant: expired, already used, or issued for another client or redirect URI); start the sign-in again".into(),
                    &description,
                ),
                code: Some("invalid_grant".into()),
            },
            other => other,
        }
    }
}

/// OAuth error codes (RFC 6749 §5.2) that mean the client's registration or
/// the configured request is wrong, not the server.
const CONFIGURATION_CODES: [&str; 3] = ["invalid_scope", "unauthorized_client", "unsupported_grant_type"];

impl From<Error> for TokenKeepError {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidGrant { description } => TokenKeepError::SessionExpired {
                detail: with_description(
                    "the authorization server rejected the refresh token (invalid_grant: expired, revoked or reused)".into(),
                    &description,
                ),
                oauth_error: Some("invalid_grant".into()),
            },
            Error::SessionEnded { detail } => TokenKeepError::SessionExpired { detail, oauth_error: None },
            Error::NotSignedIn { detail } => TokenKeepError::NotSignedIn { detail },
            Error::InvalidClient { status, description } => TokenKeepError::Configuration {
                detail: with_description(
                    format!("the token endpoint rejected the client's credentials (HTTP {status} invalid_client); check client_id, the client secret and the client authentication method"),
                    &description,
                ),
                oauth_error: Some("invalid_client".into()),
            },
            ref e @ Error::OAuth { status, ref code, ref description } => {
                let oauth_error = Some(code.clone());
                if e.is_transient() {
                    let detail = with_description(
                        format!("the token endpoint answered HTTP {status} with OAuth error `{code}`"),
                        description,
                    );
                    TokenKeepError::Transient { detail, oauth_error, retry_after_secs: None }
                } else if CONFIGURATION_CODES.contains(&code.as_str()) {
                    let detail = with_description(
                        format!("the authorization server refused the request with OAuth error `{code}` (HTTP {status}); check the client's registration, its allowed grants and the configured scopes"),
                        description,
                    );
                    TokenKeepError::Configuration { detail, oauth_error }
                } else {
                    let detail = with_description(
                        format!("the token endpoint answered HTTP {status} with OAuth error `{code}`"),
                        description,
                    );
                    TokenKeepError::BadResponse { detail, oauth_error }
                }
            }
            ref e @ Error::HttpStatus { status, retry_after_secs, ref body_hint } => {
                let detail = format!("the server answered HTTP {status} {body_hint}");
                if e.is_transient() {
                    TokenKeepError::Transient { detail, oauth_error: None, retry_after_secs: retry_after_secs.map(secs_i64) }
                } else {
                    TokenKeepError::BadResponse { detail, oauth_error: None }
                }
            }
            Error::Transport { kind, detail } => TokenKeepError::Transient {
                detail: match kind {
                    TransportKind::Connect => format!("could not connect: {detail}"),
                    TransportKind::Timeout => format!("the request timed out: {detail}"),
                    TransportKind::Other => format!("the request failed: {detail}"),
                },
                oauth_error: None,
                retry_after_secs: None,
            },
            Error::RetryLater {
                detail,
                retry_after_secs,
            } => TokenKeepError::Transient {
                detail,
                oauth_error: None,
                retry_after_secs: retry_after_secs.map(secs_i64),
            },
            Error::MalformedResponse { detail } => TokenKeepError::BadResponse { detail, oauth_error: None },
            Error::Authorization { detail, code } => TokenKeepError::Authorization { detail, oauth_error: code },
            Error::Configuration { detail } => TokenKeepError::Configuration { detail, oauth_error: None },
            Error::Storage { kind, detail } => TokenKeepError::Storage { kind, detail },
            Error::Internal { detail } => TokenKeepError::Internal { detail },
        }
    }
}

/// Seconds as the exported signed type (saturating).
pub(crate) fn secs_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TokenKeepError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TokenKeepError::Internal {
            detail: format!("a foreign callback failed: {}", e.reason),
        }
    }
}

/// Turns a reqwest error into a transport error whose text names no URL
/// (URLs can carry personal data in their query string) but keeps the
/// cause chain ("connection refused", "operation timed out", ...).
pub(crate) fn transport_error(error: reqwest::Error, origin: &str) -> Error {
    let kind = if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    let error = error.without_url();
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        source = cause.source();
    }
    Error::Transport {
        kind,
        detail: format!("{detail} [{origin}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_grant_means_sign_in_again() {
        let e: TokenKeepError = Error::InvalidGrant {
            description: Some("reused".into()),
        }
        .into();
        assert!(matches!(e, TokenKeepError::SessionExpired { .. }));
        assert!(e.to_string().contains("sign in again"));
    }

    #[test]
    fn server_errors_and_429_are_transient() {
        for status in [500u16, 502, 503, 429] {
            let e = Error::HttpStatus {
                status,
                retry_after_secs: Some(2),
                body_hint: String::new(),
            };
            assert!(e.is_transient());
            assert!(matches!(
                TokenKeepError::from(e),
                TokenKeepError::Transient {
                    retry_after_secs: Some(2),
                    ..
                }
            ));
        }
        let e = Error::HttpStatus {
            status: 404,
            retry_after_secs: None,
            body_hint: String::new(),
        };
        assert!(!e.is_transient());
    }
}
