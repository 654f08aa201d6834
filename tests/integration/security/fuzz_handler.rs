//! Property tests over the whole handler: no input panics or breaks an invariant.

#[allow(unused_imports)]
use super::*;

pub(crate) fn arb_method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"]).prop_map(str::to_string),
        1 => "[A-Za-z-]{1,10}",
    ]
}

pub(crate) fn arb_path() -> impl Strategy<Value = String> {
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
pub(crate) fn arb_value() -> impl Strategy<Value = String> {
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

pub(crate) fn arb_name() -> impl Strategy<Value = String> {
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
pub(crate) fn arb_params() -> impl Strategy<Value = String> {
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

pub(crate) fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
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

pub(crate) fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => arb_params().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..300),
        1 => arb_json().prop_map(|v| v.to_string().into_bytes()),
    ]
}

pub(crate) fn arb_json() -> impl Strategy<Value = serde_json::Value> {
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

pub(crate) fn arb_meta_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "redirect_uris", "client_name", "grant_types", "response_types", "token_endpoint_auth_method", "client_uri", "logo_uri",
            "scope", "application_type", "software_id",
        ])
        .prop_map(str::to_string),
        1 => ".{0,10}",
    ]
}

/// A redirect's target without the parameters the response added to it.
fn without_response_parameters(location: &str) -> String {
    let (base, query) = location.split_once('?').unwrap_or((location, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            !["code", "state", "iss", "error", "error_description", "error_uri"].contains(&p.split('=').next().unwrap())
        })
        .collect();
    if kept.is_empty() && !query.is_empty() {
        base.to_string()
    } else if query.is_empty() {
        location.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// What must hold for every response to every request.
pub(crate) fn check_invariants(r: &Response, store_failing: bool, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500 || (store_failing && r.status == 503), "{what}: status {}", r.status);
    prop_assert!(r.status >= 200, "{what}");
    if let Some(loc) = r.header("location") {
        prop_assert!(matches!(r.status, 302 | 303), "{what}: Location on a {}", r.status);
        prop_assert!(!loc.bytes().any(|b| b < 0x20 || b == 0x7f) && loc.is_ascii(), "{what}: Location {loc:?}");
        if !loc.starts_with('/') {
            let to = without_response_parameters(loc);
            prop_assert!(RedirectUri::parse(&to).is_ok(), "{what}: redirect to an invalid URI {loc}");
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
pub(crate) fn proptest_config() -> ProptestConfig {
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
        let mut u = url::Url::parse(&format!("{ORIGIN}/")).unwrap();
        u.set_path(&path);
        u.set_query(query.as_deref());
        // What the runtime would hand over; a URL the provider cannot read
        // never reaches the core (the Worker answers 400).
        let Ok(u) = u.as_str().parse() else { return Ok(()) };
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
