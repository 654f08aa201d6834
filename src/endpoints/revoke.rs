//! POST /revoke (RFC 7009): a refresh or access token revokes its grant.
//! The public client names itself with `client_id` (a secret sent anyway is
//! ignored, as at /token). A token that is not ours (unknown, malformed,
//! an access token past its expiry): 200 with nothing revoked (RFC 7009
//! §2.2). A token of another client, whether its grant is live or not (the
//! check of §2.1 comes first, and needs no store): refused, 400
//! `invalid_grant` (RFC 6749 §5.2: "issued to another client").

use crate::endpoints::{token, Context};
use crate::grants::access_token::open_for_provider;
use crate::grants::ledger::GrantCommand;
use crate::grants::refresh::{grant_of_access_token_id, RefreshToken};
use crate::http::{Request, Response};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::form::Params;
use crate::store::GrantStore;

/// The grant a token names, if it is one of ours: (subject, grant id, client).
pub(crate) fn grant_of(ctx: &Context, token: &str, now: u64) -> Option<(String, String, String)> {
    if let Some(refresh) = RefreshToken::open(&ctx.keys, token) {
        return Some((refresh.sub, refresh.gid, refresh.client_id));
    }
    // An access token that no longer opens (expired) has nothing left to
    // revoke through it: its refresh token revokes the grant.
    let opened =
        open_for_provider(token, |r| ctx.tokens.resource_keys(r), &ctx.tokens.verifying_for(token), now).ok()?;
    let gid = grant_of_access_token_id(&opened.jti)?.to_string();
    Some((opened.sub, gid, opened.client_id))
}

/// POST /revoke.
pub(crate) async fn post<G: GrantStore>(ctx: &Context, request: &Request, grants: &G, now: u64) -> Response {
    if request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return OAuthError::invalid_request("revocation requests must be application/x-www-form-urlencoded")
            .to_response();
    }
    let params = match Params::parse_body(&request.body) {
        Ok(p) => p,
        Err(e) => return e.to_response(),
    };
    let client_id = match token::client_id(&params, request.header("authorization")) {
        Ok(c) => c,
        Err(e) => return e.to_response(),
    };
    let token = match params.require("token", "token is required") {
        Ok(t) => t,
        Err(e) => return e.to_response(),
    };
    if let Some(hint) = params.get("token_type_hint") {
        if !matches!(hint, "access_token" | "refresh_token") {
            // RFC 7009 §2.2.1 allows unsupported_token_type; a hint is only
            // a hint, so an unknown one is ignored rather than refused.
            (ctx.log)("revocation with an unknown token_type_hint (ignored)");
        }
    }
    let done = Response::empty(200).no_store();
    let Some((sub, gid, owner)) = grant_of(ctx, token, now) else {
        return done;
    };
    if owner != client_id {
        return OAuthError::invalid_grant("the token was issued to another client; nothing was revoked").to_response();
    }
    if !grants.bound() {
        return done;
    }
    match grants.call(&sub, GrantCommand::Revoke { id: Some(gid) }).await {
        Ok(_) => done,
        Err(e) => {
            (ctx.log)(&format!("grant store failed at /revoke: {}", e.0));
            OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again in a moment").to_response()
        }
    }
}
