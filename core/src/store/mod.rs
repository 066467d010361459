//! Where a session's tokens live between runs: the [`TokenStore`] trait.
//!
//! A store keeps one opaque record per key (an account id: a user id, or
//! user + device). The session encodes its tokens into that record (see
//! [`record`]: JSON with a schema version and a generation counter) and the
//! store only has to keep bytes. Rust code and every binding can implement
//! the trait (a Keychain, an Android Keystore, a company vault); built in are
//! [`MemoryStore`] for tests and short-lived processes, and (in the storage
//! module set) encrypted file and SQLite stores.
//!
//! A record holds live credentials: a store that writes to disk must encrypt
//! it. Errors are [`StoreError`]s; the session turns them into
//! `TokenKeepError::Storage` and never deletes a record it could not read.

mod memory;
pub(crate) mod record;

use std::sync::Arc;

pub use memory::MemoryStore;

/// A store's failure, with a message that says what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum StoreError {
    /// The store could not do what was asked.
    #[error("{message}")]
    Failed {
        /// What went wrong and where (never the record's content).
        message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for StoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        StoreError::Failed {
            message: format!("the store implementation raised an error: {}", e.reason),
        }
    }
}

/// Keeps one record of bytes per key. Implementations must be thread-safe:
/// the session calls them from its own threads.
#[uniffi::export(with_foreign)]
pub trait TokenStore: Send + Sync {
    /// The record stored under `key`, or `None` when there is none.
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the record under `key` (atomically, for stores that persist).
    fn save(&self, key: String, record: Vec<u8>) -> Result<(), StoreError>;
    /// Removes the record under `key`; removing a missing record is not an error.
    fn delete(&self, key: String) -> Result<(), StoreError>;
}

/// A new, empty in-memory store (what a session uses when given none).
#[uniffi::export]
pub fn memory_store() -> Arc<dyn TokenStore> {
    Arc::new(MemoryStore::default())
}
