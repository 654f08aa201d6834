//! Cookies and secrets: tampered cookies, rotation of SECRET, a missing or weak SECRET.

#[allow(unused_imports)]
use super::*;

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

/// Regression: `parallel_oauth_provider()`, the entry point for Workers that
/// mount the crate, took one secret, so such a Worker could not rotate
/// `SECRET` (the crate's own Worker could). It takes `Secrets` now (a `&str`
/// still converts), built into the provider with `Provider::with_secrets`
/// and cached under `Secrets::fingerprint`, which this test drives.
#[test]
fn mounted_provider_could_not_rotate_secret() {
    let store = MemoryStore::new();
    let old = Provider::with_secrets(Config::default(), OLD_SECRET.into()).unwrap();
    let rotated = Provider::with_secrets(Config::default(), Secrets::rotating(SECRET, Some(OLD_SECRET))).unwrap();
    let body = r#"{"redirect_uris":["https://a.example/cb"],"client_name":"A"}"#;
    let client = client_id_of(&send_with(&old, &store, typed_post("/register", Some("application/json"), body), T0, 1));
    let (_, challenge) = pkce("mounted");
    let query = auth_query(&client, "https://a.example/cb", &challenge, "");
    let page = send_with(&rotated, &store, authorize_request(&query), T0, 2);
    assert_eq!(page.status, 200, "a client id signed with the previous secret: {}", page.text());
    let dropped = Provider::with_secrets(Config::default(), Secrets::rotating(SECRET, Some(""))).unwrap();
    assert_eq!(send_with(&dropped, &store, authorize_request(&query), T0, 3).status, 400, "previous secret gone");
    // The cache key tells the two apart, and never equals a plain hash of SECRET.
    let one: Secrets = SECRET.into();
    assert_ne!(one.fingerprint(), Secrets::rotating(SECRET, Some(OLD_SECRET)).fingerprint());
    assert_eq!(one.fingerprint(), Secrets::rotating(SECRET, None).fingerprint());
    assert_ne!(one.fingerprint(), <[u8; 32]>::from(Sha256::digest(SECRET.as_bytes())));
    assert_eq!(format!("{one:?}"), "Secrets([redacted])");
}
