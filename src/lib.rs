//! # parallel-oauth-provider
//!
//! An OAuth 2.1 authorization server whose "login" is the user pasting the
//! API key of an API platform (first user: Parallel.ai). MCP clients and web
//! apps discover it, register, send the user to its consent page, and get
//! the key back through the authorization-code flow with PKCE.
//!
//! The crate is a Cloudflare Worker (its own `fetch` export, on the
//! Workers adapter) and a library. The core is plain Rust: it never names a
//! `worker` type, takes the time and a random seed as inputs, and is tested
//! natively.
//!
//! ## Mounting the provider in your own Worker
//!
//! [`Provider::handle`] is the counterpart of the original
//! `parallelOauthProvider(request, kv, secret, config)`: it answers the
//! provider's routes and returns `None` for everything else, so a Worker
//! (an MCP server, say) can fall through to its own routes. On Workers, use
//! the adapter's `parallel_oauth_provider` (it converts requests, uses KV
//! and reads the clock); anywhere else, call the core directly:
//!
//! ```
//! use parallel_oauth_provider::{block_on, Config, MemoryStore, Provider, Request};
//!
//! let config = Config { path_prefix: "/oauth".into(), ..Config::default() };
//! let provider = Provider::new(config, "a secret of at least thirty-two bytes!", None).unwrap();
//! let store = MemoryStore::new();
//! let url = "https://mcp.example/.well-known/oauth-authorization-server".parse().unwrap();
//! let request = Request::new("GET", url);
//! let now = 1_700_000_000; // Unix seconds, from your clock
//! let seed = [7u8; 32]; // from a CSPRNG in real use
//! let response = block_on(provider.handle(&request, &store, now, seed)).expect("a provider route");
//! assert_eq!(response.status, 200);
//! let metadata: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
//! assert_eq!(metadata["issuer"], "https://mcp.example/oauth");
//!
//! // Not a provider route: the caller serves it.
//! let other = Request::new("GET", "https://mcp.example/mcp".parse().unwrap());
//! assert!(block_on(provider.handle(&other, &store, now, seed)).is_none());
//! ```
//!
//! In a Rust Worker (depend on this crate with `default-features = false`,
//! which leaves out its own `fetch` export):
//!
//! ```ignore
//! #[event(fetch)]
//! async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
//!     let kv = env.kv("KV")?;
//!     // SECRET, and SECRET_PREVIOUS while rotating.
//!     let (secret, previous) = secrets_from_env(&env);
//!     let secrets = Secrets::rotating(&secret, previous.as_deref());
//!     let config = Config { path_prefix: "/oauth".into(), ..Config::default() };
//!     if let Some(response) = parallel_oauth_provider(&mut req, kv, secrets, &config).await? {
//!         return Ok(response);
//!     }
//!     // Your other routes...
//!     Response::error("Not found", 404)
//! }
//! ```
//!
//! Sealed tokens also need the grant store: on Workers, the `Grants`
//! Durable Object (the `grants-object` feature exports its class) through
//! `workers::DurableGrants`, passed to `parallel_oauth_provider_with` or
//! `workers::handle_with`; anywhere else, [`Provider::handle_with`] with
//! any [`store::GrantStore`].
//!
//! ## Security
//!
//! - The server mints every code (256 random bits); the store holds only a
//!   hash of the code and the grant sealed under a key derived from the code.
//! - The remembered key is never written into a page: "use my saved key" is
//!   a form choice the server resolves from an `HttpOnly` cookie sealed with
//!   AES-256-GCM under a key derived once from `SECRET` with HKDF.
//! - Consent is a click every time: the form is sealed, bound to a CSRF
//!   cookie, single use, and refused from other origins.
//! - With `KEY_CHECK_URL`, a typed or saved key is checked with the
//!   platform before anything is issued (one GET, the key in one header);
//!   a refused key gets the consent page back, an outage lets sign-in go on.
//! - Secrets live in types whose `Debug` prints `[redacted]` and compare in
//!   constant time. Bad input gets an RFC error, never a panic.
//!
//! See `SECURITY.md` for the threat model.

#![warn(missing_docs)]

pub mod clients;
pub mod config;
pub mod crypto;
pub mod endpoints;
pub mod grants;
pub mod http;
pub mod json;
pub mod pages;
pub mod protocol;
pub mod provider;
pub mod resource_server;
pub mod store;

#[cfg(target_arch = "wasm32")]
pub mod workers;

pub use config::{Branding, Config, ConfigError};
pub use http::{Request, Response};
pub use protocol::resource::ResourcePolicy;
pub use protocol::url::Url;
pub use provider::{Provider, Secrets};
pub use store::{block_on, MemoryStore, Store, StoreError};
/// The Workers adapter under its former name.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub use workers as worker_adapter;
#[cfg(all(target_arch = "wasm32", feature = "workers-rs"))]
pub use workers::{parallel_oauth_provider, parallel_oauth_provider_with, KvStore};
#[cfg(target_arch = "wasm32")]
pub use workers::{DurableGrants, KvNamespace};
