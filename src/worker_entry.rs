//! The crate's own Worker (`#[event(fetch)]`), built on the adapter. Behind
//! the default `worker-entry` feature: a Worker that mounts the provider as
//! a library turns it off (`default-features = false`) and keeps its own
//! `fetch`.

use std::cell::RefCell;
use std::rc::Rc;

use worker::worker_sys::web_sys;
use worker::{console_error, event, Context, Env};

use crate::worker_adapter::{config_from_env, handle_raw, to_raw, var, KvStore, WorkerFetch};
use crate::Provider;

fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|v| v.to_string()).or_else(|| var(env, name)).filter(|v| !v.is_empty())
}

thread_local! {
    static PROVIDER: RefCell<Option<Rc<Provider>>> = const { RefCell::new(None) };
}

/// The provider of this isolate, built once from the environment.
fn provider(env: &Env) -> Result<Rc<Provider>, crate::ConfigError> {
    if let Some(p) = PROVIDER.with(|p| p.borrow().clone()) {
        return Ok(p);
    }
    let current = secret(env, "SECRET").unwrap_or_default();
    let previous = secret(env, "SECRET_PREVIOUS");
    let p = Rc::new(
        Provider::new(config_from_env(env), &current, previous.as_deref())?
            .with_logger(|m| console_error!("{}", m))
            .with_fetcher(Box::new(WorkerFetch)),
    );
    PROVIDER.with(|slot| *slot.borrow_mut() = Some(p.clone()));
    Ok(p)
}

fn json(status: u16, body: &str) -> worker::Result<web_sys::Response> {
    let response = crate::Response::empty(status)
        .with_header("content-type", "application/json")
        .with_header("cache-control", "no-store")
        .with_body(body);
    to_raw(response)
}

/// Takes and returns the runtime's own objects: see [`handle_raw`].
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    let url = req.url();
    let path = crate::http::url_path(&url);
    // The benchmark's floor: what the runtime costs with no provider work.
    if path == "/__noop" {
        return to_raw(crate::Response::empty(200).with_body("ok"));
    }
    let provider = match provider(&env) {
        Ok(p) => p,
        Err(e) => {
            console_error!("parallel-oauth-provider is not configured: {}", e);
            return json(
                503,
                r#"{"error":"server_error","error_description":"the provider is not configured (SECRET is missing or too short); see the server log"}"#,
            );
        }
    };
    if let Some(response) = handle_raw(&provider, &req, &KvStore(env.kv("KV")?)).await? {
        return Ok(response);
    }
    if path == "/" {
        return to_raw(crate::Response::empty(302).with_header("location", "/demo/"));
    }
    json(404, r#"{"error":"not_found","error_description":"no such endpoint"}"#)
}
