//! The device authorization grant (RFC 8628): the device asks at
//! /device_authorization and polls /token; the person enters the user code
//! at /device, sees where the request came from, and allows or denies.
//! Memory stores, a fixed clock.

use crate::sealed::{active, at, open_as, refresh, refreshed, rt, sealed, R};
use crate::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const CLIENT: &str = "yourapp.com";
const DEVICE_IP: &str = "203.0.113.7";
const DEVICE_UA: &str = "my-cli/1.2 (linux)";

/// The device asks: the response body.
fn ask(s: &Server, extra: &str) -> Value {
    ask_as(s, CLIENT, extra)
}

fn ask_as(s: &Server, client_id: &str, extra: &str) -> Value {
    let r = s.post(
        "/device_authorization",
        FORM,
        &format!("client_id={}{extra}", enc(client_id)),
        &[("cf-connecting-ip", DEVICE_IP), ("user-agent", DEVICE_UA)],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    json(&r)
}

fn poll_as(s: &Server, device_code: &str, client_id: &str) -> Response {
    s.token(&format!("grant_type={}&device_code={}&client_id={}", enc(GRANT), enc(device_code), enc(client_id)))
}

fn poll(s: &Server, device_code: &str) -> Response {
    poll_as(s, device_code, CLIENT)
}

fn dc(v: &Value) -> String {
    v["device_code"].as_str().unwrap().to_string()
}

fn uc(v: &Value) -> String {
    v["user_code"].as_str().unwrap().to_string()
}

/// A browser opens /device.
fn open_device(s: &Server, query: &str) -> (Response, Jar) {
    let mut jar = Jar::default();
    let r = s.send(Request::new("GET", url(&format!("/device{query}"))));
    jar.update(&r);
    (r, jar)
}

fn device_post(s: &Server, body: &str, jar: &mut Jar, ip: Option<&str>) -> Response {
    let mut headers =
        vec![("cookie", jar.header()), ("origin", "null".into()), ("sec-fetch-site", "same-origin".into())];
    if let Some(ip) = ip {
        headers.push(("cf-connecting-ip", ip.to_string()));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let r = s.post("/device", FORM, body, &headers);
    jar.update(&r);
    r
}

/// Types `code` on the entry page: the consent step (or an error page).
fn enter(s: &Server, code: &str, jar: &mut Jar, ip: Option<&str>) -> Response {
    let csrf = jar.0.iter().find(|(n, _)| n == CSRF_COOKIE).map(|(_, v)| v.clone()).unwrap();
    device_post(s, &format!("csrf={csrf}&action=enter&user_code={}", enc(code)), jar, ip)
}

fn answer(s: &Server, step: &Response, fields: &str, jar: &mut Jar) -> Response {
    let body = format!("form={}&csrf={}&{fields}", hidden(step, "form"), hidden(step, "csrf"));
    device_post(s, &body, jar, None)
}

/// The person enters the code and allows with KEY.
fn allow(s: &Server, user_code: &str) {
    let (_, mut jar) = open_device(s, "");
    let step = enter(s, user_code, &mut jar, None);
    assert_eq!(step.status, 200, "{}", step.text());
    let done = answer(s, &step, APPROVE, &mut jar);
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Device connected"));
}

#[test]
fn device_authorization_answers_rfc_8628_fields_and_metadata_names_it() {
    let s = Server::new();
    let v = ask(&s, "&scope=api");
    assert_eq!(dc(&v).len(), 43, "256 bits, base64url");
    let code = uc(&v);
    assert_eq!(code.len(), 9);
    assert_eq!(&code[4..5], "-");
    assert!(code.replace('-', "").bytes().all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)), "{code}");
    assert_eq!(v["verification_uri"], format!("{ORIGIN}/device"));
    assert_eq!(v["verification_uri_complete"], format!("{ORIGIN}/device?user_code={code}"));
    assert_eq!(v["expires_in"], 600);
    assert_eq!(v["interval"], 5);
    assert!(!s.grants.dump().contains(&dc(&v)), "the device code is stored only hashed");
    assert!(!s.grants.dump().contains(&code.replace('-', "")), "the user code is stored only hashed");
    let m = json(&s.get("/.well-known/oauth-authorization-server"));
    assert_eq!(m["device_authorization_endpoint"], format!("{ORIGIN}/device_authorization"));
    assert!(m["grant_types_supported"].as_array().unwrap().contains(&GRANT.into()));
    let pre =
        s.send(Request::new("OPTIONS", url("/device_authorization")).with_header("origin", "https://cli.example"));
    assert_eq!(pre.status, 204);
    let r = s.post("/device_authorization", FORM, "client_id=yourapp.com", &[("origin", "https://cli.example")]);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://cli.example"));
}

#[test]
fn device_authorization_refuses_unknown_clients_and_bad_resources() {
    let s = Server::new();
    let r = s.post("/device_authorization", FORM, "scope=api", &[]);
    assert_error(&r, 400, "invalid_client", "no client_id");
    let r = s.post("/device_authorization", FORM, "client_id=https%3A%2F%2Fnot%20a%20host", &[]);
    assert_error(&r, 400, "invalid_client", "unknown client");
    assert_eq!(r.header("www-authenticate"), None, "no challenge to a client that sent no Authorization");
    let r = s.post("/device_authorization", FORM, "client_id=yourapp.com&resource=javascript%3Aalert(1)", &[]);
    assert_error(&r, 400, "invalid_target", "bad resource");
    let r = s.post("/device_authorization", "application/json", "{}", &[]);
    assert_error(&r, 400, "invalid_request", "not a form");
}

#[test]
fn without_a_grant_store_the_device_flow_is_503() {
    let s = Server::new();
    let request = Request::new("POST", url("/device_authorization"))
        .with_header("content-type", FORM)
        .with_body("client_id=yourapp.com");
    let r = block_on(s.provider.handle(&request, &s.store, T0, [1; 32])).unwrap();
    assert_error(&r, 503, "server_error", "no grant store");
    let m = block_on(s.provider.handle(
        &Request::new("GET", url("/.well-known/oauth-authorization-server")),
        &s.store,
        T0,
        [1; 32],
    ))
    .unwrap();
    assert!(json(&m).get("device_authorization_endpoint").is_none(), "not advertised without a store");
}

/// Regression: a CLI that registers itself (RFC 7591) for the device grant
/// alone, with no redirect URI, was refused at /register.
#[test]
fn a_device_registering_for_the_device_grant_alone_was_refused() {
    let s = Server::new();
    let body = format!(r#"{{"client_name":"my-cli","grant_types":["{GRANT}"],"token_endpoint_auth_method":"none"}}"#);
    let r = s.post("/register", "application/json", &body, &[]);
    assert_eq!(r.status, 201, "{}", r.text());
    let client_id = json(&r)["client_id"].as_str().unwrap().to_string();
    let v = ask_as(&s, &client_id, "&scope=api");
    let (_, mut jar) = open_device(&s, "");
    let step = enter(&s, &uc(&v), &mut jar, None);
    assert!(step.text().contains("my-cli"), "the consent step names the client");
    assert_eq!(answer(&s, &step, APPROVE, &mut jar).status, 200);
    let r = poll_as(&s, &dc(&v), &client_id);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["access_token"], KEY);
    // It has no redirect URI: /authorize sends it nowhere.
    let q = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&state=s",
        enc(&client_id),
        enc("http://127.0.0.1:9/cb"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let r = s.get(&q);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.header("location").is_none());
}

#[test]
fn pending_then_approved_gives_the_key_once() {
    let s = Server::new();
    let v = ask(&s, "&scope=api");
    assert_error(&poll(&s, &dc(&v)), 400, "authorization_pending", "before the person answers");
    s.now.set(T0 + 5);
    allow(&s, &uc(&v));
    s.now.set(T0 + 10);
    let r = poll(&s, &dc(&v));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = json(&r);
    assert_eq!(t["access_token"], KEY);
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "api");
    assert!(!s.grants.dump().contains(KEY), "the approved record holds the key only sealed");
}

#[test]
fn a_redeemed_device_code_never_works_again() {
    let s = Server::new();
    let v = ask(&s, "");
    allow(&s, &uc(&v));
    assert_eq!(poll(&s, &dc(&v)).status, 200);
    for later in [T0 + 10, T0 + 700, T0 + 100_000] {
        s.now.set(later);
        assert_error(&poll(&s, &dc(&v)), 400, "invalid_grant", "replayed device code");
    }
    // The user code is spent too.
    let (_, mut jar) = open_device(&s, "");
    assert_eq!(enter(&s, &uc(&v), &mut jar, None).status, 400);
}

#[test]
fn deny_answers_access_denied() {
    let s = Server::new();
    let v = ask(&s, "");
    let (_, mut jar) = open_device(&s, "");
    let step = enter(&s, &uc(&v), &mut jar, None);
    let r = answer(&s, &step, "action=deny", &mut jar);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Access denied"));
    assert_error(&poll(&s, &dc(&v)), 400, "access_denied", "after Deny");
    // The form answers once: Allow after Deny changes nothing.
    let again = answer(&s, &step, APPROVE, &mut jar);
    assert_eq!(again.status, 400);
    s.now.set(T0 + 10);
    assert_error(&poll(&s, &dc(&v)), 400, "access_denied", "still denied");
}

#[test]
fn expiry_at_600_and_601_seconds() {
    let s = Server::new();
    let v = ask(&s, "");
    s.now.set(T0 + 600);
    assert_error(&poll(&s, &dc(&v)), 400, "authorization_pending", "at 600 s");
    let (_, mut jar) = open_device(&s, "");
    let step = enter(&s, &uc(&v), &mut jar, None);
    assert_eq!(step.status, 200, "the code still works at 600 s");
    s.now.set(T0 + 601);
    assert_error(&poll(&s, &dc(&v)), 400, "expired_token", "at 601 s");
    let late = answer(&s, &step, APPROVE, &mut jar);
    assert_eq!(late.status, 400, "an answer after expiry is refused");
    let (_, mut jar) = open_device(&s, "");
    assert_eq!(enter(&s, &uc(&v), &mut jar, None).status, 400, "an expired code is not found");
}

#[test]
fn polling_too_fast_grows_the_interval_by_5_seconds() {
    let s = Server::new();
    let v = ask(&s, "");
    let d = dc(&v);
    assert_error(&poll(&s, &d), 400, "authorization_pending", "first poll");
    s.now.set(T0 + 1);
    let r = poll(&s, &d);
    assert_error(&r, 400, "slow_down", "1 s after");
    assert!(json(&r)["error_description"].as_str().unwrap().contains("10 seconds"));
    s.now.set(T0 + 9);
    let r = poll(&s, &d);
    assert_error(&r, 400, "slow_down", "8 s after, interval now 10");
    assert!(json(&r)["error_description"].as_str().unwrap().contains("15 seconds"));
    s.now.set(T0 + 24);
    assert_error(&poll(&s, &d), 400, "authorization_pending", "waited 15 s");
    s.now.set(T0 + 38);
    assert_error(&poll(&s, &d), 400, "slow_down", "the interval stays 15");
}

#[test]
fn of_concurrent_polls_one_gets_the_tokens() {
    let s = Server::new();
    let v = ask(&s, "");
    allow(&s, &uc(&v));
    let d = dc(&v);
    let requests: Vec<Request> = (0..8)
        .map(|_| {
            Request::new("POST", url("/token"))
                .with_header("content-type", FORM)
                .with_body(format!("grant_type={}&device_code={d}&client_id={CLIENT}", enc(GRANT)))
        })
        .collect();
    let futures = requests
        .iter()
        .enumerate()
        .map(|(i, r)| s.provider.handle_with(r, &s.store, &s.grants, T0 + 10, [i as u8; 32]));
    let responses: Vec<Response> = block_on(join_all(futures.collect())).into_iter().map(Option::unwrap).collect();
    let ok = responses.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one winner");
    for r in responses.iter().filter(|r| r.status != 200) {
        assert_error(r, 400, "invalid_grant", "a losing poll");
    }
}

/// Polls every future in turn until all are done (they interleave at each
/// await, as concurrent requests in one isolate do).
fn join_all<F: std::future::Future>(futures: Vec<F>) -> impl std::future::Future<Output = Vec<F::Output>> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (i, f) in futures.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(out.iter_mut().map(|o| o.take().unwrap()).collect())
        }
    })
}

#[test]
fn a_device_code_polled_by_another_client_is_invalid_grant() {
    let s = Server::new();
    let v = ask(&s, "");
    allow(&s, &uc(&v));
    assert_error(&poll_as(&s, &dc(&v), "other.example"), 400, "invalid_grant", "another client");
    assert_eq!(poll(&s, &dc(&v)).status, 200, "the right client still gets the tokens");
    assert_error(&poll(&s, "not-a-device-code"), 400, "invalid_grant", "malformed");
}

#[test]
fn a_code_typed_in_lower_case_with_spaces_is_found() {
    let s = Server::new();
    let v = ask(&s, "&scope=api&resource=https%3A%2F%2Fmcp.example%2Fmcp");
    let typed = format!("  {}  {} ", uc(&v)[..4].to_lowercase(), uc(&v)[5..].to_lowercase());
    let (_, mut jar) = open_device(&s, "");
    let step = enter(&s, &typed, &mut jar, None);
    assert_eq!(step.status, 200, "{}", step.text());
    let html = step.text();
    for shown in [CLIENT, "api", "https://mcp.example/mcp", DEVICE_IP, DEVICE_UA, "2027-01-15 08:00:00 UTC"] {
        assert!(html.contains(shown), "the step shows {shown}");
    }
    assert!(html.contains("Only continue if you started this on your own device just now"));
    assert!(!html.contains("<script"));
    let csp = step.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(step.header("cache-control"), Some("no-store"));
}

#[test]
fn the_entry_page_is_prefilled_and_hardened() {
    let s = Server::new();
    let (page, jar) = open_device(&s, "?user_code=BCDF-GHJK");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("value=\"BCDF-GHJK\""), "pre-filled, still a click away");
    assert!(jar.has(CSRF_COOKIE));
    assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let escaped = s.get("/device?user_code=%22%3E%3Csvg%20onload%3Dalert(1)%3E");
    assert!(!escaped.text().contains("<svg"));
}

#[test]
fn posts_without_the_csrf_cookie_or_from_another_site_are_refused() {
    let s = Server::new();
    let v = ask(&s, "");
    let body = format!("csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&action=enter&user_code={}", uc(&v));
    let r = s.post("/device", FORM, &body, &[("cookie", FORGED_CSRF_COOKIE.replace("AAAA", "BBBB").as_str())]);
    assert_eq!(r.status, 403);
    let r = s.post("/device", FORM, &body, &[("cookie", FORGED_CSRF_COOKIE), ("origin", "https://evil.example")]);
    assert_eq!(r.status, 403);
    // A step form from another browser (another CSRF cookie) does not answer.
    let (_, mut jar) = open_device(&s, "");
    let step = enter(&s, &uc(&v), &mut jar, None);
    let (_, mut other) = open_device(&s, "");
    let body = format!(
        "form={}&csrf={}&{APPROVE}",
        hidden(&step, "form"),
        other.0.iter().find(|(n, _)| n == CSRF_COOKIE).unwrap().1
    );
    assert_eq!(device_post(&s, &body, &mut other, None).status, 403);
    assert_error(&poll(&s, &dc(&v)), 400, "authorization_pending", "nothing was approved");
}

#[test]
fn wrong_codes_are_limited_per_browser_and_per_ip() {
    let s = Server::new();
    let v = ask(&s, "");
    let (_, mut jar) = open_device(&s, "");
    for i in 0..5 {
        let r = enter(&s, "BBBB-BBBB", &mut jar, Some("198.51.100.1"));
        assert_eq!(r.status, 400, "wrong entry {i}");
        assert!(r.text().contains("That code is not valid"));
    }
    // The sixth entry, even the right code, waits.
    let r = enter(&s, &uc(&v), &mut jar, Some("198.51.100.1"));
    assert_eq!(r.status, 429);
    assert!(r.text().contains("Too many attempts; wait 10 minutes"), "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("600"));
    // Same IP, a fresh browser: still limited (per IP).
    let (_, mut fresh) = open_device(&s, "");
    assert_eq!(enter(&s, &uc(&v), &mut fresh, Some("198.51.100.1")).status, 429);
    // Same browser, another IP: still limited (per browser).
    assert_eq!(enter(&s, &uc(&v), &mut jar, Some("198.51.100.2")).status, 429);
    // Another browser and IP is not affected.
    let (_, mut other) = open_device(&s, "");
    assert_eq!(enter(&s, &uc(&v), &mut other, Some("192.0.2.1")).status, 200);
    // The wait, measured: 9 min 59 s later still limited, at 10 min free again.
    s.now.set(T0 + 599);
    let r = enter(&s, &uc(&v), &mut jar, Some("198.51.100.1"));
    assert_eq!(r.status, 429);
    assert!(r.text().contains("wait 1 minute"), "{}", r.text());
    s.now.set(T0 + 600);
    assert_eq!(enter(&s, &uc(&v), &mut jar, Some("198.51.100.1")).status, 200);
    // A malformed entry is not a guess (it cannot match any code).
    assert_eq!(enter(&s, "x", &mut jar, Some("198.51.100.1")).status, 400);
}

/// Regression: each IPv6 address (and each way of writing one) had its own
/// wrong-code limit, so one /64 gave 2^64 of them.
#[test]
fn each_ipv6_address_of_one_network_had_its_own_limit_at_the_device_page() {
    let s = Server::new();
    let v = ask(&s, "");
    for i in 0..5 {
        let (_, mut jar) = open_device(&s, "");
        let ip = format!("2001:db8:1:2::{:x}", i + 16);
        assert_eq!(enter(&s, "BBBB-BBBB", &mut jar, Some(&ip)).status, 400, "wrong entry {i}");
    }
    for same in ["2001:db8:1:2::99", "2001:0DB8:0001:0002:0000:0000:0000:0001"] {
        let (_, mut fresh) = open_device(&s, "");
        assert_eq!(enter(&s, &uc(&v), &mut fresh, Some(same)).status, 429, "{same}: the same /64");
    }
    let (_, mut other) = open_device(&s, "");
    assert_eq!(enter(&s, &uc(&v), &mut other, Some("2001:db8:1:3::1")).status, 200, "another /64");
}

/// Regression: the device's own User-Agent was shown as sent, bidi overrides
/// and all, beside the facts the server measured, and the client id a
/// device claims looked verified; in sealed mode the page never said where
/// the key goes, and named the MCP server without its port.
#[test]
fn the_device_page_showed_the_devices_claims_as_facts() {
    let s = sealed();
    let resource = "https://mcp.example:8443/mcp";
    let spoof = "curl/8 \u{202E}elpmaxe.live ot yek ruoy sdnes\u{202C} x\u{E0041}";
    let r = s.post(
        "/device_authorization",
        FORM,
        &format!("client_id=oauth.parallel.ai&resource={}", enc(resource)),
        &[("user-agent", spoof)],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, mut jar) = open_device(&s, "");
    let step = enter(&s, &uc(&json(&r)), &mut jar, None);
    assert_eq!(step.status, 200, "{}", step.text());
    let html = step.text();
    for hidden in ['\u{202E}', '\u{202C}', '\u{E0041}'] {
        assert!(!html.contains(hidden), "{:04X} reached the page", u32::from(hidden));
    }
    assert!(html.contains("curl/8 \u{FFFD}elpmaxe.live"), "shown, visibly replaced");
    assert!(html.contains("(as it describes itself)"));
    assert!(html.contains("<code id=\"client_id\">oauth.parallel.ai</code> <span class=\"unverified\">(as the device names it: not verified)"));
    assert!(html.contains("Your key goes sealed to the MCP server <strong>mcp.example:8443</strong>"), "{html}");
    assert!(!html.contains("could otherwise get your API key"));
    assert!(html.contains("Manage connected apps"));
}

#[test]
fn sealed_mode_gives_a_sealed_token_for_the_resource() {
    let s = sealed();
    let v = ask(&s, &format!("&resource={}", enc(R)));
    allow(&s, &uc(&v));
    let r = poll(&s, &dc(&v));
    assert_eq!(r.status, 200, "{}", r.text());
    let t = json(&r);
    let access = t["access_token"].as_str().unwrap();
    assert_ne!(access, KEY);
    assert!(t["refresh_token"].is_string());
    let opened = open_as(&s, access, R, T0 + 1).expect("the resource opens it");
    assert_eq!(opened.api_key.expose(), KEY);
    assert!(!s.grants.dump().contains(KEY));
    // The grant was recorded at the approval: its refresh token rotates.
    let next = refreshed(&s, &rt(&t));
    assert!(next["access_token"].is_string());
}

/// Regression: a device code redeemed a second time was refused, but the
/// sealed grant its first redemption made lived on. As for an
/// authorization code (RFC 6749 §4.1.2), the second redemption revokes it.
#[test]
fn a_device_code_redeemed_twice_left_its_grant_alive() {
    let s = sealed();
    let v = ask(&s, &format!("&resource={}", enc(R)));
    allow(&s, &uc(&v));
    let t = json(&poll(&s, &dc(&v)));
    let next = refreshed(&s, &rt(&t));
    assert!(active(&s, &at(&next)));
    // Another client's poll is told it is not its code, and changes nothing.
    let r = poll_as(&s, &dc(&v), "other.example");
    assert_error(&r, 400, "invalid_grant", "another client's poll");
    assert!(active(&s, &at(&next)), "another client cannot revoke the grant");
    assert_error(&poll(&s, &dc(&v)), 400, "invalid_grant", "once only");
    assert_error(&refresh(&s, &rt(&next), ""), 400, "invalid_grant", "the grant after the second redemption");
    assert!(!active(&s, &at(&next)));
    // In passthrough mode there is nothing to revoke: the same answer.
    let p = Server::new();
    let v = ask(&p, "");
    allow(&p, &uc(&v));
    assert_eq!(poll(&p, &dc(&v)).status, 200);
    assert_error(&poll(&p, &dc(&v)), 400, "invalid_grant", "passthrough, once only");
}

/// Regression: the "Device connected" page reloaded (or Allow sent twice)
/// deleted the sealed grant the first approval had recorded: the device's
/// tokens were dead, before or after its poll (found in a real browser).
#[test]
fn reloading_the_device_approval_deleted_its_grant() {
    for poll_first in [true, false] {
        let s = sealed();
        let v = ask(&s, &format!("&resource={}", enc(R)));
        let (_, mut jar) = open_device(&s, "");
        let step = enter(&s, &uc(&v), &mut jar, None);
        let done = answer(&s, &step, APPROVE, &mut jar);
        assert!(done.text().contains("Device connected"), "{}", done.text());
        let early = poll_first.then(|| json(&poll(&s, &dc(&v))));
        // The same form again, as a reload sends it.
        let again = answer(&s, &step, APPROVE, &mut jar);
        assert_eq!(again.status, 400, "{}", again.text());
        assert!(again.text().contains("Already answered"));
        let t = early.unwrap_or_else(|| json(&poll(&s, &dc(&v))));
        assert!(active(&s, &at(&t)), "the device's access token (poll first: {poll_first})");
        let next = refreshed(&s, &rt(&t));
        assert!(active(&s, &at(&next)));
    }
}

#[test]
fn sealed_mode_the_redeeming_poll_writes_nothing_but_the_device_record() {
    let s = sealed();
    let v = ask(&s, &format!("&resource={}", enc(R)));
    allow(&s, &uc(&v));
    let before = s.grants.dump().matches("\"generation\"").count();
    assert_eq!(before, 1, "the grant is recorded when the person allows");
    let r = poll(&s, &dc(&v));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.grants.dump().matches("\"generation\"").count(), 1, "no second grant at the poll");
}

/// Regression: the registered `grant_types` were not enforced. A client
/// registered for the code flow alone started the device flow and got
/// refresh tokens, though /register had answered `["authorization_code"]`
/// (RFC 7591 §2; RFC 6749 §5.2 `unauthorized_client`). One that asks for
/// nothing gets the code flow with refresh tokens, and says so.
#[test]
fn a_client_used_grant_types_it_never_registered() {
    let s = sealed();
    let register = |grant_types: &str| {
        let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"client_name":"n"{grant_types}}}"#);
        let r = s.post("/register", "application/json", &body, &[]);
        assert_eq!(r.status, 201, "{}", r.text());
        let v = json(&r);
        (v["client_id"].as_str().unwrap().to_string(), v["grant_types"].clone())
    };
    let tokens_of = |client_id: &str| {
        let (verifier, challenge) = pkce(client_id);
        let query = auth_query(client_id, REDIRECT, &challenge, &format!("&resource={}", enc(R)));
        let code = code_for(&s, &query);
        let r = s.token(&token_body(&code, client_id, REDIRECT, &verifier));
        assert_eq!(r.status, 200, "{}", r.text());
        json(&r)
    };
    let device_asks = |client_id: &str| {
        s.post("/device_authorization", FORM, &format!("client_id={}&resource={}", enc(client_id), enc(R)), &[])
    };

    let (code_only, listed) = register(r#","grant_types":["authorization_code"]"#);
    assert_eq!(listed, serde_json::json!(["authorization_code"]));
    let t = tokens_of(&code_only);
    assert!(t.get("refresh_token").is_none(), "no refresh token for a client without the refresh grant: {t}");
    assert!(t["access_token"].is_string());
    assert_error(&device_asks(&code_only), 400, "unauthorized_client", "the device grant, never registered");

    let (unasked, listed) = register("");
    assert_eq!(listed, serde_json::json!(["authorization_code", "refresh_token"]));
    assert!(tokens_of(&unasked)["refresh_token"].is_string());
    assert_error(&device_asks(&unasked), 400, "unauthorized_client", "the device grant, not asked for");

    let (everything, _) = register(&format!(r#","grant_types":["authorization_code","refresh_token","{GRANT}"]"#));
    assert_eq!(device_asks(&everything).status, 200);
    // The original's hostname ids carry no grant types: any (its recipe).
    assert_eq!(device_asks(CLIENT).status, 200);

    // A CLI as the README registers it (the device grant and refresh tokens),
    // and one with the device grant alone: a refresh token only for the first.
    for (grant_types, refreshes) in
        [(format!(r#"["{GRANT}","refresh_token"]"#), true), (format!(r#"["{GRANT}"]"#), false)]
    {
        let body = format!(r#"{{"client_name":"my-cli","grant_types":{grant_types}}}"#);
        let r = s.post("/register", "application/json", &body, &[]);
        let client_id = json(&r)["client_id"].as_str().unwrap().to_string();
        let v = ask_as(&s, &client_id, &format!("&resource={}", enc(R)));
        allow(&s, &uc(&v));
        let t = json(&poll_as(&s, &dc(&v), &client_id));
        assert!(t["access_token"].is_string(), "{t}");
        assert_eq!(t.get("refresh_token").is_some(), refreshes, "{grant_types}: {t}");
        assert_eq!(t["scope"], "api", "no scope asked: the server's default (RFC 6749 §3.3)");
        assert_eq!(open_as(&s, &at(&t), R, T0).unwrap().scope, "api");
    }
}
