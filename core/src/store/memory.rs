//! [`MemoryStore`]: records in a map, gone when the process ends.
//!
//! The default store of a session built without one, and the store of most
//! tests. Its lock is an in-process lock per key, so several sessions of one
//! account in one process still refresh one at a time. Records are zeroized
//! when replaced or dropped.
//!
//! After `fork()` the child has a copy of the records and of the lock table,
//! but not of the parent's threads: a key a parent thread had locked (a
//! refresh in flight) would stay locked in the child until the lock timeout,
//! on every attempt. So each lock remembers the process that took it, and a
//! lock taken by another process counts as free. (The copy is the child's
//! own: parent and child no longer share records, so nothing is lost.)

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use zeroize::Zeroizing;

use super::{lock_wait, StoreError, TokenStore};
use crate::per_process::current_pid;

/// An in-memory [`TokenStore`].
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, Zeroizing<Vec<u8>>>>,
    /// Locked keys, with the id of the process that locked each.
    locked: Mutex<HashMap<String, u32>>,
    released: Condvar,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.records.lock().len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.lock().is_empty()
    }

    /// The keys of its records, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.records.lock().keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl MemoryStore {
    /// Takes the lock on `key` for process `pid`, waiting at most
    /// `timeout_ms` for a holder in the same process.
    fn lock_as(&self, pid: u32, key: String, timeout_ms: i64) -> Result<(), StoreError> {
        let timeout = lock_wait(timeout_ms);
        let deadline = Instant::now() + timeout;
        let held_here = |locked: &HashMap<String, u32>| locked.get(&key) == Some(&pid);
        let mut locked = self.locked.lock();
        while held_here(&locked) {
            if self.released.wait_until(&mut locked, deadline).timed_out() && held_here(&locked) {
                return Err(StoreError::LockTimeout {
                    detail: format!(
                        "waited {} ms for the lock on key `{key}` in the memory store",
                        timeout.as_millis()
                    ),
                });
            }
        }
        // Free, or held by a thread of the parent process, which is not here.
        locked.insert(key, pid);
        Ok(())
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("records", &self.len()).finish()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.records.lock().get(&key).map(|r| r.to_vec()))
    }

    fn save(&self, key: String, record: Vec<u8>) -> Result<(), StoreError> {
        self.records.lock().insert(key, Zeroizing::new(record));
        Ok(())
    }

    fn delete(&self, key: String) -> Result<(), StoreError> {
        self.records.lock().remove(&key);
        Ok(())
    }

    fn lock(&self, key: String, timeout_ms: i64) -> Result<(), StoreError> {
        self.lock_as(current_pid(), key, timeout_ms)
    }

    fn unlock(&self, key: String) -> Result<(), StoreError> {
        self.locked.lock().remove(&key);
        self.released.notify_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_times_out() {
        let store = MemoryStore::new();
        store.lock("k".into(), 10).expect("first");
        assert!(matches!(
            store.lock("k".into(), 20),
            Err(StoreError::LockTimeout { .. })
        ));
        store.lock("other".into(), 10).expect("another key is free");
        store.unlock("k".into()).expect("unlock");
        store.lock("k".into(), 10).expect("free again");
    }

    #[test]
    fn a_lock_held_by_the_parent_process_does_not_block_a_forked_child() {
        let store = MemoryStore::new();
        let (parent, child) = (1, 2);
        store.lock_as(parent, "k".into(), 10).expect("the parent locks");
        store
            .lock_as(child, "k".into(), 5_000)
            .expect("free at once in the child: the parent's thread is not there");
        assert!(
            matches!(
                store.lock_as(child, "k".into(), 20),
                Err(StoreError::LockTimeout { .. })
            ),
            "the child's own lock excludes the child's other callers"
        );
    }
}
