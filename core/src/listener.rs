//! Telling the app what happened: [`SessionListener`].
//!
//! Three events matter to an app: tokens changed (persist them elsewhere,
//! update analytics), the session expired (go to sign-in; told once per
//! session end), and a refresh failed transiently (show "offline", retry
//! later). Listeners are called on one tokenkeep-owned dispatch thread
//! (module `dispatch`, shared with log records), in order, never while
//! tokenkeep holds a lock and never on the threads that refresh, so a slow
//! or failing listener cannot stall a refresh. A listener that panics (or
//! throws, in a binding) is isolated; the others still run.
//! Only `TokensChanged` carries credentials, inside a [`TokenSet`] that
//! never shows them in `Debug`, `Display` or any binding's text.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::dispatch;
use crate::error::{secs_i64, Error, TokenKeepError};
use crate::token_set::TokenSet;

/// Why a session's tokens changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeReason {
    /// The app handed tokens over (`set_tokens`, `set_token_response`).
    Set,
    /// A refresh (RFC 6749 §6) replaced them.
    Refreshed,
    /// The client_credentials grant issued new ones.
    Acquired,
    /// A sign-in (authorization code) issued them.
    SignedIn,
    /// The app logged out; there are no tokens now.
    LoggedOut,
    /// Another process (or session) sharing the store refreshed them, and
    /// this session took its result instead of refreshing again.
    Adopted,
    /// Tokens that were held only in memory (their save had failed) are
    /// stored now.
    Stored,
}

/// A change of tokens. `tokens` is the new token set (redacted in every
/// `Debug`/`repr`/`toString`), for apps that keep a copy elsewhere, like a
/// `token_updater`.
#[derive(Debug, Clone, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct TokensChanged {
    /// Why they changed.
    pub reason: ChangeReason,
    /// When the new access token expires (Unix ms), if known.
    pub expires_at_unix_ms: Option<i64>,
    /// The granted scope, if known.
    pub scope: Option<String>,
    /// Whether there is a refresh token.
    pub has_refresh_token: bool,
    /// Whether the new tokens are in the store. `false`: the save failed,
    /// the tokens are held in memory and served, and tokenkeep keeps trying
    /// to store them (a later event with reason `Stored` says it did).
    pub stored: bool,
    /// The new tokens; `None` after a logout.
    pub tokens: Option<Arc<TokenSet>>,
}

/// A refresh that failed but did not end the session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct RefreshFailure {
    /// What went wrong and what to do, as the error's text (no secrets).
    pub detail: String,
    /// The server's OAuth error code, if it sent one.
    pub oauth_error: Option<String>,
    /// Whether trying again later may succeed.
    pub transient: bool,
    /// Seconds the server asked to wait, if it said.
    pub retry_after_secs: Option<i64>,
}

impl From<&Error> for RefreshFailure {
    fn from(error: &Error) -> Self {
        let public = TokenKeepError::from(error.clone());
        RefreshFailure {
            detail: public.to_string(),
            oauth_error: public.oauth_error().map(str::to_owned),
            transient: error.is_transient(),
            retry_after_secs: error.retry_after_secs().map(secs_i64),
        }
    }
}

display_as_debug!(TokensChanged, RefreshFailure);

/// Receives a session's events. Implement it in Rust or in any binding.
#[uniffi::export(with_foreign)]
pub trait SessionListener: Send + Sync {
    /// The tokens changed (refreshed, set, acquired, signed in, logged out).
    fn on_tokens_changed(&self, event: TokensChanged);
    /// The session ended (invalid_grant): the user must sign in again.
    /// `reason` is the `SessionExpired` error's text.
    fn on_session_expired(&self, reason: String);
    /// A refresh failed; the current tokens, if any, are kept.
    fn on_refresh_failed(&self, failure: RefreshFailure);
}

/// Waits until every event queued so far has been delivered, at most
/// `timeout_ms`; returns whether it was. Language layers call it before
/// their runtime shuts down (Python's `atexit`), so no listener is called
/// into a half-torn-down interpreter. Log records for a
/// [`LogSink`](crate::LogSink) go through the same thread and are drained too.
#[uniffi::export]
pub fn flush_listener_events(timeout_ms: i64) -> bool {
    dispatch::flush(std::time::Duration::from_millis(crate::policy::non_negative(
        timeout_ms,
    )))
}

/// One session's listeners.
#[derive(Default)]
pub(crate) struct Listeners {
    list: RwLock<Vec<Arc<dyn SessionListener>>>,
}

impl Listeners {
    pub(crate) fn add(&self, listener: Arc<dyn SessionListener>) {
        self.list.write().push(listener);
    }

    fn each(&self, event: impl Fn(&Arc<dyn SessionListener>) + Send + Sync + 'static) {
        let listeners = self.list.read().clone();
        if listeners.is_empty() {
            return;
        }
        dispatch::queue(Box::new(move || {
            for listener in &listeners {
                if let Err(failure) = catch_unwind(AssertUnwindSafe(|| event(listener))) {
                    let what = (failure.downcast_ref::<String>().map(String::as_str))
                        .or_else(|| failure.downcast_ref::<&str>().copied())
                        .unwrap_or("a panic");
                    tracing::error!("a session listener failed ({what}); the other listeners still got the event");
                }
            }
        }));
    }

    pub(crate) fn tokens_changed(&self, event: TokensChanged) {
        self.each(move |l| l.on_tokens_changed(event.clone()));
    }

    pub(crate) fn session_expired(&self, reason: String) {
        self.each(move |l| l.on_session_expired(reason.clone()));
    }

    pub(crate) fn refresh_failed(&self, failure: RefreshFailure) {
        self.each(move |l| l.on_refresh_failed(failure.clone()));
    }
}
