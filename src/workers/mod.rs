//! The Cloudflare Workers adapter, and the only module that names
//! `wasm_bindgen` types (and, for the `workers-rs` feature, `worker`'s): request/response conversion, KV, the grants
//! Durable Object, fetch (client metadata documents, the key check), the
//! clock and the crate's own `fetch` export. It takes no protocol decisions.

mod adapter;
#[cfg(feature = "worker-entry")]
mod entry;
mod fetch;
mod grants;
#[cfg(feature = "grants-object")]
mod grants_object;
#[cfg(all(feature = "worker-init", not(feature = "workers-rs")))]
mod init;
mod js;
mod key_check;
mod kv;
#[cfg(feature = "worker-entry")]
mod machine;
mod p256;

pub use adapter::*;
pub use fetch::WorkerFetch;
pub use grants::{BoundGrants, DurableGrants, CALL_TIMEOUT_MS, GRANTS_BINDING};
#[cfg(feature = "grants-object")]
pub use grants_object::GrantsSql;
pub use key_check::WorkerKeyChecker;
pub use kv::KvNamespace;
#[cfg(feature = "workers-rs")]
pub use kv::KvStore;
pub use p256::{has_node_crypto, install_p256, RuntimeP256};
