//! Where a session's tokens live between runs: the [`TokenStore`] trait.
//!
//! A store keeps one opaque record per key (an account id: a user id, or
//! user + device). The session encodes its tokens into that record (see
//! [`record`]: JSON with a schema version and a generation counter) and the
//! store only has to keep bytes. Rust code and every binding can implement
//! the trait (a Keychain, an Android Keystore, a company vault); built in are
//! [`MemoryStore`] for tests and short-lived processes, and the encrypted
//! file and SQLite stores for data that must survive restarts.
//!
//! A record holds live credentials: a store that writes to disk must encrypt
//! it. Errors are [`StoreError`]s whose variant says what kind of failure it
//! was; the session turns them into `TokenKeepError::Storage` and never
//! deletes a record it could not read.
//!
//! # Locking, and why stores take part in it
//!
//! With rotating refresh tokens, two processes that refresh the same account
//! at once burn the session. So the session refreshes under the store's lock
//! for that key: `lock`, re-read the record, refresh only if it is still the
//! one that needed refreshing, `save`, `unlock`. A store shared by several
//! processes makes `lock` exclusive across them (the file store with an
//! advisory file lock, which the kernel releases if the holder dies); a
//! store private to one process can make it an in-process lock, or nothing.
//!
//! # The persistent stores
//!
//! | store                  | for                                | on disk                                     |
//! |------------------------|------------------------------------|---------------------------------------------|
//! | [`EncryptedFileStore`] | an app, a CLI, a small service     | a directory, one encrypted file per account |
//! | [`SqliteStore`]        | a service with many accounts       | one SQLite database, one row per account    |
//! | [`PostgresStore`]      | many instances sharing accounts    | PostgreSQL, one row per account             |
//!
//! The PostgreSQL store shares the sealing below but not the lock files: its
//! locks are per-account leases in the database, and its saves are fenced
//! by them (see `postgres.rs`).
//!
//! Both file-based stores seal every record with XChaCha20-Poly1305 under a [`StoreKey`]
//! (32 bytes from the platform's key store, or a passphrase stretched with
//! Argon2id), bound to its account so a record moved to another account does
//! not open; both lock per account with advisory lock files, exclusive
//! across processes, released by the kernel when a holder dies and (on
//! Unix) present only while held; both
//! report a wrong key as `WrongKey` and damage as `Corrupt`, naming the
//! file or row, and never delete what they could not read; both can
//! re-encrypt everything under a new key (`rotate_key`). That is one piece
//! of code, `sealed` (a `SealedStore` over a `Medium`: the files of a
//! directory, the rows of a database), built on `envelope`, `key_lock`,
//! `store_key` and `private_files`; each store module is only its medium.

mod encrypted_file;
pub(crate) mod envelope;
mod key_lock;
mod memory;
mod postgres;
mod private_files;
pub(crate) mod record;
mod sealed;
mod sqlite;
pub(crate) mod store_key;

use std::sync::Arc;
use std::time::Duration;

pub use crate::error::StorageErrorKind;
use crate::error::{Error, TokenKeepError};

/// Which accounts a keep-alive sweep lists (see `crate::sweep`), from the
/// stores that can list them by an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DueQuery {
    /// Refresh tokens that expire at or before this time (unix ms).
    RefreshExpiringBy(i64),
    /// Records not refreshed (PostgreSQL: tokens received; SQLite: record
    /// written) since `since` (unix ms), leaving out those the first query
    /// lists (refresh token expiring by `refresh_expiring_by`).
    NotWrittenSince {
        /// The cut-off.
        since: i64,
        /// The first query's bound.
        refresh_expiring_by: i64,
    },
}

pub use encrypted_file::EncryptedFileStore;
pub use memory::MemoryStore;
pub use postgres::{PostgresSettings, PostgresStore};
pub use sqlite::SqliteStore;
pub use store_key::{
    StoreKey, PASSPHRASE_ITERATIONS, PASSPHRASE_MEMORY_KIB, PASSPHRASE_PARALLELISM, PASSPHRASE_SALT_LEN, STORE_KEY_LEN,
};

/// A store's failure. The variant says which kind; the detail says what
/// and where (a path, a key), never the record's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum StoreError {
    /// Reading or writing the storage medium failed (permissions, disk full, …).
    #[error("{detail}")]
    Io {
        /// What failed, and where.
        detail: String,
    },
    /// The record was encrypted under another key than the one given.
    #[error("{detail}")]
    WrongKey {
        /// Which record, and which key ids.
        detail: String,
    },
    /// The record is truncated, tampered with or otherwise unreadable.
    #[error("{detail}")]
    Corrupt {
        /// Which record, and what is wrong with it.
        detail: String,
    },
    /// The lock on a key was not obtained in time (another process holds it).
    #[error("{detail}")]
    LockTimeout {
        /// Which key, and how long it waited.
        detail: String,
    },
    /// Any other failure (for example raised by a store written in another language).
    #[error("{detail}")]
    Failed {
        /// What failed.
        detail: String,
    },
}

impl StoreError {
    /// The kind of failure, for `TokenKeepError::Storage`.
    pub fn kind(&self) -> StorageErrorKind {
        match self {
            StoreError::Io { .. } => StorageErrorKind::Io,
            StoreError::WrongKey { .. } => StorageErrorKind::WrongKey,
            StoreError::Corrupt { .. } => StorageErrorKind::Corrupt,
            StoreError::LockTimeout { .. } => StorageErrorKind::LockTimeout,
            StoreError::Failed { .. } => StorageErrorKind::Other,
        }
    }
}

impl From<StoreError> for TokenKeepError {
    fn from(error: StoreError) -> Self {
        TokenKeepError::Storage {
            kind: error.kind(),
            detail: error.to_string(),
        }
    }
}

impl Error {
    /// A store's own error, with what the session was doing.
    pub(crate) fn from_store(error: StoreError, doing: impl std::fmt::Display) -> Self {
        Error::Storage {
            kind: error.kind(),
            detail: format!("{doing}: {error}"),
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for StoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        StoreError::Failed {
            detail: format!("the store implementation raised an error: {}", e.reason),
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
    /// Takes the exclusive lock on `key`, waiting at most `timeout_ms`
    /// (then `StoreError::LockTimeout`; a negative wait is no wait). Exclusive across every process that
    /// shares this store; a store private to one process may make it an
    /// in-process lock or do nothing. A holder that dies must not block others.
    fn lock(&self, key: String, timeout_ms: i64) -> Result<(), StoreError>;
    /// Releases the lock taken with `lock`.
    fn unlock(&self, key: String) -> Result<(), StoreError>;
}

/// The wait a `TokenStore::lock` call's `timeout_ms` asks for: a negative
/// one is no wait.
pub(crate) fn lock_wait(timeout_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0))
}

/// A new, empty in-memory store (what a session uses when given none).
#[uniffi::export]
pub fn memory_store() -> Arc<dyn TokenStore> {
    Arc::new(MemoryStore::default())
}
