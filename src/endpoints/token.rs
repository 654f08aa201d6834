//! POST /token (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 8707): the request, and
//! the checks that decide whether a stored grant is released.

use crate::grants::code::{Code, Grant};
use crate::http::Request;
use crate::protocol::encoding::from_b64url;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::form::Params;
use crate::protocol::pkce::CodeVerifier;
use crate::protocol::redirect::RedirectUri;
use crate::protocol::resource;
use sha2::{Digest, Sha256};

use crate::clients::cimd;
use crate::clients::client::Client;
use crate::endpoints::Context;
use crate::grants::code::CODE_STORE_TTL;
use crate::http::Response;
use crate::store::Store;

/// A well-formed token request for the authorization-code grant.
#[derive(Debug)]
pub struct TokenRequest {
    /// The code.
    pub code: Code,
    /// The PKCE verifier.
    pub verifier: CodeVerifier,
    /// The client, from the form or HTTP Basic.
    pub client_id: String,
    /// The redirect URI, normalized as at /authorize.
    pub redirect_uri: String,
    /// The RFC 8707 resource, normalized, if sent.
    pub resource: Option<String>,
}

fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// Reads and validates a token request.
pub fn parse(request: &Request) -> Result<TokenRequest, OAuthError> {
    if request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("token requests must be application/x-www-form-urlencoded"));
    }
    let params = Params::parse_body(&request.body)?;
    match params.get("grant_type") {
        Some("authorization_code") => {}
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "only grant_type=authorization_code is supported",
            ))
        }
    }
    // A client we told to use `none` may still send a secret: it is ignored.
    // Whether the client_id is one we know is checked by the caller.
    let client_id = client_id(&params, request.header("authorization"))?;
    let code = params.require("code", "code is required")?;
    let redirect_uri = params.require("redirect_uri", "redirect_uri is required")?;
    let verifier = CodeVerifier::parse(params.get("code_verifier"))?;
    let code = Code::parse(code).ok_or(OAuthError::invalid_grant("the code is invalid, expired or already used"))?;
    let redirect_uri = RedirectUri::parse(redirect_uri)
        .map_err(|_| OAuthError::invalid_grant("redirect_uri does not match the authorization request"))?;
    let resource = params
        .get("resource")
        .map(|r| resource::normalize(r).ok_or(OAuthError::new(ErrorCode::InvalidTarget, "resource is not a valid URI")))
        .transpose()?;
    Ok(TokenRequest { code, verifier, client_id, redirect_uri: redirect_uri.as_str().to_string(), resource })
}

/// The client_id from the form and/or HTTP Basic (RFC 6749 §2.3.1), which
/// must agree when both are sent.
fn client_id(params: &Params, authorization: Option<&str>) -> Result<String, OAuthError> {
    let form = params.get("client_id");
    let basic = match authorization {
        None => None,
        Some(value) => {
            Some(basic_client_id(value).ok_or(invalid_client("malformed HTTP Basic client authentication"))?)
        }
    };
    match (form, basic) {
        (Some(f), Some(b)) if f != b => Err(invalid_client("client_id in the form and in HTTP Basic differ")),
        (Some(f), _) => Ok(f.to_string()),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(invalid_client("client_id is required")),
    }
}

fn basic_client_id(value: &str) -> Option<String> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, credentials.trim())
        .ok()
        .or_else(|| from_b64url(credentials.trim()))?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, _secret) = text.split_once(':')?;
    // RFC 6749 §2.3.1: the id is form-urlencoded inside Basic.
    let id = Params::parse(&format!("id={id}")).ok()?.get("id")?.to_string();
    Some(id)
}

/// Decides whether `grant` may be released to `request` at time `now`.
/// Every mismatch is `invalid_grant` (RFC 6749 §5.2), except a different
/// resource, which is `invalid_target` (RFC 8707 §2).
pub fn check(grant: &Grant, request: &TokenRequest, now: u64) -> Result<(), OAuthError> {
    let invalid = OAuthError::invalid_grant("the code is invalid, expired or already used");
    if now > grant.expires_at {
        return Err(invalid);
    }
    if grant.request.client_id != request.client_id {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    if grant.request.redirect_uri != request.redirect_uri {
        return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
    }
    if !grant.request.code_challenge.is_met_by(&request.verifier) {
        return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
    }
    if let Some(resource) = &request.resource {
        if grant.request.resource.as_ref() != Some(resource) {
            return Err(OAuthError::new(ErrorCode::InvalidTarget, "resource differs from the authorization request"));
        }
    }
    Ok(())
}

/// The successful token response body.
pub fn response_body(grant: &Grant) -> serde_json::Value {
    let mut body = serde_json::json!({ "access_token": grant.key.expose(), "token_type": "Bearer" });
    if let Some(scope) = &grant.request.scope {
        body["scope"] = scope.as_str().into();
    }
    if let Some(resource) = &grant.request.resource {
        body["resource"] = resource.as_str().into();
    }
    body
}

/// POST /token: redeem a code once.
///
/// A code is consumed by the first request that presents it, whether or
/// not the rest of that request is right: an attacker who intercepted a
/// code and guesses at the verifier burns it instead of getting retries.
pub(crate) async fn post<S: Store>(ctx: &Context, request: &Request, store: &S, now: u64) -> Response {
    let token_request = match parse(request) {
        Ok(r) => r,
        Err(e) => return e.to_response(),
    };
    if !cimd::is_document_url(&token_request.client_id, ctx.config.dev) {
        if let Err(e) = Client::resolve(&token_request.client_id, &ctx.keys) {
            (ctx.log)(&format!("token request from an unknown client: {e}"));
            return OAuthError::new(ErrorCode::InvalidClient, "unknown client_id").to_response();
        }
    }
    let used = OAuthError::invalid_grant("the code is invalid, expired or already used");
    let key = token_request.code.store_key();
    let stored = match store.get(&key).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return used.to_response(),
        Err(e) => {
            (ctx.log)(&format!("store get failed at /token: {}", e.0));
            return OAuthError::unavailable().to_response();
        }
    };
    // Claimed synchronously after the read: of concurrent redemptions in
    // this instance, exactly one gets past this line.
    let claim: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    if !ctx.claims.claim(claim, now + CODE_STORE_TTL, now) {
        return used.to_response();
    }
    if let Err(e) = store.delete(&key).await {
        (ctx.log)(&format!("store delete failed at /token, code kept for a retry: {}", e.0));
        ctx.claims.release(&claim);
        return OAuthError::unavailable().to_response();
    }
    let Some(grant) = token_request.code.open(&stored) else {
        return used.to_response();
    };
    match check(&grant, &token_request, now) {
        Ok(()) => Response::json(200, &response_body(&grant)).no_store(),
        Err(e) => e.to_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Params {
        Params::parse(s).unwrap()
    }

    #[test]
    fn client_id_from_form_or_basic() {
        assert_eq!(client_id(&params("client_id=a.example"), None).unwrap(), "a.example");
        // "a.example:secret"
        assert_eq!(client_id(&params(""), Some("Basic YS5leGFtcGxlOnNlY3JldA==")).unwrap(), "a.example");
        assert_eq!(
            client_id(&params("client_id=a.example"), Some("basic YS5leGFtcGxlOnNlY3JldA==")).unwrap(),
            "a.example"
        );
    }

    #[test]
    fn conflicting_missing_or_malformed_client_auth_is_invalid_client() {
        for (form, auth) in [
            ("client_id=b.example", Some("Basic YS5leGFtcGxlOnNlY3JldA==")),
            ("", None),
            ("", Some("Basic !!!")),
            ("", Some("Bearer abc")),
            ("", Some("Basic bm9jb2xvbg==")),
        ] {
            assert_eq!(client_id(&params(form), auth).unwrap_err().code, ErrorCode::InvalidClient, "{form} {auth:?}");
        }
    }
}
