//! [`MemoryStore`]: records in a map, gone when the process ends.
//!
//! The default store of a session built without one, and the store of most
//! tests. Records are zeroized when replaced or dropped.

use std::collections::HashMap;

use parking_lot::Mutex;
use zeroize::Zeroizing;

use super::{StoreError, TokenStore};

/// An in-memory [`TokenStore`].
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, Zeroizing<Vec<u8>>>>,
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
}
