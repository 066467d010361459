//! Where a sweep's candidates come from: one page at a time, from an index.
//!
//! Each store that can list answers "the accounts whose refresh token
//! expires by T" (and, optionally, "not refreshed since S") in key order,
//! keyset-paged on `(key, account)`, so a sweep over a million accounts
//! holds one page of ids at a time and each query starts where the last
//! one stopped, whatever the sweep changed meanwhile (a refreshed account's
//! new expiry lies past the window, or past the cursor).

use std::sync::Arc;

use crate::store::record::peek_metadata;
use crate::store::{DueQuery, MemoryStore, PostgresStore, SqliteStore, StoreError, TokenStore};

/// A store a sweep can list.
#[derive(Clone)]
pub(crate) enum Candidates {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
    Memory(Arc<MemoryStore>),
}

impl Candidates {
    /// The page after `after` (`(i64::MIN, "")` for the first), at most
    /// `limit` `(key, account)` pairs. Blocks: call it off the runtime's
    /// worker threads.
    pub(crate) fn page(
        &self,
        query: DueQuery,
        after: &(i64, String),
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        match self {
            Candidates::Sqlite(store) => store.due_page(query, after, limit),
            Candidates::Postgres(store) => store.due_page(query, after, limit),
            Candidates::Memory(store) => Ok(memory_page(store, query, after, limit)),
        }
    }
}

/// The memory store has no index: it reads every record's metadata (it is
/// for tests and small apps).
fn memory_page(store: &MemoryStore, query: DueQuery, after: &(i64, String), limit: u32) -> Vec<(i64, String)> {
    let mut due: Vec<(i64, String)> = store
        .keys()
        .into_iter()
        .filter_map(|account| {
            let metadata = peek_metadata(&store.load(account.clone()).ok()??)?;
            let expiring = metadata.refresh_token_expires_at_ms;
            let key = match query {
                DueQuery::RefreshExpiringBy(by) => expiring.filter(|&at| at <= by)?,
                DueQuery::NotWrittenSince {
                    since,
                    refresh_expiring_by,
                } => {
                    if expiring.is_some_and(|at| at <= refresh_expiring_by) {
                        return None;
                    }
                    metadata.received_at_ms.filter(|&at| at <= since)?
                }
            };
            let entry = (key, account);
            (entry > *after).then_some(entry)
        })
        .collect();
    due.sort();
    due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    due
}
