//! Consent: CSRF, cross-site posts, forms sealed elsewhere, framing and caching, where the key appears.

#[allow(unused_imports)]
use super::*;

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
    // Within 10 s the same approval gets the same answer (a double click),
    // a denial nothing; after that, neither.
    let again = s.consent_post(&good, &[ours]);
    assert_eq!((again.status, again.header("location")), (303, ok.header("location")));
    assert_refused(&s, &format!("{fields}&action=deny"), &[ours], "deny right after approve");
    s.now.set(s.now.get() + 11);
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
