//! Telling the app what happened: [`SessionListener`].
//!
//! Three events matter to an app: tokens changed (persist them elsewhere,
//! update analytics), the session expired (go to sign-in; told once per
//! session end), and a refresh failed transiently (show "offline", retry
//! later). Listeners are called on one tokenkeep-owned dispatch thread, in
//! order, never while tokenkeep holds a lock and never on the threads that
//! refresh, so a slow or failing listener cannot stall a refresh. A listener
//! that panics (or throws, in a binding) is isolated; the others still run.
//! No event carries a credential: read them from the session if needed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use once_cell::sync::Lazy;
use parking_lot::{Mutex, RwLock};

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

type Job = Box<dyn FnOnce() + Send>;

/// The dispatch thread shared by all sessions, started on first use.
static DISPATCH: Lazy<Mutex<Option<Sender<Job>>>> = Lazy::new(|| {
    let (sender, receiver) = channel::<Job>();
    let started = std::thread::Builder::new()
        .name("tokenkeep-events".into())
        .spawn(move || {
            while let Ok(job) = receiver.recv() {
                if catch_unwind(AssertUnwindSafe(job)).is_err() {
                    tracing::warn!("a session listener panicked; the event was dropped for that listener");
                }
            }
        });
    Mutex::new(started.ok().map(|_| sender))
});

/// Waits until every event queued so far has been delivered, at most
/// `timeout_ms`; returns whether it was. Language layers call it before
/// their runtime shuts down (Python's `atexit`), so no listener is called
/// into a half-torn-down interpreter.
#[uniffi::export]
pub fn flush_listener_events(timeout_ms: u64) -> bool {
    let (done, delivered) = std::sync::mpsc::sync_channel::<()>(1);
    let job: Job = Box::new(move || {
        let _ = done.send(());
    });
    let Some(sender) = DISPATCH.lock().clone() else {
        return true;
    };
    if sender.send(job).is_err() {
        return true;
    }
    delivered
        .recv_timeout(std::time::Duration::from_millis(timeout_ms))
        .is_ok()
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
        let job: Job = Box::new(move || {
            for listener in &listeners {
                let _ = catch_unwind(AssertUnwindSafe(|| event(listener)));
            }
        });
        let sender = DISPATCH.lock().clone();
        match sender {
            Some(sender) => {
                if let Err(returned) = sender.send(job) {
                    (returned.0)();
                }
            }
            None => job(),
        }
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
