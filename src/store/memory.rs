//! The in-memory store, for tests and for embedding without a KV.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{Store, StoreError};

/// Counts of store operations, to check what the hot path costs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OpCounts {
    /// `get` calls.
    pub gets: usize,
    /// `put` calls.
    pub puts: usize,
    /// `delete` calls.
    pub deletes: usize,
}

/// An in-memory store. It can be told to fail, to test what users see
/// when storage is down. (It keeps TTLs but does not expire entries: the
/// provider checks lifetimes inside the values.)
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, (String, u64)>>,
    failing: AtomicBool,
    gets: AtomicUsize,
    puts: AtomicUsize,
    deletes: AtomicUsize,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following operation fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many entries are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every stored value (to check that none holds a secret).
    pub fn values(&self) -> Vec<String> {
        self.lock().values().map(|(v, _)| v.clone()).collect()
    }

    /// Every stored key with its TTL.
    pub fn keys_with_ttl(&self) -> Vec<(String, u64)> {
        self.lock().iter().map(|(k, (_, ttl))| (k.clone(), *ttl)).collect()
    }

    /// Operations so far.
    pub fn op_counts(&self) -> OpCounts {
        OpCounts {
            gets: self.gets.load(Ordering::SeqCst),
            puts: self.puts.load(Ordering::SeqCst),
            deletes: self.deletes.load(Ordering::SeqCst),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        // A poisoned map is still a valid map.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self, counter: &AtomicUsize) -> Result<(), StoreError> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError("simulated store failure".into()));
        }
        Ok(())
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.check(&self.gets)?;
        Ok(self.lock().get(key).map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), StoreError> {
        self.check(&self.puts)?;
        self.lock().insert(key.to_string(), (value.to_string(), ttl_secs));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check(&self.deletes)?;
        self.lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::block_on;

    #[test]
    fn put_get_delete_and_failure() {
        let s = MemoryStore::new();
        block_on(s.put("k", "v", 60)).unwrap();
        assert_eq!(block_on(s.get("k")).unwrap().as_deref(), Some("v"));
        block_on(s.delete("k")).unwrap();
        assert_eq!(block_on(s.get("k")).unwrap(), None);
        s.set_failing(true);
        assert!(block_on(s.get("k")).is_err());
        assert_eq!(s.op_counts(), OpCounts { gets: 3, puts: 1, deletes: 1 });
    }
}
