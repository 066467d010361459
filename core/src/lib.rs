//! tokenkeep keeps OAuth 2.0 access tokens valid, once, for every language.
//!
//! An app hands tokenkeep a token response (or signs in through it with
//! PKCE, or gives it client credentials) and from then on asks for a valid
//! access token. tokenkeep refreshes ahead of expiry while still serving the
//! current token, makes any number of concurrent callers share one refresh
//! (with rotating refresh tokens a second refresh would end the session),
//! replaces both tokens after every refresh, keeps them in a store, retries
//! transient failures with backoff and `Retry-After`, and tells the app when
//! the user must sign in again. No token ever appears in a `Debug`, `Display`,
//! error or log line.
//!
//! The same core is exported with [uniffi](https://mozilla.github.io/uniffi-rs/)
//! to Python, Kotlin/Java and Swift, so every SDK shares this implementation.
//!
//! # Quick start
//!
//! ```no_run
//! use tokenkeep::{TokenKeeper, TokenKeeperOptions, TokenKeepError};
//!
//! # async fn run() -> Result<(), TokenKeepError> {
//! let keeper = TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/oauth/token", "my-app"))?;
//! // Tokens from your sign-in flow (or `authorization_request` + `complete_authorization`):
//! keeper.set_tokens("access…".into(), Some("refresh…".into()), Some(3600), None, None)?;
//! // Whenever you call the API:
//! let token = keeper.access_token().await?;
//! # let _ = token; Ok(()) }
//! ```
//!
//! # Map of the crate
//!
//! * [`TokenKeeper`], [`TokenKeeperOptions`]: what apps hold, and what it is made of.
//! * [`TokenSet`], [`SessionState`]: tokens and where the session is.
//! * [`RefreshPolicy`], [`ResponseMapping`], [`ClientAuthMethod`]: configuration.
//! * [`TokenStore`], [`MemoryStore`], [`EncryptedFileStore`], [`SqliteStore`]: where tokens live between runs.
//! * [`SessionListener`]: events for the app.
//! * [`LogSink`], [`set_log_sink`]: tokenkeep's log lines for a binding's logging (Rust apps use a `tracing` subscriber).
//! * [`TokenKeepError`]: every failure, grouped by what to do about it.
//! * [`ManualClock`]: time travel for tests.

#![deny(rustdoc::broken_intra_doc_links)]

uniffi::setup_scaffolding!();

#[macro_use]
mod display_as_debug;
mod capped_body;
mod clock;
mod config;
mod deadline;
mod device;
mod dispatch;
mod endpoint;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http_client;
mod http_exchange;
mod keeper;
mod listener;
mod log_bridge;
mod per_process;
mod pkce;
mod policy;
mod registry;
mod revocation;
mod runtime;
mod secret;
mod session;
mod state;
mod store;
pub mod sweep;
mod token_cache;
mod token_lease;
mod token_response;
mod token_set;
mod token_syntax;

pub use clock::{Clock, ManualClock};
pub use config::{ClientAuthMethod, TokenKeeperOptions, DEFAULT_ACCOUNT_ID};
pub use device::{DeviceAuthorization, DEFAULT_POLL_INTERVAL_SECS, SLOW_DOWN_STEP_SECS};
pub use error::TokenKeepError;
pub use http_exchange::{HttpHeader, HttpRequest, HttpResponse};
pub use keeper::TokenKeeper;
pub use listener::{flush_listener_events, ChangeReason, RefreshFailure, SessionListener, TokensChanged};
pub use log_bridge::{clear_log_sink, set_log_level, set_log_sink, LogLevel, LogRecord, LogSink};
pub use pkce::AuthorizationRequest;
pub use policy::{
    RefreshPolicy, DEFAULT_MAX_API_RESPONSE_BYTES, DEFAULT_MAX_RESPONSE_BYTES, MAX_CLOCK_SKEW_FRACTION,
    MAX_KEEPALIVE_FRACTION, MAX_REFRESH_AHEAD_FRACTION,
};
pub use registry::AccountRegistry;
pub use revocation::{LogoutOutcome, TokenRevocation};
pub use secret::{Secret, MIN_ECHO_PREFIX};
pub use state::SessionState;
pub use store::{
    memory_store, EncryptedFileStore, MemoryStore, PostgresSettings, PostgresStore, SqliteStore, StorageErrorKind,
    StoreError, StoreKey, TokenStore, PASSPHRASE_ITERATIONS, PASSPHRASE_MEMORY_KIB, PASSPHRASE_PARALLELISM,
    PASSPHRASE_SALT_LEN, STORE_KEY_LEN,
};
pub use sweep::{SweepCounts, SweepFailure, SweepOptions, SweepProgress, SweepSummary};
pub use token_cache::TokenCache;
pub use token_lease::{TokenLease, MAX_LEASE_MS};
pub use token_response::{camel_case_response_mapping, ResponseMapping};
pub use token_set::TokenSet;
