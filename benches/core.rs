//! Native micro-benchmarks of the core (no runtime, in-memory store):
//! what one call of each hot path costs, in microseconds.
//!
//!     cargo bench --bench core                 # ~1 s per benchmark
//!     BENCH_NATIVE_MS=200 cargo bench --bench core
//!
//! A plain harness (`std::time::Instant` + `black_box`), no criterion: each
//! benchmark prepares a batch of inputs outside the timed region (consent
//! forms and codes are single use), times the batch, and repeats until its
//! time budget is spent. It prints the median and the best per-call time of
//! the batches and writes them to `target/bench/native.json`.
//!
//! It also checks the store traffic per flow (one write at consent, one read
//! and one delete at /token) and fails if that changes.
//!
//! Built with the release profile (opt-level "z", LTO), like the Worker.

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parallel_oauth_provider::config::{TokenFormat, TokenMode, TokenPolicy};
use parallel_oauth_provider::crypto::entropy::Entropy;
use parallel_oauth_provider::crypto::seal::{Keys, Purpose};
use parallel_oauth_provider::crypto::secret::Secret;
use parallel_oauth_provider::grants::access_token::{open, ResourceKey};
use parallel_oauth_provider::resource_server::parse_jwks;
use parallel_oauth_provider::store::MemoryGrantStore;
use parallel_oauth_provider::{block_on, Config, MemoryStore, Provider, Request, Response};
use sha2::{Digest, Sha256};

const ORIGIN: &str = "https://oauth.example";
const SECRET: &str = "bench-secret-that-is-long-enough-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const KEY: &str = "sk-bench-0123456789abcdef";
const RESOURCE: &str = "https://mcp.example/mcp";
const NOW: u64 = 1_800_000_000;
const BATCH: usize = 256;
/// Calls per benchmark at most: each stateful benchmark uses its own
/// provider and stays well below the 50,000 single-use claims an instance
/// keeps (beyond that, every claim scans the whole map).
const MAX_CALLS: usize = 16 * 1024;

struct Server {
    provider: Provider,
    store: MemoryStore,
    grants: MemoryGrantStore,
    seed: std::cell::Cell<u64>,
    client_id: String,
}

impl Server {
    fn new() -> Server {
        Server::with(Config::default())
    }

    /// Sealed mode (`format`), every grant bound to RESOURCE.
    fn sealed(format: TokenFormat) -> Server {
        let tokens = TokenPolicy {
            mode: TokenMode::Sealed,
            format,
            default_resource: Some(RESOURCE.into()),
            ..TokenPolicy::default()
        };
        Server::with(Config { tokens, ..Config::default() })
    }

    fn with(config: Config) -> Server {
        let mut s = Server {
            provider: Provider::new(config, SECRET, None).expect("valid secret"),
            store: MemoryStore::new(),
            grants: MemoryGrantStore::new(),
            seed: std::cell::Cell::new(0),
            client_id: String::new(),
        };
        let r = s.send(register_request());
        assert_eq!(r.status, 201, "register: {}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        s.client_id = v["client_id"].as_str().expect("client_id").to_string();
        s
    }

    fn seed(&self) -> [u8; 32] {
        let n = self.seed.get() + 1;
        self.seed.set(n);
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&n.to_le_bytes());
        seed
    }

    fn send(&self, request: Request) -> Response {
        block_on(self.provider.handle_with(&request, &self.store, &self.grants, NOW, self.seed()))
            .expect("a provider route")
    }

    fn authorize_request(&self, challenge: &str, state: &str) -> Request {
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&state={state}",
            enc(&self.client_id),
            enc(REDIRECT)
        );
        Request::new("GET", url(&format!("/authorize?{query}")))
    }

    /// A consent POST ready to send (page fetched, CSRF cookie set).
    fn consent_request(&self, challenge: &str) -> Request {
        let page = self.send(self.authorize_request(challenge, "st"));
        assert_eq!(page.status, 200, "consent page: {}", page.text());
        let csrf_cookie = page
            .headers_named("set-cookie")
            .find(|c| c.starts_with("__Host-parallel-oauth-csrf="))
            .and_then(|c| c.split(';').next())
            .expect("CSRF cookie")
            .to_string();
        let body = format!(
            "request={}&csrf={}&api_key={KEY}&action=approve",
            enc(&hidden(&page, "request")),
            enc(&hidden(&page, "csrf"))
        );
        Request::new("POST", url("/authorize"))
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("cookie", &csrf_cookie)
            .with_header("origin", ORIGIN)
            .with_body(body)
    }

    /// A token request for a fresh code.
    fn token_request(&self, n: usize) -> Request {
        let (verifier, challenge) = pkce(n);
        let r = self.send(self.consent_request(&challenge));
        assert_eq!(r.status, 303, "consent: {}", r.text());
        let code = code_of(&r);
        let body = format!(
            "grant_type=authorization_code&code={code}&client_id={}&redirect_uri={}&code_verifier={verifier}",
            enc(&self.client_id),
            enc(REDIRECT)
        );
        Request::new("POST", url("/token"))
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(body)
    }
}

impl Server {
    /// A refresh request for a fresh grant (its first refresh token).
    fn refresh_request(&self, n: usize) -> Request {
        let r = expect(self.send(self.token_request(n)), 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        let body = format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}",
            enc(v["refresh_token"].as_str().expect("refresh_token")),
            enc(&self.client_id)
        );
        Request::new("POST", url("/token"))
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(body)
    }

    /// An access token from a fresh grant.
    fn access_token(&self, n: usize) -> String {
        let r = expect(self.send(self.token_request(n)), 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        v["access_token"].as_str().expect("access_token").to_string()
    }
}

fn register_request() -> Request {
    Request::new("POST", url("/register"))
        .with_header("content-type", "application/json")
        .with_body(format!(r#"{{"redirect_uris":["{REDIRECT}"],"client_name":"bench"}}"#))
}

fn url(path: &str) -> parallel_oauth_provider::Url {
    format!("{ORIGIN}{path}").parse().expect("URL")
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn pkce(n: usize) -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(format!("verifier {n}")));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn hidden(page: &Response, name: &str) -> String {
    let html = page.text();
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in page")) + marker.len();
    let raw = &html[start..start + html[start..].find('"').expect("closing quote")];
    raw.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn code_of(r: &Response) -> String {
    let location = url::Url::parse(r.header("location").expect("location")).expect("URL");
    let code = location.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
    code.expect("code in the redirect")
}

struct Result {
    name: &'static str,
    calls: usize,
    median_us: f64,
    best_us: f64,
}

/// Times `run` over batches of inputs from `prepare` until `budget` is spent.
fn bench<I, O>(
    name: &'static str,
    budget: Duration,
    mut prepare: impl FnMut(usize) -> I,
    mut run: impl FnMut(I) -> O,
) -> Result {
    let mut per_call = Vec::new();
    let mut calls = 0;
    let mut spent = Duration::ZERO;
    let mut n = 0;
    // At least 5 batches, however slow; at most MAX_CALLS (single-use
    // claims accumulate in the provider, see `claims_at_capacity`).
    while (spent < budget || per_call.len() < 5) && calls < MAX_CALLS {
        let inputs: Vec<I> = (0..BATCH)
            .map(|_| {
                n += 1;
                prepare(n)
            })
            .collect();
        let start = Instant::now();
        for input in inputs {
            black_box(run(black_box(input)));
        }
        let elapsed = start.elapsed();
        spent += elapsed;
        calls += BATCH;
        per_call.push(elapsed.as_secs_f64() * 1e6 / BATCH as f64);
    }
    per_call.sort_by(f64::total_cmp);
    let r = Result { name, calls, median_us: per_call[per_call.len() / 2], best_us: per_call[0] };
    println!("{:<40} {:>10.2} µs/call (best {:>8.2}, {} calls)", r.name, r.median_us, r.best_us, r.calls);
    r
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects benchmarks by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let ms: u64 = std::env::var("BENCH_NATIVE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let budget = Duration::from_millis(ms);
    let selected = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));

    println!("parallel-oauth-provider core, native ({} build), {} ms per benchmark", profile(), ms);
    let mut results = Vec::new();
    let s = Server::new();

    // Store traffic per flow: one write (consent), one read + one delete (/token).
    let flows = 100;
    let before = s.store.op_counts();
    for n in 0..flows {
        let r = s.send(s.token_request(1_000_000 + n));
        assert_eq!(r.status, 200, "token: {}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        assert_eq!(v["access_token"], KEY);
    }
    let after = s.store.op_counts();
    let (puts, gets, deletes) = (after.puts - before.puts, after.gets - before.gets, after.deletes - before.deletes);
    println!("store operations per flow: {} put, {} get, {} delete", puts / flows, gets / flows, deletes / flows);
    assert_eq!((puts, gets, deletes), (flows, flows, flows), "store traffic per flow changed");
    assert!(s.store.is_empty(), "every code is deleted at /token");

    if selected("url") {
        let text = format!("{ORIGIN}:8787/authorize?response_type=code&client_id=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s");
        results.push(bench(
            "Url::parse (a request URL)",
            budget,
            |_| text.as_str(),
            |t| t.parse::<parallel_oauth_provider::Url>(),
        ));
    }
    if selected("metadata") {
        let req = Request::new("GET", url("/.well-known/oauth-authorization-server"));
        results.push(bench("GET metadata", budget, |_| req.clone(), |r| s.send(r)));
    }
    if selected("register") {
        results.push(bench("POST /register", budget, |_| register_request(), |r| s.send(r)));
    }
    if selected("consent page") {
        let (_, challenge) = pkce(0);
        results.push(bench(
            "GET /authorize (consent page)",
            budget,
            |_| s.authorize_request(&challenge, "st"),
            |r| s.send(r),
        ));
    }
    if selected("consent post") {
        let s = Server::new();
        let (_, challenge) = pkce(0);
        results.push(bench(
            "POST /authorize (consent approve)",
            budget,
            |_| s.consent_request(&challenge),
            |r| expect(s.send(r), 303),
        ));
    }
    if selected("token") {
        let s = Server::new();
        results.push(bench("POST /token", budget, |n| s.token_request(n), |r| expect(s.send(r), 200)));
    }
    if selected("flow") {
        let s = Server::new();
        results.push(bench(
            "whole flow (5 requests)",
            budget,
            |n| n,
            |n| {
                s.send(Request::new("GET", url("/.well-known/oauth-authorization-server")));
                s.send(register_request());
                expect(s.send(s.token_request(n)), 200)
            },
        ));
    }
    if selected("sealed") {
        for (name, format) in [
            ("POST /token sealed JWE (+ refresh token)", TokenFormat::Jwe),
            ("POST /token sealed JWT (+ refresh token)", TokenFormat::Jwt),
        ] {
            let s = Server::sealed(format);
            results.push(bench(name, budget, |n| s.token_request(n), |r| expect(s.send(r), 200)));
        }
        let s = Server::sealed(TokenFormat::Jwe);
        results.push(bench(
            "POST /token refresh (rotation, JWE)",
            budget,
            |n| s.refresh_request(n),
            |r| expect(s.send(r), 200),
        ));
        let key = [ResourceKey::derive(&Secret::new(SECRET).expect("valid secret"), RESOURCE)];
        let jwe = s.access_token(1);
        results.push(bench(
            "resource server opens a JWE token",
            budget,
            |_| (),
            |_| open(&jwe, RESOURCE, &key, &[], NOW).expect("opens"),
        ));
        let j = Server::sealed(TokenFormat::Jwt);
        let jwt = j.access_token(1);
        let jwks = parse_jwks(&j.send(Request::new("GET", url("/.well-known/jwks.json"))).text()).expect("JWKS");
        results.push(bench(
            "resource server opens a JWT token",
            budget,
            |_| (),
            |_| open(&jwt, RESOURCE, &key, &jwks, NOW).expect("opens"),
        ));
    }
    if selected("capacity") {
        results.push(claims_at_capacity(budget));
    }

    let secret = Secret::new(SECRET).expect("valid secret");
    if selected("derive") {
        // Derived on first use: one tag derives them (HKDF, the AES key schedule).
        results.push(bench(
            "Keys::derive + first use (HKDF, once per isolate)",
            budget,
            |_| (),
            |_| {
                let keys = Keys::derive(&secret, None);
                keys.tag(b"bench", b"m")
            },
        ));
    }
    let keys = Keys::derive(&secret, None);
    // A consent form's state is about 400 bytes of JSON; a remembered key about 60.
    let form = vec![b'x'; 400];
    let mut entropy = Entropy::new([9; 32]);
    if selected("seal") {
        results.push(bench(
            "seal::Keys::seal (400 B)",
            budget,
            |_| (),
            |_| keys.seal(Purpose::ConsentForm, &form, &mut entropy),
        ));
        results.push(bench(
            "seal::Keys::seal (60 B)",
            budget,
            |_| (),
            |_| keys.seal(Purpose::RememberCookie, &form[..60], &mut entropy),
        ));
    }
    if selected("open") {
        let sealed = keys.seal(Purpose::ConsentForm, &form, &mut entropy);
        results.push(bench("seal::Keys::open (400 B)", budget, |_| (), |_| keys.open(Purpose::ConsentForm, &sealed)));
        let small = keys.seal(Purpose::RememberCookie, &form[..60], &mut entropy);
        results.push(bench("seal::Keys::open (60 B)", budget, |_| (), |_| keys.open(Purpose::RememberCookie, &small)));
    }

    write_json(&results, (puts / flows, gets / flows, deletes / flows), ms);
}

fn expect(response: Response, status: u16) -> Response {
    assert_eq!(response.status, status, "{}", response.text());
    response
}

/// An instance that has seen 50,000 consents in the last hour (or codes in
/// the last 11 minutes) keeps that many single-use claims; what does the
/// next consent cost?
fn claims_at_capacity(budget: Duration) -> Result {
    const CAPACITY: usize = 50_000;
    let s = Server::new();
    let (_, challenge) = pkce(0);
    print!("filling the single-use claims ({CAPACITY} consents)... ");
    let started = Instant::now();
    for _ in 0..CAPACITY {
        expect(s.send(s.consent_request(&challenge)), 303);
    }
    println!("{:.1} s", started.elapsed().as_secs_f64());
    bench(
        "POST /authorize with 50k claims held",
        budget.min(Duration::from_millis(300)),
        |_| s.consent_request(&challenge),
        |r| expect(s.send(r), 303),
    )
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn write_json(results: &[Result], ops: (usize, usize, usize), ms: u64) {
    let benches: Vec<serde_json::Value> = results
        .iter()
        .map(|r| serde_json::json!({"name": r.name, "median_us": r.median_us, "best_us": r.best_us, "calls": r.calls}))
        .collect();
    let out = serde_json::json!({
        "profile": profile(),
        "budget_ms_per_benchmark": ms,
        "store_ops_per_flow": {"put": ops.0, "get": ops.1, "delete": ops.2},
        "benchmarks": benches,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let path = dir.join("native.json");
    match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, format!("{out:#}\n"))) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}
