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
//! | `Protocol`        | the server answered something unusable; report it      |
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

use crate::store::{StorageErrorKind, StoreError};

/// The public error of every tokenkeep call, grouped by what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TokenKeepError {
    /// The session has ended (the refresh token expired, was revoked or was
    /// reused): the user must sign in again. Stored tokens have been removed
    /// when the server refused them; a refresh token past its stated expiry
    /// is never sent, and its record is left for the app's purge.
    #[error("session expired, sign in again: {message}")]
    SessionExpired {
        /// What happened, without secrets.
        message: String,
    },
    /// There are no tokens (never signed in, or logged out).
    #[error("not signed in: {message}")]
    NotSignedIn {
        /// What happened, without secrets.
        message: String,
    },
    /// A temporary failure (network, timeout, HTTP 5xx or 429). Tokens are
    /// kept; the same call may succeed later.
    #[error("temporary failure, try again later: {message}")]
    Transient {
        /// What happened, without secrets.
        message: String,
        /// Seconds the server asked to wait (`Retry-After`), if it said.
        retry_after_secs: Option<u64>,
    },
    /// The sign-in (authorization code) attempt failed: denied, a `state`
    /// mismatch or a bad callback URL. Start the sign-in again.
    #[error("sign-in failed: {message}")]
    Authorization {
        /// What happened, without secrets.
        message: String,
    },
    /// The server answered something tokenkeep cannot use (malformed JSON, an
    /// unsupported token type, an unexpected OAuth error).
    #[error("unusable answer from the server: {message}")]
    Protocol {
        /// What happened, without secrets.
        message: String,
    },
    /// The configuration is wrong (bad URL, HTTP to a non-loopback host, the
    /// client's credentials were rejected, a request to an origin the session
    /// is not configured for).
    #[error("configuration error: {message}")]
    Configuration {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The token store failed. Nothing in it was removed.
    #[error("token store error: {message}")]
    Storage {
        /// Which kind of storage failure.
        kind: StorageErrorKind,
        /// What happened and where, without secrets.
        message: String,
    },
    /// A bug in tokenkeep (for example a caught panic). Please report it.
    #[error("internal error in tokenkeep: {message}")]
    Internal {
        /// What happened.
        message: String,
    },
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
    /// The sign-in callback was unusable (denied, state mismatch, no code).
    Authorization { detail: String },
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

    /// A store's own error, with what the session was doing.
    pub(crate) fn from_store(error: StoreError, doing: impl std::fmt::Display) -> Self {
        Error::Storage {
            kind: error.kind(),
            detail: format!("{doing}: {error}"),
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

impl From<Error> for TokenKeepError {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidGrant { description } => TokenKeepError::SessionExpired {
                message: with_description(
                    "the authorization server rejected the refresh token (invalid_grant: expired, revoked or reused)".into(),
                    &description,
                ),
            },
            Error::SessionEnded { detail } => TokenKeepError::SessionExpired { message: detail },
            Error::NotSignedIn { detail } => TokenKeepError::NotSignedIn { message: detail },
            Error::InvalidClient { status, description } => TokenKeepError::Configuration {
                message: with_description(
                    format!("the token endpoint rejected the client's credentials (HTTP {status} invalid_client); check client_id, the client secret and the client authentication method"),
                    &description,
                ),
            },
            ref e @ Error::OAuth { status, ref code, ref description } => {
                let message = with_description(
                    format!("the token endpoint answered HTTP {status} with OAuth error `{code}`"),
                    description,
                );
                if e.is_transient() {
                    TokenKeepError::Transient { message, retry_after_secs: None }
                } else {
                    TokenKeepError::Protocol { message }
                }
            }
            ref e @ Error::HttpStatus { status, retry_after_secs, ref body_hint } => {
                let message = format!("the server answered HTTP {status} {body_hint}");
                if e.is_transient() {
                    TokenKeepError::Transient { message, retry_after_secs }
                } else {
                    TokenKeepError::Protocol { message }
                }
            }
            Error::Transport { kind, detail } => TokenKeepError::Transient {
                message: match kind {
                    TransportKind::Connect => format!("could not connect: {detail}"),
                    TransportKind::Timeout => format!("the request timed out: {detail}"),
                    TransportKind::Other => format!("the request failed: {detail}"),
                },
                retry_after_secs: None,
            },
            Error::RetryLater {
                detail,
                retry_after_secs,
            } => TokenKeepError::Transient {
                message: detail,
                retry_after_secs,
            },
            Error::MalformedResponse { detail } => TokenKeepError::Protocol { message: detail },
            Error::Authorization { detail } => TokenKeepError::Authorization { message: detail },
            Error::Configuration { detail } => TokenKeepError::Configuration { message: detail },
            Error::Storage { kind, detail } => TokenKeepError::Storage { kind, message: detail },
            Error::Internal { detail } => TokenKeepError::Internal { message: detail },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TokenKeepError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TokenKeepError::Internal {
            message: format!("a foreign callback failed: {}", e.reason),
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
