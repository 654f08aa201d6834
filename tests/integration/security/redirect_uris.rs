//! Redirect URIs: dangerous schemes, other hosts and paths, user info, encoded CR/LF, look-alike hosts.

#[allow(unused_imports)]
use super::*;

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
        // a query that already carries the response's parameters
        "https://yourapp.com/callback?code=evil",
        "https://yourapp.com/callback?state=evil",
        "https://yourapp.com/callback?x=1&iss=https%3A%2F%2Fevil.example",
        "https://yourapp.com/callback?%63ode=evil",
        "https://yourapp.com/callback?error=access_denied",
        "https://yourapp.com/callback?error_description=x&y=1",
        "https://yourapp.com/callback?error_uri",
        "http://127.0.0.1:3000/cb?code=evil&state=evil&iss=evil",
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
fn internationalized_look_alike_host_is_refused_in_unicode_and_shown_as_punycode() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    // Unicode form: refused with a message naming the punycode form (the
    // provider carries no IDNA tables; browsers send punycode).
    let r = register_json(&s, &serde_json::json!({ "redirect_uris": ["https://аррӏе.com/cb"] }));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("xn--"), "{}", r.text());
    let page = s.authorize(&auth_query("xn--80ak6aa92e.com", "https://аррӏе.com/cb", &challenge, ""));
    assert_eq!(page.status, 400);
    assert!(page.text().contains("xn--"));
    // Punycode form: the client_id is that host, and the page shows it.
    let r = register_json(&s, &serde_json::json!({ "redirect_uris": ["https://xn--80ak6aa92e.com/cb"] }));
    assert_eq!(r.status, 201);
    let client_id = client_id_of(&r);
    assert_eq!(client_id, "xn--80ak6aa92e.com", "the client_id is the punycode host");
    let mut jar = Jar::default();
    let page = s.consent_page(&auth_query(&client_id, "https://xn--80ak6aa92e.com/cb", &challenge, ""), &mut jar);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("<strong class=\"host\">xn--80ak6aa92e.com</strong>"));
    assert!(!page.text().contains("аррӏе"), "the look-alike Unicode host is never shown");
}
