//! The token lifecycle: code -> tokens -> refresh -> refresh, expiry,
//! rotation, the grace window, reuse, concurrency, bindings.

use super::*;

#[test]
fn code_then_tokens_then_refresh_then_refresh() {
    let s = sealed();
    let first = tokens(&s, "life");
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], TTL);
    assert_eq!(first["scope"], "api");
    assert_ne!(at(&first), KEY, "the key itself is never the access token in sealed mode");
    let opened = open_as(&s, &at(&first), R, T0).unwrap();
    assert_eq!(opened.api_key.expose(), KEY);
    assert_eq!((opened.client_id.as_str(), opened.aud.as_str(), opened.scope.as_str()), ("yourapp.com", R, "api"));
    assert_eq!((opened.iat, opened.exp), (T0, T0 + TTL));
    assert_eq!(opened.iss, ORIGIN);
    assert!(!opened.sub.contains(KEY));

    s.now.set(T0 + 100);
    let second = refreshed(&s, &rt(&first));
    assert_ne!(rt(&second), rt(&first), "rotation: a new refresh token");
    assert_ne!(at(&second), at(&first));
    assert_eq!(open_as(&s, &at(&second), R, T0 + 100).unwrap().api_key.expose(), KEY);
    s.now.set(T0 + 200);
    let third = refreshed(&s, &rt(&second));
    assert_ne!(rt(&third), rt(&second));
    assert_eq!(open_as(&s, &at(&third), R, T0 + 200).unwrap().sub, opened.sub, "one subject for one key");
}

/// Regression: a refresh without `client_id` was 401 `invalid_client`,
/// though RFC 6749 §6 lists no client_id and a public client's refresh
/// token names its client (requests-oauthlib's `refresh_token()` sends
/// none). Sent, it must still be the token's.
#[test]
fn a_refresh_without_client_id_was_refused_as_an_unknown_client() {
    let s = sealed();
    let first = tokens(&s, "no-client-id");
    let r = s.token(&format!("grant_type=refresh_token&refresh_token={}", enc(&rt(&first))));
    assert_eq!(r.status, 200, "{}", r.text());
    let next = json(&r);
    assert_eq!(open_as(&s, &at(&next), R, T0).unwrap().client_id, "yourapp.com");
    let other = s.token(&format!("grant_type=refresh_token&refresh_token={}&client_id=other.example", enc(&rt(&next))));
    assert_error(&other, 400, "invalid_grant", "another client's refresh token");
    let device = s.token("grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=x");
    assert_error(&device, 400, "invalid_client", "a device poll still names its client (RFC 8628 §3.4)");
}

#[test]
fn the_subject_is_the_same_for_every_client_of_one_key_and_differs_between_keys() {
    let s = sealed();
    let a = open_as(&s, &at(&tokens(&s, "a")), R, T0).unwrap();
    let b = open_as(&s, &at(&tokens(&s, "b")), R, T0).unwrap();
    assert_eq!(a.sub, b.sub);
    let (verifier, query) = sealed_query("other-key");
    let code = approve(&s, &query, &mut Jar::default(), "api_key=sk-another-key-0123456789&action=approve");
    let c = open_as(&s, &at(&json(&s.redeem(&code, &verifier))), R, T0).unwrap();
    assert_ne!(c.sub, a.sub);
}

#[test]
fn access_token_expires_at_its_ttl() {
    let s = sealed();
    let t = tokens(&s, "ttl");
    s.now.set(T0 + TTL);
    assert!(active(&s, &at(&t)), "active at exactly its TTL");
    s.now.set(T0 + TTL + 1);
    assert!(!active(&s, &at(&t)), "inactive one second later");
    // The resource server allows 60 s of clock skew, no more.
    assert!(open_as(&s, &at(&t), R, T0 + TTL + 60).is_ok());
    assert_eq!(open_as(&s, &at(&t), R, T0 + TTL + 61).unwrap_err(), Refusal::Expired);
}

#[test]
fn a_token_for_one_resource_opens_at_no_other() {
    let s = sealed();
    let t = tokens(&s, "aud");
    assert!(open_as(&s, &at(&t), OTHER, T0).is_err());
    let r = introspect_as(&s, &at(&t), OTHER);
    assert_eq!(json(&r), serde_json::json!({ "active": false }));
}

#[test]
fn replay_within_grace_returns_the_same_successor() {
    let s = sealed();
    let first = tokens(&s, "grace");
    s.now.set(T0 + 10);
    let a = refreshed(&s, &rt(&first));
    s.now.set(T0 + 10 + 60);
    let b = refreshed(&s, &rt(&first));
    assert_eq!(rt(&a), rt(&b), "the same successor: one lineage");
    assert_ne!(at(&a), at(&b), "a fresh access token is fine");
    let next = refreshed(&s, &rt(&b));
    assert!(!rt(&next).is_empty());
}

#[test]
fn replay_after_the_grace_window_revokes_the_grant() {
    let s = sealed();
    let first = tokens(&s, "reuse");
    s.now.set(T0 + 10);
    let successor = refreshed(&s, &rt(&first));
    s.now.set(T0 + 10 + 61);
    assert_error(&refresh(&s, &rt(&first), ""), 400, "invalid_grant", "replay after the grace window");
    assert_error(&refresh(&s, &rt(&successor), ""), 400, "invalid_grant", "the successor dies with the grant");
    assert!(!active(&s, &at(&successor)), "its access tokens are inactive at introspection");
}

#[test]
fn an_older_generation_revokes_the_grant_even_within_grace() {
    let s = sealed();
    let g0 = tokens(&s, "older");
    let g1 = refreshed(&s, &rt(&g0));
    let g2 = refreshed(&s, &rt(&g1));
    assert_error(&refresh(&s, &rt(&g0), ""), 400, "invalid_grant", "generation 0 after generation 2");
    assert_error(&refresh(&s, &rt(&g2), ""), 400, "invalid_grant", "the grant is revoked");
}

#[test]
fn five_concurrent_refreshes_of_one_token_all_succeed_with_one_lineage() {
    let s = sealed();
    let first = tokens(&s, "five");
    let requests: Vec<_> = (0..5u8)
        .map(|i| {
            let body = format!("grant_type=refresh_token&refresh_token={}&client_id=yourapp.com", enc(&rt(&first)));
            let request = Request::new("POST", url("/token")).with_header("content-type", FORM).with_body(body);
            (request, i)
        })
        .collect();
    let futures: Vec<_> =
        requests.iter().map(|(r, i)| s.provider.handle_with(r, &s.store, &s.grants, T0 + 5, [100 + i; 32])).collect();
    let answers = crate::security::join_all(futures);
    let successors: Vec<String> = answers
        .iter()
        .map(|r| {
            let r = r.as_ref().unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            rt(&json(r))
        })
        .collect();
    assert!(successors.iter().all(|t| *t == successors[0]), "one surviving lineage");
    assert_eq!(refreshed(&s, &successors[0])["token_type"], "Bearer");
}

#[test]
fn refresh_is_bound_to_its_client_resource_and_scope() {
    let s = sealed();
    let t = tokens(&s, "bound");
    let body = |extra: &str| format!("grant_type=refresh_token&refresh_token={}{extra}", enc(&rt(&t)));
    assert_error(&s.token(&body("&client_id=other.example")), 400, "invalid_grant", "another client");
    assert_error(&refresh(&s, &rt(&t), &format!("&resource={}", enc(OTHER))), 400, "invalid_target", "other resource");
    assert_error(&refresh(&s, &rt(&t), "&scope=api+admin"), 400, "invalid_scope", "a wider scope");
    // None of those rotated anything: the token still works, with R as a
    // trailing-slash-insensitive resource and the same scope.
    let r = refresh(&s, &rt(&t), &format!("&resource={}&scope=api", enc(R)));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_narrower_scope_narrows_the_access_token_not_the_grant() {
    let s = sealed();
    let (verifier, query) = sealed_query("narrow");
    let query = query.replace("scope=api", "scope=api+read");
    let t = json(&s.redeem(&code_for(&s, &query), &verifier));
    assert_eq!(t["scope"], "api read");
    let narrow = json(&refresh(&s, &rt(&t), "&scope=read"));
    assert_eq!(narrow["scope"], "read");
    assert_eq!(open_as(&s, &at(&narrow), R, T0).unwrap().scope, "read");
    let again = refreshed(&s, &rt(&narrow));
    assert_eq!(again["scope"], "api read", "the refresh token keeps the grant's scope (RFC 6749 §6)");
}

#[test]
fn unknown_malformed_and_foreign_refresh_tokens_are_invalid_grant() {
    let s = sealed();
    let t = tokens(&s, "bad");
    let mut flipped = rt(&t).into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let other = Server::with(
        Config { tokens: policy(TokenFormat::Jwe), ..Config::default() },
        "another-secret-that-is-long-enough-000000",
        None,
    );
    let foreign = rt(&tokens(&other, "foreign"));
    for bad in
        [String::from_utf8(flipped).unwrap(), "x".into(), "a.b.c".into(), at(&t), KEY.into(), foreign, "A".repeat(5000)]
    {
        assert_error(&refresh(&s, &bad, ""), 400, "invalid_grant", &bad[..bad.len().min(20)]);
    }
    assert_error(&s.token("grant_type=refresh_token&client_id=yourapp.com"), 400, "invalid_request", "missing token");
}

#[test]
fn refresh_idle_lifetime_is_renewed_by_each_refresh() {
    let day = 86_400;
    let s = sealed_with(TokenPolicy { refresh_ttl: day, ..policy(TokenFormat::Jwe) });
    let t = tokens(&s, "idle");
    s.now.set(T0 + day);
    let t = refreshed(&s, &rt(&t));
    s.now.set(T0 + 2 * day);
    let t = refreshed(&s, &rt(&t));
    s.now.set(T0 + 3 * day + 1);
    assert_error(&refresh(&s, &rt(&t), ""), 400, "invalid_grant", "idle longer than REFRESH_TOKEN_TTL");
}

#[test]
fn jwt_format_is_signed_and_carries_the_key_only_sealed() {
    let s = sealed_with(policy(TokenFormat::Jwt));
    let t = tokens(&s, "jwt");
    let token = at(&t);
    assert_eq!(token.split('.').count(), 3);
    let payload: Value =
        serde_json::from_slice(&base64::Engine::decode(&URL_SAFE_NO_PAD, token.split('.').nth(1).unwrap()).unwrap())
            .unwrap();
    assert_eq!(payload["aud"], R);
    assert!(payload.get("api_key").is_none());
    assert!(!token.contains(KEY) && !payload.to_string().contains(KEY));
    assert!(payload["sealed_api_key"].as_str().unwrap().split('.').count() == 5);
    assert_eq!(open_as(&s, &token, R, T0).unwrap().api_key.expose(), KEY);
    assert!(active(&s, &token));
    let r = refreshed(&s, &rt(&t));
    assert_eq!(at(&r).split('.').count(), 3);
}

#[test]
fn sealed_resources_get_sealed_tokens_in_passthrough_mode_and_others_get_the_key() {
    let tokens_policy = TokenPolicy { sealed_resources: vec![R.into()], ..TokenPolicy::default() };
    let s = sealed_with(tokens_policy);
    let sealed_one = tokens_for(&s, "mixed-a", R);
    assert!(sealed_one.get("refresh_token").is_some());
    assert_eq!(open_as(&s, &at(&sealed_one), R, T0).unwrap().api_key.expose(), KEY);
    let plain = tokens_for(&s, "mixed-b", OTHER);
    assert_eq!(plain["access_token"], KEY);
    assert!(plain.get("refresh_token").is_none());
    let meta = json(&s.get("/.well-known/oauth-authorization-server"));
    assert!(meta["grant_types_supported"].as_array().unwrap().contains(&"refresh_token".into()));
}

#[test]
fn sealed_mode_binds_a_request_without_resource_to_the_default_or_refuses_it() {
    let s = sealed();
    let (verifier, challenge) = pkce("nores");
    let query = auth_query("yourapp.com", REDIRECT, &challenge, "");
    assert_error_redirect(&s.authorize(&query), REDIRECT, "invalid_target", Some("st-1"), "no DEFAULT_RESOURCE");
    let d = sealed_with(TokenPolicy { default_resource: Some(R.into()), ..policy(TokenFormat::Jwe) });
    let t = json(&d.redeem(&code_for(&d, &query), &verifier));
    assert_eq!(open_as(&d, &at(&t), R, T0).unwrap().aud, R);
}

#[test]
fn nothing_in_storage_reveals_a_key() {
    let s = sealed();
    let t = tokens(&s, "storage");
    refreshed(&s, &rt(&t));
    let (_, query) = sealed_query("pending");
    code_for(&s, &query); // a code not yet redeemed, in KV
    let everything = format!("{}{}", s.grants.dump(), s.store.values().join(""));
    assert!(!everything.is_empty());
    assert!(!everything.contains(KEY), "{everything}");
    assert!(!everything.contains(&rt(&t)) && !everything.contains(&at(&t)), "no token is stored either");
}

#[test]
fn the_consent_page_says_who_uses_the_key_in_sealed_mode() {
    let s = sealed();
    let (_, query) = sealed_query("wording");
    let page = s.authorize(&query).text();
    assert!(page.contains("goes sealed to the MCP server <strong>mcp.example</strong>"), "{page}");
    assert!(page.contains("never sees the key") && page.contains("30 days"));
    assert!(!page.contains("until you revoke the key."));
    let plain = Server::new().authorize(&query).text();
    assert!(plain.contains("until you revoke the key.") && !plain.contains("goes sealed"));
}

/// Regression: a code presented again after it made a sealed grant was
/// refused, but the grant it made lived on: its refresh token still
/// refreshed and its access token still opened. RFC 6749 §4.1.2 asks that
/// the tokens issued from a reused code be revoked where possible; here the
/// second redemption revokes the grant.
#[test]
fn a_code_presented_twice_left_its_grant_alive() {
    let s = sealed();
    let (verifier, query) = sealed_query("code-twice");
    let code = code_for(&s, &query);
    let first = s.redeem(&code, &verifier);
    assert_eq!(first.status, 200, "{}", first.text());
    let issued = json(&first);
    assert!(active(&s, &at(&issued)));

    let again = s.redeem(&code, &verifier);
    assert_error(&again, 400, "invalid_grant", "the second redemption");
    assert!(!again.text().contains(&at(&issued)));
    assert_error(&refresh(&s, &rt(&issued), ""), 400, "invalid_grant", "the grant's refresh token after the reuse");
    assert!(!active(&s, &at(&issued)), "the grant's access token after the reuse");

    // Another grant of the same key and client is untouched.
    let other = tokens(&s, "code-twice-other");
    assert_eq!(refresh(&s, &rt(&other), "").status, 200);
    // Whoever presents it again, with any client and verifier: it was out.
    let (verifier2, query2) = sealed_query("code-twice-stolen");
    let stolen = code_for(&s, &query2);
    let issued = json(&s.redeem(&stolen, &verifier2));
    let r = s.token(&token_body(&stolen, "evil.example", "https://evil.example/cb", &pkce("guess").0));
    assert_error(&r, 400, "invalid_grant", "presented again by another client");
    assert_error(&refresh(&s, &rt(&issued), ""), 400, "invalid_grant", "revoked by the other client's presentation");
    // A code that was never redeemed, presented with a wrong verifier, is
    // burnt but made no grant: nothing to revoke, the same answer.
    let burnt = code_for(&s, &query);
    assert_error(&s.redeem(&burnt, &pkce("wrong").0), 400, "invalid_grant", "a wrong verifier");
    assert_error(&s.redeem(&burnt, &verifier), 400, "invalid_grant", "after a wrong verifier");
}

/// Regression: a code was redeemable at any issuer sharing the store and
/// secret: approved at one origin of the Worker (or one deployment) and
/// redeemed at another, and approved on a page that said the key goes
/// sealed to the MCP server, then redeemed by a passthrough deployment that
/// handed the key itself to the client.
#[test]
fn a_code_of_another_issuer_or_token_kind_was_redeemed() {
    let s = sealed();
    let (verifier, query) = sealed_query("other-issuer");
    let body = |code: &str| token_body(code, "yourapp.com", REDIRECT, &verifier);

    let code = code_for(&s, &query);
    let elsewhere = Request::new("POST", "https://other.example/token".parse().unwrap())
        .with_header("content-type", FORM)
        .with_body(body(&code));
    let r = s.send(elsewhere);
    assert_error(&r, 400, "invalid_grant", "a code redeemed at another origin");
    assert!(json(&r)["error_description"].as_str().unwrap().contains("another issuer"));

    let code = code_for(&s, &query);
    let passthrough = Server::new();
    let request = Request::new("POST", url("/token")).with_header("content-type", FORM).with_body(body(&code));
    let r = block_on(passthrough.provider.handle_with(&request, &s.store, &s.grants, T0, [7; 32])).unwrap();
    assert_error(&r, 400, "invalid_grant", "a sealed approval redeemed by a passthrough deployment");
    assert!(!r.text().contains(KEY), "never the key");

    let code = code_for(&s, &query);
    assert_eq!(s.redeem(&code, &verifier).status, 200, "where it was approved");
}

/// Regression: a scope with a token twice was granted and answered as sent
/// (`"api api"`); a scope is a set (RFC 6749 §3.3).
#[test]
fn a_scope_with_a_token_twice_was_granted_twice() {
    let s = sealed();
    let (verifier, query) = sealed_query("scope-twice");
    let query = query.replace("scope=api", "scope=api+other+api+other");
    let r = s.redeem(&code_for(&s, &query), &verifier);
    assert_eq!(json(&r)["scope"], "api other", "{}", r.text());
    let r = refresh(&s, &rt(&json(&r)), "&scope=api%20api");
    assert_eq!((r.status, json(&r)["scope"].clone()), (200, serde_json::json!("api")), "{}", r.text());
    assert_error(
        &refresh(&s, &rt(&json(&r)), "&scope=api%20%20x"),
        400,
        "invalid_scope",
        "a malformed scope at refresh",
    );
}

/// Regression: a request without `scope` got a token with no scope, which
/// a resource server checking `api` (the README's `require_scope`) refused
/// with 403; RFC 6749 §3.3 asks for the server's default or a failure. The
/// default is every scope the metadata lists; a refresh keeps it.
#[test]
fn a_request_without_scope_got_a_token_its_resource_server_refused() {
    let s = sealed();
    let (verifier, query) = sealed_query("no-scope");
    let code = code_for(&s, &query.replace("&scope=api", ""));
    let first = json(&s.redeem(&code, &verifier));
    assert_eq!(first["scope"], "api", "the token response names the scope it chose");
    let opened = open_as(&s, &at(&first), R, T0).unwrap();
    assert_eq!(opened.scope, "api");
    let mcp = parallel_oauth_provider::resource_server::ProtectedResource::new(R, ORIGIN).unwrap();
    assert!(mcp.require_scope(&opened, "api").is_ok());
    assert_eq!(refreshed(&s, &rt(&first))["scope"], "api");
    // Asked for, a scope is kept as asked.
    let (verifier, query) = sealed_query("own-scope");
    let code = code_for(&s, &query.replace("&scope=api", "&scope=search"));
    assert_eq!(json(&s.redeem(&code, &verifier))["scope"], "search");
}
