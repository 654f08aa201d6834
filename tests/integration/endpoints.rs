use crate::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parallel_oauth_provider::{block_on, Config, Provider, Request};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- metadata

#[test]
fn authorization_server_metadata_has_what_clients_need() {
    let s = Server::new();
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/mcp"] {
        let r = s.get(path);
        assert_eq!(r.status, 200);
        let m = json(&r);
        assert_eq!(m["issuer"], ORIGIN);
        assert_eq!(m["authorization_endpoint"], format!("{ORIGIN}/authorize"));
        assert_eq!(m["token_endpoint"], format!("{ORIGIN}/token"));
        assert_eq!(m["registration_endpoint"], format!("{ORIGIN}/register"));
        assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(m["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert!(m["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&"none".into()));
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
}

#[test]
fn issuer_follows_prefix_and_override_without_trailing_slash() {
    let s = Server::with(Config { path_prefix: "/oauth/".into(), ..Config::default() }, SECRET, None);
    let m = json(&s.get("/.well-known/oauth-authorization-server/oauth"));
    assert_eq!(m["issuer"], format!("{ORIGIN}/oauth"));
    assert_eq!(m["token_endpoint"], format!("{ORIGIN}/oauth/token"));
    let s =
        Server::with(Config { issuer: Some("https://oauth.parallel.ai/".into()), ..Config::default() }, SECRET, None);
    assert_eq!(json(&s.get("/.well-known/oauth-authorization-server"))["issuer"], "https://oauth.parallel.ai");
}

#[test]
fn protected_resource_metadata_points_at_the_issuer() {
    let s = Server::new();
    let m = json(&s.get("/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(m["resource"], format!("{ORIGIN}/mcp"));
    assert_eq!(m["authorization_servers"], serde_json::json!([ORIGIN]));
    assert_eq!(json(&s.get("/.well-known/oauth-protected-resource"))["resource"], ORIGIN);
}

#[test]
fn unknown_well_known_is_json_404() {
    let s = Server::new();
    for path in ["/.well-known/openid-configuration", "/.well-known/", "/.well-known/oauth-authorization-serverx"] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(json(&r)["error"], "not_found");
    }
}

#[test]
fn other_routes_are_not_ours() {
    let s = Server::new();
    for path in ["/", "/mcp", "/authorize/x", "/tokens", "/demo/"] {
        let r = Request::new("GET", url(path));
        assert!(block_on(s.provider.handle(&r, &s.store, T0, [0; 32])).is_none(), "{path}");
    }
}

#[test]
fn cors_preflight_and_headers() {
    let s = Server::new();
    for path in
        ["/token", "/register", "/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource"]
    {
        let r = s.send(Request::new("OPTIONS", url(path)).with_header("origin", "http://localhost:6274"));
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:6274"));
        assert!(r.header("access-control-allow-headers").unwrap().contains("mcp-protocol-version"));
        assert!(r.header("access-control-allow-credentials").is_none());
    }
    let r = s.send(Request::new("GET", url("/authorize?client_id=x")).with_header("origin", "http://localhost:6274"));
    assert!(r.header("access-control-allow-origin").is_none(), "/authorize has no CORS");
}

// ---------------------------------------------------------------- register

#[test]
fn register_returns_hostname_client_id_like_the_original() {
    let s = Server::new();
    let r = s.post("/register", "application/json", r#"{"redirect_uris":["https://yourapp.com/callback"]}"#, &[]);
    assert_eq!(r.status, 201);
    let b = json(&r);
    assert_eq!(b["client_id"], "yourapp.com");
    assert_eq!(b["client_id_issued_at"], T0);
    assert_eq!(b["token_endpoint_auth_method"], "none");
    assert_eq!(b["redirect_uris"], serde_json::json!([REDIRECT]));
    assert!(!r.text().contains("null"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn register_errors_are_400_json() {
    let s = Server::new();
    for (body, code) in [
        ("{", "invalid_client_metadata"),
        (r#"{"redirect_uris":["javascript:alert(1)"]}"#, "invalid_redirect_uri"),
        (r#"{"client_name":"x"}"#, "invalid_redirect_uri"),
    ] {
        assert_error(&s.post("/register", "application/json", body, &[]), 400, code, body);
    }
    assert_eq!(s.get("/register").status, 405);
    let big = format!(r#"{{"redirect_uris":["https://a.example/cb"],"x":"{}"}}"#, "a".repeat(70_000));
    assert_eq!(s.post("/register", "application/json", &big, &[]).status, 413);
}

// ---------------------------------------------------------------- authorize

#[test]
fn consent_page_names_the_receiver_and_is_locked_down() {
    let s = Server::new();
    let (query, _) = default_query("x");
    let (r, jar) = s.open_consent(&query);
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.contains("yourapp.com"));
    assert!(html.contains("type=\"password\""));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert!(csp.contains("form-action 'self' https://yourapp.com"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(jar.has(CSRF_COOKIE));
    assert!(!html.contains("<script"));
}

#[test]
fn authorize_errors_before_redirect_validation_are_pages() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    for q in [
        auth_query("yourapp.com", "https://evil.example/callback", &challenge, ""),
        auth_query("yourapp.com", "javascript:alert(1)", &challenge, ""),
        auth_query("", REDIRECT, &challenge, ""),
        "client_id=yourapp.com".to_string(),
    ] {
        let r = s.authorize(&q);
        assert_eq!(r.status, 400, "{q}");
        assert!(r.header("location").is_none());
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
    }
}

#[test]
fn authorize_errors_after_validation_redirect_with_state_and_iss() {
    let s = Server::new();
    let base = format!("client_id=yourapp.com&redirect_uri={}&state=s%20t", enc(REDIRECT));
    for (extra, code) in [
        ("&response_type=token", "unsupported_response_type"),
        ("&response_type=code", "invalid_request"),
        ("&response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain", "invalid_request"),
    ] {
        assert_error_redirect(&s.authorize(&format!("{base}{extra}")), REDIRECT, code, Some("s t"), extra);
    }
}

/// Regression: RFC 8707 lets a client send `resource` more than once; that
/// was "a parameter is repeated" on an error page (the client never heard)
/// and `invalid_request` at /token. Each token here is for one resource:
/// `invalid_target`, sent back to the client once its redirect URI is known.
#[test]
fn two_resources_were_a_malformed_request_on_a_page() {
    let s = Server::new();
    let (_, challenge) = pkce("two resources");
    let two = format!("&resource={}&resource={}", enc("https://a.example/mcp"), enc("https://b.example/mcp"));
    let r = s.authorize(&auth_query("yourapp.com", REDIRECT, &challenge, &two));
    assert_error_redirect(&r, REDIRECT, "invalid_target", Some("st-1"), "two resources at /authorize");
    // Before the redirect URI is known it is still a page.
    let r = s.authorize(&auth_query("yourapp.com", "https://evil.example/cb", &challenge, &two));
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    // Another parameter of the request repeated is a malformed request,
    // sent back as well (RFC 6749 §4.1.2.1); one the endpoint does not
    // define is ignored (§3.1).
    let r = s.authorize(&auth_query("yourapp.com", REDIRECT, &challenge, "&scope=api&scope=api"));
    assert_error_redirect(&r, REDIRECT, "invalid_request", Some("st-1"), "scope twice");
    let r = s.authorize(&auth_query("yourapp.com", REDIRECT, &challenge, "&prompt=x&utm=1&utm=2"));
    assert_eq!(r.status, 200, "an unknown parameter twice: {}", r.text());
    let (code, verifier) = full_flow(&s);
    let r = s.token(&format!("{}{two}", token_body(&code, "yourapp.com", REDIRECT, &verifier)));
    assert_error(&r, 400, "invalid_target", "two resources at /token");
}

// ---------------------------------------------------------------- consent + token

#[test]
fn full_flow_delivers_the_key_once() {
    let s = Server::new();
    let (query, verifier) = default_query("flow");
    let (page, mut jar) = s.open_consent(&query);
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_eq!(r.status, 303);
    let (target, params) = location(&r);
    assert_eq!(target, REDIRECT);
    assert_eq!(param(&params, "state"), Some("st-1"));
    assert_eq!(param(&params, "iss"), Some(ORIGIN));
    let code = param(&params, "code").unwrap();
    assert_eq!(code.len(), 43);
    // The store holds neither the key nor the code.
    for v in s.store.values() {
        assert!(!v.contains(KEY) && !v.contains(code));
    }
    assert!(s.store.keys_with_ttl().iter().all(|(k, ttl)| !k.contains(code) && *ttl >= 600));

    let r = s.redeem(code, &verifier);
    assert_eq!(r.status, 200, "{}", r.text());
    let b = json(&r);
    assert_eq!(b["access_token"], KEY);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["scope"], "api");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert!(r.header("set-cookie").is_none());

    assert_error(&s.redeem(code, &verifier), 400, "invalid_grant", "second redemption");
}

#[test]
fn one_write_per_code_and_one_read_and_delete_per_redemption() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let after_consent = s.store.op_counts();
    assert_eq!((after_consent.gets, after_consent.puts, after_consent.deletes), (0, 1, 0));
    assert_eq!(s.redeem(&code, &verifier).status, 200);
    let after_token = s.store.op_counts();
    assert_eq!((after_token.gets, after_token.puts, after_token.deletes), (1, 1, 1));
}

#[test]
fn code_expires_after_ten_minutes() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    s.now.set(T0 + 601);
    assert_eq!(json(&s.redeem(&code, &verifier))["error"], "invalid_grant");

    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    s.now.set(T0 + 600);
    assert_eq!(s.redeem(&code, &verifier).status, 200);
}

#[test]
fn token_mismatches_are_invalid_grant_and_consume_the_code() {
    for (client, redirect, verifier_seed) in [
        ("other.example", REDIRECT, "flow"),
        ("yourapp.com", "https://yourapp.com/other", "flow"),
        ("yourapp.com", REDIRECT, "wrong"),
    ] {
        let s = Server::new();
        let (code, right_verifier) = full_flow(&s);
        let (verifier, _) = pkce(verifier_seed);
        let r = s.token(&token_body(&code, client, redirect, &verifier));
        assert_error(&r, 400, "invalid_grant", &format!("{client} {redirect}"));
        // A failed attempt consumes the code (documented in SECURITY.md).
        assert_eq!(json(&s.redeem(&code, &right_verifier))["error"], "invalid_grant");
    }
}

#[test]
fn token_request_errors() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let good = token_body(&code, "yourapp.com", REDIRECT, &verifier);
    let cases: Vec<(String, &str, u16, &str)> = vec![
        (good.replace("authorization_code", "refresh_token"), FORM, 400, "unsupported_grant_type"),
        (good.replace("grant_type=authorization_code&", ""), FORM, 400, "invalid_request"),
        (good.replace("client_id=yourapp.com&", ""), FORM, 400, "invalid_client"),
        (good.replace(&format!("&code_verifier={verifier}"), ""), FORM, 400, "invalid_request"),
        (good.replace(&verifier, "short"), FORM, 400, "invalid_request"),
        (good.replace(&verifier, &"a".repeat(129)), FORM, 400, "invalid_request"),
        (good.replace(&verifier, &format!("{}%21", &verifier[1..])), FORM, 400, "invalid_request"),
        (format!("{good}&code=again"), FORM, 400, "invalid_request"),
        (format!("{good}&x=%zz"), FORM, 400, "invalid_request"),
        (good.replace(&code, "random-not-a-code"), FORM, 400, "invalid_grant"),
        (good.replace(&code, &code[..40]), FORM, 400, "invalid_grant"),
        (r#"{"grant_type":"authorization_code"}"#.to_string(), "application/json", 400, "invalid_request"),
    ];
    for (body, ct, status, error) in cases {
        let r = s.post("/token", ct, &body, &[]);
        assert_error(&r, status, error, &body);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r.header("set-cookie").is_none());
    }
    // The code survived all of those (none of them presented it whole).
    assert_eq!(s.token(&good).status, 200);
    let r = s.get("/token");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST, OPTIONS")));
    let big = format!("{good}&pad={}", "a".repeat(70_000));
    assert_eq!(s.token(&big).status, 413);
}

#[test]
fn client_secret_post_and_basic_are_tolerated() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let body = format!("{}&client_secret=whatever", token_body(&code, "yourapp.com", REDIRECT, &verifier));
    assert_eq!(s.token(&body).status, 200);

    let (code, verifier) = full_flow(&s);
    let body = token_body(&code, "yourapp.com", REDIRECT, &verifier).replace("client_id=yourapp.com&", "");
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("yourapp.com:secret"));
    let r = s.post("/token", FORM, &body, &[("authorization", &basic)]);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn deny_redirects_access_denied_with_state_and_iss() {
    let s = Server::new();
    let (query, _) = default_query("x");
    let (page, mut jar) = s.open_consent(&query);
    let r = s.answer(&page, "action=deny", &mut jar);
    assert_eq!(r.status, 303);
    let (_, params) = location(&r);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("st-1"));
    assert_eq!(param(&params, "iss"), Some(ORIGIN));
    assert!(param(&params, "code").is_none());
    assert!(s.store.is_empty());
}

#[test]
fn consent_without_csrf_from_foreign_origin_or_replayed_is_403() {
    let s = Server::new();
    let (query, _) = default_query("x");
    let (page, jar) = s.open_consent(&query);
    let form = format!("{}&{APPROVE}", form_fields(&page));
    let cookie = jar.header();
    let attempts: Vec<Vec<(&str, &str)>> = vec![
        vec![], // no CSRF cookie
        vec![("cookie", FORGED_CSRF_COOKIE)],
        vec![("cookie", &cookie), ("origin", "https://evil.example")],
        vec![("cookie", &cookie), ("sec-fetch-site", "cross-site")],
    ];
    for headers in attempts {
        let r = s.consent_post(&form, &headers);
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(r.header("location").is_none());
    }
    let no_token = form.replace(&format!("csrf={}", hidden(&page, "csrf")), "csrf=");
    assert_eq!(s.consent_post(&no_token, &[("cookie", &cookie)]).status, 403);
    let tampered = form.replacen("request=", "request=A", 1);
    assert_eq!(s.consent_post(&tampered, &[("cookie", &cookie)]).status, 403);
    assert!(s.store.is_empty(), "no code was issued");

    let ok = s.consent_post(&form, &[("cookie", &cookie)]);
    assert_eq!(ok.status, 303);
    s.now.set(T0 + 11);
    let replay = s.consent_post(&form, &[("cookie", &cookie)]);
    assert_eq!(replay.status, 403);
    assert!(replay.text().contains("Already answered"));
    assert_eq!(s.store.len(), 1, "exactly one code");
}

/// Regression: Allow pressed twice on a slow connection lost the code. The
/// browser dropped the first answer (a 303 with the code) for the second,
/// which was refused as already answered, and the client never heard. The
/// same form from the same browser within 10 s gets the same redirect; no
/// second code is made, and another browser still gets nothing.
#[test]
fn a_double_submitted_consent_lost_its_code() {
    let s = Server::new();
    let (query, verifier) = default_query("x");
    let (page, jar) = s.open_consent(&query);
    let form = format!("{}&{APPROVE}", form_fields(&page));
    let cookie = jar.header();
    let first = s.consent_post(&form, &[("cookie", &cookie)]);
    assert_eq!(first.status, 303);
    s.now.set(T0 + 10);
    let second = s.consent_post(&form, &[("cookie", &cookie)]);
    assert_eq!(second.status, 303, "{}", second.text());
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(s.store.len(), 1, "one code");
    let (_, other_jar) = s.open_consent(&query);
    let foreign = s.consent_post(&form, &[("cookie", &other_jar.header())]);
    assert_eq!(foreign.status, 403, "another browser's cookie");
    assert!(foreign.header("location").is_none());
    let r = s.redeem(&code_of(&second), &verifier);
    assert_eq!(r.status, 200, "{}", r.text());
    // A denial posted twice gets its redirect twice too.
    let (page, jar) = s.open_consent(&query);
    let deny = format!("{}&action=deny", form_fields(&page));
    let a = s.consent_post(&deny, &[("cookie", &jar.header())]);
    let b = s.consent_post(&deny, &[("cookie", &jar.header())]);
    assert_eq!((a.status, b.status), (303, 303));
    assert_eq!(a.header("location"), b.header("location"));
}

#[test]
fn expired_consent_form_is_refused() {
    let s = Server::new();
    let (query, _) = default_query("x");
    let (page, mut jar) = s.open_consent(&query);
    s.now.set(T0 + 3601);
    assert_eq!(s.answer(&page, APPROVE, &mut jar).status, 400);
    assert!(s.store.is_empty());
}

#[test]
fn missing_or_bad_key_shows_the_page_again() {
    let s = Server::new();
    let (query, _) = default_query("x");
    let (page, mut jar) = s.open_consent(&query);
    for fields in ["action=approve", "api_key=has+space&action=approve"] {
        let r = s.answer(&page, fields, &mut jar);
        assert_eq!(r.status, 400);
        assert!(r.text().contains("role=\"alert\""));
        assert!(r.header("location").is_none());
    }
    // The same form still works afterwards.
    assert_eq!(s.answer(&page, APPROVE, &mut jar).status, 303);
}

#[test]
fn remembered_key_is_offered_never_shown_and_can_be_forgotten() {
    let s = Server::new();
    let (query, verifier) = default_query("x");
    let mut jar = Jar::default();
    approve(&s, &query, &mut jar, APPROVE_AND_REMEMBER);
    assert!(jar.has(REMEMBER_COOKIE));

    // Second visit: the page offers the saved key and never contains it.
    let page = s.consent_page(&query, &mut jar);
    let html = page.text();
    assert!(html.contains("key_choice_saved"));
    assert!(html.contains("••••cdef"));
    assert!(!html.contains(KEY) && !html.contains(&KEY[..12]));
    let r = s.answer(&page, "key_choice=saved&action=approve", &mut jar);
    assert_eq!(r.status, 303);
    assert_eq!(json(&s.redeem(&code_of(&r), &verifier))["access_token"], KEY);

    // Forget: the cookie is cleared and the page is shown again without it.
    let page = s.consent_page(&query, &mut jar);
    let r = s.answer(&page, "action=forget", &mut jar);
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().starts_with("/authorize?"));
    assert!(!jar.has(REMEMBER_COOKIE));
    assert!(!s.consent_page(&query, &mut jar).text().contains("key_choice_saved"));
}

#[test]
fn remembered_cookie_survives_secret_rotation_and_bad_cookies_are_ignored() {
    let old = "old-secret-that-is-long-enough-0123456789";
    let s = Server::with(Config::default(), old, None);
    let (query, _) = default_query("x");
    let mut jar = Jar::default();
    approve(&s, &query, &mut jar, APPROVE_AND_REMEMBER);

    let rotated = Server::with(Config::default(), SECRET, Some(old));
    assert!(rotated.consent_page(&query, &mut jar).text().contains("key_choice_saved"));
    let fresh = Server::new();
    let page = fresh.consent_page(&query, &mut jar);
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("key_choice_saved"), "a cookie that does not open counts as absent");

    let mut bad = Jar(vec![(REMEMBER_COOKIE.into(), "garbage%%".into())]);
    assert_eq!(s.consent_page(&query, &mut bad).status, 200);
}

#[test]
fn weak_secret_fails_closed() {
    assert!(Provider::new(Config::default(), "", None).is_err());
    assert!(Provider::new(Config::default(), "short", None).is_err());
    assert!(Provider::new(Config::default(), SECRET, Some("short")).is_err());
}

#[test]
fn store_failure_issues_nothing_and_recovers() {
    let s = Server::new();
    let (query, verifier) = default_query("x");
    let (page, mut jar) = s.open_consent(&query);
    s.store.set_failing(true);
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_eq!(r.status, 503);
    assert!(r.header("location").is_none());
    assert!(!r.text().contains(KEY));
    s.store.set_failing(false);
    // The same form can be sent again once the store is back.
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_eq!(r.status, 303);
    let code = code_of(&r);

    s.store.set_failing(true);
    assert_error(&s.redeem(&code, &verifier), 503, "temporarily_unavailable", "store down at token");
    s.store.set_failing(false);
    assert_eq!(s.redeem(&code, &verifier).status, 200);
}

#[test]
fn original_readme_recipe_works_unchanged() {
    let s = Server::new();
    let reg =
        json(&s.post("/register", "application/json", r#"{"redirect_uris":["https://yourapp.com/callback"]}"#, &[]));
    assert_eq!(reg["client_id"], "yourapp.com");
    // btoa(crypto.getRandomValues(new Uint8Array(32))) with +/= replaced.
    let text = (0..32).map(|i| ((i * 97 + 13) % 256).to_string()).collect::<Vec<_>>().join(",");
    let verifier = URL_SAFE_NO_PAD.encode(text);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let code = code_for(&s, &auth_query("yourapp.com", REDIRECT, &challenge, ""));
    assert_eq!(json(&s.redeem(&code, &verifier))["access_token"], KEY);
}

#[test]
fn state_of_two_kilobytes_round_trips_exactly() {
    let s = Server::new();
    let (query, _) = default_query("x");
    let state: String = "<\"'&\u{2028}é".chars().cycle().take(2048).collect();
    let (page, mut jar) = s.open_consent(&query.replace("state=st-1", &format!("state={}", enc(&state))));
    assert!(!page.text().contains("<\"'"));
    let (_, params) = location(&s.answer(&page, APPROVE, &mut jar));
    assert_eq!(param(&params, "state"), Some(state.as_str()));
}

#[test]
fn key_never_appears_in_any_page() {
    let s = Server::new();
    let (query, _) = default_query("x");
    let (page, mut jar) = s.open_consent(&query);
    let approved = s.answer(&page, APPROVE_AND_REMEMBER, &mut jar);
    let again = s.consent_page(&query, &mut jar);
    let missing = s.answer(&again, "key_choice=new&action=approve", &mut jar);
    for r in [&page, &approved, &again, &missing] {
        assert!(!r.text().contains(KEY));
        assert!(r.headers.iter().all(|(_, v)| !v.contains(KEY)));
    }
}

/// Regression: `/device/` (a verification URI typed by hand, RFC 8628
/// §3.3) and any other path nobody serves answered a browser with JSON.
#[test]
fn a_page_path_with_a_trailing_slash_and_an_unknown_page_answered_a_browser_with_json() {
    let s = Server::new();
    let p = &s.provider;
    let r = p.unrouted("GET", &url("/device/?user_code=BCDF-GHJK"), Some("text/html"));
    assert_eq!((r.status, r.header("location")), (308, Some("/device?user_code=BCDF-GHJK")));
    for page in ["/authorize/", "/grants/"] {
        assert_eq!(p.unrouted("GET", &url(page), None).header("location"), Some(page.trim_end_matches('/')));
    }
    assert_eq!(p.unrouted("POST", &url("/device/"), None).status, 404, "a POST is not redirected");
    assert_eq!(p.unrouted("GET", &url("/token/"), None).status, 404, "only pages");
    let html = p.unrouted("GET", &url("/Authorize"), Some("text/html,application/xhtml+xml;q=0.9"));
    assert_eq!(html.status, 404);
    assert!(html.header("content-type").unwrap().starts_with("text/html"));
    assert!(html.text().contains("Page not found"));
    assert_eq!(html.header("x-frame-options"), Some("DENY"));
    let api = p.unrouted("GET", &url("/nothing"), Some("application/json"));
    assert_error(&api, 404, "not_found", "an API client gets JSON");
}

/// Regression: a public client's unknown client_id, sent in the form with
/// no Authorization header, was 401 with `WWW-Authenticate: Basic`;
/// openid-client then threw a challenge error whose `error` was undefined.
/// Tried through HTTP Basic, it is still 401 with the challenge.
#[test]
fn invalid_client_without_an_authorization_header_was_challenged() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let code = token_body(&code, "yourapp.com", REDIRECT, &verifier).replace("client_id=yourapp.com&", "");
    let forged = "&client_id=pc1.eyJyIjpbXX0.AAAAAAAAAAAAAAAAAAAAAA";
    for (path, body) in [("/token", code.as_str()), ("/revoke", "token=x"), ("/device_authorization", "scope=api")] {
        // No client_id, or (where the client is resolved) a forged one.
        let forms = [body.to_string(), format!("{body}{forged}")];
        for form in &forms[..if path == "/revoke" { 1 } else { 2 }] {
            let r = s.post(path, FORM, form, &[]);
            assert_error(&r, 400, "invalid_client", form);
            assert_eq!(r.header("www-authenticate"), None, "{form}");
        }
        let r = s.post(path, FORM, body, &[("authorization", "Basic !!!")]);
        assert_error(&r, 401, "invalid_client", &format!("{path} with Basic"));
        assert!(r.header("www-authenticate").is_some_and(|c| c.starts_with("Basic")), "{path}");
    }
}

/// Regression: a malformed code (or device code, or redirect URI) from an
/// unknown client was `invalid_grant`, the code checked before the client,
/// while a refresh from the same client was `invalid_client` (x/oauth2
/// showed it). The client is checked first at every grant.
#[test]
fn a_bad_code_from_an_unknown_client_was_invalid_grant() {
    let s = Server::new();
    let verifier = "v".repeat(43);
    let bad_code = format!(
        "grant_type=authorization_code&code=bogus&redirect_uri=https%3A%2F%2Fyourapp.com%2Fcb&code_verifier={verifier}"
    );
    let bad_device = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=bogus".to_string();
    for body in [bad_code, bad_device] {
        let r = s.post("/token", FORM, &format!("{body}&client_id=pc1.garbage"), &[]);
        assert_error(&r, 400, "invalid_client", &body);
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("pc1.garbage:"));
        let r = s.post("/token", FORM, &body, &[("authorization", &basic)]);
        assert_error(&r, 401, "invalid_client", &body);
        // A known client with the same bad code: invalid_grant, as before.
        assert_error(
            &s.post("/token", FORM, &format!("{body}&client_id=yourapp.com"), &[]),
            400,
            "invalid_grant",
            &body,
        );
    }
}

#[test]
fn a_consent_post_without_a_key_said_the_saved_key_was_gone() {
    // A form with no key field and no saved key's radio (posted by hand, or a
    // page whose field was removed): nothing was chosen, and no key was ever saved.
    let s = Server::new();
    let (query, _) = default_query("x");
    let (page, mut jar) = s.open_consent(&query);
    let r = s.answer(&page, "action=approve", &mut jar);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Paste your API key to continue."), "{}", r.text());
    assert!(!r.text().contains("no longer available"));
    // The field is marked and described by the message; the first page marks nothing.
    assert!(r.text().contains(r#"aria-describedby="error api_key_help" aria-invalid="true" required>"#));
    assert!(r.text().contains(r#"<p class="alert" role="alert" id="error">"#));
    assert!(page.text().contains(r#"aria-describedby="api_key_help" required>"#));
    assert!(!page.text().contains("aria-invalid"));
    // The saved key's radio without a saved key still says it is gone.
    let r = s.answer(&page, "key_choice=saved&action=approve", &mut jar);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("saved key is no longer available"));
}

#[test]
fn a_double_submitted_consent_lost_its_remember_cookie() {
    // "Remember this key" and Allow pressed twice: the browser keeps only the
    // second answer, which must set the cookie too, or the key is not saved.
    let s = Server::new();
    let (query, _) = default_query("x");
    let (page, jar) = s.open_consent(&query);
    let form = format!("{}&{APPROVE_AND_REMEMBER}", form_fields(&page));
    let cookie = jar.header();
    let first = s.consent_post(&form, &[("cookie", &cookie)]);
    assert_eq!(first.status, 303);
    let second = s.consent_post(&form, &[("cookie", &cookie)]);
    assert_eq!(second.status, 303, "{}", second.text());
    assert_eq!(second.header("location"), first.header("location"));
    let mut kept = jar.clone();
    kept.update(&second);
    assert!(kept.has(REMEMBER_COOKIE), "the second answer sets the remember cookie");
    assert!(s.consent_page(&query, &mut kept).text().contains("key_choice_saved"), "and it opens");
    // Without "remember", a second answer sets no cookie.
    let (page, jar) = s.open_consent(&query);
    let form = format!("{}&{APPROVE}", form_fields(&page));
    let a = s.consent_post(&form, &[("cookie", &jar.header())]);
    let b = s.consent_post(&form, &[("cookie", &jar.header())]);
    assert_eq!((a.status, b.status), (303, 303));
    assert!(b.header("set-cookie").is_none());
}
