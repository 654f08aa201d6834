//! POST /token (RFC 6749 §4.1.3 and §6, RFC 7636 §4.5, RFC 8707): the
//! request, and the checks that decide whether a stored grant is released.

use crate::grants::code::{Code, Grant};
use crate::http::Request;
use crate::protocol::basic;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::form::Params;
use crate::protocol::pkce::CodeVerifier;
use crate::protocol::redirect::RedirectUri;
use crate::protocol::resource;
use sha2::{Digest, Sha256};

use crate::clients::cimd;
use crate::clients::client::Client;
use crate::crypto::entropy::Entropy;
use crate::endpoints::{device, issue, refresh, Context};
use crate::grants::code::CODE_STORE_TTL;
use crate::grants::ledger::GrantCommand;
use crate::http::Response;
use crate::store::{GrantStore, Store};

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

/// A token request, by grant type.
#[derive(Debug)]
pub enum TokenGrant {
    /// `authorization_code`.
    Code(TokenRequest),
    /// `refresh_token`.
    Refresh(RefreshRequest),
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
    Device(DeviceRequest),
}

/// The device code grant type (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A well-formed device access token request (RFC 8628 §3.4).
#[derive(Debug)]
pub struct DeviceRequest {
    /// The device code.
    pub device_code: crate::grants::device::DeviceCode,
    /// The client, from the form or HTTP Basic.
    pub client_id: String,
}

/// A well-formed token request for the refresh-token grant (RFC 6749 §6).
pub struct RefreshRequest {
    /// The refresh token as sent (opened by the caller).
    pub refresh_token: String,
    /// The client, from the form or HTTP Basic, if it named itself.
    pub client_id: Option<String>,
    /// A narrower scope for the new access token, if sent.
    pub scope: Option<String>,
    /// The RFC 8707 resource, normalized, if sent.
    pub resource: Option<String>,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &"[redacted]")
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .finish()
    }
}

/// Reads and validates a token request for the authorization-code grant
/// (whether its client_id is one we know is the caller's to check).
pub fn parse(request: &Request) -> Result<TokenRequest, OAuthError> {
    match read(request, false, |_| true)? {
        TokenGrant::Code(r) => Ok(r),
        TokenGrant::Refresh(_) | TokenGrant::Device(_) => Err(unsupported()),
    }
}

fn unsupported() -> OAuthError {
    OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant_type is not supported here")
}

/// Reads and validates a token request of any grant type we serve
/// (`refresh_token` only where sealed tokens are issued). A client that is
/// not `known` is refused as soon as it is named, before the code or token
/// it sent is read: an unknown client is `invalid_client` whatever else is
/// wrong.
pub fn read(request: &Request, refresh: bool, known: impl Fn(&str) -> bool) -> Result<TokenGrant, OAuthError> {
    if request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("token requests must be application/x-www-form-urlencoded"));
    }
    let params = Params::parse_oauth_body(&request.body)?;
    let grant_type = params.require("grant_type", "grant_type is required")?;
    if !(grant_type == "authorization_code"
        || grant_type == DEVICE_CODE_GRANT
        || refresh && grant_type == "refresh_token")
    {
        return Err(unsupported());
    }
    // A client we told to use `none` may still send a secret: it is ignored.
    let named = named_client(&params, request.header("authorization"))?;
    if named.as_deref().is_some_and(|c| !known(c)) {
        return Err(invalid_client("unknown client_id"));
    }
    let resource = params
        .get("resource")
        .map(|r| resource::normalize(r).ok_or(OAuthError::new(ErrorCode::InvalidTarget, "resource is not a valid URI")))
        .transpose()?;
    if grant_type == DEVICE_CODE_GRANT {
        let client_id = required(named)?;
        let code = params.require("device_code", "device_code is required")?;
        let device_code = crate::grants::device::DeviceCode::parse(code)
            .ok_or(OAuthError::invalid_grant("the device code is invalid, expired or already used"))?;
        return Ok(TokenGrant::Device(DeviceRequest { device_code, client_id }));
    }
    if grant_type == "refresh_token" {
        let refresh_token = params.require("refresh_token", "refresh_token is required")?.to_string();
        let scope = params.get("scope").map(crate::endpoints::authorize::check_scope).transpose()?;
        // A public client's refresh token names its client: client_id may be
        // left out (RFC 6749 §6 lists none), and must match when sent.
        return Ok(TokenGrant::Refresh(RefreshRequest { refresh_token, client_id: named, scope, resource }));
    }
    let client_id = required(named)?;
    let code = params.require("code", "code is required")?;
    let redirect_uri = params.require("redirect_uri", "redirect_uri is required")?;
    let verifier = CodeVerifier::parse(params.get("code_verifier"))?;
    let code = Code::parse(code).ok_or(OAuthError::invalid_grant("the code is invalid, expired or already used"))?;
    let redirect_uri = RedirectUri::parse(redirect_uri)
        .map_err(|_| OAuthError::invalid_grant("redirect_uri does not match the authorization request"))?;
    Ok(TokenGrant::Code(TokenRequest {
        code,
        verifier,
        client_id,
        redirect_uri: redirect_uri.as_str().to_string(),
        resource,
    }))
}

/// The client_id from the form and/or HTTP Basic (RFC 6749 §2.3.1), which
/// must agree when both are sent.
pub(crate) fn client_id(params: &Params, authorization: Option<&str>) -> Result<String, OAuthError> {
    required(named_client(params, authorization)?)
}

fn required(client_id: Option<String>) -> Result<String, OAuthError> {
    client_id.ok_or(invalid_client("client_id is required"))
}

/// [`client_id`], `None` when neither names one.
fn named_client(params: &Params, authorization: Option<&str>) -> Result<Option<String>, OAuthError> {
    let form = params.get("client_id");
    let basic = match authorization {
        None => None,
        Some(value) => {
            Some(basic_client_id(value).ok_or(invalid_client("malformed HTTP Basic client authentication"))?)
        }
    };
    match (form, basic) {
        (Some(f), Some(b)) if f != b => Err(invalid_client("client_id in the form and in HTTP Basic differ")),
        (Some(f), _) => Ok(Some(f.to_string())),
        (None, Some(b)) => Ok(Some(b)),
        (None, None) => Ok(None),
    }
}

fn basic_client_id(value: &str) -> Option<String> {
    basic::credentials(value).map(|(id, _secret)| id)
}

/// Decides whether `grant` may be released to `request` at time `now`, at
/// `issuer`, by an exchange that `seals` the key or hands it out. Every
/// mismatch is `invalid_grant` (RFC 6749 §5.2), except a different
/// resource, which is `invalid_target` (RFC 8707 §2). A code of another
/// issuer (another origin of this Worker, or another deployment sharing its
/// store and secret) is one, and so is one whose consent page promised what
/// this exchange would not do (a code written before those were recorded
/// is checked without them).
pub fn check(grant: &Grant, request: &TokenRequest, issuer: &str, seals: bool, now: u64) -> Result<(), OAuthError> {
    let invalid = OAuthError::invalid_grant("the code is invalid, expired or already used");
    if now > grant.expires_at {
        return Err(invalid);
    }
    if grant.issuer.as_deref().is_some_and(|i| i != issuer) {
        return Err(OAuthError::invalid_grant("the code was issued by another issuer"));
    }
    if grant.sealed.is_some_and(|s| s != seals) {
        return Err(OAuthError::invalid_grant("the code was approved for another kind of token"));
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

/// A code presented again after it made a sealed grant: the grant is
/// revoked, since either this request or the first one was not the client's
/// (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3). Best effort: the request is refused
/// either way.
async fn revoke_spent<G: GrantStore>(ctx: &Context, grants: &G, sub: &str, code_store_key: &str) {
    let id = crate::grants::refresh::grant_id_for_code(&ctx.keys, code_store_key);
    (ctx.log)("an authorization code was presented again: its grant is revoked");
    if let Err(e) = grants.call(sub, GrantCommand::Revoke { id: Some(id) }).await {
        (ctx.log)(&format!("grant store failed revoking the grant of a reused code: {}", e.0));
    }
}

/// The successful token response body.
pub fn response_body(grant: &Grant) -> crate::json::Value {
    let mut body =
        crate::json::Object::from([("access_token", grant.key.expose().into()), ("token_type", "Bearer".into())]);
    body.insert_some("scope", grant.request.scope.as_deref());
    body.insert_some("resource", grant.request.resource.as_deref());
    body.into()
}

/// POST /token: redeem a code once, or refresh.
pub(crate) async fn post<S: Store, G: GrantStore>(
    ctx: &Context,
    request: &Request,
    store: &S,
    grants: &G,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    // A metadata document's client is resolved (fetched) where its
    // redirect URIs matter; any other is known by its id alone.
    let known = |client_id: &str| {
        cimd::is_document_url(client_id, ctx.config.dev)
            || Client::resolve(client_id, &ctx.keys)
                .map_err(|e| (ctx.log)(&format!("token request from an unknown client: {e}")))
                .is_ok()
    };
    let token_request = match read(request, ctx.config.tokens.any_sealed(), known) {
        Ok(r) => r,
        Err(e) => return e.to_response(),
    };
    let issuer = ctx.config.issuer_for(&request.origin());
    match token_request {
        TokenGrant::Code(r) => exchange(ctx, &r, store, grants, &issuer, now, entropy).await,
        TokenGrant::Refresh(r) => refresh::refresh(ctx, &r, grants, &issuer, now, entropy).await,
        TokenGrant::Device(r) => device::poll(ctx, &r, grants, &issuer, now, entropy).await,
    }
}

/// The authorization-code grant.
///
/// A code is consumed by the first request that presents it, whether or
/// not the rest of that request is right: an attacker who intercepted a
/// code and guesses at the verifier burns it instead of getting retries.
/// A store failure consumes nothing: for a sealed grant, the grant is
/// recorded (idempotently, under an id derived from the code) before the
/// code is deleted, so a retry after any failure gets the tokens.
async fn exchange<S: Store, G: GrantStore>(
    ctx: &Context,
    token_request: &TokenRequest,
    store: &S,
    grants: &G,
    issuer: &str,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
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
    if let Some(sub) = token_request.code.open_spent(&stored) {
        revoke_spent(ctx, grants, &sub, &key).await;
        return used.to_response();
    }
    // Claimed synchronously after the read: of concurrent redemptions in
    // this instance, exactly one gets past this line.
    let claim: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    if !ctx.claims.claim(claim, now + CODE_STORE_TTL, now) {
        return used.to_response();
    }
    let sealing = |grant: &Grant| ctx.config.tokens.seals(grant.request.resource.as_deref());
    let checked = token_request.code.open(&stored).ok_or(used).and_then(|grant| {
        check(&grant, token_request, issuer, sealing(&grant), now)?;
        Ok(grant)
    });
    let sealed = match &checked {
        Ok(grant) if sealing(grant) => match issue::record_sealed_grant(ctx, grants, grant, &key, now).await {
            Ok(first) => Some(first),
            Err(response) => {
                ctx.claims.release(&claim);
                return response;
            }
        },
        _ => None,
    };
    // A code that made a sealed grant leaves its spent record behind for the
    // rest of its life; any other is deleted.
    let spent = match (&sealed, &checked) {
        (Some(first), Ok(grant)) => {
            let ttl = (grant.expires_at + 60).saturating_sub(now).max(60);
            store.put(&key, &token_request.code.seal_spent(&first.sub), ttl).await
        }
        _ => store.delete(&key).await,
    };
    if let Err(e) = spent {
        (ctx.log)(&format!("store write failed at /token, code kept for a retry: {}", e.0));
        ctx.claims.release(&claim);
        return OAuthError::unavailable().to_response();
    }
    let grant = match checked {
        Ok(grant) => grant,
        Err(e) => return e.to_response(),
    };
    match sealed {
        Some(first) => {
            let with_refresh = issue::refreshes(ctx, &token_request.client_id);
            issue::sealed_response(ctx, &first, None, issuer, now, entropy, with_refresh)
        }
        None => {
            issue::record_passthrough(ctx, grants, &(&grant).into(), &key, now).await;
            Response::json(200, &response_body(&grant)).no_store()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Params {
        Params::parse(s).unwrap()
    }

    #[test]
    fn refresh_request_debug_never_shows_the_token() {
        let r = RefreshRequest {
            refresh_token: "secret-rt".into(),
            client_id: Some("c".into()),
            scope: None,
            resource: None,
        };
        assert!(!format!("{r:?}").contains("secret-rt"));
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
