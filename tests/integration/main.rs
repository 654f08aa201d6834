//! The one integration test binary: every endpoint driven through the
//! library entry point with the in-memory store and a fixed clock.
//! `harness` (this file) holds the test client; each module is one area.

mod cimd;
mod clients;
mod device;
mod endpoints;
mod grants_page;
mod key_check;
mod sealed;
mod security;

use std::cell::Cell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parallel_oauth_provider::store::MemoryGrantStore;
use parallel_oauth_provider::{block_on, Config, MemoryStore, Provider, Request, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const ORIGIN: &str = "https://oauth.example";
pub const SECRET: &str = "test-secret-that-is-long-enough-0123456789";
/// KEY as a literal, so the consent answers below can embed it.
macro_rules! test_key {
    () => {
        "sk-test-0123456789abcdef"
    };
}
pub const KEY: &str = test_key!();
/// The consent form's answer with KEY typed in.
pub const APPROVE: &str = concat!("api_key=", test_key!(), "&action=approve");
/// The same, asking to remember the key in this browser.
pub const APPROVE_AND_REMEMBER: &str = concat!("api_key=", test_key!(), "&remember=1&action=approve");
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const REMEMBER_COOKIE: &str = "__Host-parallel-oauth-key";
pub const CSRF_COOKIE: &str = "__Host-parallel-oauth-csrf";
/// A well-formed CSRF cookie that no page ever set.
pub const FORGED_CSRF_COOKIE: &str = "__Host-parallel-oauth-csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
pub const T0: u64 = 1_800_000_000;

pub struct Server {
    pub provider: Provider,
    pub store: MemoryStore,
    pub grants: MemoryGrantStore,
    pub now: Cell<u64>,
    seed: Cell<u8>,
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl Server {
    pub fn new() -> Self {
        Self::with(Config::default(), SECRET, None)
    }

    pub fn with(config: Config, secret: &str, previous: Option<&str>) -> Self {
        Self::with_provider(Provider::new(config, secret, previous).unwrap())
    }

    /// A server around a provider the test built (with a fetcher, a key
    /// checker, a logger…).
    pub fn with_provider(provider: Provider) -> Self {
        Server {
            provider,
            store: MemoryStore::new(),
            grants: MemoryGrantStore::new(),
            now: Cell::new(T0),
            seed: Cell::new(0),
        }
    }

    pub fn send(&self, request: Request) -> Response {
        self.seed.set(self.seed.get().wrapping_add(1));
        block_on(self.provider.handle_with(&request, &self.store, &self.grants, self.now.get(), [self.seed.get(); 32]))
            .expect("a provider route")
    }

    pub fn get(&self, path: &str) -> Response {
        self.send(Request::new("GET", url(path)))
    }

    pub fn post(&self, path: &str, content_type: &str, body: &str, headers: &[(&str, &str)]) -> Response {
        let mut r = Request::new("POST", url(path)).with_header("content-type", content_type).with_body(body);
        for (n, v) in headers {
            r = r.with_header(n, v);
        }
        self.send(r)
    }

    pub fn token(&self, body: &str) -> Response {
        self.post("/token", FORM, body, &[])
    }

    /// POST /token for the default client (`yourapp.com`, REDIRECT).
    pub fn redeem(&self, code: &str, verifier: &str) -> Response {
        self.token(&token_body(code, "yourapp.com", REDIRECT, verifier))
    }

    /// GET /authorize without cookies.
    pub fn authorize(&self, query: &str) -> Response {
        self.send(authorize_request(query))
    }

    /// GET /authorize with a browser's cookies; returns the page and the
    /// cookies the browser has afterwards.
    pub fn consent_page(&self, query: &str, jar: &mut Jar) -> Response {
        let r = self.send(authorize_request(query).with_header("cookie", &jar.header()));
        jar.update(&r);
        r
    }

    /// A new browser opens the consent page: the page and its cookies.
    pub fn open_consent(&self, query: &str) -> (Response, Jar) {
        let mut jar = Jar::default();
        let page = self.consent_page(query, &mut jar);
        (page, jar)
    }

    /// POST /authorize with a form body and exactly the headers given.
    pub fn consent_post(&self, body: &str, headers: &[(&str, &str)]) -> Response {
        self.post("/authorize", FORM, body, headers)
    }

    /// POSTs the consent form with extra fields, as the browser would.
    pub fn answer(&self, page: &Response, fields: &str, jar: &mut Jar) -> Response {
        let body = format!("{}&{fields}", form_fields(page));
        let r = self
            .consent_post(&body, &[("cookie", &jar.header()), ("origin", "null"), ("sec-fetch-site", "same-origin")]);
        jar.update(&r);
        r
    }
}

pub fn url(path: &str) -> parallel_oauth_provider::Url {
    format!("{ORIGIN}{path}").parse().unwrap()
}

pub fn authorize_request(query: &str) -> Request {
    Request::new("GET", url(&format!("/authorize?{query}")))
}

pub fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("not JSON: {}", r.text()))
}

#[derive(Default, Clone)]
pub struct Jar(pub Vec<(String, String)>);

impl Jar {
    pub fn update(&mut self, r: &Response) {
        for c in r.headers_named("set-cookie") {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != name);
            if !c.contains("Max-Age=0") {
                self.0.push((name.to_string(), value.to_string()));
            }
        }
    }
    pub fn header(&self) -> String {
        self.0.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

/// The value of a hidden input in a page.
pub fn hidden(page: &Response, name: &str) -> String {
    let html = page.text();
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in page")) + marker.len();
    let value = &html[start..start + html[start..].find('"').unwrap()];
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The consent form fields of a page, form-encoded.
pub fn form_fields(page: &Response) -> String {
    format!("request={}&csrf={}", hidden(page, "request"), hidden(page, "csrf"))
}

pub fn pkce(seed: &str) -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub const REDIRECT: &str = "https://yourapp.com/callback";

pub fn auth_query(client_id: &str, redirect: &str, challenge: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&state=st-1&scope=api{extra}",
        enc(client_id),
        enc(redirect)
    )
}

/// Location parameters of a redirect.
pub fn location(r: &Response) -> (String, Vec<(String, String)>) {
    let loc = r.header("location").unwrap_or_else(|| panic!("no location: {} {}", r.status, r.text()));
    let u = url::Url::parse(loc).unwrap();
    let mut base = u.clone();
    base.set_query(None);
    (base.to_string(), u.query_pairs().into_owned().collect())
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The code in a redirect's Location.
pub fn code_of(r: &Response) -> String {
    let (_, params) = location(r);
    param(&params, "code").expect("code").to_string()
}

/// An error redirect (302) to `redirect` with `error`, the client's `state`
/// and `iss`, and no code.
pub fn assert_error_redirect(r: &Response, redirect: &str, error: &str, state: Option<&str>, what: &str) {
    assert_eq!(r.status, 302, "{what}: {}", r.text());
    let (target, params) = location(r);
    assert_eq!(target, redirect, "{what}");
    assert_eq!(param(&params, "error"), Some(error), "{what}");
    assert_eq!(param(&params, "state"), state, "{what}");
    assert_eq!(param(&params, "iss"), Some(ORIGIN), "{what}");
    assert!(param(&params, "code").is_none(), "{what}");
}

/// A JSON response with this status and OAuth `error` code.
pub fn assert_error(r: &Response, status: u16, error: &str, what: &str) {
    assert_eq!((r.status, json(r)["error"].as_str()), (status, Some(error)), "{what}: {}", r.text());
}

/// Runs consent with a typed key; returns the code.
pub fn approve(s: &Server, query: &str, jar: &mut Jar, fields: &str) -> String {
    let page = s.consent_page(query, jar);
    assert_eq!(page.status, 200, "{}", page.text());
    let r = s.answer(&page, fields, jar);
    assert_eq!(r.status, 303, "{}", r.text());
    code_of(&r)
}

/// A new browser approves `query` with the key typed in; returns the code.
pub fn code_for(s: &Server, query: &str) -> String {
    approve(s, query, &mut Jar::default(), APPROVE)
}

/// The default client's authorization request and its PKCE verifier.
pub fn default_query(seed: &str) -> (String, String) {
    let (verifier, challenge) = pkce(seed);
    (auth_query("yourapp.com", REDIRECT, &challenge, ""), verifier)
}

pub fn token_body(code: &str, client_id: &str, redirect: &str, verifier: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&client_id={}&redirect_uri={}&code_verifier={verifier}",
        enc(client_id),
        enc(redirect)
    )
}

/// The default client through consent: its code and verifier.
pub fn full_flow(s: &Server) -> (String, String) {
    let (query, verifier) = default_query("flow");
    (code_for(s, &query), verifier)
}
