//! [`Store`] on Workers KV: through the namespace binding itself, or
//! through `worker`'s `KvStore` (the `workers-rs` feature).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::store::{Store, StoreError};

/// [`Store`] on a Workers KV namespace of workers-rs.
#[cfg(feature = "workers-rs")]
pub struct KvStore(pub worker::kv::KvStore);

#[cfg(feature = "workers-rs")]
impl Store for KvStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.get(key).text().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let put = self.0.put(key, value).map_err(|e| StoreError(e.to_string()))?;
        put.expiration_ttl(kv_ttl(ttl_secs)).execute().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map_err(|e| StoreError(e.to_string()))
    }
}

/// The expiration KV accepts for `ttl_secs`: KV's shortest is 60 s.
pub(super) fn kv_ttl(ttl_secs: u64) -> u64 {
    ttl_secs.max(60)
}

/// [`Store`] on a KV namespace binding itself, as the crate's own Worker
/// uses it: each operation is one call on the binding.
///
/// Why not [`KvStore`] there: `env.kv()` looks up six methods of the
/// binding on every request, and each operation clones them and builds
/// its options with serde. Measured side by side in workerd (one KV
/// operation per request, concurrency 1), that cost 60–200 µs of CPU more
/// per operation than calling the binding directly.
pub struct KvNamespace(Namespace);

#[wasm_bindgen]
extern "C" {
    /// The runtime's `KVNamespace`: the three methods the provider uses.
    type Namespace;

    #[wasm_bindgen(method, catch)]
    fn get(this: &Namespace, key: &str) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn put(this: &Namespace, key: &str, value: &str, options: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn delete(this: &Namespace, key: &str) -> Result<js_sys::Promise, JsValue>;
}

impl KvNamespace {
    /// The KV namespace bound to the Worker as `binding`.
    pub fn from_env(env: &JsValue, binding: &str) -> Result<Self, JsValue> {
        match js_sys::Reflect::get(env, &binding.into()) {
            Ok(ns) if ns.is_object() => Ok(Self(ns.unchecked_into())),
            _ => Err(super::js::error(&format!("no KV namespace is bound as {binding}"))),
        }
    }
}

fn kv_error(e: JsValue) -> StoreError {
    StoreError(super::js::js_text(&e))
}

/// Awaits a KV operation's promise.
async fn settle_kv(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, StoreError> {
    JsFuture::from(promise.map_err(kv_error)?).await.map_err(kv_error)
}

impl Store for KvNamespace {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(settle_kv(self.0.get(key)).await?.as_string())
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let options = js_sys::Object::new();
        let ttl = JsValue::from_f64(kv_ttl(ttl_secs) as f64);
        js_sys::Reflect::set(&options, &"expirationTtl".into(), &ttl).map_err(kv_error)?;
        settle_kv(self.0.put(key, value, &options)).await.map(drop)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        settle_kv(self.0.delete(key)).await.map(drop)
    }
}
