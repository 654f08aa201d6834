//! The key check (`KEY_CHECK_URL`): the consent page asks the platform
//! whether a typed or saved key works before issuing anything. A fake
//! platform stands behind the `KeyChecker` the Workers adapter implements
//! with `fetch`; it records every call (URL, header, value).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use parallel_oauth_provider::config::{KeyCheck, KeyHeader};
use parallel_oauth_provider::grants::key_check::{BoxFuture, KeyChecker, Probe};

use super::*;

const URL: &str = "https://api.platform.example/v1/me?probe=cheap";
/// KEY with its last character missing: a paste that fell short.
const SHORT: &str = "sk-test-0123456789abcde";
const OTHER_KEY: &str = "sk-test-fedcba9876543210";
const REFUSED: &str = "Parallel.ai did not accept this key. Check that you copied all of it.";

thread_local! {
    static LOGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(line: &str) {
    LOGS.with(|l| l.borrow_mut().push(line.to_string()));
}

fn logs() -> Vec<String> {
    LOGS.with(|l| l.borrow().clone())
}

/// How the platform answers every call, whatever the key (an outage).
#[derive(Clone, Copy, Debug)]
enum Outage {
    Status(u16),
    /// A transport error without a status.
    Network,
    /// A transport error whose text quotes the header and the key.
    NetworkQuotingTheRequest,
    /// 200, but after 5 s.
    Slow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    url: String,
    header: String,
    value: String,
}

/// The platform's API: accepts the keys in `valid` when they come in the
/// header it expects (`x-api-key` as is, or `authorization: Bearer`),
/// answers 401 to anything else.
struct Platform {
    header: &'static str,
    valid: RefCell<Vec<String>>,
    outage: Cell<Option<Outage>>,
    calls: RefCell<Vec<Call>>,
}

impl Platform {
    fn answer(&self, probe: &Probe) -> Result<u16, String> {
        let key = match probe.header {
            "authorization" => probe.value.expose().strip_prefix("Bearer "),
            _ => Some(probe.value.expose()),
        };
        let ok = probe.header == self.header && key.is_some_and(|k| self.valid.borrow().iter().any(|v| v == k));
        Ok(if ok { 200 } else { 401 })
    }

    fn revoke(&self, key: &str) {
        self.valid.borrow_mut().retain(|k| k != key);
    }

    fn calls(&self) -> usize {
        self.calls.borrow().len()
    }
}

/// Ready once `until` has passed (`block_on` keeps polling).
fn until(until: Instant) -> impl Future<Output = ()> {
    std::future::poll_fn(move |_| if Instant::now() >= until { Poll::Ready(()) } else { Poll::Pending })
}

struct FakeChecker(Rc<Platform>);

impl KeyChecker for FakeChecker {
    fn send<'a>(&'a self, probe: &'a Probe<'a>) -> BoxFuture<'a, Result<u16, String>> {
        let p = &self.0;
        p.calls.borrow_mut().push(Call {
            url: probe.url.into(),
            header: probe.header.into(),
            value: probe.value.expose().into(),
        });
        let (delay, answer) = match p.outage.get() {
            None => (Duration::ZERO, p.answer(probe)),
            Some(Outage::Status(s)) => (Duration::ZERO, Ok(s)),
            Some(Outage::Network) => (Duration::ZERO, Err("connection refused".into())),
            Some(Outage::NetworkQuotingTheRequest) => {
                (Duration::ZERO, Err(format!("bad request {}: {}", probe.header, probe.value.expose())))
            }
            Some(Outage::Slow) => (Duration::from_secs(5), Ok(200)),
        };
        let ready = Instant::now() + delay;
        Box::pin(async move {
            until(ready).await;
            answer
        })
    }

    fn sleep(&self, ms: u64) -> BoxFuture<'static, ()> {
        Box::pin(until(Instant::now() + Duration::from_millis(ms)))
    }
}

fn check(header: KeyHeader, timeout_ms: u64) -> KeyCheck {
    KeyCheck { url: URL.into(), header, timeout_ms }
}

/// A provider whose KEY_CHECK_URL is the fake platform, which knows KEY
/// and OTHER_KEY; log lines go to `logs()`.
fn server_with(check: Option<KeyCheck>, platform_header: &'static str) -> (Server, Rc<Platform>) {
    LOGS.with(|l| l.borrow_mut().clear());
    let platform = Rc::new(Platform {
        header: platform_header,
        valid: RefCell::new(vec![KEY.into(), OTHER_KEY.into()]),
        outage: Cell::new(None),
        calls: RefCell::default(),
    });
    let config = Config { key_check: check, ..Config::default() };
    let provider = Provider::new(config, SECRET, None)
        .unwrap()
        .with_key_checker(Box::new(FakeChecker(platform.clone())))
        .with_logger(log);
    (Server::with_provider(provider), platform)
}

fn server() -> (Server, Rc<Platform>) {
    server_with(Some(check(KeyHeader::XApiKey, 3000)), "x-api-key")
}

fn typed(key: &str) -> String {
    format!("api_key={key}&action=approve")
}

/// `key` is nowhere in the response: body, Location, cookies, any header.
fn assert_key_nowhere(r: &Response, key: &str, what: &str) {
    assert!(!r.text().contains(key), "{what}: the key is in the page");
    for (name, value) in &r.headers {
        assert!(!value.contains(key), "{what}: the key is in {name}");
    }
}

/// The consent page again after a refusal: 400, the message in the alert
/// area, the form there with an empty key field, no code, no cookie set.
fn assert_refused_page(r: &Response, key: &str, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text());
    assert!(r.header("location").is_none(), "{what}: no redirect, so no code");
    let html = r.text();
    assert!(html.contains(&format!(r#"<p class="alert" role="alert" id="error">{REFUSED}</p>"#)), "{what}: {html}");
    assert!(html.contains(r#"name="request""#) && html.contains(r#"name="csrf""#), "{what}: the form is there");
    assert!(html.contains(r#"id="approve""#), "{what}");
    let field = &html[html.find(r#"id="api_key""#).expect("the key field")..];
    assert!(!field[..field.find('>').unwrap()].contains("value="), "{what}: the key field is empty");
    assert!(
        r.headers_named("set-cookie").all(|c| !c.starts_with(REMEMBER_COOKIE) || c.contains("Max-Age=0")),
        "{what}: no remember cookie"
    );
    assert_key_nowhere(r, key, what);
}

fn assert_logs_free_of(keys: &[&str]) {
    for line in logs() {
        for key in keys {
            assert!(!line.contains(key), "a log line holds a key: {line}");
        }
    }
}

#[test]
fn a_right_key_is_checked_once_in_its_header_and_completes_the_flow() {
    let (s, platform) = server();
    let (query, verifier) = default_query("kc-ok");
    let code = code_for(&s, &query);
    assert_eq!(
        *platform.calls.borrow(),
        [Call { url: URL.into(), header: "x-api-key".into(), value: KEY.into() }],
        "one call, to KEY_CHECK_URL, the key as is in x-api-key"
    );
    assert_eq!(json(&s.redeem(&code, &verifier))["access_token"], KEY);
    assert!(logs().is_empty(), "{:?}", logs());
}

#[test]
fn authorization_carries_a_bearer_key_and_other_headers_the_key_as_is() {
    let (s, platform) = server_with(Some(check(KeyHeader::Authorization, 3000)), "authorization");
    code_for(&s, &default_query("kc-bearer").0);
    assert_eq!(platform.calls.borrow()[0].header, "authorization");
    assert_eq!(platform.calls.borrow()[0].value, format!("Bearer {KEY}"));

    let (s, platform) = server_with(Some(check(KeyHeader::Other("x-parallel-key".into()), 3000)), "x-parallel-key");
    code_for(&s, &default_query("kc-other").0);
    assert_eq!(platform.calls.borrow()[0].header, "x-parallel-key");
    assert_eq!(platform.calls.borrow()[0].value, KEY);
}

#[test]
fn a_mistyped_key_gets_the_page_back_with_no_code_and_no_cookie_and_the_form_still_works() {
    let (s, platform) = server();
    let (query, verifier) = default_query("kc-short");
    let mut jar = Jar::default();
    let page = s.consent_page(&query, &mut jar);
    let r = s.answer(&page, &format!("api_key={SHORT}&remember=1&action=approve"), &mut jar);
    assert_refused_page(&r, SHORT, "a key one character short");
    assert!(s.store.is_empty(), "nothing written: no code");
    assert!(!jar.has(REMEMBER_COOKIE));
    assert!(r.text().contains(r#"name="remember" value="1" checked"#), "the rest of the form as posted");
    assert_eq!(hidden(&r, "request"), hidden(&page, "request"), "the same, unspent form");
    assert_eq!(platform.calls(), 1);

    // The page that came back answers again, with the right key.
    let ok = s.answer(&r, APPROVE_AND_REMEMBER, &mut jar);
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert!(jar.has(REMEMBER_COOKIE), "remembered once the key is accepted");
    assert_eq!(json(&s.redeem(&code_of(&ok), &verifier))["access_token"], KEY);
    // ... once only (after the 10 s in which a double click gets the same answer).
    s.now.set(s.now.get() + 11);
    assert_eq!(s.answer(&r, APPROVE, &mut jar).status, 403);
    assert_eq!(platform.calls(), 2, "the answered form is refused before any call");
    assert_logs_free_of(&[KEY, SHORT]);
}

#[test]
fn keys_of_every_kind_of_mistake_are_refused_the_same_way() {
    let (s, _) = server();
    for (what, key) in [
        ("truncated", SHORT),
        ("another platform's key", "ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
        ("revoked", "sk-test-revoked-000000000000"),
    ] {
        let (page, mut jar) = s.open_consent(&default_query(what).0);
        assert_refused_page(&s.answer(&page, &typed(key), &mut jar), key, what);
    }
    assert!(s.store.is_empty());
    assert!(logs().is_empty(), "a refusal is the platform's verdict, not an outage: {:?}", logs());
}

#[test]
fn a_refused_typed_key_keeps_the_saved_key_and_the_choice_of_a_new_one() {
    let (s, platform) = server();
    let mut jar = Jar::default();
    approve(&s, &default_query("kc-save").0, &mut jar, APPROVE_AND_REMEMBER);
    let page = s.consent_page(&default_query("kc-new").0, &mut jar);
    assert!(page.text().contains(r#"value="saved" checked"#));
    let r = s.answer(&page, &format!("key_choice=new&api_key={SHORT}&action=approve"), &mut jar);
    assert_refused_page(&r, SHORT, "a new key, mistyped");
    assert!(r.headers_named("set-cookie").next().is_none(), "the saved key stays");
    let html = r.text();
    assert!(html.contains(r#"id="key_choice_saved""#) && html.contains(r#"value="new" checked"#), "{html}");
    assert!(!html.contains(r#"value="saved" checked"#));
    assert_key_nowhere(&r, KEY, "the saved key");
    assert_eq!(platform.calls(), 2);
}

#[test]
fn a_saved_key_the_platform_has_revoked_is_forgotten_and_a_new_one_asked_for() {
    let (s, platform) = server();
    let mut jar = Jar::default();
    approve(&s, &default_query("kc-remember").0, &mut jar, APPROVE_AND_REMEMBER);
    assert!(jar.has(REMEMBER_COOKIE));
    platform.revoke(KEY);
    // Past the minute the accepted verdict is kept.
    s.now.set(s.now.get() + 61);

    let (query, verifier) = default_query("kc-saved");
    let page = s.consent_page(&query, &mut jar);
    assert!(page.text().contains("key_choice_saved"));
    let r = s.answer(&page, "key_choice=saved&action=approve", &mut jar);
    assert_refused_page(&r, KEY, "a revoked saved key");
    let cleared: Vec<&str> = r.headers_named("set-cookie").collect();
    assert!(
        cleared.len() == 1
            && cleared[0].starts_with(&format!("{REMEMBER_COOKIE}=;"))
            && cleared[0].contains("Max-Age=0"),
        "the remember cookie is cleared: {cleared:?}"
    );
    assert!(!jar.has(REMEMBER_COOKIE));
    let html = r.text();
    assert!(!html.contains("key_choice_saved") && !html.contains("Forget saved key"), "no saved key to offer");
    assert!(
        html.contains(r#"aria-describedby="error api_key_help" aria-invalid="true" required>"#),
        "a key must be typed, and the field says why it is marked: {html}"
    );
    assert_eq!(platform.calls.borrow().last().unwrap().value, KEY, "the saved key was checked");

    let ok = s.answer(&r, &typed(OTHER_KEY), &mut jar);
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert_eq!(json(&s.redeem(&code_of(&ok), &verifier))["access_token"], OTHER_KEY);
    assert_logs_free_of(&[KEY, OTHER_KEY]);
}

#[test]
fn verdicts_are_kept_a_minute_so_a_retried_consent_asks_once() {
    let (s, platform) = server();
    code_for(&s, &default_query("kc-cache-1").0);
    code_for(&s, &default_query("kc-cache-2").0);
    assert_eq!(platform.calls(), 1, "the second consent with the same key made no call");
    for _ in 0..2 {
        let (page, mut jar) = s.open_consent(&default_query("kc-cache-bad").0);
        assert_refused_page(&s.answer(&page, &typed(SHORT), &mut jar), SHORT, "cached refusal");
    }
    assert_eq!(platform.calls(), 2, "a refusal is kept too");

    s.now.set(s.now.get() + 59);
    code_for(&s, &default_query("kc-cache-3").0);
    assert_eq!(platform.calls(), 2);
    s.now.set(s.now.get() + 2);
    code_for(&s, &default_query("kc-cache-4").0);
    assert_eq!(platform.calls(), 3, "61 s later the platform is asked again");

    // Another provider (another isolate) keeps its own.
    let (other, other_platform) = server();
    code_for(&other, &default_query("kc-cache-5").0);
    assert_eq!(other_platform.calls(), 1);
}

#[test]
fn no_verdict_lets_sign_in_continue_and_logs_one_line_without_the_key() {
    for outage in [
        Outage::Status(429),
        Outage::Status(500),
        Outage::Status(502),
        Outage::Status(503),
        Outage::Status(302),
        Outage::Status(404),
        Outage::Network,
        Outage::NetworkQuotingTheRequest,
    ] {
        let what = format!("{outage:?}");
        let (s, platform) = server();
        platform.outage.set(Some(outage));
        // Even a wrong key goes through: it is not known to be bad, and
        // the API will be the judge.
        let (query, verifier) = default_query(&what);
        let (page, mut jar) = s.open_consent(&query);
        let r = s.answer(&page, &format!("api_key={SHORT}&remember=1&action=approve"), &mut jar);
        assert_eq!(r.status, 303, "{what}: {}", r.text());
        assert!(jar.has(REMEMBER_COOKIE), "{what}");
        assert_eq!(json(&s.redeem(&code_of(&r), &verifier))["access_token"], SHORT, "{what}");
        let lines = logs();
        assert_eq!(lines.len(), 1, "{what}: {lines:?}");
        assert!(lines[0].contains("https://api.platform.example/v1/me"), "{what}: {lines:?}");
        assert!(!lines[0].contains(SHORT) && !lines[0].contains("probe=cheap"), "{what}: {lines:?}");
        if let Outage::Status(status) = outage {
            assert!(lines[0].contains(&format!("status {status}")), "{what}: {lines:?}");
        }
        // No verdict is not kept: the next consent asks again.
        code_for(&s, &default_query(&format!("{what} again")).0);
        assert_eq!(platform.calls(), 2, "{what}");
    }
}

#[test]
fn a_slow_platform_is_cut_at_the_timeout_and_sign_in_continues() {
    let (s, platform) = server_with(Some(check(KeyHeader::XApiKey, 100)), "x-api-key");
    platform.outage.set(Some(Outage::Slow));
    let (page, mut jar) = s.open_consent(&default_query("kc-slow").0);
    let started = Instant::now();
    let r = s.answer(&page, APPROVE, &mut jar);
    let took = started.elapsed();
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(2), "took {took:?}");
    let lines = logs();
    assert!(lines.len() == 1 && lines[0].contains("timeout") && lines[0].contains("100 ms"), "{lines:?}");
    assert_logs_free_of(&[KEY]);
}

#[test]
fn without_key_check_url_nothing_is_sent() {
    let (s, platform) = server_with(None, "x-api-key");
    let (page, mut jar) = s.open_consent(&default_query("kc-off").0);
    assert_eq!(s.answer(&page, &typed(SHORT), &mut jar).status, 303, "any key, as before");
    assert_eq!(platform.calls(), 0);
    assert!(logs().is_empty());
}

#[test]
fn a_configured_check_without_a_checker_lets_sign_in_continue_and_says_so() {
    LOGS.with(|l| l.borrow_mut().clear());
    let config = Config { key_check: Some(check(KeyHeader::XApiKey, 3000)), ..Config::default() };
    let s = Server::with_provider(Provider::new(config, SECRET, None).unwrap().with_logger(log));
    code_for(&s, &default_query("kc-no-checker").0);
    let lines = logs();
    assert!(lines.len() == 1 && lines[0].contains("no key checker"), "{lines:?}");
    assert_logs_free_of(&[KEY]);
}

#[test]
fn deny_forget_and_a_missing_key_call_nobody() {
    let (s, platform) = server();
    for fields in ["action=deny", "action=forget", "api_key=&action=approve", "api_key=has%20space&action=approve"] {
        let (page, mut jar) = s.open_consent(&default_query(fields).0);
        let r = s.answer(&page, fields, &mut jar);
        assert!(matches!(r.status, 303 | 400), "{fields}: {}", r.status);
    }
    assert_eq!(platform.calls(), 0);
}
