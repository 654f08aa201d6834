//! Storage: a small trait (get, put with a TTL, delete) with an in-memory
//! implementation (`memory.rs`) for tests and embedding. The Workers KV implementation
//! lives in the Workers adapter.

pub mod grant_wire;
pub mod grants;
mod memory;

pub use grants::{GrantStore, MemoryGrantStore, NoGrants};
pub use memory::{MemoryStore, OpCounts};

/// A storage failure; its text goes to logs, never to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

/// Key-value storage with expiry. Values are text.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The value under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key` for `ttl_secs` seconds (at least 60).
    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), StoreError>;
    /// Removes `key` (absent keys are not an error).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// Runs a future that never waits on I/O (the in-memory store) to completion.
/// For tests and benchmarks of the core.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
