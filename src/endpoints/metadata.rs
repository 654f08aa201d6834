//! Discovery documents: RFC 8414 authorization server metadata and RFC 9728
//! protected resource metadata.

use crate::config::Config;
use crate::grants::token_keys::TokenKeys;
use crate::http::Response;

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

/// RFC 8414 metadata for `issuer`, with endpoints at `origin`.
/// `client_id_metadata_document_supported` is advertised when the provider
/// can fetch documents; the device authorization grant (RFC 8628) when a
/// grant store is bound (`device`), which its records need.
pub fn authorization_server(
    config: &Config,
    issuer: &str,
    origin: &str,
    cimd: bool,
    device: bool,
) -> serde_json::Value {
    let endpoint = |name: &str| format!("{origin}{}", config.endpoint_path(name));
    let mut grant_types = vec!["authorization_code"];
    if config.tokens.any_sealed() {
        grant_types.push("refresh_token");
    }
    if device {
        grant_types.push(crate::endpoints::token::DEVICE_CODE_GRANT);
    }
    let mut metadata = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "registration_endpoint": endpoint("register"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": config.scopes_supported,
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": cimd,
        "revocation_endpoint": endpoint("revoke"),
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint": endpoint("introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "jwks_uri": format!("{origin}{JWKS_PATH}"),
        "userinfo_endpoint": endpoint("userinfo"),
    });
    if device {
        metadata["device_authorization_endpoint"] = endpoint("device_authorization").into();
    }
    metadata
}

/// RFC 9728 metadata for the resource at `origin` + `path`, protected by `issuer`.
pub fn protected_resource(config: &Config, issuer: &str, origin: &str, path: &str) -> serde_json::Value {
    serde_json::json!({
        "resource": format!("{origin}{path}"),
        "authorization_servers": [issuer],
        "scopes_supported": config.scopes_supported,
        "bearer_methods_supported": ["header"],
        "resource_name": config.branding.product_name,
    })
}
