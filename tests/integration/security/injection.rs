//! Injection: markup in every reflected value, oversized requests.

#[allow(unused_imports)]
use super::*;

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
    // A name may not hold line or paragraph separators (refused at /register); the other values carry them.
    let name: String = PAYLOAD.chars().filter(|c| !matches!(c, '\u{2028}' | '\u{2029}')).take(100).collect();
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
    // A state longer than we carry: an error redirect, with it (the client checks it).
    let q = auth_query("yourapp.com", REDIRECT, &challenge, "")
        .replace("state=st-1", &format!("state={}", "s".repeat(4097)));
    let long = "s".repeat(4097);
    assert_error_redirect(&s.authorize(&q), REDIRECT, "invalid_request", Some(&long), "4097-byte state");
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

/// A JSON document whose member names repeat reads two ways in two parsers
/// (first wins in one, last in another): the registration is refused, not
/// read as either. Before the crate's own JSON reader, the last
/// `redirect_uris` won.
#[test]
fn a_registration_with_a_repeated_member_name_is_refused() {
    let s = Server::new();
    for body in [
        r#"{"redirect_uris":["https://good.example/cb"],"redirect_uris":["https://evil.example/cb"]}"#,
        r#"{"redirect_uris":["https://good.example/cb"],"client_name":"A","client_name":"B"}"#,
    ] {
        let r = s.post("/register", "application/json", body, &[]);
        assert_json_error(&r, 400, "invalid_client_metadata", body);
    }
    let once = s.post("/register", "application/json", r#"{"redirect_uris":["https://good.example/cb"]}"#, &[]);
    assert_eq!(once.status, 201, "{}", once.text());
}
