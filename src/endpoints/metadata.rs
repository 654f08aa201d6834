//! Discovery documents: RFC 8414 authorization server metadata and RFC 9728
//! protected resource metadata.

use crate::config::Config;

/// RFC 8414 metadata for `issuer`, with endpoints at `origin`.
/// `client_id_metadata_document_supported` is advertised when the provider
/// can fetch documents.
pub fn authorization_server(config: &Config, issuer: &str, origin: &str, cimd: bool) -> serde_json::Value {
    let endpoint = |name: &str| format!("{origin}{}", config.endpoint_path(name));
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "registration_endpoint": endpoint("register"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": config.scopes_supported,
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": cimd,
    })
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
