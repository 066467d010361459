//! Keeping a session and its store in step, across processes.
//!
//! Every change of tokens happens under the store's lock for the account
//! ([`StoreLockGuard`], released on drop, also on error). Under the lock the
//! session re-reads the record ([`Session::reread`]): if another process (or
//! another session on the same store) wrote a *strictly newer* generation
//! since this session last read or wrote it, those tokens are adopted
//! instead of refreshing again. A record that is not newer never replaces
//! the tokens in memory. Generations only grow: each write takes the larger
//! of the record's and the session's generation plus one.
//!
//! Taking the lock can block (another process may be refreshing), so on
//! tokenkeep's runtime threads it runs in a blocking section, unless it can
//! be had without waiting. A blocking section (tokio's `block_in_place`)
//! hands the runtime thread's work to another thread, starting one if none
//! is idle: 300 keepers refreshing at once started 400 threads that way.
//! So the in-process lock is tried first and the blocking section is only
//! entered when another session of the account holds it, and a session on
//! its own private memory store (no store given) calls that store directly:
//! it never blocks. A session on a shared store (file, SQLite, foreign)
//! still enters a blocking section for the store's lock and each save.

use std::sync::Arc;

use super::account_lock::AccountLock;
use super::unsaved::held_but_not_stored;
use super::Session;
use crate::error::Error;
use crate::listener::{ChangeReason, RefreshFailure, TokensChanged};
use crate::runtime;
use crate::state::{transition, Event};
use crate::store::record::{self, Record, RecordError, RefreshMarker};
use crate::store::TokenStore;
use crate::token_set::TokenSet;

use super::single_flight::RefreshOutcome;

/// Holds the store's lock on one key, and the in-process lock on the
/// account under it; unlocks both when dropped (the store's first).
pub(crate) struct StoreLockGuard {
    store: Arc<dyn TokenStore>,
    key: String,
    _in_process: AccountLock,
}

impl Drop for StoreLockGuard {
    fn drop(&mut self) {
        if let Err(e) = self.store.unlock(self.key.clone()) {
            tracing::error!(key = %self.key, error = %e, "could not release the store lock");
        }
    }
}

/// What the store holds for the account, compared with what the session holds.
pub(crate) enum StoreView {
    /// The record is not newer than the session's tokens (the same
    /// generation, or an older one while the session's tokens are unsaved).
    Unchanged {
        /// The record's generation (0: no record).
        stored_generation: u64,
        /// A refresh that started and did not store its answer.
        refresh_in_flight: Option<RefreshMarker>,
    },
    /// Someone else wrote a newer record.
    Newer(Record),
    /// The record is gone (logged out or ended elsewhere).
    Gone,
}

impl From<RecordError> for Error {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::Unreadable { kind, detail } => Error::storage(kind, detail),
            RecordError::Unencodable { detail } => Error::internal(detail),
        }
    }
}

impl Session {
    /// Takes the store's lock on this account, waiting at most the policy's
    /// `store_lock_timeout_ms`.
    pub(crate) fn lock_store(&self) -> Result<StoreLockGuard, Error> {
        self.lock_store_within(self.policy.store_lock_timeout_ms())
    }

    /// Takes the in-process lock on the account (see `account_lock`), then
    /// the store's, within `timeout_ms` in all.
    pub(super) fn lock_store_within(&self, timeout_ms: u64) -> Result<StoreLockGuard, Error> {
        let started = std::time::Instant::now();
        let in_process = match AccountLock::try_acquire(&self.account) {
            Some(free) => free,
            None => runtime::blocking_section(|| AccountLock::acquire(&self.account, timeout_ms))?,
        };
        let left_ms = timeout_ms.saturating_sub(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        let left_ms = i64::try_from(left_ms).unwrap_or(i64::MAX);
        self.store_call(|| self.store.lock(self.account.clone(), left_ms))
            .map_err(|e| Error::from_store(e, format!("could not lock the tokens of account `{}`", self.account)))?;
        Ok(StoreLockGuard {
            store: self.store.clone(),
            key: self.account.clone(),
            _in_process: in_process,
        })
    }

    /// Reads and decodes the account's record.
    pub(crate) fn load_record(&self) -> Result<Option<Record>, Error> {
        let bytes = self
            .store
            .load(self.account.clone())
            .map_err(|e| Error::from_store(e, format!("could not load the tokens of account `{}`", self.account)))?;
        Ok(bytes.map(|b| record::decode(&b, &self.account)).transpose()?)
    }

    /// Compares the store's record with the session's `generation`. Call
    /// with the store lock held.
    pub(crate) fn reread(&self, generation: u64) -> Result<StoreView, Error> {
        Ok(match self.load_record()? {
            None if generation == 0 => StoreView::Unchanged {
                stored_generation: 0,
                refresh_in_flight: None,
            },
            None => StoreView::Gone,
            Some(record) if record.generation > generation => StoreView::Newer(record),
            Some(record) => {
                if record.generation < generation {
                    tracing::debug!(account = %self.account, "the store holds older tokens than memory; memory wins");
                }
                StoreView::Unchanged {
                    stored_generation: record.generation,
                    refresh_in_flight: record.refresh_in_flight,
                }
            }
        })
    }

    /// The generation the next write gets: past both the record's and
    /// ours. Reads the record: call it before a request, never after.
    pub(crate) fn next_generation(&self) -> Result<u64, Error> {
        let stored = self.load_record()?.map_or(0, |r| r.generation);
        Ok(stored.max(self.current.read().generation).saturating_add(1))
    }

    /// Hands over tokens the app got elsewhere.
    pub(crate) fn set_tokens(&self, tokens: TokenSet, reason: ChangeReason) -> RefreshOutcome {
        let _lock = self.lock_store()?;
        let next_generation = self.next_generation()?;
        self.publish(tokens, reason, None, next_generation)
    }

    /// Takes a record another process wrote as this session's tokens.
    pub(super) fn adopt(&self, record: Record) -> Arc<TokenSet> {
        let tokens = Arc::new(record.tokens);
        {
            let _writer = self.writer.lock();
            let mut current = self.current.write();
            current.phase = transition(current.phase, Event::TokensStored).unwrap_or(current.phase);
            current.tokens = Some(tokens.clone());
            current.generation = record.generation;
            current.unsaved = None;
        }
        self.adoptions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.tokens_replaced();
        tracing::debug!(account = %self.account, "adopted tokens another session stored");
        self.listeners
            .tokens_changed(changed(ChangeReason::Adopted, Some(&tokens), true));
        tokens
    }

    /// Stores and swaps in `tokens` as generation `next_generation`; the
    /// caller holds the store lock and computed the generation before any
    /// request, so nothing but encoding stands between a server's answer
    /// and its durable write. With `expected_generation` (a refresh), a
    /// change made meanwhile wins and `tokens` are dropped; a failed store
    /// write keeps the tokens in memory as unsaved, because the old refresh
    /// token is already spent. Without it (the app handing tokens over), a
    /// failed store write is an error and nothing changes.
    pub(super) fn publish(
        &self,
        tokens: TokenSet,
        reason: ChangeReason,
        expected_generation: Option<u64>,
        next_generation: u64,
    ) -> RefreshOutcome {
        let _writer = self.writer.lock();
        if let Some(expected) = expected_generation {
            if expected != self.current.read().generation {
                tracing::debug!(account = %self.account, "refresh result dropped: the tokens changed while it ran");
                return self.tokens().ok_or_else(|| Error::NotSignedIn {
                    detail: "the session was logged out while a refresh was running".into(),
                });
            }
        }
        let unsaved = match self.write_record(&tokens, next_generation, None) {
            Ok(()) => None,
            Err(error) if expected_generation.is_none() => return Err(error),
            Err(error) => Some(error),
        };
        let tokens = Arc::new(tokens);
        {
            let mut current = self.current.write();
            current.phase = transition(current.phase, Event::TokensStored).unwrap_or(current.phase);
            current.tokens = Some(tokens.clone());
            current.generation = next_generation;
            current.unsaved = unsaved.clone();
            current.ended_because = None;
        }
        self.tokens_replaced();
        self.listeners
            .tokens_changed(changed(reason, Some(&tokens), unsaved.is_none()));
        if let Some(error) = unsaved {
            self.save_backoff.lock().fail(self.policy.pause_after_failure(1, None));
            tracing::warn!(account = %self.account, %error, "refreshed tokens could not be stored; they are kept in memory and stored at the next occasion");
            self.listeners.refresh_failed(RefreshFailure {
                transient: true,
                ..RefreshFailure::from(&held_but_not_stored(&error))
            });
        }
        Ok(tokens)
    }

    /// Encodes and saves `tokens` as generation `generation`.
    pub(super) fn write_record(
        &self,
        tokens: &TokenSet,
        generation: u64,
        refresh_in_flight: Option<&RefreshMarker>,
    ) -> Result<(), Error> {
        let bytes = record::encode_with_marker(tokens, generation, self.clock.now_ms(), refresh_in_flight)?;
        self.store_call(|| self.store.save(self.account.clone(), bytes.to_vec()))
            .map_err(|e| Error::from_store(e, format!("could not save the tokens of account `{}`", self.account)))
    }

    /// Runs a store call that may block in a blocking section, or directly
    /// when the store is this session's private memory store (see the
    /// module docs).
    fn store_call<T>(&self, call: impl FnOnce() -> T) -> T {
        if self.private_memory_store {
            call()
        } else {
            runtime::blocking_section(call)
        }
    }
}

/// A [`TokensChanged`] event for `tokens`.
pub(super) fn changed(reason: ChangeReason, tokens: Option<&Arc<TokenSet>>, stored: bool) -> TokensChanged {
    TokensChanged {
        reason,
        expires_at_unix_ms: tokens.and_then(|t| t.expires_at_unix_ms()),
        scope: tokens.and_then(|t| t.scope()),
        has_refresh_token: tokens.is_some_and(|t| t.has_refresh_token()),
        stored,
        tokens: tokens.cloned(),
    }
}
