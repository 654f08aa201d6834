//! Discovery documents: RFC 8414 authorization server metadata and RFC 9728
//! protected resource metadata.

use crate::config::Config;
use crate::grants::token_keys::TokenKeys;
use crate::http::Response;
use crate::json::Value;

/// Where the JWKS of the JWT access tokens' signing keys is served.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// GET /.well-known/jwks.json: the current and, while rotating, the
/// previous public key; cached for an hour (a new key is published with the
/// previous one kept for the tokens' lifetime).
pub fn jwks(keys: &TokenKeys) -> Response {
    Response::empty(200)
        .with_header("content-type", "application/json")
        .with_header("cache-control", "public, max-age=3600")
        .with_body(keys.jwks())
}

/// The grants /token answers (`grant_types_supported`, and what a
/// registration may ask for): refresh tokens where any token is sealed, the
/// device grant where a grant store is bound (`device`).
pub fn grant_types(config: &Config, device: bool) -> Vec<&'static str> {
    let mut grant_types = vec!["authorization_code"];
    if config.tokens.any_sealed() {
        grant_types.push("refresh_token");
    }
    if device {
        grant_types.push(crate::endpoints::token::DEVICE_CODE_GRANT);
    }
    grant_types
}

/// RFC 8414 metadata for `issuer`, with endpoints at `origin`.
/// `client_id_metadata_document_supported` is advertised when the provider
/// can fetch documents; the device authorization grant (RFC 8628) when a
/// grant store is bound (`device`), which its records need.
pub fn authorization_server(config: &Config, issuer: &str, origin: &str, cimd: bool, device: bool) -> Value {
    let endpoint = |name: &str| format!("{origin}{}", config.endpoint_path(name));
    let grant_types: Vec<Value> = grant_types(config, device).into_iter().map(Value::from).collect();
    let mut metadata = Value::object([
        ("issuer", issuer.into()),
        ("authorization_endpoint", endpoint("authorize").into()),
        ("token_endpoint", endpoint("token").into()),
        ("registration_endpoint", endpoint("register").into()),
        ("response_types_supported", ["code"].into()),
        ("response_modes_supported", ["query"].into()),
        ("grant_types_supported", grant_types.into()),
        ("code_challenge_methods_supported", ["S256"].into()),
        ("token_endpoint_auth_methods_supported", ["none"].into()),
        ("scopes_supported", config.scopes_supported.as_slice().into()),
        ("authorization_response_iss_parameter_supported", true.into()),
        ("client_id_metadata_document_supported", cimd.into()),
        ("revocation_endpoint", endpoint("revoke").into()),
        ("revocation_endpoint_auth_methods_supported", ["none"].into()),
        ("introspection_endpoint", endpoint("introspect").into()),
        ("introspection_endpoint_auth_methods_supported", ["client_secret_basic"].into()),
        ("jwks_uri", format!("{origin}{JWKS_PATH}").into()),
        ("userinfo_endpoint", endpoint("userinfo").into()),
    ]);
    if device {
        metadata.insert("device_authorization_endpoint", endpoint("device_authorization"));
    }
    metadata
}

/// RFC 9728 metadata for the resource at `origin` + `path`, protected by `issuer`.
pub fn protected_resource(config: &Config, issuer: &str, origin: &str, path: &str) -> Value {
    Value::object([
        ("resource", format!("{origin}{path}").into()),
        ("authorization_servers", [issuer].into()),
        ("scopes_supported", config.scopes_supported.as_slice().into()),
        ("bearer_methods_supported", ["header"].into()),
        ("resource_name", (&config.branding.product_name).into()),
    ])
}
