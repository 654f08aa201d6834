//! Faults lose nothing: a grant store that fails or times out answers 503
//! and the presented refresh token (or code) works on retry; sealed mode
//! without a grant store refuses to issue.

use super::*;
use parallel_oauth_provider::store::NoGrants;

#[test]
fn grant_store_failure_at_refresh_is_503_and_the_token_still_works() {
    let s = sealed();
    let t = tokens(&s, "fail-refresh");
    s.grants.set_failing(true);
    assert_error(&refresh(&s, &rt(&t), ""), 503, "temporarily_unavailable", "store down");
    s.grants.set_failing(false);
    assert_eq!(refresh(&s, &rt(&t), "").status, 200);
}

#[test]
fn a_timeout_after_the_rotation_was_written_is_503_and_the_retry_gets_the_successor() {
    let s = sealed();
    let t = tokens(&s, "fail-after");
    s.grants.set_failing_after_commit(true);
    assert_error(&refresh(&s, &rt(&t), ""), 503, "temporarily_unavailable", "answer lost");
    s.grants.set_failing_after_commit(false);
    let retry = refreshed(&s, &rt(&t));
    assert_eq!(refreshed(&s, &rt(&t))["refresh_token"], retry["refresh_token"], "one lineage");
    assert_eq!(refresh(&s, &rt(&retry), "").status, 200);
}

#[test]
fn grant_store_failure_at_the_code_exchange_keeps_the_code() {
    let s = sealed();
    let (verifier, query) = sealed_query("fail-code");
    let code = code_for(&s, &query);
    s.grants.set_failing(true);
    assert_error(&s.redeem(&code, &verifier), 503, "temporarily_unavailable", "store down at /token");
    s.grants.set_failing(false);
    assert_eq!(s.redeem(&code, &verifier).status, 200, "the code survived");
    assert_error(&s.redeem(&code, &verifier), 400, "invalid_grant", "and is single use");
}

#[test]
fn a_kv_failure_after_the_grant_was_recorded_keeps_the_code_and_records_it_once() {
    let s = sealed();
    let (verifier, query) = sealed_query("fail-kv");
    let code = code_for(&s, &query);
    s.grants.set_failing_after_commit(true);
    assert_error(&s.redeem(&code, &verifier), 503, "temporarily_unavailable", "grant written, answer lost");
    s.grants.set_failing_after_commit(false);
    let t = json(&s.redeem(&code, &verifier));
    assert_eq!(s.grants.dump().matches("\"generation\"").count(), 1, "one grant: {}", s.grants.dump());
    assert_eq!(refresh(&s, &rt(&t), "").status, 200);
}

#[test]
fn sealed_mode_without_a_grant_store_refuses_to_issue() {
    static LOG: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let provider = Provider::new(Config { tokens: policy(TokenFormat::Jwe), ..Config::default() }, SECRET, None)
        .unwrap()
        .with_logger(|m| LOG.lock().unwrap().push(m.to_string()));
    let s = sealed();
    let (verifier, query) = sealed_query("nogrants");
    let code = code_for(&s, &query);
    // The same code, KV and clock, but no grant store bound.
    let body = token_body(&code, "yourapp.com", REDIRECT, &verifier);
    let request = Request::new("POST", url("/token")).with_header("content-type", FORM).with_body(body);
    let none = NoGrants("the GRANTS Durable Object binding is missing");
    let r = block_on(provider.handle_with(&request, &s.store, &none, T0, [9; 32])).unwrap();
    assert_error(&r, 503, "server_error", "no grant store");
    assert!(LOG.lock().unwrap().iter().any(|l| l.contains("GRANTS")), "{:?}", LOG.lock().unwrap());
    assert_eq!(s.redeem(&code, &verifier).status, 200, "the code was not consumed");
}
