//! The crate's own Worker (`#[event(fetch)]`), built on the adapter. Behind
//! the default `worker-entry` feature: a Worker that mounts the provider as
//! a library turns it off (`default-features = false`) and keeps its own
//! `fetch`.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{console_error, event, Context, Env, Headers};

use crate::worker_adapter::{config_from_env, handle, var, KvStore, WorkerFetch};
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

fn json(status: u16, body: &str) -> worker::Result<worker::Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    Ok(worker::Response::from_bytes(body.as_bytes().to_vec())?.with_status(status).with_headers(headers))
}

#[event(fetch)]
async fn fetch(mut req: worker::Request, env: Env, _ctx: Context) -> worker::Result<worker::Response> {
    let path = req.path();
    // The benchmark's floor: what the runtime costs with no provider work.
    if path == "/__noop" {
        return worker::Response::ok("ok");
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
    if let Some(response) = handle(&provider, &mut req, &KvStore(env.kv("KV")?)).await? {
        return Ok(response);
    }
    if path == "/" {
        let headers = Headers::new();
        headers.set("location", "/demo/")?;
        return Ok(worker::Response::empty()?.with_status(302).with_headers(headers));
    }
    json(404, r#"{"error":"not_found","error_description":"no such endpoint"}"#)
}
