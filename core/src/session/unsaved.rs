//! Tokens that could not be stored, and storing them later.
//!
//! After a refresh the old refresh token is spent: the new tokens exist only
//! in memory until the store has them. When that write fails (disk full, a
//! read-only directory, a locked Keychain), the session keeps serving the
//! new tokens, marks them *unsaved*, logs a WARN line and tells listeners
//! (`TokensChanged { stored: false }` and a refresh failure saying why).
//! It then stores them at the next occasion: the next call on the session
//! (in the background, spaced by the policy's backoff), the background
//! refresher, the next refresh (before anything else, under the lock),
//! `flush()`, and a last attempt when the session is dropped. Once stored,
//! listeners hear `ChangeReason::Stored`.
//!

use std::sync::Arc;

use super::store_sync::changed;
use super::Session;
use crate::error::Error;
use crate::listener::ChangeReason;
use crate::runtime;

/// How long the last attempt to store unsaved tokens (when a session is
/// dropped) waits for the store lock.
pub(super) const LAST_CHANCE_LOCK_TIMEOUT_MS: u64 = 2_000;

impl Session {
    /// Stores unsaved tokens now, taking the store lock (waiting at most
    /// `lock_timeout_ms`). `Ok` when there was nothing to store.
    pub(crate) fn store_unsaved(&self, lock_timeout_ms: u64) -> Result<(), Error> {
        if self.current.read().unsaved.is_none() {
            return Ok(());
        }
        let _lock = self.lock_store_within(lock_timeout_ms)?;
        self.store_unsaved_locked()
    }

    /// Stores unsaved tokens; the caller holds the store lock.
    pub(super) fn store_unsaved_locked(&self) -> Result<(), Error> {
        let _writer = self.writer.lock();
        let (tokens, generation) = {
            let current = self.current.read();
            match (&current.unsaved, &current.tokens) {
                (Some(_), Some(tokens)) => (tokens.clone(), current.generation),
                _ => return Ok(()),
            }
        };
        match self.write_record(&tokens, generation, None) {
            Ok(()) => {
                {
                    let mut current = self.current.write();
                    if current.generation == generation {
                        current.unsaved = None;
                    }
                }
                *self.save_backoff.lock() = Default::default();
                tracing::info!(account = %self.account, "tokens held only in memory are stored now");
                self.listeners
                    .tokens_changed(changed(ChangeReason::Stored, Some(&tokens), true));
                Ok(())
            }
            Err(error) => {
                {
                    let mut current = self.current.write();
                    if current.generation == generation {
                        current.unsaved = Some(error.clone());
                    }
                }
                self.save_backoff.lock().fail_in_a_row(&self.policy, None);
                tracing::warn!(account = %self.account, %error, "tokens held only in memory still cannot be stored; retrying later");
                Err(held_but_not_stored(&error))
            }
        }
    }

    /// From the fresh path: stores unsaved tokens in the background, at
    /// most once per backoff interval. Never blocks the caller.
    pub(super) fn store_unsaved_soon(self: &Arc<Self>) {
        {
            let Some(mut backoff) = self.save_backoff.try_lock() else {
                return;
            };
            if backoff.blocked(std::time::Instant::now()) {
                return;
            }
            // Claim the slot so concurrent callers do not all spawn.
            backoff.hold(self.policy.pause_after_failure(1, None));
        }
        let session = Arc::downgrade(self);
        runtime::spawn_detached(async move {
            if let Some(session) = session.upgrade() {
                let _ = session.store_unsaved(session.policy.store_lock_timeout_ms());
            }
        });
    }
}

/// The error of a refresh whose tokens are held in memory but not stored.
pub(super) fn held_but_not_stored(error: &Error) -> Error {
    let (kind, detail) = match error {
        Error::Storage { kind, detail } => (*kind, detail.clone()),
        other => (crate::store::StorageErrorKind::Other, other.to_string()),
    };
    Error::Storage {
        kind,
        detail: format!(
            "the tokens were refreshed and are held in memory, but could not be stored ({detail}); they are served, and tokenkeep keeps trying to store them (call flush() to try now)"
        ),
    }
}
