//! The crate's own Worker: its `fetch` export, built on the adapter.
//! Behind the default `worker-entry` feature: a Worker that mounts the
//! provider as a library turns it off (`default-features = false`) and
//! keeps its own `fetch`.
//!
//! Not `#[event(fetch)]`: that macro runs every request as a future on
//! wasm-bindgen's executor, reads the request through the runtime's objects
//! and answers with a Promise. Here the entry hands in the request's head as
//! one string and runs the storage operations itself ([`machine`]); a
//! request that has nothing to wait for is answered at once.

use std::cell::RefCell;
use std::rc::Rc;

use super::js::log_error;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::grants::MISSING;
use super::machine;
use crate::provider::MAX_BODY;
use crate::store::NoGrants;
use crate::workers::{
    body_plan, clock_and_seed, config_from_env, not_found, secrets_from_env, with_runtime_p256, WorkerFetch,
    WorkerKeyChecker,
};
use crate::Provider;

thread_local! {
    static PROVIDER: RefCell<Option<Rc<Provider>>> = const { RefCell::new(None) };
}

/// The provider of this isolate, built once from the environment.
fn provider(env: &JsValue) -> Result<Rc<Provider>, crate::ConfigError> {
    if let Some(p) = PROVIDER.with(|p| p.borrow().clone()) {
        return Ok(p);
    }
    let (current, previous) = secrets_from_env(env);
    let p = Rc::new(
        Provider::new(with_runtime_p256(config_from_env(env)?)?, &current, previous.as_deref())?
            .with_logger(log_error)
            .with_fetcher(Box::new(WorkerFetch))
            .with_key_checker(Box::new(WorkerKeyChecker)),
    );
    PROVIDER.with(|slot| *slot.borrow_mut() = Some(p.clone()));
    Ok(p)
}

/// A response that needs no provider: answered now.
fn now(response: crate::Response) -> String {
    machine::response_text(0, response)
}

/// The Worker's `fetch` handler, called by the entry (`src/workers/shim.mjs`)
/// with the request's head, `method url bindings name value …` separated by
/// NUL (`bindings`: `k` when `KV` is bound, `g` when `GRANTS` is; the headers
/// those [`Requests::headers`](super::machine::Requests::headers) names): the
/// response, or the request's task's first operation (see [`machine`]).
#[wasm_bindgen]
pub fn fetch(head: &str, env: JsValue) -> String {
    let mut fields = head.split('\0');
    let method = fields.next().unwrap_or_default();
    let url = fields.next().unwrap_or_default();
    let bindings = fields.next().unwrap_or_default();
    let mut headers = Vec::new();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        headers.push((name.to_string(), value.to_string()));
    }
    let path = crate::http::url_path(url);
    // The benchmark's floor: what the runtime costs with no provider work.
    if path == "/__noop" {
        return now(crate::Response::empty(200).with_body("ok"));
    }
    let provider = match provider(&env) {
        Ok(p) => p,
        Err(e) => {
            log_error(&format!("parallel-oauth-provider is not configured: {}", e));
            let why =
                "the provider is not configured (a missing or short SECRET, or an invalid var); see the server log";
            return now(crate::protocol::error::json_error(503, "server_error", why));
        }
    };
    let Ok(parsed) = crate::Url::parse(url) else {
        // A URL outside what the provider reads (see protocol::url): the
        // request is refused, not an internal error.
        return now(crate::protocol::error::json_error(400, "invalid_request", "the request URL could not be read"));
    };
    if provider.owns(&parsed) {
        if !bindings.contains('k') {
            log_error("Error: no KV namespace is bound as KV");
            return now(crate::protocol::error::json_error(500, "server_error", "internal error; see the server log"));
        }
        // The GRANTS Durable Object, or NoGrants naming the missing binding.
        let missing = (!bindings.contains('g')).then_some(NoGrants(MISSING));
        let (io, kv, grants) = machine::stores(missing);
        // A body declared larger than the limit is not read: the provider answers 413.
        let (body, read) = body_plan(method, &headers, MAX_BODY);
        let mut request = crate::Request { method: method.to_string(), url: parsed, headers, body };
        return machine::start(io.clone(), async move {
            if read {
                request.body = machine::read_body(&io).await;
            }
            let (now, seed) = match clock_and_seed() {
                Ok(clock) => clock,
                Err(e) => {
                    log_error(&super::js::js_text(&e));
                    return crate::protocol::error::json_error(
                        500,
                        "server_error",
                        "internal error; see the server log",
                    );
                }
            };
            provider.handle_with(&request, &kv, &grants, now, seed).await.unwrap_or_else(not_found)
        });
    }
    if path == "/" {
        return now(crate::Response::empty(302).with_header("location", "/demo/"));
    }
    let accept = headers.iter().find(|(n, _)| n == "accept").map(|(_, v)| v.as_str());
    now(provider.unrouted(method, &parsed, accept))
}
