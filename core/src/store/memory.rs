//! [`MemoryStore`]: records in a map, gone when the process ends.
//!
//! The default store of a session built without one, and the store of most
//! tests. Its lock is an in-process lock per key, so several sessions of one
//! account in one process still refresh one at a time. Records are zeroized
//! when replaced or dropped.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use zeroize::Zeroizing;

use super::{StoreError, TokenStore};

/// An in-memory [`TokenStore`].
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, Zeroizing<Vec<u8>>>>,
    locked: Mutex<HashSet<String>>,
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

    fn lock(&self, key: String, timeout_ms: u64) -> Result<(), StoreError> {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        let mut locked = self.locked.lock();
        while locked.contains(&key) {
            if self.released.wait_until(&mut locked, deadline).timed_out() && locked.contains(&key) {
                return Err(StoreError::LockTimeout {
                    message: format!("waited {timeout_ms} ms for the lock on key `{key}` in the memory store"),
                });
            }
        }
        locked.insert(key);
        Ok(())
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
}
