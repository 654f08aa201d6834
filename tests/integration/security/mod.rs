//! The security suite, in process: every attack of `tests/e2e/security.test.mjs`
//! that is cheaper to drive through `Provider::handle` with the in-memory
//! store, plus what only a native test can do (store failures of one kind,
//! interleaved concurrent requests, property tests over the whole handler).
//!
//! Each case asserts the exact secure outcome: an error page that does not
//! redirect, an error redirect with `error`, `state` and `iss`, or a JSON
//! 400/401 with the RFC error code. See SECURITY.md for the threat model.
//!
//! One module per attack class. Tests that pin a bug are named after it; those still open in `src/` are
//! marked `BUG` in their doc comment, fixed ones `Regression`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use parallel_oauth_provider::protocol::redirect::RedirectUri;
use parallel_oauth_provider::{block_on, Config, MemoryStore, Provider, Request, Response, Secrets, Store, StoreError};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

pub(crate) const OLD_SECRET: &str = "old-secret-that-is-long-enough-0123456789";
pub(crate) const OLDER_SECRET: &str = "older-secret-that-is-long-enough-987654321";

mod availability;
mod cimd;
mod codes;
mod consent;
mod endpoints;
mod fuzz_handler;
mod fuzz_parsers;
mod injection;
mod pkce;
mod redirect_uris;
mod secrets;

// ================================================================ helpers

/// An error page: HTML, the given status, never a redirect, cannot be framed.
pub(crate) fn assert_page(r: &Response, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert!(r.header("location").is_none(), "{what}: an error page must not redirect");
    assert!(r.header("content-type").unwrap_or("").starts_with("text/html"), "{what}: not HTML");
    assert_unframeable(r, what);
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
}

pub(crate) fn assert_unframeable(r: &Response, what: &str) {
    let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

/// A JSON error with an RFC code, not cacheable, no cookie, no redirect.
pub(crate) fn assert_json_error(r: &Response, status: u16, error: &str, what: &str) {
    let body = serde_json::from_slice::<serde_json::Value>(&r.body)
        .unwrap_or_else(|_| panic!("{what}: not JSON: {}", r.text()));
    assert_eq!((r.status, body["error"].as_str().unwrap_or("")), (status, error), "{what}: {}", r.text());
    assert!(body["error_description"].is_string(), "{what}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    assert!(r.header("set-cookie").is_none(), "{what}: a JSON error sets no cookie");
    assert!(r.header("location").is_none(), "{what}");
}

pub(crate) fn register_json(s: &Server, body: &serde_json::Value) -> Response {
    s.post("/register", "application/json", &body.to_string(), &[])
}

/// The client_id of a registration response.
pub(crate) fn client_id_of(r: &Response) -> String {
    json(r)["client_id"].as_str().unwrap().to_string()
}

/// Registers a named client (so it gets a signed, exact client_id).
pub(crate) fn signed_client(s: &Server, uris: &[&str], name: &str) -> String {
    let r = register_json(s, &serde_json::json!({ "redirect_uris": uris, "client_name": name }));
    assert_eq!(r.status, 201, "{}", r.text());
    client_id_of(&r)
}

/// `value` with its byte `i` changed (to `B` if it was `A`, else to `A`).
pub(crate) fn flip(value: &str, i: usize) -> String {
    let mut bytes = value.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// A consent post refused with a 403 page (and so no code).
pub(crate) fn assert_refused(s: &Server, body: &str, headers: &[(&str, &str)], what: &str) {
    assert_page(&s.consent_post(body, headers), 403, what);
}

/// A remember cookie for KEY, sealed by `s`.
pub(crate) fn remember_jar(s: &Server, query: &str) -> Jar {
    let mut jar = Jar::default();
    approve(s, query, &mut jar, APPROVE_AND_REMEMBER);
    assert!(jar.has(REMEMBER_COOKIE));
    jar
}

pub(crate) fn remember_cookie(jar: &Jar) -> String {
    jar.0.iter().find(|(n, _)| n == REMEMBER_COOKIE).map(|(_, v)| v.clone()).unwrap()
}

pub(crate) fn with_remember(value: &str) -> Jar {
    Jar(vec![(REMEMBER_COOKIE.into(), value.into())])
}

pub(crate) fn send_with<S: Store>(provider: &Provider, store: &S, request: Request, now: u64, seed: u8) -> Response {
    block_on(provider.handle(&request, store, now, [seed; 32])).expect("a provider route")
}

/// A form POST, as a browser or client sends it.
pub(crate) fn form_request(path: &str, body: impl Into<Vec<u8>>) -> Request {
    Request::new("POST", url(path)).with_header("content-type", FORM).with_body(body)
}

/// The consent form of `page` posted with `fields` and this Cookie header.
pub(crate) fn consent_form(page: &Response, fields: &str, cookie: &str) -> Request {
    form_request("/authorize", format!("{}&{fields}", form_fields(page))).with_header("cookie", cookie)
}

/// A POST with this content type, or none.
pub(crate) fn typed_post(path: &str, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Request {
    let request = Request::new("POST", url(path)).with_body(body);
    match content_type {
        Some(ct) => request.with_header("content-type", ct),
        None => request,
    }
}

/// A store that fails only the operations it is told to.
#[derive(Default)]
pub(crate) struct FlakyStore {
    inner: MemoryStore,
    fail_get: Cell<bool>,
    fail_put: Cell<bool>,
    fail_delete: Cell<bool>,
}

impl Store for FlakyStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        if self.fail_get.get() {
            return Err(StoreError("get failed".into()));
        }
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl: u64) -> Result<(), StoreError> {
        if self.fail_put.get() {
            return Err(StoreError("put failed".into()));
        }
        self.inner.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if self.fail_delete.get() {
            return Err(StoreError("delete failed".into()));
        }
        self.inner.delete(key).await
    }
}

/// Returns `Pending` once: lets other requests run, as a real KV round trip does.
pub(crate) struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A store whose every operation takes a round trip.
#[derive(Default)]
pub(crate) struct SlowStore(MemoryStore);

impl Store for SlowStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        YieldOnce(false).await;
        self.0.get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl: u64) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.0.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.0.delete(key).await
    }
}

/// Polls every future in turn until all are done: concurrent requests in one
/// isolate, interleaved at each store round trip.
pub(crate) fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        let mut pending = false;
        for (i, f) in futures.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(&mut cx) {
                    Poll::Ready(v) => out[i] = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if !pending {
            return out.into_iter().map(Option::unwrap).collect();
        }
    }
}

/// Every byte string a Location header must never hold raw.
pub(crate) fn assert_clean_location(r: &Response, what: &str) {
    if let Some(loc) = r.header("location") {
        assert!(!loc.bytes().any(|b| b < 0x20 || b == 0x7f), "{what}: control character in Location {loc:?}");
        assert!(loc.is_ascii(), "{what}: non-ASCII Location {loc:?}");
    }
}
