//! The token and registration endpoints: methods, malformed requests, caching.

#[allow(unused_imports)]
use super::*;

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

/// Regression: a 405's `Allow` left out HEAD, which the metadata, the JWKS
/// and the pages answer, and the JWKS's named POST, which it refused.
/// Every method a 405 lists is one the path answers without a 405, and
/// every method it answers is listed.
#[test]
fn an_allow_header_named_a_method_that_was_405() {
    let s = sealed::sealed();
    for path in [
        "/token",
        "/register",
        "/revoke",
        "/introspect",
        "/userinfo",
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
        "/authorize",
        "/grants",
        "/device_authorization",
    ] {
        let r = s.send(Request::new("PUT", url(path)));
        assert_eq!(r.status, 405, "PUT {path}");
        let allow: Vec<String> = r.header("allow").unwrap().split(", ").map(str::to_string).collect();
        for method in ["GET", "HEAD", "POST", "OPTIONS"] {
            let answered =
                s.send(Request::new(method, url(path)).with_header("origin", "https://app.example")).status != 405;
            assert_eq!(allow.iter().any(|m| m == method), answered, "{method} {path}: Allow {allow:?}");
        }
    }
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
            "invalid_request",
            "device_code (supported since issue 14; this body has no device_code)",
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
        (
            format!("{good}&resource=a&resource=b"),
            Some(FORM),
            400,
            "invalid_target",
            "repeated resource (RFC 8707: one resource per token here)",
        ),
        // No Authorization header: 400 without a challenge (RFC 6749 §5.2).
        (swap("client_id=yourapp.com&", ""), Some(FORM), 400, "invalid_client", "no client_id"),
        (
            swap("client_id=yourapp.com", "client_id=has%20space"),
            Some(FORM),
            400,
            "invalid_client",
            "malformed client_id",
        ),
        (
            swap("client_id=yourapp.com", "client_id=pc1.forged.AAAAAAAAAAAAAAAAAAAAAA"),
            Some(FORM),
            400,
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

/// Regression: a body sent with a `Content-Encoding` (gzip, say) was read
/// as if it were plain, so a compressed token request got a form-parsing
/// error and a compressed registration "not a JSON object". Now every
/// endpoint that reads a body answers 415 with `Accept-Encoding: identity`
/// (RFC 9110 §15.5.16, RFC 7694 §3), consumes nothing, and `identity`
/// itself is no coding.
#[test]
fn a_compressed_body_was_read_as_if_it_were_plain() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let good = token_body(&code, "yourapp.com", REDIRECT, &verifier);
    for coding in ["gzip", "br", "deflate", "identity, gzip", "x-custom"] {
        let r = s.post("/token", FORM, &good, &[("content-encoding", coding)]);
        assert_json_error(&r, 415, "invalid_request", coding);
        assert_eq!(r.header("accept-encoding"), Some("identity"), "{coding}");
    }
    for coding in ["gzip,", ", gzip", " GZIP "] {
        assert_eq!(s.post("/token", FORM, &good, &[("content-encoding", coding)]).status, 415, "{coding:?}");
    }
    // Over the size limit and compressed: the size is what is refused.
    let big = "a".repeat(64 * 1024 + 1);
    assert_json_error(&s.post("/token", FORM, &big, &[("content-encoding", "gzip")]), 413, "invalid_request", "big");
    // Nothing was consumed: the same code, sent plain (an empty or `identity`
    // coding is none), redeems.
    let r = s.post("/token", FORM, &good, &[("content-encoding", "")]);
    assert_eq!(r.status, 200, "{}", r.text());
    // Read as plain, so the code is now used: invalid_grant, not 415.
    for coding in [" , identity", "Identity"] {
        let r = s.post("/token", FORM, &good, &[("content-encoding", coding)]);
        assert_eq!(json(&r)["error"], "invalid_grant", "{coding:?}: {}", r.text());
    }
    let s = sealed::sealed();
    for path in ["/register", "/revoke", "/introspect", "/device_authorization", "/userinfo"] {
        let r = s.post(path, FORM, "token=x", &[("content-encoding", "gzip"), ("origin", "https://app.example")]);
        assert_json_error(&r, 415, "invalid_request", path);
        assert_eq!(r.header("accept-encoding"), Some("identity"), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example"), "{path}: a browser reads it");
    }
    for path in ["/authorize", "/grants", "/device"] {
        let r = s.post(path, FORM, "api_key=x", &[("content-encoding", "gzip")]);
        assert_page(&r, 415, path);
        assert_eq!(r.header("accept-encoding"), Some("identity"), "{path}");
    }
    // GET requests and the metadata are not affected.
    let r = s.send(
        Request::new("GET", url("/.well-known/oauth-authorization-server")).with_header("content-encoding", "gzip"),
    );
    assert_eq!(r.status, 200);
}
