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
//! No event carries a credential: read them from the session if needed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::dispatch;

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

/// A change of tokens, without the tokens themselves.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
}

/// A refresh that failed but did not end the session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefreshFailure {
    /// What went wrong (no secrets).
    pub message: String,
    /// Whether trying again later may succeed.
    pub transient: bool,
    /// Seconds the server asked to wait, if it said.
    pub retry_after_secs: Option<u64>,
}

/// Receives a session's events. Implement it in Rust or in any binding.
#[uniffi::export(with_foreign)]
pub trait SessionListener: Send + Sync {
    /// The tokens changed (refreshed, set, acquired, signed in, logged out).
    fn on_tokens_changed(&self, event: TokensChanged);
    /// The session ended (invalid_grant): the user must sign in again.
    fn on_session_expired(&self, message: String);
    /// A refresh failed; the current tokens, if any, are kept.
    fn on_refresh_failed(&self, failure: RefreshFailure);
}

/// Waits until every event queued so far has been delivered, at most
/// `timeout_ms`; returns whether it was. Language layers call it before
/// their runtime shuts down (Python's `atexit`), so no listener is called
/// into a half-torn-down interpreter. Log records for a
/// [`LogSink`](crate::LogSink) go through the same thread and are drained too.
#[uniffi::export]
pub fn flush_listener_events(timeout_ms: u64) -> bool {
    dispatch::flush(std::time::Duration::from_millis(timeout_ms))
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
                let _ = catch_unwind(AssertUnwindSafe(|| event(listener)));
            }
        }));
    }

    pub(crate) fn tokens_changed(&self, event: TokensChanged) {
        self.each(move |l| l.on_tokens_changed(event.clone()));
    }

    pub(crate) fn session_expired(&self, message: String) {
        self.each(move |l| l.on_session_expired(message.clone()));
    }

    pub(crate) fn refresh_failed(&self, failure: RefreshFailure) {
        self.each(move |l| l.on_refresh_failed(failure.clone()));
    }
}
