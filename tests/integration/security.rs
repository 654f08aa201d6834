//! The security suite, in process: every attack of `tests/e2e/security.test.mjs`
//! that is cheaper to drive through `Provider::handle` with the in-memory
//! store, plus what only a native test can do (store failures of one kind,
//! interleaved concurrent requests, property tests over the whole handler).
//!
//! Each case asserts the exact secure outcome: an error page that does not
//! redirect, an error redirect with `error`, `state` and `iss`, or a JSON
//! 400/401 with the RFC error code. See SECURITY.md for the threat model.
//!
//! Tests that pin a bug are named after it; those still open in `src/` are
//! marked `BUG` in their doc comment, fixed ones `Regression`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use parallel_oauth_provider::protocol::redirect::RedirectUri;
use parallel_oauth_provider::{block_on, Config, MemoryStore, Provider, Request, Response, Store, StoreError};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const OLD_SECRET: &str = "old-secret-that-is-long-enough-0123456789";
const OLDER_SECRET: &str = "older-secret-that-is-long-enough-987654321";

// ================================================================ helpers

/// An error page: HTML, the given status, never a redirect, cannot be framed.
fn assert_page(r: &Response, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert!(r.header("location").is_none(), "{what}: an error page must not redirect");
    assert!(r.header("content-type").unwrap_or("").starts_with("text/html"), "{what}: not HTML");
    assert_unframeable(r, what);
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
}

fn assert_unframeable(r: &Response, what: &str) {
    let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

/// A JSON error with an RFC code, not cacheable, no cookie, no redirect.
fn assert_json_error(r: &Response, status: u16, error: &str, what: &str) {
    let body = serde_json::from_slice::<serde_json::Value>(&r.body)
        .unwrap_or_else(|_| panic!("{what}: not JSON: {}", r.text()));
    assert_eq!((r.status, body["error"].as_str().unwrap_or("")), (status, error), "{what}: {}", r.text());
    assert!(body["error_description"].is_string(), "{what}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    assert!(r.header("set-cookie").is_none(), "{what}: a JSON error sets no cookie");
    assert!(r.header("location").is_none(), "{what}");
}

fn register_json(s: &Server, body: &serde_json::Value) -> Response {
    s.post("/register", "application/json", &body.to_string(), &[])
}

/// The client_id of a registration response.
fn client_id_of(r: &Response) -> String {
    json(r)["client_id"].as_str().unwrap().to_string()
}

/// Registers a named client (so it gets a signed, exact client_id).
fn signed_client(s: &Server, uris: &[&str], name: &str) -> String {
    let r = register_json(s, &serde_json::json!({ "redirect_uris": uris, "client_name": name }));
    assert_eq!(r.status, 201, "{}", r.text());
    client_id_of(&r)
}

/// `value` with its byte `i` changed (to `B` if it was `A`, else to `A`).
fn flip(value: &str, i: usize) -> String {
    let mut bytes = value.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// A consent post refused with a 403 page (and so no code).
fn assert_refused(s: &Server, body: &str, headers: &[(&str, &str)], what: &str) {
    assert_page(&s.consent_post(body, headers), 403, what);
}

/// A remember cookie for KEY, sealed by `s`.
fn remember_jar(s: &Server, query: &str) -> Jar {
    let mut jar = Jar::default();
    approve(s, query, &mut jar, APPROVE_AND_REMEMBER);
    assert!(jar.has(REMEMBER_COOKIE));
    jar
}

fn remember_cookie(jar: &Jar) -> String {
    jar.0.iter().find(|(n, _)| n == REMEMBER_COOKIE).map(|(_, v)| v.clone()).unwrap()
}

fn with_remember(value: &str) -> Jar {
    Jar(vec![(REMEMBER_COOKIE.into(), value.into())])
}

fn send_with<S: Store>(provider: &Provider, store: &S, request: Request, now: u64, seed: u8) -> Response {
    block_on(provider.handle(&request, store, now, [seed; 32])).expect("a provider route")
}

/// A form POST, as a browser or client sends it.
fn form_request(path: &str, body: impl Into<Vec<u8>>) -> Request {
    Request::new("POST", url(path)).with_header("content-type", FORM).with_body(body)
}

/// The consent form of `page` posted with `fields` and this Cookie header.
fn consent_form(page: &Response, fields: &str, cookie: &str) -> Request {
    form_request("/authorize", format!("{}&{fields}", form_fields(page))).with_header("cookie", cookie)
}

/// A POST with this content type, or none.
fn typed_post(path: &str, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Request {
    let request = Request::new("POST", url(path)).with_body(body);
    match content_type {
        Some(ct) => request.with_header("content-type", ct),
        None => request,
    }
}

/// A store that fails only the operations it is told to.
#[derive(Default)]
struct FlakyStore {
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
struct YieldOnce(bool);

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
struct SlowStore(MemoryStore);

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
fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
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
fn assert_clean_location(r: &Response, what: &str) {
    if let Some(loc) = r.header("location") {
        assert!(!loc.bytes().any(|b| b < 0x20 || b == 0x7f), "{what}: control character in Location {loc:?}");
        assert!(loc.is_ascii(), "{what}: non-ASCII Location {loc:?}");
    }
}

// ================================================================ redirect URIs

/// Redirect URIs no client may register or use, whatever its client_id.
fn bad_redirect_uris() -> Vec<String> {
    let mut v: Vec<String> = [
        // userinfo
        "https://app.example@evil.example/cb",
        "https://app.example:secret@evil.example/cb",
        "https://yourapp.com@evil.example/callback",
        "https://user@yourapp.com/callback",
        "https://yourapp.com:443@evil.example/callback",
        "http://127.0.0.1@evil.example/cb",
        "http://localhost@evil.example/cb",
        // backslash tricks
        "https://evil.example\\@yourapp.com/callback",
        "https://yourapp.com\\@evil.example/callback",
        "https:\\\\evil.example/cb",
        "https:/\\evil.example/cb",
        "https://yourapp.com\\.evil.example/callback",
        "https://yourapp.com/callback\\..\\..\\x",
        // fragments
        "https://yourapp.com/callback#",
        "https://yourapp.com/callback#frag",
        "https://yourapp.com/callback#@evil.example",
        "http://evil.example#@127.0.0.1/cb",
        // relative and scheme-relative
        "/callback",
        "callback",
        "./callback",
        "//evil.example/cb",
        "///evil.example/cb",
        "\\\\evil.example/cb",
        "https:evil.example/cb",
        "https:/evil.example/cb",
        "https:///evil.example/cb",
        "https://",
        "https:",
        // plain http to a host that is not loopback
        "http://yourapp.com/callback",
        "http://evil.example/cb",
        "http://10.0.0.1/cb",
        "http://192.168.1.1/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/cb",
        "http://[::ffff:127.0.0.1]/cb",
        "http://[::]/cb",
        // loopback look-alikes
        "http://localhost.evil.example/cb",
        "http://127.0.0.1.nip.io/cb",
        "http://localhost./cb",
        "http://localhost%2eevil.example/cb",
        "http://localhost:80.evil.example/cb",
        "http://127.0.0.1:8080.evil.example/cb",
        "http://xn--localhost-.example/cb",
        // other schemes that are never a callback
        "ftp://yourapp.com/cb",
        "ws://localhost/cb",
        "wss://yourapp.com/cb",
        "about:blank",
        "chrome://settings/",
        "view-source:https://yourapp.com/callback",
        "intent://yourapp.com/#Intent;scheme=https;end",
        "urn:ietf:wg:oauth:2.0:oob",
        "mailto:a@yourapp.com",
        "web+app://yourapp.com/cb",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Script, data and local-content schemes in any case, behind white space
    // or control characters.
    let bodies = [
        "javascript:alert(1)",
        "javascript://yourapp.com/%0aalert(1)",
        "javascript://%0Aalert(document.domain)//https://yourapp.com/callback",
        "data:text/html,<script>alert(1)</script>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "file://yourapp.com/callback",
        "blob:https://yourapp.com/5a5b6e64-0000-4000-8000-000000000000",
    ];
    for body in bodies {
        let (scheme, rest) = body.split_once(':').unwrap();
        let mixed: String =
            scheme.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect();
        for s in [scheme.to_string(), scheme.to_ascii_uppercase(), mixed] {
            for prefix in
                ["", " ", "  ", "\t", "\n", "\r\n", "\u{0}", "\u{1}", "\u{8}", "\u{b}", "\u{c}", "\u{1f}", "\u{7f}"]
            {
                v.push(format!("{prefix}{s}:{rest}"));
            }
        }
    }
    for split in [
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "java\rscript:alert(1)",
        "java\u{0}script:alert(1)",
        "jav&#x09;ascript:alert(1)",
    ] {
        v.push(split.to_string());
    }
    // CR, LF and NUL anywhere.
    let base = "https://yourapp.com/callback?x=1";
    for i in 0..=base.len() {
        for c in ["\r", "\n", "\r\n", "\u{0}"] {
            v.push(format!("{}{c}{}", &base[..i], &base[i..]));
        }
    }
    v
}

#[test]
fn register_refuses_every_dangerous_redirect_uri() {
    let s = Server::new();
    for uri in bad_redirect_uris() {
        let r = register_json(&s, &serde_json::json!({ "redirect_uris": [uri] }));
        assert_json_error(&r, 400, "invalid_redirect_uri", &format!("register {uri:?}"));
        // One bad URI among good ones rejects the whole registration.
        let r = register_json(
            &s,
            &serde_json::json!({ "redirect_uris": ["https://yourapp.com/callback", uri], "client_name": "x" }),
        );
        assert_json_error(&r, 400, "invalid_redirect_uri", &format!("register [good, {uri:?}]"));
    }
}

#[test]
fn authorize_refuses_every_dangerous_redirect_uri_with_a_page() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    let signed = signed_client(&s, &[REDIRECT], "App");
    for uri in bad_redirect_uris() {
        for client in ["yourapp.com", "evil.example", signed.as_str()] {
            if uri.is_empty() && client == signed {
                continue; // no redirect_uri: the registration's only URI is the default
            }
            let r = s.authorize(&auth_query(client, &uri, &challenge, ""));
            let what = format!("authorize client={client} redirect_uri={uri:?}");
            assert_page(&r, 400, &what);
            assert!(r.header("set-cookie").is_none(), "{what}: no consent state for a bad request");
        }
    }
    assert!(s.store.is_empty());
}

#[test]
fn authorize_refuses_a_redirect_uri_on_another_host_or_path() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    for uri in [
        "https://evil.example/callback",
        "https://sub.yourapp.com/callback",
        "https://yourapp.com.evil.example/callback",
        "https://yourapp.co/callback",
        "https://yourapp.com./callback",
        "https://yourаpp.com/callback", // Cyrillic а
        "https://xn--yourpp-8ve.com/callback",
        "cursor://evil.example/callback",
        "http://localhost:8080/callback",
        // A host-name client is an https (or loopback http) host: an app
        // scheme naming the same host is not that client.
        "cursor://yourapp.com/callback",
        "evil-app://yourapp.com/callback",
    ] {
        assert_page(&s.authorize(&auth_query("yourapp.com", uri, &challenge, "")), 400, uri);
    }
    // A registered client: its exact URIs, loopback on any port, nothing else.
    let signed = signed_client(&s, &["https://a.example/cb", "http://127.0.0.1:9000/cb"], "A");
    for uri in [
        "https://a.example/cb2",
        "https://a.example/cb/",
        "https://a.example/cb?x=1",
        "https://a.example:444/cb",
        "https://b.example/cb",
        "http://localhost:9000/cb",
        "http://127.0.0.1:9000/cb2",
        "http://[::1]:9000/cb",
    ] {
        assert_page(&s.authorize(&auth_query(&signed, uri, &challenge, "")), 400, uri);
    }
    assert_eq!(s.authorize(&auth_query(&signed, "http://127.0.0.1:41234/cb", &challenge, "")).status, 200);
    // A forged or altered signed id is not a client.
    let forged = flip(&signed, signed.len() - 1);
    assert_page(&s.authorize(&auth_query(&forged, "https://a.example/cb", &challenge, "")), 400, "forged client_id");
}

/// Regression (found by this suite, fixed in 609e550): `https://@host/` and
/// `https://:@host/` carry userinfo delimiters that the URL parser drops, so
/// they were accepted and normalized to `https://host/`. DESIGN.md rule 6:
/// never userinfo, even empty.
#[test]
fn empty_userinfo_in_redirect_uri_is_refused() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    for uri in ["https://@yourapp.com/callback", "https://:@yourapp.com/callback", "http://@127.0.0.1:9/cb"] {
        let r = register_json(&s, &serde_json::json!({ "redirect_uris": [uri] }));
        assert_json_error(&r, 400, "invalid_redirect_uri", &format!("register {uri}"));
        assert_page(&s.authorize(&auth_query("yourapp.com", uri, &challenge, "")), 400, uri);
    }
}

/// Regression (found by this suite, fixed in 609e550): private-use redirect
/// URIs on one host, registered without a name, got that host as their
/// client_id, but such a URI's host is opaque to the URL parser (case kept,
/// percent-encoded), so the id never matched at /authorize
/// (`cursor://Anysphere.cursor-mcp/cb`, `x://é.example/cb`).
#[test]
fn registered_client_id_for_a_private_use_uri_resolves() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    for uri in [
        "cursor://Anysphere.cursor-mcp/oauth/callback",
        "x-app://%C3%A9.example/cb",
        "x-app://é.example/cb",
        "x-app://a%20b/cb",
    ] {
        let r = register_json(&s, &serde_json::json!({ "redirect_uris": [uri] }));
        assert_eq!(r.status, 201, "{uri}");
        let client = client_id_of(&r);
        let page = s.authorize(&auth_query(&client, uri, &challenge, ""));
        assert_eq!(page.status, 200, "{uri} registered as {client:?}: {}", page.text());
    }
}

#[test]
fn encoded_cr_lf_stays_encoded_in_location() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    let uri = "https://yourapp.com/cb%0d%0aSet-Cookie:%20x=1";
    let q = auth_query("yourapp.com", uri, &challenge, "").replace("response_type=code&", "response_type=token&");
    let r = s.authorize(&q);
    assert_eq!(r.status, 302);
    assert_clean_location(&r, uri);
    assert!(r.header("location").unwrap().starts_with("https://yourapp.com/cb%0d%0aSet-Cookie:%20x=1?"));
}

#[test]
fn internationalized_look_alike_host_is_shown_as_punycode() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    let r = register_json(&s, &serde_json::json!({ "redirect_uris": ["https://аррӏе.com/cb"] }));
    assert_eq!(r.status, 201);
    let client_id = client_id_of(&r);
    assert_eq!(client_id, "xn--80ak6aa92e.com", "the client_id is the punycode host");
    let mut jar = Jar::default();
    let page = s.consent_page(&auth_query(&client_id, "https://аррӏе.com/cb", &challenge, ""), &mut jar);
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("xn--80ak6aa92e.com"));
    assert!(!html.contains("аррӏе"), "the look-alike Unicode host is never shown");
    // The same with a name: still the punycode host as the receiver.
    let signed = signed_client(&s, &["https://аррӏе.com/cb"], "Apple");
    let page = s.consent_page(&auth_query(&signed, "https://аррӏе.com/cb", &challenge, ""), &mut jar);
    assert!(page.text().contains("<strong class=\"host\">xn--80ak6aa92e.com</strong>"), "{}", page.text());
}

// ================================================================ injection

const PAYLOAD: &str =
    "</script><script>alert(1)</script>\"><svg onload=alert(1)>'><img src=x onerror=alert(1)>\u{2028}\u{2029}";

fn assert_no_markup_from_payloads(html: &str, what: &str) {
    for raw in [
        "<script",
        "<svg",
        "<img src=x",
        "\"><svg",
        "'><img",
        "\u{2028}",
        "\u{2029}",
        "onload=alert(1)>",
        "onerror=alert(1)>",
        "javascript:",
    ] {
        assert!(!html.contains(raw), "{what}: {raw:?} appears unescaped");
    }
}

#[test]
fn html_payloads_in_state_scope_client_name_resource_and_redirect_uri_appear_only_escaped() {
    let s = Server::new();
    let (verifier, challenge) = pkce("inj");
    let redirect = "https://app.example/cb?x=\"><svg/onload=alert(1)>'";
    let name: String = PAYLOAD.chars().take(100).collect();
    let reg = register_json(&s, &serde_json::json!({ "redirect_uris": [redirect], "client_name": name }));
    assert_eq!(reg.status, 201, "{}", reg.text());
    assert_eq!(json(&reg)["client_name"], name.as_str(), "echoed exactly, as JSON");
    let client = client_id_of(&reg);

    let scope = "</script><svg/onload=alert(1)>'-alert(1)-'";
    let resource = "https://mcp.example/</script><svg/onload=alert(1)>\"'";
    let query = format!(
        "response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&state={}&scope={}&resource={}",
        enc(&client),
        enc(redirect),
        enc(PAYLOAD),
        enc(scope),
        enc(resource)
    );
    let (page, mut jar) = s.open_consent(&query);
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert_no_markup_from_payloads(&html, "consent page");
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)"), "client_name shown escaped");
    assert!(html.contains("&lt;/script&gt;&lt;svg/onload=alert(1)&gt;&#39;-alert(1)-&#39;"), "scope shown escaped");
    assert!(html.contains("&#8232;"), "U+2028 shown as an entity");
    assert!(!html.contains("onload=alert(1)>"));

    // The state comes back byte for byte, in a query the URL parser encoded.
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_eq!(r.status, 303);
    assert_clean_location(&r, "approve");
    let (target, params) = location(&r);
    assert_eq!(target, "https://app.example/cb");
    assert_eq!(param(&params, "x"), Some("\"><svg/onload=alert(1)>'"));
    assert_eq!(param(&params, "state"), Some(PAYLOAD));
    let code = param(&params, "code").unwrap();
    let t = s.token(&token_body(code, &client, redirect, &verifier));
    assert_eq!(t.status, 200, "{}", t.text());
    assert_eq!(json(&t)["scope"], scope);

    // Error pages reflect nothing from the request.
    for q in [
        format!("client_id={}", enc(PAYLOAD)),
        format!("client_id=yourapp.com&redirect_uri={}", enc(&format!("https://yourapp.com/{PAYLOAD}"))),
        format!("client_id=yourapp.com&redirect_uri={}&state={}", enc(&format!("javascript:{PAYLOAD}")), enc(PAYLOAD)),
    ] {
        let r = s.authorize(&q);
        assert_page(&r, 400, &q);
        assert_no_markup_from_payloads(&r.text(), &q);
    }
    // JSON errors too.
    let r = s.token(&format!("grant_type={}", enc(PAYLOAD)));
    assert_json_error(&r, 400, "unsupported_grant_type", "token");
    assert!(!r.text().contains("<svg"));
}

#[test]
fn state_of_two_kilobytes_round_trips_exactly_on_approve_deny_and_error() {
    let s = Server::new();
    let (query, verifier) = default_query("x");
    let alphabet = "aZ09-._~!$&'()*+,;=:@/?%#[] \"<>\\^`{|}\r\n\t\u{0}é€😀\u{2028}";
    let state: String = alphabet.chars().cycle().take(2048).collect();
    assert!(state.len() >= 2048);
    let query = query.replace("state=st-1", &format!("state={}", enc(&state)));
    for action in ["approve", "deny"] {
        let (page, mut jar) = s.open_consent(&query);
        assert_eq!(page.status, 200, "{}", page.text());
        let r = s.answer(&page, &format!("api_key={KEY}&action={action}"), &mut jar);
        assert_eq!(r.status, 303);
        assert_clean_location(&r, action);
        let (_, params) = location(&r);
        assert_eq!(param(&params, "state"), Some(state.as_str()), "{action}");
        if action == "approve" {
            assert_eq!(s.redeem(param(&params, "code").unwrap(), &verifier).status, 200);
        }
    }
    let r = s.authorize(&query.replace("code_challenge_method=S256", "code_challenge_method=plain"));
    assert_error_redirect(&r, REDIRECT, "invalid_request", Some(&state), "error redirect");
    assert_clean_location(&r, "error redirect");
}

#[test]
fn oversized_requests_get_a_clean_4xx() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    // A query longer than /authorize reads: a page, no redirect.
    let q = auth_query("yourapp.com", REDIRECT, &challenge, &format!("&pad={}", "a".repeat(17 * 1024)));
    assert_page(&s.authorize(&q), 414, "17 KB query");
    // A state longer than we carry: an error redirect without it.
    let q = auth_query("yourapp.com", REDIRECT, &challenge, "")
        .replace("state=st-1", &format!("state={}", "s".repeat(4097)));
    assert_error_redirect(&s.authorize(&q), REDIRECT, "invalid_request", None, "4097-byte state");
    // Bodies over 64 KB.
    let big = "a=".to_string() + &"b".repeat(64 * 1024);
    assert_page(&s.consent_post(&big, &[]), 413, "consent body");
    assert_json_error(&s.token(&big), 413, "invalid_request", "token body");
    assert_json_error(&s.post("/register", "application/json", &big, &[]), 413, "invalid_request", "register body");
    // Between what the form parser reads (16 KB) and 64 KB: a 400.
    let mid = "a=".to_string() + &"b".repeat(20 * 1024);
    assert_json_error(&s.token(&mid), 400, "invalid_request", "20 KB token body");
    assert_eq!(s.consent_post(&mid, &[]).status, 400);
    assert!(s.store.is_empty());
}

// ================================================================ consent

#[test]
fn consent_post_without_a_valid_csrf_token_or_from_another_site_is_403_with_no_code() {
    let s = Server::new();
    let (query, _) = default_query("sec");
    let (page, jar) = s.open_consent(&query);
    let csrf_cookie = jar.header();
    let fields = form_fields(&page);
    let good = format!("{fields}&{APPROVE}");
    let csrf = hidden(&page, "csrf");
    let request = hidden(&page, "request");

    // Another browser's page: its own sealed form and token.
    let (other_page, other_jar) = s.open_consent(&query);
    let other_cookie = other_jar.header();

    let other_csrf = hidden(&other_page, "csrf");
    let other_request = hidden(&other_page, "request");
    let zeros = "A".repeat(43);
    let doubled = format!("{csrf_cookie}; {csrf_cookie}");
    // An approval posting this sealed request and this CSRF token.
    let form = |request: &str, csrf: &str| format!("request={request}&csrf={csrf}&{APPROVE}");
    let ours = ("cookie", csrf_cookie.as_str());
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("no csrf cookie", good.clone(), vec![]),
        ("no csrf field", format!("request={request}&{APPROVE}"), vec![ours]),
        ("empty csrf field", form(&request, ""), vec![ours]),
        ("wrong csrf field", form(&request, &zeros), vec![ours]),
        ("wrong csrf cookie", good.clone(), vec![("cookie", FORGED_CSRF_COOKIE)]),
        (
            "csrf cookie and field agree but are not the form's",
            form(&request, &zeros),
            vec![("cookie", FORGED_CSRF_COOKIE)],
        ),
        ("another browser's form with our cookie", form(&other_request, &csrf), vec![ours]),
        ("another browser's form and token with our cookie", form(&other_request, &other_csrf), vec![ours]),
        ("our form with the other browser's cookie", good.clone(), vec![("cookie", &other_cookie)]),
        ("duplicated csrf cookie", good.clone(), vec![("cookie", &doubled)]),
        ("no sealed request", format!("csrf={csrf}&{APPROVE}"), vec![ours]),
        ("garbage sealed request", form("AAAA", &csrf), vec![ours]),
        ("truncated sealed request", form(&request[..request.len() - 4], &csrf), vec![ours]),
        ("foreign Origin", good.clone(), vec![ours, ("origin", "https://evil.example")]),
        ("look-alike Origin", good.clone(), vec![ours, ("origin", "https://oauth.example.evil.example")]),
        ("Origin with another port", good.clone(), vec![ours, ("origin", "https://oauth.example:8443")]),
        ("Origin over http", good.clone(), vec![ours, ("origin", "http://oauth.example")]),
        ("cross-site fetch", good.clone(), vec![ours, ("sec-fetch-site", "cross-site")]),
        ("same-site fetch", good.clone(), vec![ours, ("sec-fetch-site", "same-site")]),
    ];
    for (what, body, headers) in cases {
        let r = s.consent_post(&body, &headers);
        assert_page(&r, 403, what);
        assert!(!r.text().contains(KEY), "{what}");
    }
    // Every action is protected, not just approve.
    for action in ["deny", "forget"] {
        assert_refused(&s, &format!("{fields}&action={action}"), &[("origin", "https://evil.example"), ours], action);
    }
    assert!(s.store.is_empty(), "no code was issued");
    // The genuine post still works, once.
    let ok = s.consent_post(&good, &[ours, ("origin", ORIGIN), ("sec-fetch-site", "same-origin")]);
    assert_eq!(ok.status, 303, "{}", ok.text());
    for headers in [vec![ours], vec![ours, ("origin", ORIGIN)]] {
        assert_refused(&s, &good, &headers, "replayed approve");
        assert_refused(&s, &format!("{fields}&action=deny"), &headers, "deny after approve");
    }
    assert_eq!(s.store.len(), 1, "exactly one code");
}

#[test]
fn denied_form_cannot_be_approved_afterwards() {
    let s = Server::new();
    let (query, _) = default_query("sec");
    let (page, mut jar) = s.open_consent(&query);
    assert_eq!(s.answer(&page, "action=deny", &mut jar).status, 303);
    assert_page(&s.answer(&page, APPROVE, &mut jar), 403, "approve after deny");
    assert!(s.store.is_empty());
}

#[test]
fn consent_form_sealed_under_another_secret_is_refused() {
    let s = Server::new();
    let other = Server::with(Config::default(), OLD_SECRET, None);
    let (query, _) = default_query("sec");
    let (page, mut jar) = other.open_consent(&query);
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_page(&r, 403, "form sealed by another secret");
    // Every single flipped character of the sealed form is refused.
    let request = hidden(&s.consent_page(&query, &mut jar), "request");
    let csrf_cookie = jar.header();
    let page = s.consent_page(&query, &mut jar);
    let csrf = hidden(&page, "csrf");
    for i in (0..request.len()).step_by(7) {
        let tampered = flip(&request, i);
        if tampered == request {
            continue;
        }
        let r = s.consent_post(&format!("request={tampered}&csrf={csrf}&{APPROVE}"), &[("cookie", &csrf_cookie)]);
        assert!(r.status == 403 || r.status == 400, "byte {i}: {}", r.status);
        assert!(r.header("location").is_none());
    }
    assert!(s.store.is_empty());
}

#[test]
fn cross_site_get_with_a_remember_cookie_never_completes_without_the_click() {
    let s = Server::new();
    let (query, _) = default_query("sec");
    let mut jar = remember_jar(&s, &query);
    let codes_before = s.store.len();
    // A cross-site top-level navigation carries the SameSite=Lax cookie.
    let (_, challenge) = pkce("attacker");
    let attacker_query = auth_query("evil.example", "https://evil.example/cb", &challenge, "");
    for q in [query.as_str(), attacker_query.as_str()] {
        let r = s.send(
            authorize_request(q)
                .with_header("cookie", &jar.header())
                .with_header("sec-fetch-site", "cross-site")
                .with_header("sec-fetch-mode", "navigate")
                .with_header("referer", "https://evil.example/"),
        );
        assert_eq!(r.status, 200, "only the consent page");
        assert!(r.header("location").is_none(), "no redirect without the click");
        assert!(r.text().contains("key_choice_saved"), "the saved key is offered");
        assert!(!r.text().contains(KEY));
        assert_unframeable(&r, "consent page");
        jar.update(&r);
    }
    // The attacker's page cannot post the form for the user: it has no token.
    let (page, _) = s.open_consent(&attacker_query);
    let with_saved_key = format!("{}&key_choice=saved&action=approve", form_fields(&page));
    let cookies = jar.header();
    let cross_site =
        [("cookie", cookies.as_str()), ("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")];
    assert_refused(&s, &with_saved_key, &cross_site, "cross-site approve with the remember cookie");
    // Nor without an Origin (old browsers): the CSRF cookie does not match.
    let remember_only = format!("{REMEMBER_COOKIE}={}", remember_cookie(&jar));
    assert_refused(
        &s,
        &with_saved_key,
        &[("cookie", &remember_only)],
        "approve with the remember cookie and no CSRF cookie",
    );
    assert_eq!(s.store.len(), codes_before, "no code was issued");
}

#[test]
fn every_html_page_cannot_be_framed_and_is_not_cached() {
    let s = Server::new();
    let (query, _) = default_query("sec");
    let (page, mut jar) = s.open_consent(&query);
    let mut pages = vec![
        ("consent", page.clone()),
        ("missing key", s.answer(&page, "action=approve", &mut jar)),
        ("bad request", s.authorize("client_id=yourapp.com")),
        ("405", s.send(Request::new("PUT", url("/authorize")))),
        ("403", s.consent_post("request=x&csrf=y&action=approve", &[])),
        ("413", s.consent_post(&"a".repeat(70_000), &[])),
    ];
    s.store.set_failing(true);
    pages.push(("503", s.answer(&page, APPROVE, &mut jar)));
    for (what, r) in pages {
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{what}");
        assert_unframeable(&r, what);
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{what}: {csp}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}");
        assert!(!r.text().contains("<script"), "{what}");
    }
}

#[test]
fn the_key_appears_only_in_the_token_response() {
    let s = Server::new();
    let (query, verifier) = default_query("k");
    let mut seen: Vec<(&str, Response)> = Vec::new();
    seen.push(("metadata", s.get("/.well-known/oauth-authorization-server")));
    seen.push(("register", register_json(&s, &serde_json::json!({ "redirect_uris": [REDIRECT] }))));
    let (page, mut jar) = s.open_consent(&query);
    seen.push(("consent", page.clone()));
    let approved = s.answer(&page, APPROVE_AND_REMEMBER, &mut jar);
    seen.push(("approved", approved.clone()));
    let again = s.consent_page(&query, &mut jar);
    seen.push(("consent with saved key", again.clone()));
    seen.push(("missing key", s.answer(&again, "key_choice=new&action=approve", &mut jar)));
    seen.push(("bad key", s.answer(&again, &format!("key_choice=new&api_key={}+x&action=approve", KEY), &mut jar)));
    let third = s.consent_page(&query, &mut jar);
    let saved = s.answer(&third, "key_choice=saved&action=approve", &mut jar);
    seen.push(("approved with saved key", saved.clone()));
    seen.push(("replay", s.answer(&third, "key_choice=saved&action=approve", &mut jar)));
    seen.push(("token wrong verifier", s.redeem(&code_of(&approved), &pkce("no").0)));
    let code = code_of(&saved);
    let token = s.redeem(&code, &verifier);
    assert_eq!(json(&token)["access_token"], KEY);
    seen.push(("token replay", s.redeem(&code, &verifier)));
    let fourth = s.consent_page(&query, &mut jar);
    seen.push(("forget", s.answer(&fourth, "action=forget", &mut jar)));
    s.store.set_failing(true);
    let fifth = s.consent_page(&query, &mut jar);
    seen.push(("store down", s.answer(&fifth, APPROVE, &mut jar)));

    let fragment = &KEY[3..KEY.len() - 4]; // never even part of it
    for (what, r) in &seen {
        let body = r.text();
        assert!(!body.contains(fragment), "{what}: the key is in the body");
        for (name, value) in &r.headers {
            assert!(!value.contains(fragment), "{what}: the key is in {name}");
        }
    }
    for v in s.store.values() {
        assert!(!v.contains(fragment), "the store holds no plaintext key");
    }
}

// ================================================================ PKCE

#[test]
fn authorize_pkce_errors_redirect_with_invalid_request_state_and_iss() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    let base = format!("response_type=code&client_id=yourapp.com&redirect_uri={}&state=st-9", enc(REDIRECT));
    let cases: Vec<(String, &str)> = vec![
        (base.clone(), "no challenge, no method"),
        (format!("{base}&code_challenge_method=S256"), "missing challenge"),
        (format!("{base}&code_challenge=&code_challenge_method=S256"), "empty challenge"),
        (format!("{base}&code_challenge={challenge}"), "missing method"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method="), "empty method"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=plain"), "plain"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=PLAIN"), "PLAIN"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=s256"), "lower-case s256"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=S512"), "S512"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=SHA256"), "SHA256"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=S256+"), "S256 with a space"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=S256%00"), "S256 with NUL"),
        (format!("{base}&code_challenge={}&code_challenge_method=S256", &challenge[..42]), "42 characters"),
        (format!("{base}&code_challenge={}&code_challenge_method=S256", "a".repeat(129)), "129 characters"),
        (format!("{base}&code_challenge={}%2B&code_challenge_method=S256", &challenge[..42]), "+"),
        (format!("{base}&code_challenge={}%2F&code_challenge_method=S256", &challenge[..42]), "/"),
        (format!("{base}&code_challenge={}%3D&code_challenge_method=S256", &challenge[..42]), "= padding"),
        (format!("{base}&code_challenge={}.&code_challenge_method=S256", &challenge[..42]), "."),
        (format!("{base}&code_challenge={}~&code_challenge_method=S256", &challenge[..42]), "~"),
        (format!("{base}&code_challenge={}+&code_challenge_method=S256", &challenge[..42]), "space"),
        (format!("{base}&code_challenge={}%00&code_challenge_method=S256", &challenge[..42]), "NUL"),
        (format!("{base}&code_challenge={}%C3%A9&code_challenge_method=S256", &challenge[..41]), "é"),
    ];
    for (q, what) in cases {
        let r = s.authorize(&q);
        assert_error_redirect(&r, REDIRECT, "invalid_request", Some("st-9"), what);
        assert!(r.header("set-cookie").is_none(), "{what}");
    }
    // A repeated parameter is refused before anything is trusted: a page.
    let q = format!("{base}&code_challenge={challenge}&code_challenge_method=S256&code_challenge_method=plain");
    assert_page(&s.authorize(&q), 400, "repeated method");
}

fn legacy_verifier(numbers: &[String]) -> String {
    URL_SAFE_NO_PAD.encode(numbers.join(","))
}

#[test]
fn token_verifier_errors() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let body = |v: &str| token_body(&code, "yourapp.com", REDIRECT, v);
    let nums: Vec<String> = (0..32).map(|i| ((i * 97 + 13) % 256).to_string()).collect();
    let mut too_many = nums.clone();
    too_many.push("1".into());
    let mut big = nums.clone();
    big[5] = "256".into();
    let mut negative = nums.clone();
    negative[0] = "-1".into();
    let mut spaced = nums.clone();
    spaced[3] = " 12".into();
    let mut empty = nums.clone();
    empty[31] = String::new();
    let mut hex = nums.clone();
    hex[1] = "ff".into();
    let long_legacy = |n: &[String]| {
        let v = legacy_verifier(n);
        assert!(v.len() > 128, "a recipe-shaped verifier longer than 128 characters");
        v
    };
    let padded = format!("{}=", long_legacy(&nums));
    // (Digits and commas never encode to `+` or `/`: the recipe's
    // `+/=` replacement only ever removes padding.)
    let malformed: Vec<(String, &str)> = vec![
        (body("").replace("&code_verifier=", ""), "missing"),
        (body(""), "empty"),
        (body(&verifier[..42]), "42 characters"),
        (body(&"a".repeat(129)), "129 characters"),
        (body(&"a".repeat(200)), "200 characters"),
        (body(&format!("{}%2B", &verifier[..42])), "+"),
        (body(&format!("{}%2F", &verifier[..42])), "/"),
        (body(&format!("{}%3D", &verifier[..42])), "="),
        (body(&format!("{}+", &verifier[..42])), "space"),
        (body(&format!("{}%00", &verifier[..42])), "NUL"),
        (body(&format!("{}%0A", &verifier[..42])), "LF"),
        (body(&format!("{}%C3%A9", &verifier[..41])), "é"),
        (body(&long_legacy(&nums[..31])), "recipe shape with 31 numbers"),
        (body(&long_legacy(&too_many)), "recipe shape with 33 numbers"),
        (body(&long_legacy(&big)), "recipe shape with 256"),
        (body(&long_legacy(&negative)), "recipe shape with -1"),
        (body(&long_legacy(&spaced)), "recipe shape with a space"),
        (body(&long_legacy(&empty)), "recipe shape with an empty number"),
        (body(&long_legacy(&hex)), "recipe shape with hex"),
        (body(&enc(&padded)), "recipe shape with padding"),
        (format!("{}&code_verifier={verifier}", body(&verifier)), "repeated"),
    ];
    for (b, what) in malformed {
        let r = s.token(&b);
        assert_json_error(&r, 400, "invalid_request", what);
    }
    // None of those was a redemption attempt: the code is still there.
    assert_eq!(s.store.len(), 1);

    // A well-formed wrong verifier is a redemption attempt: invalid_grant,
    // and the code is gone (SECURITY.md).
    let wrong = pkce("wrong").0;
    assert_json_error(&s.token(&body(&wrong)), 400, "invalid_grant", "wrong verifier");
    assert_json_error(&s.token(&body(&verifier)), 400, "invalid_grant", "right verifier after a wrong one");

    // The legacy README verifier (>128 characters) of exactly the recipe's
    // shape works, and the boundaries 43 and 128 work.
    let legacy = long_legacy(&nums);
    assert!(legacy.len() > 128);
    for v in [legacy, "a".repeat(43), "Z~.-_9".repeat(21) + "ab"] {
        let s = Server::new();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
        let code = code_for(&s, &auth_query("yourapp.com", REDIRECT, &challenge, ""));
        let r = s.redeem(&code, &v);
        assert_eq!(r.status, 200, "{} chars: {}", v.len(), r.text());
    }
}

// ================================================================ codes

#[test]
fn code_replay_is_invalid_grant() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let body = token_body(&code, "yourapp.com", REDIRECT, &verifier);
    assert_eq!(s.token(&body).status, 200);
    for _ in 0..3 {
        assert_json_error(&s.token(&body), 400, "invalid_grant", "replay");
    }
}

#[test]
fn code_expires_after_ten_minutes_checked_in_the_value() {
    for (after, ok) in [(0, true), (599, true), (600, true), (601, false), (659, false), (3600, false)] {
        let s = Server::new();
        let (code, verifier) = full_flow(&s);
        // The store still holds the record (its TTL is longer): the value decides.
        assert!(s.store.keys_with_ttl().iter().all(|(_, ttl)| *ttl > 600));
        s.now.set(T0 + after);
        let r = s.redeem(&code, &verifier);
        if ok {
            assert_eq!(r.status, 200, "{after}s");
        } else {
            assert_json_error(&r, 400, "invalid_grant", &format!("{after}s"));
        }
    }
}

#[test]
fn code_is_bound_to_its_client_and_redirect_uri_and_a_failed_attempt_consumes_it() {
    let registrar = Server::new();
    let other_signed = signed_client(&registrar, &[REDIRECT], "Other");
    let basic_other = format!("Basic {}", STANDARD.encode("evil.example:x"));
    let attempts: Vec<(String, u16, &str, &str)> = vec![
        ("client_id=evil.example".into(), 400, "invalid_grant", "another hostname client"),
        (format!("client_id={}", enc(&other_signed)), 400, "invalid_grant", "another registered client"),
        ("client_id=YOURAPP.COM".into(), 400, "invalid_grant", "client_id in another case"),
        ("redirect_uri=https%3A%2F%2Fyourapp.com%2Fother".into(), 400, "invalid_grant", "another path"),
        ("redirect_uri=https%3A%2F%2Fyourapp.com%2Fcallback%2F".into(), 400, "invalid_grant", "trailing slash"),
        ("redirect_uri=https%3A%2F%2Fyourapp.com%2Fcallback%3Fx%3D1".into(), 400, "invalid_grant", "extra query"),
        ("redirect_uri=https%3A%2F%2Fyourapp.com%3A444%2Fcallback".into(), 400, "invalid_grant", "another port"),
        ("redirect_uri=https%3A%2F%2Fevil.example%2Fcallback".into(), 400, "invalid_grant", "another host"),
        ("resource=https%3A%2F%2Fother.example%2Fmcp".into(), 400, "invalid_target", "another resource"),
    ];
    for (change, status, error, what) in attempts {
        let s = Server::with(Config::default(), SECRET, None);
        let (verifier, challenge) = pkce("bind");
        let code =
            code_for(&s, &auth_query("yourapp.com", REDIRECT, &challenge, "&resource=https%3A%2F%2Fmcp.example%2Fmcp"));
        let right = token_body(&code, "yourapp.com", REDIRECT, &verifier);
        let (name, _) = change.split_once('=').unwrap();
        let mut pairs: Vec<String> =
            right.split('&').filter(|p| !p.starts_with(&format!("{name}="))).map(str::to_string).collect();
        pairs.push(change.clone());
        let wrong = pairs.join("&");
        let r = s.post("/token", FORM, &wrong, &[]);
        assert_json_error(&r, status, error, what);
        // Our decision: a well-formed attempt that presents an existing code
        // consumes it, even when it fails.
        assert_json_error(&s.token(&right), 400, "invalid_grant", &format!("right request after: {what}"));
        assert!(s.store.is_empty(), "{what}");
    }
    // HTTP Basic naming another client than the form: invalid_client, and
    // the code is not looked up.
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let right = token_body(&code, "yourapp.com", REDIRECT, &verifier);
    let r = s.post("/token", FORM, &right, &[("authorization", &basic_other)]);
    assert_json_error(&r, 401, "invalid_client", "Basic for another client");
    assert_eq!(r.header("www-authenticate").map(|h| h.starts_with("Basic")), Some(true));
    assert_eq!(s.token(&right).status, 200);
}

#[test]
fn random_truncated_and_altered_codes_are_invalid_grant() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let n = code.len() - 1;
    let last_changed = flip(&code, n);
    // A non-canonical encoding of the same 32 bytes (trailing bits set).
    let bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
    let canonical_last = code.as_bytes()[n];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.iter().position(|&c| c == canonical_last).unwrap();
    let mut non_canonical = code.clone().into_bytes();
    non_canonical[n] = alphabet[idx | 1];
    let non_canonical = String::from_utf8(non_canonical).unwrap();
    let random = URL_SAFE_NO_PAD.encode(Sha256::digest(b"random"));
    let cases: Vec<(String, &str)> = vec![
        (random, "random 43 characters"),
        (code[..42].to_string(), "truncated"),
        (code[..20].to_string(), "half"),
        (format!("{code}A"), "extended"),
        (format!("{code}%3D"), "padded"),
        (last_changed, "last character changed"),
        (non_canonical.clone(), "non-canonical encoding"),
        (STANDARD.encode(&bytes), "standard base64"),
        (enc(&"\u{0}".repeat(43)), "NULs"),
        ("x".repeat(10_000), "10 KB"),
    ];
    for (c, what) in cases {
        if c == code {
            continue;
        }
        assert_json_error(&s.redeem(&c, &verifier), 400, "invalid_grant", what);
    }
    assert_json_error(&s.redeem("", &verifier), 400, "invalid_request", "empty code");
    // None of them touched the real code.
    assert_eq!(s.redeem(&code, &verifier).status, 200);
}

#[test]
fn concurrent_redemptions_of_one_code_in_one_instance_yield_exactly_one_token() {
    let provider = Provider::new(Config::default(), SECRET, None).unwrap();
    let store = SlowStore::default();
    let (query, verifier) = default_query("race");
    let page = send_with(&provider, &store, authorize_request(&query), T0, 1);
    let mut jar = Jar::default();
    jar.update(&page);
    // A request in flight, interleaved with the others at each store round trip.
    let handle = |request: Request, seed: u8| {
        let (provider, store) = (&provider, &store);
        async move { provider.handle(&request, store, T0, [seed; 32]).await.unwrap() }
    };
    let consent = |seed: u8| handle(consent_form(&page, APPROVE, &jar.header()), seed);
    // The same consent form posted 20 times at once: one code.
    let answers = join_all((0..20).map(|i| consent(10 + i)).collect());
    let approved: Vec<&Response> = answers.iter().filter(|r| r.status == 303).collect();
    assert_eq!(approved.len(), 1, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(answers.iter().all(|r| r.status == 303 || r.status == 403));
    assert_eq!(store.0.len(), 1);
    let code = code_of(approved[0]);

    let redeem = |seed: u8| handle(form_request("/token", token_body(&code, "yourapp.com", REDIRECT, &verifier)), seed);
    let results = join_all((0..20).map(|i| redeem(100 + i)).collect());
    let ok: Vec<&Response> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(json(ok[0])["access_token"], KEY);
    for r in results.iter().filter(|r| r.status != 200) {
        assert_json_error(r, 400, "invalid_grant", "concurrent redemption");
    }
    assert!(store.0.is_empty());
}

// ================================================================ token and registration endpoints

#[test]
fn token_endpoint_refuses_other_methods() {
    let s = Server::new();
    for method in ["GET", "HEAD", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "FOO"] {
        let r = s.send(Request::new(method, url("/token?grant_type=authorization_code")));
        assert_json_error(&r, 405, "invalid_request", method);
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "{method}");
        let r = s.send(Request::new(method, url("/register")));
        assert_json_error(&r, 405, "invalid_request", method);
    }
    let r = s.send(Request::new("DELETE", url("/authorize")));
    assert_page(&r, 405, "DELETE /authorize");
}

#[test]
fn malformed_token_requests_are_json_errors_that_do_not_consume_the_code() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let good = token_body(&code, "yourapp.com", REDIRECT, &verifier);
    let swap = |from: &str, to: &str| good.replace(from, to);
    let json_body = serde_json::json!({"grant_type":"authorization_code","code":code,"client_id":"yourapp.com","redirect_uri":REDIRECT,"code_verifier":verifier}).to_string();
    let cases: Vec<(String, Option<&str>, u16, &str, &str)> = vec![
        (swap("authorization_code", "refresh_token"), Some(FORM), 400, "unsupported_grant_type", "refresh_token"),
        (
            swap("authorization_code", "client_credentials"),
            Some(FORM),
            400,
            "unsupported_grant_type",
            "client_credentials",
        ),
        (swap("authorization_code", "password"), Some(FORM), 400, "unsupported_grant_type", "password"),
        (swap("authorization_code", "implicit"), Some(FORM), 400, "unsupported_grant_type", "implicit"),
        (
            swap("authorization_code", "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"),
            Some(FORM),
            400,
            "unsupported_grant_type",
            "device_code",
        ),
        (swap("authorization_code", "AUTHORIZATION_CODE"), Some(FORM), 400, "unsupported_grant_type", "upper case"),
        (
            swap("authorization_code", "authorization_code+"),
            Some(FORM),
            400,
            "unsupported_grant_type",
            "trailing space",
        ),
        (swap("grant_type=authorization_code&", ""), Some(FORM), 400, "invalid_request", "no grant_type"),
        (json_body.clone(), Some("application/json"), 400, "invalid_request", "JSON"),
        (good.clone(), Some("application/json"), 400, "invalid_request", "a form labelled JSON"),
        (good.clone(), Some("text/plain"), 400, "invalid_request", "text/plain"),
        (good.clone(), Some("multipart/form-data; boundary=x"), 400, "invalid_request", "multipart"),
        (good.clone(), Some("application/x-www-form-urlencodedx"), 400, "invalid_request", "look-alike type"),
        (good.clone(), None, 400, "invalid_request", "no content type"),
        (format!("{good}&x=%zz"), Some(FORM), 400, "invalid_request", "%zz"),
        (format!("{good}&x=%"), Some(FORM), 400, "invalid_request", "lone %"),
        (format!("{good}&x=%4"), Some(FORM), 400, "invalid_request", "%4"),
        (format!("{good}&x=%C3%28"), Some(FORM), 400, "invalid_request", "invalid UTF-8"),
        (format!("{good}&x=%FF"), Some(FORM), 400, "invalid_request", "%FF"),
        (format!("{good}&grant_type=authorization_code"), Some(FORM), 400, "invalid_request", "repeated grant_type"),
        (format!("{good}&code={code}"), Some(FORM), 400, "invalid_request", "repeated code"),
        (format!("{good}&client_id=yourapp.com"), Some(FORM), 400, "invalid_request", "repeated client_id"),
        (format!("{good}&redirect_uri={}", enc(REDIRECT)), Some(FORM), 400, "invalid_request", "repeated redirect_uri"),
        (format!("{good}&code_verifier={verifier}"), Some(FORM), 400, "invalid_request", "repeated code_verifier"),
        (format!("{good}&resource=a&resource=b"), Some(FORM), 400, "invalid_request", "repeated resource"),
        (swap("client_id=yourapp.com&", ""), Some(FORM), 401, "invalid_client", "no client_id"),
        (
            swap("client_id=yourapp.com", "client_id=has%20space"),
            Some(FORM),
            401,
            "invalid_client",
            "malformed client_id",
        ),
        (
            swap("client_id=yourapp.com", "client_id=pc1.forged.AAAAAAAAAAAAAAAAAAAAAA"),
            Some(FORM),
            401,
            "invalid_client",
            "forged client_id",
        ),
        (swap(&format!("redirect_uri={}&", enc(REDIRECT)), ""), Some(FORM), 400, "invalid_request", "no redirect_uri"),
        (swap(&format!("code={code}&"), ""), Some(FORM), 400, "invalid_request", "no code"),
    ];
    for (body, ct, status, error, what) in cases {
        assert_json_error(&s.send(typed_post("/token", ct, body)), status, error, what);
    }
    // Non-UTF-8 bodies.
    let r = s.send(form_request("/token", vec![0xff, 0xfe, b'=', 0x80]));
    assert_json_error(&r, 400, "invalid_request", "non-UTF-8");
    // The code survived every malformed request, and a charset parameter is fine.
    let r = s.post("/token", "application/x-www-form-urlencoded; charset=UTF-8", &good, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("set-cookie").is_none());
}

#[test]
fn every_token_response_is_no_store_without_a_cookie() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let good = token_body(&code, "yourapp.com", REDIRECT, &verifier);
    let cookie = [("cookie", "__Host-parallel-oauth-key=x; __Host-parallel-oauth-csrf=y")];
    let mut responses = vec![
        s.post("/token", FORM, &good, &cookie),
        s.post("/token", FORM, &good, &cookie),
        s.post("/token", FORM, "grant_type=x", &cookie),
        s.post("/token", FORM, &"a".repeat(70_000), &cookie),
        s.send(Request::new("GET", url("/token")).with_header("cookie", cookie[0].1)),
    ];
    s.store.set_failing(true);
    responses.push(s.post("/token", FORM, &good, &cookie));
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[5].status, 503);
    for r in &responses {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.status);
        assert_eq!(r.header("pragma"), Some("no-cache"), "{}", r.status);
        assert!(r.header("set-cookie").is_none(), "{}", r.status);
        assert_eq!(r.header("content-type"), Some("application/json"), "{}", r.status);
        assert!(r.header("access-control-allow-credentials").is_none());
    }
}

#[test]
fn malformed_registrations_are_400_json() {
    let s = Server::new();
    let valid = r#"{"redirect_uris":["https://a.example/cb"]}"#;
    let deep_array = "[".repeat(20_000) + &"]".repeat(20_000);
    let deep_field =
        format!(r#"{{"redirect_uris":["https://a.example/cb"],"x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let many =
        serde_json::json!({ "redirect_uris": (0..11).map(|i| format!("https://a.example/{i}")).collect::<Vec<_>>() })
            .to_string();
    let cases: Vec<(String, Option<&str>, &str, &str)> = vec![
        (String::new(), Some("application/json"), "invalid_client_metadata", "empty"),
        ("not json".into(), Some("application/json"), "invalid_client_metadata", "not JSON"),
        ("{".into(), Some("application/json"), "invalid_client_metadata", "truncated"),
        ("<xml/>".into(), Some("application/json"), "invalid_client_metadata", "XML"),
        (
            "redirect_uris=https%3A%2F%2Fa.example%2Fcb".into(),
            Some("application/json"),
            "invalid_client_metadata",
            "a form",
        ),
        ("[]".into(), Some("application/json"), "invalid_client_metadata", "array"),
        ("\"s\"".into(), Some("application/json"), "invalid_client_metadata", "string"),
        ("1".into(), Some("application/json"), "invalid_client_metadata", "number"),
        ("null".into(), Some("application/json"), "invalid_client_metadata", "null"),
        (format!("{valid} trailing"), Some("application/json"), "invalid_client_metadata", "trailing garbage"),
        (deep_array, Some("application/json"), "invalid_client_metadata", "20000-deep array"),
        (deep_field, Some("application/json"), "invalid_client_metadata", "10000-deep field"),
        (valid.into(), Some("text/plain"), "invalid_client_metadata", "text/plain"),
        (valid.into(), Some("application/x-www-form-urlencoded"), "invalid_client_metadata", "form type"),
        (valid.into(), Some("multipart/form-data; boundary=x"), "invalid_client_metadata", "multipart"),
        (valid.into(), Some("text/html"), "invalid_client_metadata", "text/html"),
        (valid.into(), Some("application/xml"), "invalid_client_metadata", "xml type"),
        ("{}".into(), Some("application/json"), "invalid_redirect_uri", "no redirect_uris"),
        (many, Some("application/json"), "invalid_redirect_uri", "11 redirect URIs"),
        (r#"{"redirect_uris":[{"a":1}]}"#.into(), Some("application/json"), "invalid_redirect_uri", "object URI"),
        (
            r#"{"redirect_uris":["https://a.example/cb"],"client_name":"a\u0000b"}"#.into(),
            Some("application/json"),
            "invalid_client_metadata",
            "NUL in name",
        ),
        (
            r#"{"redirect_uris":["https://a.example/cb"],"client_name":"a\nb"}"#.into(),
            Some("application/json"),
            "invalid_client_metadata",
            "LF in name",
        ),
        (
            format!(r#"{{"redirect_uris":["https://a.example/cb"],"client_name":"{}"}}"#, "n".repeat(101)),
            Some("application/json"),
            "invalid_client_metadata",
            "101-character name",
        ),
        (
            r#"{"redirect_uris":["https://a.example/cb"],"client_uri":"javascript:alert(1)"}"#.into(),
            Some("application/json"),
            "invalid_client_metadata",
            "javascript client_uri",
        ),
        (
            r#"{"redirect_uris":["https://a.example/cb"],"logo_uri":"data:image/svg+xml,<svg onload=alert(1)>"}"#
                .into(),
            Some("application/json"),
            "invalid_client_metadata",
            "data logo_uri",
        ),
    ];
    for (body, ct, error, what) in cases {
        assert_json_error(&s.send(typed_post("/register", ct, body)), 400, error, what);
    }
    let r = s.send(typed_post("/register", Some("application/json"), vec![0xff, b'{', 0x80]));
    assert_json_error(&r, 400, "invalid_client_metadata", "non-UTF-8");
    let big = format!(r#"{{"redirect_uris":["https://a.example/cb"],"x":"{}"}}"#, "a".repeat(64 * 1024));
    assert_json_error(&s.post("/register", "application/json", &big, &[]), 413, "invalid_request", "over 64 KB");
    // The good registration answers 201, not cacheable, without a cookie.
    let r = s.post("/register", "application/json; charset=utf-8", valid, &[]);
    assert_eq!(r.status, 201);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("set-cookie").is_none());
}

// ================================================================ cookies and secrets

#[test]
fn tampered_truncated_wrong_key_and_old_key_remember_cookies_are_ignored() {
    let s = Server::new();
    let (query, _) = default_query("sec");
    let good = remember_cookie(&remember_jar(&s, &query));
    let codes = s.store.len();
    let older = Server::with(Config::default(), OLDER_SECRET, None);
    let old_key_cookie = remember_cookie(&remember_jar(&older, &query));
    let other = Server::with(Config::default(), OLD_SECRET, None);
    let wrong_key_cookie = remember_cookie(&remember_jar(&other, &query));
    // A value we sealed for another purpose (the consent form) in the cookie.
    let sealed_form = {
        let (page, _) = s.open_consent(&query);
        url::form_urlencoded::parse(format!("v={}", hidden(&page, "request")).as_bytes()).next().unwrap().1.into_owned()
    };
    let mut cases: Vec<(String, String)> = vec![
        ("wrong key".into(), wrong_key_cookie),
        ("old key, no longer configured".into(), old_key_cookie),
        ("sealed for the consent form".into(), sealed_form),
        ("empty".into(), String::new()),
        ("garbage".into(), "%%%<>\"'".into()),
        ("padding".into(), format!("{good}==")),
        ("standard base64".into(), good.replace('-', "+").replace('_', "/")),
        ("huge".into(), "A".repeat(8192)),
        ("plaintext key".into(), KEY.into()),
        ("JSON".into(), format!(r#"{{"k":"{KEY}","t":{T0}}}"#)),
    ];
    for n in [0, 1, 4, 16, 20, 30, good.len() / 2, good.len() - 1] {
        cases.push((format!("truncated to {n}"), good[..n].to_string()));
    }
    for i in (0..good.len()).step_by(3) {
        cases.push((format!("byte {i} changed"), flip(&good, i)));
    }
    for (what, value) in cases {
        if value == good {
            continue;
        }
        let mut jar = with_remember(&value);
        let page = s.consent_page(&query, &mut jar);
        assert_eq!(page.status, 200, "{what}");
        assert!(!page.text().contains("key_choice_saved"), "{what}: a cookie that does not open counts as absent");
        let r = s.answer(&page, "key_choice=saved&action=approve", &mut jar);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(r.header("location").is_none(), "{what}");
        assert!(r.text().contains("role=\"alert\""), "{what}");
    }
    // A duplicated remember cookie counts as absent too.
    let mut jar = with_remember(&good);
    jar.0.push((REMEMBER_COOKIE.into(), good.clone()));
    assert!(!s.consent_page(&query, &mut jar).text().contains("key_choice_saved"));
    // A cookie older than 30 days is ignored.
    let s2 = Server::new();
    let jar = remember_jar(&s2, &query);
    s2.now.set(T0 + 30 * 24 * 3600 + 1);
    let mut jar = Jar(jar.0);
    assert!(!s2.consent_page(&query, &mut jar).text().contains("key_choice_saved"));
    assert_eq!(s.store.len(), codes, "no code from any of them");
}

#[test]
fn tampered_csrf_cookie_is_replaced_never_an_error() {
    let s = Server::new();
    let (query, _) = default_query("sec");
    for bad in [
        "",
        "x",
        "%%%",
        &"A".repeat(42),
        &"A".repeat(44),
        &"A".repeat(5000),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ] {
        let mut jar = Jar(vec![(CSRF_COOKIE.into(), bad.to_string())]);
        let page = s.consent_page(&query, &mut jar);
        assert_eq!(page.status, 200, "{bad:?}");
        let set = page.header("set-cookie").expect("a fresh CSRF cookie");
        assert!(
            set.starts_with("__Host-parallel-oauth-csrf=") && set.contains("Secure") && set.contains("HttpOnly"),
            "{set}"
        );
        assert_eq!(s.answer(&page, APPROVE, &mut jar).status, 303, "{bad:?}");
    }
}

#[test]
fn rotation_with_the_previous_secret_keeps_cookies_forms_and_client_ids() {
    let store = MemoryStore::new();
    let old = Provider::new(Config::default(), OLD_SECRET, None).unwrap();
    let rotated = Provider::new(Config::default(), SECRET, Some(OLD_SECRET)).unwrap();
    let dropped = Provider::new(Config::default(), SECRET, None).unwrap();
    let seeds = Cell::new(50u8);
    let authorize = |p: &Provider, query: &str, jar: &Jar| {
        seeds.set(seeds.get() + 1);
        send_with(p, &store, authorize_request(query).with_header("cookie", &jar.header()), T0, seeds.get())
    };
    let consent = |p: &Provider, page: &Response, fields: &str, jar: &Jar, seed: u8| {
        send_with(p, &store, consent_form(page, fields, &jar.header()), T0, seed)
    };
    let register = |p: &Provider, seed: u8| {
        let body = r#"{"redirect_uris":["https://a.example/cb"],"client_name":"A"}"#;
        client_id_of(&send_with(p, &store, typed_post("/register", Some("application/json"), body), T0, seed))
    };
    // Under the old secret: a signed client, a remember cookie, an open form.
    let client = register(&old, 2);
    let (verifier, challenge) = pkce("rot");
    let query = auth_query(&client, "https://a.example/cb", &challenge, "");
    let mut jar = Jar::default();
    let page = authorize(&old, &query, &jar);
    jar.update(&page);
    let r = consent(&old, &page, APPROVE_AND_REMEMBER, &jar, 3);
    assert_eq!(r.status, 303);
    jar.update(&r);
    let open_form = authorize(&old, &query, &jar);
    jar.update(&open_form);

    // Rotated: SECRET is new, SECRET_PREVIOUS the old one. Everything still works.
    let page = authorize(&rotated, &query, &jar);
    assert_eq!(page.status, 200, "signed client_id from the old secret: {}", page.text());
    assert!(page.text().contains("key_choice_saved"), "remember cookie from the old secret");
    let r = consent(&rotated, &open_form, "key_choice=saved&action=approve", &jar, 4);
    assert_eq!(r.status, 303, "a form sealed before the rotation: {}", r.text());
    let token = token_body(&code_of(&r), &client, "https://a.example/cb", &verifier);
    let t = send_with(&rotated, &store, form_request("/token", token), T0, 5);
    assert_eq!(json(&t)["access_token"], KEY);
    // New registrations are signed with the new secret only.
    let new_client = register(&rotated, 6);
    assert_ne!(new_client, client);
    let new_query = auth_query(&new_client, "https://a.example/cb", &challenge, "");
    assert_eq!(authorize(&dropped, &new_query, &Jar::default()).status, 200);

    // Once SECRET_PREVIOUS is removed, the old values are simply not ours.
    let page = authorize(&dropped, &query, &jar);
    assert_page(&page, 400, "old signed client_id after the previous secret is dropped");
    let host_query = auth_query("a.example", "https://a.example/cb", &challenge, "");
    let page = authorize(&dropped, &host_query, &jar);
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("key_choice_saved"), "old remember cookie ignored");
    let page2 = authorize(&old, &host_query, &jar);
    let r = consent(&dropped, &page2, APPROVE, &jar, 7);
    assert_page(&r, 403, "form sealed under a secret no longer configured");
}

#[test]
fn missing_or_short_secret_fails_closed_with_a_clear_error() {
    for (secret, previous) in [
        ("", None),
        ("short", None),
        (&"x".repeat(31)[..], None),
        (&"é".repeat(15)[..], None),
        (SECRET, Some("short")),
        (SECRET, Some(&"y".repeat(31)[..])),
    ] {
        let err = match Provider::new(Config::default(), secret, previous) {
            Ok(_) => panic!("{secret:?} / {previous:?} must be refused"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(text.contains("SECRET") && text.contains("32"), "{text}");
    }
    assert!(Provider::new(Config::default(), &"x".repeat(32), None).is_ok());
    assert!(Provider::new(Config::default(), SECRET, Some("")).is_ok(), "an empty SECRET_PREVIOUS means none");
}

// ================================================================ availability

#[test]
fn store_failure_at_consent_shows_try_again_and_issues_nothing() {
    let s = Server::new();
    let (query, verifier) = default_query("sec");
    let (page, mut jar) = s.open_consent(&query);
    s.store.set_failing(true);
    let r = s.answer(&page, APPROVE_AND_REMEMBER, &mut jar);
    assert_page(&r, 503, "store down at consent");
    assert!(r.text().to_lowercase().contains("try again"), "{}", r.text());
    assert!(r.text().contains("temporarily_unavailable"));
    assert!(r.header("set-cookie").is_none(), "no remember cookie when nothing was shared");
    assert!(!r.text().contains(KEY));
    assert!(!jar.has(REMEMBER_COOKIE));
    // Deny does not need the store.
    s.store.set_failing(false);
    let (page2, mut jar2) = s.open_consent(&query);
    s.store.set_failing(true);
    assert_eq!(s.answer(&page2, "action=deny", &mut jar2).status, 303);
    // Discovery and registration do not need it either.
    assert_eq!(s.get("/.well-known/oauth-authorization-server").status, 200);
    assert_eq!(register_json(&s, &serde_json::json!({ "redirect_uris": [REDIRECT] })).status, 201);
    s.store.set_failing(false);
    assert!(s.store.is_empty(), "nothing half-written");
    // The same form works once the store is back.
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_eq!(s.redeem(&code_of(&r), &verifier).status, 200);
}

#[test]
fn store_failure_at_token_is_temporarily_unavailable_and_keeps_the_code() {
    let provider = Provider::new(Config::default(), SECRET, None).unwrap();
    let store = FlakyStore::default();
    let (query, verifier) = default_query("sec");
    let page = send_with(&provider, &store, authorize_request(&query), T0, 1);
    let mut jar = Jar::default();
    jar.update(&page);
    let consent = |seed| send_with(&provider, &store, consent_form(&page, APPROVE, &jar.header()), T0, seed);
    store.fail_put.set(true);
    assert_page(&consent(2), 503, "put fails");
    assert!(store.inner.is_empty());
    store.fail_put.set(false);
    let r = consent(3);
    assert_eq!(r.status, 303);
    let token = token_body(&code_of(&r), "yourapp.com", REDIRECT, &verifier);
    let redeem = |seed| send_with(&provider, &store, form_request("/token", token.clone()), T0, seed);
    store.fail_get.set(true);
    assert_json_error(&redeem(4), 503, "temporarily_unavailable", "get fails");
    store.fail_get.set(false);
    store.fail_delete.set(true);
    let r = redeem(5);
    assert_json_error(&r, 503, "temporarily_unavailable", "delete fails");
    assert!(!r.text().contains(KEY), "no key while the code could not be consumed");
    assert_eq!(store.inner.len(), 1, "the code is kept for a retry");
    store.fail_delete.set(false);
    let r = redeem(6);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["access_token"], KEY);
    assert_json_error(&redeem(7), 400, "invalid_grant", "used");
}

// ================================================================ CIMD

struct DocumentFetch(String);

impl parallel_oauth_provider::clients::cimd::Fetch for DocumentFetch {
    fn fetch<'a>(
        &'a self,
        _url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<parallel_oauth_provider::clients::cimd::Fetched, String>> + 'a>> {
        let body = self.0.clone().into_bytes();
        Box::pin(async move {
            Ok(parallel_oauth_provider::clients::cimd::Fetched {
                status: 200,
                cache_control: Some("no-store".into()),
                body,
            })
        })
    }
}

#[test]
fn client_metadata_documents_obey_the_same_redirect_rules() {
    let id = "https://app.example/oauth/client.json";
    let (_, challenge) = pkce("x");
    // The document's client_id and redirect URI, and the redirect_uri sent.
    for (client_id, registered, uri) in [
        (id, "javascript:alert(1)", "javascript:alert(1)"),
        (id, "https://app.example@evil.example/cb", "https://app.example@evil.example/cb"),
        (id, "http://evil.example/cb", "http://evil.example/cb"),
        ("https://evil.example/doc", "https://evil.example/cb", "https://evil.example/cb"),
        (id, "https://app.example/cb", "https://evil.example/cb"),
    ] {
        let doc = serde_json::json!({"client_id": client_id, "client_name": "A", "redirect_uris": [registered]});
        let provider = Provider::new(Config::default(), SECRET, None)
            .unwrap()
            .with_fetcher(Box::new(DocumentFetch(doc.to_string())));
        let store = MemoryStore::new();
        let r = send_with(&provider, &store, authorize_request(&auth_query(id, uri, &challenge, "")), T0, 1);
        assert_page(&r, 400, &format!("{doc}"));
    }
}

// ================================================================ parsers never panic (whole handler)

fn arb_method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"]).prop_map(str::to_string),
        1 => "[A-Za-z-]{1,10}",
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "/authorize",
            "/token",
            "/register",
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-authorization-server/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp/x",
            "/.well-known/openid-configuration",
            "/.well-known/",
        ])
        .prop_map(str::to_string),
        1 => "/[ -~]{0,40}".prop_map(|s| s.replace(['?', '#'], "")),
        1 => "/\\.well-known/[^?#]{0,40}",
    ]
}

/// Values that reach deep into the flows, mixed with noise.
fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "code", "S256", "plain", "yourapp.com", "https://yourapp.com/callback", "authorization_code", "approve", "deny",
            "forget", "saved", "new", "1", "api", "https://mcp.example/mcp", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "sk-test-0123456789abcdef", "http://127.0.0.1:9/cb", "javascript:alert(1)",
            "pc1.e30.AAAAAAAAAAAAAAAAAAAAAA", "https://claude.ai/oauth/doc", "%zz", "%", "",
        ])
        .prop_map(str::to_string),
        2 => ".{0,60}",
        1 => "[A-Za-z0-9_-]{40,50}",
    ]
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => prop::sample::select(vec![
            "response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method", "state", "scope", "resource",
            "grant_type", "code", "code_verifier", "request", "csrf", "api_key", "action", "key_choice", "remember", "client_secret",
        ])
        .prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

/// A query string or form body: known names with likely and unlikely values,
/// sometimes raw, sometimes properly encoded.
fn arb_params() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec((arb_name(), arb_value()), 0..10).prop_map(|pairs| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            for (n, v) in &pairs {
                s.append_pair(n, v);
            }
            s.finish()
        }),
        1 => prop::collection::vec((arb_name(), arb_value()), 0..10)
            .prop_map(|pairs| pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&")),
        1 => ".{0,300}",
    ]
}

fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        6 => prop::sample::select(vec![
            "cookie", "origin", "content-type", "authorization", "sec-fetch-site", "content-length", "referer", "accept", "host",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z-]{1,20}",
    ];
    let value = prop_oneof![
        3 => prop::sample::select(vec![
            "application/x-www-form-urlencoded", "application/json", "text/plain", "null", "https://oauth.example", "https://evil.example",
            "same-origin", "cross-site", "none", "Basic eW91cmFwcC5jb206eA==", "Basic !!!", "Bearer x",
            "__Host-parallel-oauth-key=AAAA; __Host-parallel-oauth-csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "__Host-parallel-oauth-key=; ;;=;a", "99999999999999999999",
        ])
        .prop_map(str::to_string),
        2 => "[ -~]{0,80}",
        // Any field value HTTP can carry (no CR, LF, NUL or other controls).
        1 => "[\t -~\u{80}-\u{10ffff}]{0,40}",
    ];
    prop::collection::vec((name, value), 0..6)
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => arb_params().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..300),
        1 => arb_json().prop_map(|v| v.to_string().into_bytes()),
    ]
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        arb_value().prop_map(serde_json::Value::String),
    ];
    let tree = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((arb_meta_field(), inner), 0..6)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    });
    // Registrations that are mostly right, with one field anything.
    let nearly =
        (prop::collection::vec(arb_value(), 0..4), arb_meta_field(), tree.clone()).prop_map(|(uris, field, v)| {
            let mut m = serde_json::Map::new();
            m.insert("redirect_uris".into(), serde_json::json!(uris));
            m.insert(field, v);
            serde_json::Value::Object(m)
        });
    prop_oneof![tree, nearly]
}

fn arb_meta_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "redirect_uris", "client_name", "grant_types", "response_types", "token_endpoint_auth_method", "client_uri", "logo_uri",
            "scope", "application_type", "software_id",
        ])
        .prop_map(str::to_string),
        1 => ".{0,10}",
    ]
}

/// What must hold for every response to every request.
fn check_invariants(r: &Response, store_failing: bool, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500 || (store_failing && r.status == 503), "{what}: status {}", r.status);
    prop_assert!(r.status >= 200, "{what}");
    if let Some(loc) = r.header("location") {
        prop_assert!(matches!(r.status, 302 | 303), "{what}: Location on a {}", r.status);
        prop_assert!(!loc.bytes().any(|b| b < 0x20 || b == 0x7f) && loc.is_ascii(), "{what}: Location {loc:?}");
        if !loc.starts_with('/') {
            prop_assert!(RedirectUri::parse(loc).is_ok(), "{what}: redirect to an invalid URI {loc}");
        }
    }
    for (name, value) in &r.headers {
        prop_assert!(!value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0), "{what}: {name}: {value:?}");
    }
    if r.header("content-type").is_some_and(|c| c.starts_with("text/html")) {
        prop_assert!(r.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")));
    }
    if r.header("content-type") == Some("application/json") {
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_ok(), "{what}: invalid JSON");
    }
    Ok(())
}

/// PROPTEST_CASES cases (512 unless set; 100000 for a long run). Failures
/// print their minimal input; nothing is written next to the tests.
fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Arbitrary method, path, query, headers and body: no panic, no 5xx
    /// (except 503 while the store fails), no raw control character in a
    /// header, and a Location only ever to a URI that passes the rules.
    #[test]
    fn handler_never_panics_or_fails_on_arbitrary_requests(
        method in arb_method(),
        path in arb_path(),
        query in prop::option::of(arb_params()),
        headers in arb_headers(),
        body in arb_body(),
        failing in prop::bool::weighted(0.2),
        seed in any::<u8>(),
    ) {
        let s = Server::new();
        let mut u = url("/");
        u.set_path(&path);
        u.set_query(query.as_deref());
        let mut request = Request::new(&method, u).with_body(body);
        for (n, v) in &headers {
            request = request.with_header(n, v);
        }
        s.store.set_failing(failing);
        let what = format!("{method} {path}");
        if let Some(r) = block_on(s.provider.handle(&request, &s.store, T0, [seed; 32])) {
            check_invariants(&r, failing, &what)?;
        }
    }

    /// Arbitrary redirect URIs at /register and /authorize: whatever is
    /// accepted passes the rules, and no redirect goes anywhere else.
    #[test]
    fn arbitrary_redirect_uris_never_lead_to_an_unvalidated_redirect(
        uri in prop_oneof![
            "(https?|javascript|data|cursor|vbscript|file|blob|JaVaScRiPt)(:|://|:/|:\\\\)[a-z0-9.@:/#%?\\\\ \t\r\n\u{0}\u{2028}а-я-]{0,40}",
            ".{0,60}",
        ],
        state in ".{0,40}",
    ) {
        let s = Server::new();
        let reg = register_json(&s, &serde_json::json!({ "redirect_uris": [uri] }));
        check_invariants(&reg, false, "register")?;
        let accepted = reg.status == 201;
        prop_assert_eq!(accepted, RedirectUri::parse(&uri).is_ok());
        let (_, challenge) = pkce("p");
        let client = if accepted { client_id_of(&reg) } else { "yourapp.com".into() };
        for response_type in ["code", "token"] {
            let q = format!(
                "response_type={response_type}&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&state={}",
                enc(&client), enc(&uri), enc(&state)
            );
            let r = s.authorize(&q);
            check_invariants(&r, false, "authorize")?;
            if r.status == 302 {
                let valid = RedirectUri::parse(&uri).unwrap();
                prop_assert!(r.header("location").unwrap().starts_with(valid.as_str()));
            } else if !accepted {
                prop_assert!(r.header("location").is_none());
            }
            // What was registered is usable (private-use schemes: see
            // registered_client_id_for_a_private_use_uri_resolves).
            if accepted && response_type == "code" && RedirectUri::parse(&uri).unwrap().url().scheme().starts_with("http") {
                prop_assert_eq!(r.status, 200, "{}", r.text());
            }
        }
    }

    /// The consent form with every field and header anything: no panic, no
    /// 5xx, and a code only for the genuine, same-origin post.
    #[test]
    fn consent_post_with_arbitrary_fields_is_safe(
        request_field in prop_oneof![Just(None), Just(Some("good".to_string())), Just(Some("flip".to_string())), arb_value().prop_map(Some)],
        csrf_field in prop_oneof![Just(None), Just(Some("good".to_string())), arb_value().prop_map(Some)],
        cookie in prop_oneof![Just(None), Just(Some("good".to_string())), "[ -~]{0,80}".prop_map(Some)],
        origin in prop::option::of(prop::sample::select(vec!["https://oauth.example", "null", "https://evil.example", "http://oauth.example", ""])),
        site in prop::option::of(prop::sample::select(vec!["same-origin", "none", "same-site", "cross-site", "x"])),
        extra in prop::collection::vec((arb_name(), arb_value()), 0..6),
        failing in prop::bool::weighted(0.1),
    ) {
        let s = Server::new();
        let (query, _) = default_query("sec");
        let (page, jar) = s.open_consent(&query);
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        let decode = |v: String| url::form_urlencoded::parse(format!("v={v}").as_bytes()).next().unwrap().1.into_owned();
        let sealed = decode(hidden(&page, "request"));
        let csrf = decode(hidden(&page, "csrf"));
        let mut genuine = true;
        match request_field.as_deref() {
            None => genuine = false,
            Some("good") => { form.append_pair("request", &sealed); }
            Some("flip") => { form.append_pair("request", &sealed.replacen(|c: char| c.is_ascii_alphanumeric(), "_", 1)); genuine = false; }
            Some(v) => { form.append_pair("request", v); genuine = false; }
        }
        match csrf_field.as_deref() {
            Some("good") => { form.append_pair("csrf", &csrf); }
            Some(v) => { form.append_pair("csrf", v); genuine = false; }
            None => genuine = false,
        }
        for (n, v) in &extra {
            if n == "request" || n == "csrf" { genuine = false; }
            form.append_pair(n, v);
        }
        let mut request = form_request("/authorize", form.finish());
        match cookie.as_deref() {
            Some("good") => { request = request.with_header("cookie", &jar.header()); }
            Some(c) => { request = request.with_header("cookie", c); genuine = false; }
            None => genuine = false,
        }
        if let Some(o) = origin {
            if !matches!(o, "https://oauth.example" | "null") { genuine = false; }
            request = request.with_header("origin", o);
        }
        if let Some(site) = site {
            if !matches!(site, "same-origin" | "none") { genuine = false; }
            request = request.with_header("sec-fetch-site", site);
        }
        s.store.set_failing(failing);
        let r = block_on(s.provider.handle(&request, &s.store, T0, [9; 32])).unwrap();
        check_invariants(&r, failing, "consent")?;
        if r.header("location").is_some_and(|l| l.contains("code=")) {
            prop_assert!(genuine, "a code for a post that is not genuine");
            prop_assert!(r.header("location").unwrap().starts_with("https://yourapp.com/callback?"));
        }
        if !genuine {
            prop_assert!(s.store.is_empty());
        }
    }

    /// The token endpoint with the real code and every other field anything:
    /// the key only for exactly the right request; no-store, no cookie, always.
    #[test]
    fn token_request_with_arbitrary_fields_is_safe(
        fields in prop::collection::vec((arb_name(), arb_value()), 0..8),
        keep in prop::collection::vec(any::<bool>(), 5),
        auth in prop::option::of(prop::sample::select(vec!["Basic eW91cmFwcC5jb206eA==", "Basic ZXZpbC5leGFtcGxlOng=", "Basic !!!", "Bearer x", ""])),
    ) {
        let s = Server::new();
        let (code, verifier) = full_flow(&s);
        let right = [
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("client_id", "yourapp.com".to_string()),
            ("redirect_uri", REDIRECT.to_string()),
            ("code_verifier", verifier.clone()),
        ];
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (i, (n, v)) in right.iter().enumerate() {
            if keep[i] { form.append_pair(n, v); }
        }
        for (n, v) in &fields {
            form.append_pair(n, v);
        }
        let mut request = form_request("/token", form.finish());
        if let Some(a) = auth {
            request = request.with_header("authorization", a);
        }
        let r = s.send(request);
        check_invariants(&r, false, "token")?;
        prop_assert_eq!(r.header("cache-control"), Some("no-store"));
        prop_assert!(r.header("set-cookie").is_none());
        let names: std::collections::HashSet<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        let extras_harmless = names.len() == fields.len()
            && fields.iter().all(|(n, _)| !right.iter().any(|(r, _)| r == n) && n != "resource");
        let exact = keep.iter().all(|k| *k) && extras_harmless && (auth.is_none() || auth == Some("Basic eW91cmFwcC5jb206eA=="));
        if r.status == 200 {
            let body = json(&r);
            prop_assert_eq!(body["access_token"].as_str(), Some(KEY));
            // (The other right values are in the pool the extra fields draw from.)
            prop_assert!(keep[1] && keep[4], "the key without the code and its verifier");
        } else {
            prop_assert!(!r.text().contains(KEY));
        }
        if exact {
            prop_assert_eq!(r.status, 200, "{}", r.text());
        }
    }

    /// Arbitrary JSON at /register: 201 or a JSON 400, and whatever is
    /// registered is usable at /authorize with its first redirect URI.
    #[test]
    fn registration_of_arbitrary_json_is_safe(body in arb_json(), ct in prop::option::of(prop::sample::select(vec!["application/json", "text/plain", "application/vnd.x+json"]))) {
        let s = Server::new();
        let r = s.send(typed_post("/register", ct, body.to_string()));
        check_invariants(&r, false, "register")?;
        prop_assert!(r.status == 201 || r.status == 400, "{}", r.status);
        if r.status == 201 {
            let reg = json(&r);
            prop_assert!(!r.text().contains("null"));
            let client = reg["client_id"].as_str().unwrap();
            let uri = reg["redirect_uris"][0].as_str().unwrap();
            let (_, challenge) = pkce("p");
            let page = s.authorize(&auth_query(client, uri, &challenge, ""));
            prop_assert_eq!(page.status, 200, "{}", page.text());
        } else {
            let e = json(&r)["error"].as_str().unwrap().to_string();
            prop_assert!(e == "invalid_client_metadata" || e == "invalid_redirect_uri", "{e}");
        }
    }

    /// Arbitrary Cookie headers never break the consent page or the form.
    #[test]
    fn arbitrary_cookie_headers_are_ignored_not_fatal(cookie in prop_oneof![
        "[ -~]{0,200}",
        ".{0,100}",
        "(__Host-parallel-oauth-(key|csrf)=[A-Za-z0-9_=%-]{0,120}; ?){1,4}",
    ]) {
        let s = Server::new();
        let (query, _) = default_query("sec");
        let page = s.send(authorize_request(&query).with_header("cookie", &cookie));
        check_invariants(&page, false, "consent page")?;
        prop_assert_eq!(page.status, 200);
        let r = s.send(consent_form(&page, "key_choice=saved&action=approve", &cookie));
        check_invariants(&r, false, "consent post")?;
        prop_assert!(r.header("location").is_none_or(|l| !l.contains("code=")));
    }
}

// ================================================================ parsers never panic (one function at a time)

fn test_keys() -> parallel_oauth_provider::crypto::seal::Keys {
    parallel_oauth_provider::crypto::seal::Keys::derive(
        &parallel_oauth_provider::crypto::secret::Secret::new(SECRET).unwrap(),
        None,
    )
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Cookie decoding: any Cookie header, for either of our cookies.
    #[test]
    fn cookie_decoding_never_panics(header in prop_oneof!["[ -~]{0,200}", ".{0,100}", "(__Host-parallel-oauth-key=[A-Za-z0-9_=%;-]{0,150}; ?){1,3}"]) {
        use parallel_oauth_provider::pages::cookie;
        let request = Request::new("GET", url("/authorize")).with_header("cookie", &header);
        prop_assert!(cookie::remembered(&request, &test_keys(), T0).is_none());
        let (token, set) = cookie::csrf_token(&request, &mut parallel_oauth_provider::crypto::entropy::Entropy::new([1; 32]));
        prop_assert!(cookie::is_csrf_token(&token));
        if let Some(set) = set {
            prop_assert!(!set.bytes().any(|b| b < 0x20));
        }
        let _ = request.cookie(CSRF_COOKIE);
    }

    /// Client ids (host names and signed ids) from anyone.
    #[test]
    fn client_id_resolution_never_panics(id in prop_oneof![".{0,80}", "pc1\\.[A-Za-z0-9_-]{0,80}(\\.[A-Za-z0-9_-]{0,30})?"]) {
        let _ = parallel_oauth_provider::clients::client::Client::resolve(&id, &test_keys());
    }

    /// Codes and stored grants: any text as a code, any stored value.
    #[test]
    fn code_parsing_and_opening_never_panic(text in ".{0,60}", stored in "[A-Za-z0-9_-]{0,300}") {
        use parallel_oauth_provider::grants::code::Code;
        if let Some(code) = Code::parse(&text) {
            prop_assert!(code.open(&stored).is_none());
            prop_assert!(!code.store_key().contains(code.as_str()));
        }
        let code = Code::new([7; 32]);
        prop_assert!(code.open(&stored).is_none());
    }

    /// The token request parser with any body, content type and Authorization.
    #[test]
    fn token_request_parsing_never_panics(body in arb_body(), ct in prop::option::of("[ -~]{0,40}"), auth in prop::option::of("(Basic|basic|Bearer) [ -~]{0,60}")) {
        let mut request = typed_post("/token", ct.as_deref(), body);
        if let Some(auth) = auth { request = request.with_header("authorization", &auth); }
        if let Err(e) = parallel_oauth_provider::endpoints::token::parse(&request) {
            prop_assert!(e.to_response().status < 500);
        }
    }

    /// Registration JSON, directly.
    #[test]
    fn registration_parsing_never_panics(body in arb_body(), ct in prop::option::of("[ -~]{0,40}")) {
        match parallel_oauth_provider::clients::register::register(ct.as_deref(), &body, &test_keys(), T0) {
            Ok(v) => prop_assert!(v["client_id"].is_string()),
            Err(e) => prop_assert_eq!(e.to_response().status, 400),
        }
    }

    /// The /authorize query reader, directly.
    #[test]
    fn authorize_query_parsing_never_panics(query in arb_params()) {
        let _ = parallel_oauth_provider::endpoints::authorize::parse(&query, &test_keys(), &Default::default());
    }

    /// Client ID Metadata Documents: any URL, any document, any Cache-Control.
    #[test]
    fn client_metadata_documents_never_panic(id in prop_oneof![".{0,60}", "https://[a-z.]{1,20}/[ -~]{0,30}"], body in arb_body(), status in any::<u16>(), cc in prop::option::of("[ -~]{0,60}")) {
        use parallel_oauth_provider::clients::cimd;
        let _ = cimd::is_document_url(&id, false);
        let fetched = cimd::Fetched { status, cache_control: cc.clone(), body };
        let _ = cimd::parse_document(&id, &fetched);
        prop_assert!(cimd::cache_lifetime(cc.as_deref()) <= cimd::MAX_CACHE);
    }
}
