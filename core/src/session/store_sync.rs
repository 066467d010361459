//! Keeping a session and its store in step, across processes.
//!
//! Every change of tokens happens under the store's lock for the account
//! ([`StoreLockGuard`], released on drop, also on error). Under the lock the
//! session re-reads the record ([`Session::reread`]): if another process (or
//! another session on the same store) wrote a newer generation since this
//! session last read or wrote it, those tokens are adopted instead of
//! refreshing again. Generations only grow: each write takes the larger of
//! the record's and the session's generation plus one.
//!
//! Taking the lock can block (another process may be refreshing), so on
//! tokenkeep's runtime threads it runs in a blocking section.

use std::sync::Arc;

use super::Session;
use crate::error::Error;
use crate::runtime;
use crate::store::record::{self, Record};
use crate::store::TokenStore;

/// Holds the store's lock on one key; unlocks when dropped.
pub(crate) struct StoreLockGuard {
    store: Arc<dyn TokenStore>,
    key: String,
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
    /// The record is the one the session last read or wrote.
    Unchanged,
    /// Someone else wrote a newer record.
    Newer(Record),
    /// The record is gone (logged out or ended elsewhere).
    Gone,
}

impl Session {
    /// Takes the store's lock on this account, waiting at most the policy's
    /// `store_lock_timeout_ms`.
    pub(crate) fn lock_store(&self) -> Result<StoreLockGuard, Error> {
        let timeout = self.policy.store_lock_timeout_ms;
        runtime::blocking_section(|| self.store.lock(self.account.clone(), timeout))
            .map_err(|e| Error::from_store(e, format!("could not lock the tokens of account `{}`", self.account)))?;
        Ok(StoreLockGuard {
            store: self.store.clone(),
            key: self.account.clone(),
        })
    }

    /// Reads and decodes the account's record.
    pub(crate) fn load_record(&self) -> Result<Option<Record>, Error> {
        let bytes = self
            .store
            .load(self.account.clone())
            .map_err(|e| Error::from_store(e, format!("could not load the tokens of account `{}`", self.account)))?;
        bytes.map(|b| record::decode(&b, &self.account)).transpose()
    }

    /// Compares the store's record with the session's `generation`. Call
    /// with the store lock held.
    pub(crate) fn reread(&self, generation: u64) -> Result<StoreView, Error> {
        Ok(match self.load_record()? {
            None if generation == 0 => StoreView::Unchanged,
            None => StoreView::Gone,
            Some(record) if record.generation == generation => StoreView::Unchanged,
            Some(record) => StoreView::Newer(record),
        })
    }

    /// The generation the next write gets: past both the record's and ours.
    pub(crate) fn next_generation(&self, memory_generation: u64) -> u64 {
        let stored = self.load_record().ok().flatten().map_or(0, |r| r.generation);
        stored.max(memory_generation) + 1
    }
}
