//! Availability: what users see when the store fails.

#[allow(unused_imports)]
use super::*;

#[test]
fn store_failure_at_consent_shows_try_again_and_issues_nothing() {
    let s = Server::new();
    let (query, verifier) = default_query("sec");
    let (page, mut jar) = s.open_consent(&query);
    s.store.set_failing(true);
    let r = s.answer(&page, APPROVE_AND_REMEMBER, &mut jar);
    assert_page(&r, 503, "store down at consent");
    assert!(r.text().to_lowercase().contains("try again"), "{}", r.text());
    assert!(r.text().contains("temporarily_unavailable"));
    assert!(r.header("set-cookie").is_none(), "no remember cookie when nothing was shared");
    assert!(!r.text().contains(KEY));
    assert!(!jar.has(REMEMBER_COOKIE));
    // Deny does not need the store.
    s.store.set_failing(false);
    let (page2, mut jar2) = s.open_consent(&query);
    s.store.set_failing(true);
    assert_eq!(s.answer(&page2, "action=deny", &mut jar2).status, 303);
    // Discovery and registration do not need it either.
    assert_eq!(s.get("/.well-known/oauth-authorization-server").status, 200);
    assert_eq!(register_json(&s, &serde_json::json!({ "redirect_uris": [REDIRECT] })).status, 201);
    s.store.set_failing(false);
    assert!(s.store.is_empty(), "nothing half-written");
    // The same form works once the store is back.
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_eq!(s.redeem(&code_of(&r), &verifier).status, 200);
}

#[test]
fn store_failure_at_token_is_temporarily_unavailable_and_keeps_the_code() {
    let provider = Provider::new(Config::default(), SECRET, None).unwrap();
    let store = FlakyStore::default();
    let (query, verifier) = default_query("sec");
    let page = send_with(&provider, &store, authorize_request(&query), T0, 1);
    let mut jar = Jar::default();
    jar.update(&page);
    let consent = |seed| send_with(&provider, &store, consent_form(&page, APPROVE, &jar.header()), T0, seed);
    store.fail_put.set(true);
    assert_page(&consent(2), 503, "put fails");
    assert!(store.inner.is_empty());
    store.fail_put.set(false);
    let r = consent(3);
    assert_eq!(r.status, 303);
    let token = token_body(&code_of(&r), "yourapp.com", REDIRECT, &verifier);
    let redeem = |seed| send_with(&provider, &store, form_request("/token", token.clone()), T0, seed);
    store.fail_get.set(true);
    assert_json_error(&redeem(4), 503, "temporarily_unavailable", "get fails");
    store.fail_get.set(false);
    store.fail_delete.set(true);
    let r = redeem(5);
    assert_json_error(&r, 503, "temporarily_unavailable", "delete fails");
    assert!(!r.text().contains(KEY), "no key while the code could not be consumed");
    assert_eq!(store.inner.len(), 1, "the code is kept for a retry");
    store.fail_delete.set(false);
    let r = redeem(6);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["access_token"], KEY);
    assert_json_error(&redeem(7), 400, "invalid_grant", "used");
}
