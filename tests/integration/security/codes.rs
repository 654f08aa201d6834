//! Codes: replay, expiry, binding to client and redirect URI, tampering, concurrent redemption.

#[allow(unused_imports)]
use super::*;

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
