//! Sealed mode: access tokens only their resource can open, rotating refresh
//! tokens in the grant store, revocation, introspection, userinfo, JWKS.
//! Memory stores and a fixed clock.

mod endpoints;
mod faults;
mod fuzz;
mod lifecycle;

use crate::*;
use base64::engine::general_purpose::STANDARD;
use parallel_oauth_provider::config::{TokenFormat, TokenMode, TokenPolicy};
use parallel_oauth_provider::crypto::jose::parse_jwks;
use parallel_oauth_provider::crypto::secret::Secret;
use parallel_oauth_provider::grants::access_token::{open, Opened, Refusal, ResourceKey};

/// The MCP server the tokens are for.
pub const R: &str = "https://mcp.example/mcp";
pub const OTHER: &str = "https://other.example/mcp";
pub const TTL: u64 = 3600;

pub fn policy(format: TokenFormat) -> TokenPolicy {
    TokenPolicy { mode: TokenMode::Sealed, format, ..TokenPolicy::default() }
}

pub fn sealed_with(tokens: TokenPolicy) -> Server {
    Server::with(Config { tokens, ..Config::default() }, SECRET, None)
}

pub fn sealed() -> Server {
    sealed_with(policy(TokenFormat::Jwe))
}

/// A fresh PKCE pair's verifier and an authorization query of the default
/// client for resource `R`.
pub fn sealed_query(seed: &str) -> (String, String) {
    let (verifier, challenge) = pkce(seed);
    (verifier, auth_query("yourapp.com", REDIRECT, &challenge, &format!("&resource={}", enc(R))))
}

/// Consent for the default client with `resource`, redeemed: the token response.
pub fn tokens_for(s: &Server, seed: &str, resource: &str) -> Value {
    let (verifier, challenge) = pkce(seed);
    let query = auth_query("yourapp.com", REDIRECT, &challenge, &format!("&resource={}", enc(resource)));
    let code = code_for(s, &query);
    let r = s.redeem(&code, &verifier);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    json(&r)
}

pub fn tokens(s: &Server, seed: &str) -> Value {
    tokens_for(s, seed, R)
}

pub fn refresh(s: &Server, refresh_token: &str, extra: &str) -> Response {
    s.token(&format!("grant_type=refresh_token&refresh_token={}&client_id=yourapp.com{extra}", enc(refresh_token)))
}

/// A refresh that must succeed: its response.
pub fn refreshed(s: &Server, refresh_token: &str) -> Value {
    let r = refresh(s, refresh_token, "");
    assert_eq!(r.status, 200, "{}", r.text());
    json(&r)
}

pub fn rt(v: &Value) -> String {
    v["refresh_token"].as_str().expect("a refresh token").to_string()
}

pub fn at(v: &Value) -> String {
    v["access_token"].as_str().expect("an access token").to_string()
}

pub fn resource_key(resource: &str) -> ResourceKey {
    ResourceKey::derive(&Secret::new(SECRET).unwrap(), resource)
}

/// What the MCP server at `resource` sees when it opens `token` at `now`,
/// with only its own key and the provider's JWKS.
pub fn open_as(s: &Server, token: &str, resource: &str, now: u64) -> Result<Opened, Refusal> {
    let jwks = parse_jwks(&s.get("/.well-known/jwks.json").text()).unwrap();
    open(token, resource, &[resource_key(resource)], &jwks, now)
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::Engine::encode(&STANDARD, format!("{}:{password}", enc(user))))
}

/// POST /introspect as the resource server of `resource`.
pub fn introspect_as(s: &Server, token: &str, resource: &str) -> Response {
    let auth = basic(resource, &resource_key(resource).to_b64url());
    s.post("/introspect", FORM, &format!("token={}", enc(token)), &[("authorization", &auth)])
}

pub fn active(s: &Server, token: &str) -> bool {
    let r = introspect_as(s, token, R);
    assert_eq!(r.status, 200, "{}", r.text());
    json(&r)["active"].as_bool().expect("active")
}

pub fn revoke(s: &Server, token: &str, client_id: &str) -> Response {
    s.post("/revoke", FORM, &format!("token={}&client_id={}", enc(token), enc(client_id)), &[])
}
