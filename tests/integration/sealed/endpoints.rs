//! /revoke, /introspect, /userinfo, the JWKS and the metadata that lists them.

use super::*;

#[test]
fn metadata_lists_every_endpoint_and_the_refresh_grant_in_sealed_mode() {
    let s = sealed();
    let m = json(&s.get("/.well-known/oauth-authorization-server"));
    for (name, path) in [
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ] {
        assert_eq!(m[name], format!("{ORIGIN}{path}"), "{name}");
    }
    let device = "urn:ietf:params:oauth:grant-type:device_code";
    assert_eq!(m["grant_types_supported"], serde_json::json!(["authorization_code", "refresh_token", device]));
    let passthrough = json(&Server::new().get("/.well-known/oauth-authorization-server"));
    assert_eq!(passthrough["grant_types_supported"], serde_json::json!(["authorization_code", device]));
}

/// Regression: every registration was answered `grant_types:
/// ["authorization_code"]`, also a sealed-mode client's that asked for the
/// refresh tokens /token then gave it.
#[test]
fn a_registration_was_told_it_had_no_refresh_grant_that_it_then_got() {
    let device = "urn:ietf:params:oauth:grant-type:device_code";
    let body = format!(
        r#"{{"redirect_uris":["http://127.0.0.1:33418/"],"grant_types":["authorization_code","refresh_token","{device}"]}}"#
    );
    let registered = |s: &Server| json(&s.post("/register", "application/json", &body, &[]))["grant_types"].clone();
    assert_eq!(registered(&sealed()), serde_json::json!(["authorization_code", "refresh_token", device]));
    assert_eq!(registered(&Server::new()), serde_json::json!(["authorization_code", device]));
}

#[test]
fn refresh_grant_is_unsupported_in_passthrough_mode() {
    let s = Server::new();
    assert_error(&refresh(&s, "anything", ""), 400, "unsupported_grant_type", "passthrough");
}

#[test]
fn revoking_a_refresh_token_revokes_the_grant() {
    let s = sealed();
    let t = tokens(&s, "revoke-rt");
    let r = revoke(&s, &rt(&t), "yourapp.com");
    assert_eq!(r.status, 200);
    assert_error(&refresh(&s, &rt(&t), ""), 400, "invalid_grant", "refresh after revoke");
    assert!(!active(&s, &at(&t)), "introspection after revoke");
    assert_eq!(s.send(bearer("/userinfo", &at(&t))).status, 401, "userinfo after revoke");
}

#[test]
fn revoking_an_access_token_revokes_the_grant() {
    let s = sealed_with(policy(TokenFormat::Jwt));
    let t = tokens(&s, "revoke-at");
    assert_eq!(revoke(&s, &at(&t), "yourapp.com").status, 200);
    assert_error(&refresh(&s, &rt(&t), ""), 400, "invalid_grant", "refresh after revoking the access token");
}

/// Regression: revoking another client's live token answered 200, so the
/// caller could not tell "revoked" from "not yours"; RFC 7009 §2.1 refuses
/// it with an error. An unknown or malformed token is still 200 (§2.2).
#[test]
fn revoking_another_clients_token_was_a_silent_200() {
    let s = sealed();
    let t = tokens(&s, "revoke-other");
    for token in [rt(&t), at(&t)] {
        let r = revoke(&s, &token, "other.example");
        assert_error(&r, 400, "invalid_grant", "another client's token");
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    for token in ["garbage", KEY] {
        let r = revoke(&s, token, "yourapp.com");
        assert_eq!(r.status, 200, "{token}: {}", r.text());
    }
    assert!(active(&s, &at(&t)), "nothing was revoked");
    assert_eq!(refresh(&s, &rt(&t), "").status, 200);
    // client_secret_basic from a client we told `none`: tolerated, as at /token.
    let auth = basic("yourapp.com", "ignored");
    let r = s.post("/revoke", FORM, &format!("token={}", enc(&rt(&t))), &[("authorization", &auth)]);
    assert_eq!(r.status, 200);
    // Revoked by its owner: still another client's token to anyone else
    // (§2.1's check comes first); to its owner, 200 again.
    assert_error(&revoke(&s, &rt(&t), "other.example"), 400, "invalid_grant", "another client's revoked token");
    assert_eq!(revoke(&s, &rt(&t), "yourapp.com").status, 200);
}

#[test]
fn revoke_errors_are_rfc_shaped() {
    let s = sealed();
    assert_error(&s.post("/revoke", FORM, "client_id=yourapp.com", &[]), 400, "invalid_request", "no token");
    assert_error(&s.post("/revoke", "application/json", "{}", &[]), 400, "invalid_request", "json");
    assert_error(&s.post("/revoke", FORM, "token=x", &[]), 400, "invalid_client", "no client_id");
    assert_eq!(s.get("/revoke").status, 405);
}

#[test]
fn introspection_answers_what_a_resource_server_needs_and_never_the_key() {
    let s = sealed();
    let t = tokens(&s, "intro");
    let r = introspect_as(&s, &at(&t), R);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = json(&r);
    assert_eq!(v["active"], true);
    assert_eq!(
        (v["client_id"].as_str(), v["aud"].as_str(), v["scope"].as_str()),
        (Some("yourapp.com"), Some(R), Some("api"))
    );
    assert_eq!((v["exp"].as_u64(), v["iat"].as_u64()), (Some(T0 + TTL), Some(T0)));
    assert_eq!((v["iss"].as_str(), v["token_type"].as_str()), (Some(ORIGIN), Some("Bearer")));
    assert!(v["sub"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(!r.text().contains(KEY));
    for other in ["garbage", KEY, &rt(&t)] {
        assert_eq!(json(&introspect_as(&s, other, R)), serde_json::json!({ "active": false }), "{other}");
    }
}

#[test]
fn introspection_refuses_wrong_resource_credentials_with_401() {
    let s = sealed();
    let t = tokens(&s, "intro-auth");
    let body = format!("token={}", enc(&at(&t)));
    let wrong_key = basic(R, &resource_key(OTHER).to_b64url());
    let no_basic = "Bearer x".to_string();
    for auth in [Some(wrong_key), Some(basic(R, "short")), Some(no_basic), Some("Basic !!!".into()), None] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let r = s.post("/introspect", FORM, &body, &headers);
        assert_error(&r, 401, "invalid_client", &format!("{auth:?}"));
        introspection_sent_two_basic_challenges(&r);
    }
    // The resource in Basic is form-urlencoded (RFC 6749 §2.3.1) and normalized.
    let slash = basic("https://mcp.example/mcp", &resource_key(R).to_b64url());
    assert_eq!(json(&s.post("/introspect", FORM, &body, &[("authorization", &slash)]))["active"], true);
}

/// Regression: authlib and `curl -u` send the resource raw in Basic
/// (`https://mcp.example/mcp:<key>`, not form-encoded); it was read up to
/// its first colon, and the resource server got 401.
#[test]
fn introspection_refused_a_raw_resource_url_in_basic() {
    let s = sealed();
    let t = tokens(&s, "intro-raw");
    let body = format!("token={}", enc(&at(&t)));
    let raw = |key: &str| format!("Basic {}", base64::Engine::encode(&STANDARD, format!("{R}:{key}")));
    let r = s.post("/introspect", FORM, &body, &[("authorization", &raw(&resource_key(R).to_b64url()))]);
    assert_eq!(json(&r)["active"], true, "{}", r.text());
    let wrong = s.post("/introspect", FORM, &body, &[("authorization", &raw(&resource_key(OTHER).to_b64url()))]);
    assert_error(&wrong, 401, "invalid_client", "another resource's key");
}

/// Regression: a refused introspection carried `WWW-Authenticate: Basic
/// realm="oauth"` and `Basic realm="introspection"`, two challenges for one
/// scheme (oauth4webapi showed it).
fn introspection_sent_two_basic_challenges(r: &parallel_oauth_provider::Response) {
    let challenges: Vec<&str> = r.headers_named("www-authenticate").collect();
    assert_eq!(challenges, ["Basic realm=\"oauth\""]);
}

fn bearer(path: &str, token: &str) -> Request {
    Request::new("GET", url(path)).with_header("authorization", &format!("Bearer {token}"))
}

#[test]
fn userinfo_answers_the_subject_of_a_sealed_token_of_any_resource() {
    let s = sealed();
    let a = tokens(&s, "ui-a");
    let b = tokens_for(&s, "ui-b", OTHER);
    let sub = open_as(&s, &at(&a), R, T0).unwrap().sub;
    for t in [&a, &b] {
        let r = s.send(bearer("/userinfo", &at(t)));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(json(&r), serde_json::json!({ "sub": sub }));
    }
    for bad in [KEY, "x.y.z", "a.b.c.d.e"] {
        let r = s.send(bearer("/userinfo", bad));
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
    }
    let r = s.get("/userinfo");
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer")));
    s.now.set(T0 + TTL + 61);
    assert_eq!(s.send(bearer("/userinfo", &at(&a))).status, 401, "expired");
}

/// Regression: a malformed `Bearer` header at /userinfo (no token, two
/// tokens, characters no token has) was answered as if it carried none, a
/// bare 401, where RFC 6750 §3.1 asks for 400 `invalid_request`.
#[test]
fn a_malformed_bearer_header_at_userinfo_was_no_token() {
    let s = sealed();
    for value in ["Bearer", "Bearer ", "Bearer a b", "bearer <x>", "Bearer\tx"] {
        let r = s.send(Request::new("GET", url("/userinfo")).with_header("authorization", value));
        assert_error(&r, 400, "invalid_request", value);
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer error=\"invalid_request\""), "{value}");
    }
    let r = s.send(Request::new("GET", url("/userinfo")).with_header("authorization", "Basic dTpw"));
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer")), "another scheme is no bearer token");
}

/// Regression: /userinfo took an access token for up to 60 s after its
/// `exp` (the resource servers' clock leeway) while /introspect of the same
/// provider already called it inactive.
#[test]
fn userinfo_took_a_token_introspection_called_expired() {
    let s = sealed();
    let a = tokens(&s, "ui-exp");
    s.now.set(T0 + TTL);
    assert_eq!(s.send(bearer("/userinfo", &at(&a))).status, 200, "at exp");
    assert!(active(&s, &at(&a)));
    s.now.set(T0 + TTL + 1);
    assert!(!active(&s, &at(&a)));
    let r = s.send(bearer("/userinfo", &at(&a)));
    assert_eq!(r.status, 401, "a second after exp");
    assert!(r.header("www-authenticate").unwrap().contains("expired"));
}

/// Regression: a POST to /userinfo with its token as the form body's
/// `access_token` (RFC 6750 §2.2, which OpenID Connect's userinfo allows)
/// was answered as if it carried none, and a request with no token at all
/// got an `invalid_token` body although §3.1 asks for no error information.
#[test]
fn a_form_body_token_was_not_read_at_userinfo_and_no_token_had_an_error_code() {
    let s = sealed();
    let a = tokens(&s, "ui-form");
    let sub = open_as(&s, &at(&a), R, T0).unwrap().sub;
    let form = |body: &str, headers: &[(&str, &str)]| s.post("/userinfo", FORM, body, headers);

    let r = form(&format!("access_token={}", at(&a)), &[]);
    assert_eq!((r.status, json(&r)), (200, serde_json::json!({ "sub": sub })), "{}", r.text());

    let r = s.get("/userinfo");
    assert_eq!((r.status, r.header("www-authenticate"), r.text()), (401, Some("Bearer"), String::new()));
    for none in ["scope=x", "access_token="] {
        let r = form(none, &[]);
        assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer")), "{none}: no token (RFC 6749 §3.1)");
    }

    let both = format!("Bearer {}", at(&a));
    let r = form(&format!("access_token={}", at(&a)), &[("authorization", &both)]);
    assert_error(&r, 400, "invalid_request", "header and body");
    assert!(json(&r)["error_description"].as_str().unwrap().contains("once"));
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer error=\"invalid_request\""));
    assert!(!r.text().contains(&sub));

    for bad in ["access_token=x%20y", "access_token=a&access_token=b", "access_token=%ZZ"] {
        let r = form(bad, &[]);
        assert!(matches!(r.status, 400 | 401), "{bad}: {}", r.status);
        assert!(r.header("www-authenticate").unwrap().contains("error="), "{bad}");
    }
    let r = s.post("/userinfo", "application/json", &format!(r#"{{"access_token":"{}"}}"#, at(&a)), &[]);
    assert_eq!(r.status, 401, "only a form body is read");
    // Never from the URL (OAuth 2.1 §5.2 drops RFC 6750 §2.3): it would end up in logs.
    let r = s.get(&format!("/userinfo?access_token={}", at(&a)));
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer")), "a token in the query is no token");
    let r = form(&format!("access_token={}&pad={}", at(&a), "x".repeat(70 * 1024)), &[]);
    assert_eq!(r.status, 413);
}

#[test]
fn jwks_lists_the_current_and_previous_signing_keys_and_is_cacheable() {
    let s = Server::with(
        Config { tokens: policy(TokenFormat::Jwt), ..Config::default() },
        SECRET,
        Some("old-secret-that-is-long-enough-0123456789"),
    );
    let r = s.get("/.well-known/jwks.json");
    assert_eq!(r.status, 200);
    assert!(r.header("cache-control").unwrap().contains("max-age"));
    let v = json(&r);
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert_eq!(
            (k["kty"].as_str(), k["crv"].as_str(), k["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert!(k.get("d").is_none(), "no private key");
    }
    let cors = s.send(Request::new("GET", url("/.well-known/jwks.json")).with_header("origin", "https://app.example"));
    assert_eq!(cors.header("access-control-allow-origin"), Some("https://app.example"));
}

#[test]
fn new_endpoints_answer_cors_preflights() {
    let s = sealed();
    for path in ["/revoke", "/introspect", "/userinfo", "/.well-known/jwks.json"] {
        let r = s.send(Request::new("OPTIONS", url(path)).with_header("origin", "http://localhost:6274"));
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:6274"));
        assert!(r.header("access-control-allow-credentials").is_none());
    }
}

/// Revoking with an access token opened it twice, the first time at time 0,
/// where no token can open (its `iat` is in the future): wasted work. An
/// expired access token revokes nothing (RFC 7009: 200); its refresh token
/// still revokes the grant.
#[test]
fn revoking_an_expired_access_token_is_200_and_the_refresh_token_still_revokes() {
    let s = sealed();
    let t = tokens(&s, "revoke-expired");
    s.now.set(T0 + TTL + 61);
    assert_eq!(revoke(&s, &at(&t), "yourapp.com").status, 200);
    let next = refreshed(&s, &rt(&t));
    assert_eq!(revoke(&s, &rt(&next), "yourapp.com").status, 200);
    assert_error(&refresh(&s, &rt(&next), ""), 400, "invalid_grant", "revoked through the refresh token");
}
