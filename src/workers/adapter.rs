//! The Cloudflare Workers adapter: converts requests and responses, reads
//! the clock and the CSPRNG, implements [`Store`] on Workers KV, and
//! answers requests without an async runtime where it can ([`respond`]).
//! Everything else is in the core. (The crate's own Worker has its own
//! entry, which runs the storage operations in JavaScript: `machine.rs`.)
//!
//! Mounting the provider in a Worker, from the most to the least done for
//! you: [`parallel_oauth_provider_with`] (a KV binding, a grant store, the
//! secrets and a config; [`parallel_oauth_provider`] without grants),
//! [`handle_with`] / [`handle_raw_with`] (a [`Provider`] you built, any
//! [`Store`] and any [`GrantStore`]; [`handle`] / [`handle_raw`] without
//! grants), and [`respond`] (a Worker's own `fetch` export). The grant
//! store on Workers is [`super::DurableGrants`] (the `Grants` Durable
//! Object), or [`super::BoundGrants::from_env`] for the `GRANTS` binding.

#[cfg(feature = "workers-rs")]
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::js::{self, log_error};
#[cfg(feature = "workers-rs")]
use super::KvStore;
use super::{has_node_crypto, install_p256};
#[cfg(feature = "workers-rs")]
use super::{WorkerFetch, WorkerKeyChecker};
use crate::config::TokenFormat;
use crate::provider::MAX_BODY;
use crate::store::{GrantStore, NoGrants, Store};
#[cfg(feature = "workers-rs")]
use crate::Secrets;
use crate::{Config, Provider};

#[cfg(feature = "workers-rs")]
/// Answers `req` if it is one of the provider's routes, else `Ok(None)`
/// with the request untouched: the Workers counterpart of the original
/// `parallelOauthProvider(request, kv, secret, config)`. `secrets` is the
/// secret (`&str`) or, while rotating, [`Secrets::rotating`] with the
/// previous one too ([`secrets_from_env`] reads `SECRET` and
/// `SECRET_PREVIOUS`). Keys are derived once per isolate and per secrets.
///
/// Without a grant store: sealed tokens are refused (503, and the log says
/// why). [`parallel_oauth_provider_with`] takes one.
pub async fn parallel_oauth_provider<'a>(
    req: &mut worker::Request,
    kv: worker::kv::KvStore,
    secrets: impl Into<Secrets<'a>>,
    config: &Config,
) -> worker::Result<Option<worker::Response>> {
    parallel_oauth_provider_with(req, kv, &NoGrants::default(), secrets, config).await
}

#[cfg(feature = "workers-rs")]
/// [`parallel_oauth_provider`] with a grant store, which sealed tokens need
/// (refresh, revocation, introspection): on Workers the `Grants` Durable
/// Object, `&BoundGrants::from_env(&env)` for the `GRANTS` binding (or
/// [`super::DurableGrants::from_env`] for another name). The Worker must
/// then export the `Grants` class (this crate's `grants-object` feature)
/// and declare it in `wrangler.toml` (see the README, or `Grants` in these
/// docs with that feature on).
pub async fn parallel_oauth_provider_with<'a, G: GrantStore>(
    req: &mut worker::Request,
    kv: worker::kv::KvStore,
    grants: &G,
    secrets: impl Into<Secrets<'a>>,
    config: &Config,
) -> worker::Result<Option<worker::Response>> {
    let secrets = secrets.into();
    // One provider per isolate and (secrets, config): keys are derived once.
    type Cached = ([u8; 32], Config, Rc<Provider>);
    thread_local! {
        static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
    }
    let fingerprint = secrets.fingerprint();
    let cached = CACHE.with(|c| {
        c.borrow().as_ref().filter(|(f, cfg, _)| *f == fingerprint && cfg == config).map(|(_, _, p)| p.clone())
    });
    let provider = match cached {
        Some(p) => p,
        None => {
            let p = with_runtime_p256(config.clone())
                .and_then(|config| Provider::with_secrets(config, secrets))
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            let p = Rc::new(p.with_fetcher(Box::new(WorkerFetch)).with_key_checker(Box::new(WorkerKeyChecker)));
            CACHE.with(|c| *c.borrow_mut() = Some((fingerprint, config.clone(), p.clone())));
            p
        }
    };
    handle_with(&provider, req, &KvStore(kv), grants).await
}

#[cfg(feature = "workers-rs")]
/// Runs `provider` on a Workers request with any [`Store`] and no grant
/// store (see [`handle_with`]).
pub async fn handle<S: Store>(
    provider: &Provider,
    req: &mut worker::Request,
    store: &S,
) -> worker::Result<Option<worker::Response>> {
    handle_with(provider, req, store, &NoGrants::default()).await
}

#[cfg(feature = "workers-rs")]
/// Runs `provider` on a Workers request with any [`Store`] (codes: KV) and
/// any [`GrantStore`] (grants: [`super::DurableGrants`] on Workers):
/// `Ok(None)`, with the request untouched, when it is not a provider route.
pub async fn handle_with<S: Store, G: GrantStore>(
    provider: &Provider,
    req: &mut worker::Request,
    store: &S,
    grants: &G,
) -> worker::Result<Option<worker::Response>> {
    Ok(handle_raw_with(provider, req.inner(), store, grants).await?.map(worker::Response::from))
}

/// [`handle`] on the runtime's own request and response objects.
pub async fn handle_raw<S: Store>(
    provider: &Provider,
    req: &web_sys::Request,
    store: &S,
) -> Result<Option<web_sys::Response>, JsValue> {
    handle_raw_with(provider, req, store, &NoGrants::default()).await
}

/// [`handle_with`] on the runtime's own request and response objects, for
/// a Worker with its own `fetch` export: a `worker::Request` reads the
/// request's `cf` object when it is made, and nothing here needs it.
pub async fn handle_raw_with<S: Store, G: GrantStore>(
    provider: &Provider,
    req: &web_sys::Request,
    store: &S,
    grants: &G,
) -> Result<Option<web_sys::Response>, JsValue> {
    // A URL outside what the provider reads is not one of its routes.
    let Ok(url) = crate::Url::parse(&req.url()) else { return Ok(None) };
    if !provider.owns(&url) {
        return Ok(None);
    }
    install_p256();
    let request = read_request(req, url, MAX_BODY, HeaderSet::Only(crate::http::REQUEST_HEADERS)).await?;
    let (now, seed) = clock_and_seed()?;
    match provider.handle_with(&request, store, grants, now, seed).await {
        Some(response) => Ok(Some(to_raw(response)?)),
        None => Ok(None),
    }
}

/// The time (Unix seconds) and a fresh random seed for one request.
pub(crate) fn clock_and_seed() -> Result<(u64, [u8; 32]), JsValue> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| js::error(&e.to_string()))?;
    Ok(((js_sys::Date::now() / 1000.0) as u64, seed))
}

#[wasm_bindgen]
extern "C" {
    /// A promise, for `then` with plain functions.
    pub(crate) type Thenable;

    /// `promise.then(f, g)`.
    #[wasm_bindgen(method, js_name = then)]
    pub(crate) fn then_either(this: &Thenable, f: &JsValue, g: &JsValue) -> JsValue;
}

/// [`handle_raw`] for a Worker's own `fetch` export, without an async
/// runtime where none is needed: the `Response` itself when the provider
/// had nothing to wait for (the metadata documents, the consent page,
/// registration), else a `Promise` of it. A POST's body is read with the
/// body promise's own `then`. `None` when the provider does not own `url`;
/// `store` and `grants` are called only when it does (a missing KV binding
/// is then a 500; for grants, pass [`NoGrants`] naming what is missing).
///
/// Why: a request run as a future on wasm-bindgen's executor (a Promise, a
/// task, a microtask), as `#[event(fetch)]` runs every request, cost
/// workerd about 20 µs more CPU than the same work answered directly
/// (measured side by side on the no-op route, concurrency 1).
pub fn respond<S: Store + 'static, G: GrantStore + 'static>(
    provider: Rc<Provider>,
    req: &web_sys::Request,
    url: crate::Url,
    store: impl FnOnce() -> Result<S, JsValue>,
    grants: impl FnOnce() -> G,
) -> Option<JsValue> {
    if !provider.owns(&url) {
        return None;
    }
    let store = match store() {
        Ok(s) => s,
        Err(e) => return Some(settled(Err(e))),
    };
    let stores = (store, grants());
    let head = request_head(req, url, MAX_BODY, HeaderSet::Only(crate::http::REQUEST_HEADERS));
    Some(with_body(req, head, move |request| answer(provider, request, stores)))
}

/// Answers a Worker's request with `handler`, for a Worker with its own
/// `fetch` export (a resource server such as `examples/mcp-server`): the
/// `Response` itself when `handler`'s future is ready at once, else a
/// `Promise` of it, so a request that waits for nothing costs no async
/// runtime. Of the request's headers only those named in `headers` are
/// copied (lowercase; each is read from the runtime, and a client sends
/// many nobody reads); name `content-length` to have a body declared larger
/// than `max_body` left unread (the core's request then has a body of
/// `max_body + 1` bytes, so the handler answers 413). A URL the core
/// cannot read is a 400; a runtime error while answering, a logged 500.
pub fn serve<F, Fut>(req: &web_sys::Request, max_body: usize, headers: &'static [&'static str], handler: F) -> JsValue
where
    F: FnOnce(crate::Request) -> Fut + 'static,
    Fut: Future<Output = crate::Response> + 'static,
{
    let Ok(url) = crate::Url::parse(&req.url()) else {
        let refused = crate::protocol::error::json_error(400, "invalid_request", "the request URL could not be read");
        return settled(to_raw(refused));
    };
    let head = request_head(req, url, max_body, HeaderSet::Only(headers));
    with_body(req, head, move |request| sync_first(async move { to_raw(handler(request).await) }))
}

/// Calls `then` with the request once its body is read: at once when it
/// has none to read, else from the body promise's own `then` (no executor).
/// A body that could not be read is an empty one, as `read_request` has it.
fn with_body(
    req: &web_sys::Request,
    (mut request, read_body): (crate::Request, bool),
    then: impl FnOnce(crate::Request) -> JsValue + 'static,
) -> JsValue {
    if !read_body {
        return then(request);
    }
    let Ok(body) = req.array_buffer() else { return then(request) };
    // Called once, with the body or with the reason it could not be read.
    let on_body = Closure::once_into_js(move |value: JsValue| -> JsValue {
        if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
            request.body = js_sys::Uint8Array::new(buffer).to_vec();
        }
        then(request)
    });
    body.unchecked_ref::<Thenable>().then_either(&on_body, &on_body)
}

/// Runs the provider on a request whose body is read.
fn answer<S: Store + 'static, G: GrantStore + 'static>(
    provider: Rc<Provider>,
    request: crate::Request,
    (store, grants): (S, G),
) -> JsValue {
    sync_first(async move {
        let (now, seed) = clock_and_seed()?;
        match provider.handle_with(&request, &store, &grants, now, seed).await {
            Some(response) => to_raw(response),
            None => to_raw(not_found()),
        }
    })
}

/// The answer for a path nobody serves.
pub(crate) fn not_found() -> crate::Response {
    crate::protocol::error::json_error(404, "not_found", "no such endpoint")
}

/// Polls `future` once: its output when it is ready without waiting (no
/// executor, no Promise), else a Promise that wasm-bindgen's executor
/// settles. A later poll with the executor's waker is what any future
/// allows: a pending JS promise keeps the newest waker.
fn sync_first<F>(future: F) -> JsValue
where
    F: Future<Output = Result<web_sys::Response, JsValue>> + 'static,
{
    let mut future = Box::pin(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => settled(result),
        Poll::Pending => future_to_promise(async move { Ok(settled(future.await)) }).into(),
    }
}

/// The response, or a 500 for an error of the runtime (logged, never shown).
pub(crate) fn settled(result: Result<web_sys::Response, JsValue>) -> JsValue {
    result
        .or_else(|e| {
            log_error(&js::js_text(&e));
            to_raw(crate::protocol::error::json_error(500, "server_error", "internal error; see the server log"))
        })
        .map_or(JsValue::UNDEFINED, Into::into)
}

#[cfg(feature = "workers-rs")]
/// Reads a Workers request into the core's [`crate::Request`]. A body
/// declared larger than `max_body` is not read: an over-long placeholder
/// takes its place, so the handler answers 413.
pub async fn from_worker(req: &mut worker::Request, max_body: usize) -> worker::Result<crate::Request> {
    let url =
        crate::Url::parse(&req.inner().url()).map_err(|e| worker::Error::RustError(format!("request URL: {e}")))?;
    Ok(read_request(req.inner(), url, max_body, HeaderSet::All).await?)
}

async fn read_request(
    req: &web_sys::Request,
    url: crate::Url,
    max_body: usize,
    which: HeaderSet,
) -> Result<crate::Request, JsValue> {
    let (mut request, read) = request_head(req, url, max_body, which);
    if read {
        request.body = read_body(req).await.unwrap_or_default();
    }
    Ok(request)
}

/// The request without its body, and whether the body is still to be read.
/// A body declared larger than `max_body` is not read: an over-long
/// placeholder takes its place, so the handler answers 413.
fn request_head(req: &web_sys::Request, url: crate::Url, max_body: usize, which: HeaderSet) -> (crate::Request, bool) {
    let method = req.method();
    let headers = header_pairs(&req.headers(), which);
    let (body, read) = body_plan(&method, &headers, max_body);
    (crate::Request { method, url, headers, body }, read)
}

/// A request's body before it is read, and whether it is to be read: none
/// for GET, HEAD and OPTIONS; for a body declared larger than `max_body`,
/// an over-long placeholder instead (so the handler answers 413).
pub(crate) fn body_plan(method: &str, headers: &[(String, String)], max_body: usize) -> (Vec<u8>, bool) {
    let declared = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, l)| l.parse::<usize>().ok());
    match method {
        "GET" | "HEAD" | "OPTIONS" => (Vec::new(), false),
        _ if declared.is_some_and(|l| l > max_body) => (vec![0; max_body + 1], false),
        _ => (Vec::new(), true),
    }
}

async fn read_body(req: &web_sys::Request) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(req.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Which request headers to copy into the core's request.
#[derive(Clone, Copy)]
enum HeaderSet {
    /// Every one: a request for the embedder's own code ([`from_worker`]).
    #[cfg_attr(not(feature = "workers-rs"), allow(dead_code))]
    All,
    /// These (lowercase), one `get` each: each header read from the runtime
    /// is several crossings between JavaScript and WASM, and a browser sends
    /// a dozen the reader never looks at (the provider's are
    /// [`crate::http::REQUEST_HEADERS`]).
    Only(&'static [&'static str]),
}

/// The names and values of the headers `which` asks for, repeated ones
/// combined as the runtime combines them (`a, b`).
fn header_pairs(headers: &web_sys::Headers, which: HeaderSet) -> Vec<(String, String)> {
    if let HeaderSet::Only(names) = which {
        let read = |&name: &&str| Some((name.to_string(), headers.get(name).ok()??));
        return names.iter().filter_map(read).collect();
    }
    let mut pairs = Vec::new();
    let Ok(Some(entries)) = js_sys::try_iter(headers) else { return pairs };
    for entry in entries.flatten() {
        let entry = js_sys::Array::from(&entry);
        if let (Some(name), Some(value)) = (entry.get(0).as_string(), entry.get(1).as_string()) {
            pairs.push((name, value));
        }
    }
    pairs
}

#[cfg(feature = "workers-rs")]
/// Converts the core's [`crate::Response`] into a Workers response.
pub fn to_worker(response: crate::Response) -> worker::Result<worker::Response> {
    Ok(to_raw(response)?.into())
}

pub(crate) fn to_raw(mut response: crate::Response) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status);
    init.set_headers(headers.as_ref());
    let body = if response.body.is_empty() { None } else { Some(response.body.as_mut_slice()) };
    web_sys::Response::new_with_opt_u8_array_and_init(body, &init)
}

/// A secret of the Worker (`wrangler secret put`), or a var of that name
/// (`.dev.vars`); empty counts as unset.
pub(crate) fn secret(env: &JsValue, name: &str) -> Option<String> {
    js::string(env, name).filter(|v| !v.is_empty())
}

/// `SECRET` and `SECRET_PREVIOUS` from the environment, as the crate's own
/// Worker reads them: pass `Secrets::rotating(&current, previous.as_deref())`
/// to [`parallel_oauth_provider`].
pub fn secrets_from_env(env: &JsValue) -> (String, Option<String>) {
    (secret(env, "SECRET").unwrap_or_default(), secret(env, "SECRET_PREVIOUS"))
}

/// A var (or secret) of the Worker's `env`: `None` when unset, not a
/// string, or blank.
pub fn var(env: &JsValue, name: &str) -> Option<String> {
    js::string(env, name).filter(|v| !v.trim().is_empty())
}

/// `config`, once the runtime's ES256 is installed ([`install_p256`]):
/// JWT access tokens need it, so `TOKEN_FORMAT=jwt` on a Worker without
/// the `nodejs_compat` compatibility flag is a configuration error, said
/// at start rather than at the first token. Only then is `node:crypto`
/// loaded at start (about 10 ms of a cold start in workerd).
pub fn with_runtime_p256(config: Config) -> Result<Config, crate::ConfigError> {
    install_p256();
    if config.tokens.format == TokenFormat::Jwt && !has_node_crypto() {
        return Err(crate::ConfigError::InvalidVar {
            name: "TOKEN_FORMAT",
            reason: "jwe unless the Worker sets compatibility_flags = [\"nodejs_compat\"] (ES256 signs with the runtime's node:crypto)",
        });
    }
    Ok(config)
}

/// The configuration from `wrangler.toml` vars.
pub fn config_from_env(env: &JsValue) -> Result<Config, crate::ConfigError> {
    Config::from_vars(|name| var(env, name))
}
