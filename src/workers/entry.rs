//! The crate's own Worker: its `fetch` export, built on the adapter.
//! Behind the default `worker-entry` feature: a Worker that mounts the
//! provider as a library turns it off (`default-features = false`) and
//! keeps its own `fetch`.
//!
//! Not `#[event(fetch)]`: that macro runs every request as a future and
//! answers with a Promise. Here a request that has nothing to wait for is
//! answered with the Response itself (see [`respond`]).

use std::cell::RefCell;
use std::rc::Rc;

use super::js::log_error;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::workers::{
    config_from_env, not_found, respond, secrets_from_env, settled, to_raw, with_runtime_p256, BoundGrants,
    KvNamespace, WorkerFetch, WorkerKeyChecker,
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
fn now(response: crate::Response) -> JsValue {
    settled(to_raw(response))
}

/// The Worker's `fetch` handler: a `Response`, or a `Promise` of one when
/// the provider has to wait (for the body, KV or a client's metadata).
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: JsValue, ctx: JsValue) -> JsValue {
    let url = req.url();
    let path = crate::http::url_path(&url);
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
    let Ok(parsed) = crate::Url::parse(&url) else {
        // A URL outside what the provider reads (see protocol::url): the
        // request is refused, not an internal error.
        return now(crate::protocol::error::json_error(400, "invalid_request", "the request URL could not be read"));
    };
    let kv = || KvNamespace::from_env(&env, "KV");
    // The GRANTS Durable Object, or NoGrants naming the missing binding;
    // best-effort records finish after the response (ctx.waitUntil).
    let grants = || BoundGrants::from_env(&env).with_wait_until(&ctx);
    if let Some(answer) = respond(provider.clone(), &req, parsed, kv, grants) {
        return answer;
    }
    if path == "/" {
        return now(crate::Response::empty(302).with_header("location", "/demo/"));
    }
    // Not the provider's: the URL is read again here, off the hot path.
    let accept = req.headers().get("accept").ok().flatten();
    match crate::Url::parse(&url) {
        Ok(parsed) => now(provider.unrouted(&req.method(), &parsed, accept.as_deref())),
        Err(_) => now(not_found()),
    }
}
