//! POST /introspect (RFC 7662), for resource servers: the caller
//! authenticates with HTTP Basic, user name = its resource identifier
//! (form-urlencoded, RFC 6749 §2.3.1), password = its resource key. An
//! access token issued for that resource, unexpired and whose grant is not
//! revoked, is active; anything else is `{"active": false}`. The key is
//! never in the answer.

use crate::json::Value;
use subtle::ConstantTimeEq;

use crate::endpoints::Context;
use crate::grants::access_token::{open, Format};
use crate::grants::ledger::{GrantCommand, GrantReply};
use crate::grants::refresh::grant_of_access_token_id;
use crate::http::{Request, Response};
use crate::protocol::basic;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::form::Params;
use crate::protocol::resource;
use crate::store::GrantStore;

/// 401 `invalid_client`, with the one `Basic` challenge every 401 carries.
fn unauthorized() -> Response {
    OAuthError::new(ErrorCode::InvalidClient, "authenticate with HTTP Basic: the resource and its resource key")
        .to_response()
}

/// The resource a Basic header authenticates, checked against its keys.
fn authenticate(ctx: &Context, authorization: Option<&str>) -> Option<String> {
    let (user, password) = basic::credentials(authorization?)?;
    let resource = resource::normalize(&user)?;
    let ok = ctx
        .tokens
        .resource_keys(&resource)
        .iter()
        .any(|k| bool::from(k.to_b64url().as_bytes().ct_eq(password.trim().as_bytes())));
    ok.then_some(resource)
}

/// POST /introspect.
pub(crate) async fn post<G: GrantStore>(ctx: &Context, request: &Request, grants: &G, now: u64) -> Response {
    let Some(resource) = authenticate(ctx, request.header("authorization")) else {
        return unauthorized();
    };
    if request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return OAuthError::invalid_request("introspection requests must be application/x-www-form-urlencoded")
            .to_response();
    }
    let params = match Params::parse_body(&request.body) {
        Ok(p) => p,
        Err(e) => return e.to_response(),
    };
    let token = match params.require("token", "token is required") {
        Ok(t) => t,
        Err(e) => return e.to_response(),
    };
    let inactive = Response::json(200, &Value::object([("active", false.into())])).no_store();
    let keys = ctx.tokens.resource_keys(&resource);
    let Ok(opened) = open(token, &resource, &keys, &ctx.tokens.verifying_for(token), now) else {
        return inactive;
    };
    if now > opened.exp {
        return inactive;
    }
    let Some(gid) = grant_of_access_token_id(&opened.jti) else {
        return inactive;
    };
    if !grants.bound() {
        return crate::endpoints::issue::no_grant_store(ctx, grants.unbound_reason());
    }
    match grants.call(&opened.sub, GrantCommand::Get { id: gid.to_string() }).await {
        Ok(GrantReply::Record { record: Some(r) }) if !r.revoked => {}
        Ok(_) => return inactive,
        Err(e) => {
            (ctx.log)(&format!("grant store failed at /introspect: {}", e.0));
            return OAuthError::unavailable().to_response();
        }
    }
    let mut body = Value::object([
        ("active", true.into()),
        ("client_id", opened.client_id.into()),
        ("sub", opened.sub.into()),
        ("aud", opened.aud.into()),
        ("iss", opened.iss.into()),
        ("exp", opened.exp.into()),
        ("iat", opened.iat.into()),
        ("jti", opened.jti.into()),
        ("token_type", "Bearer".into()),
        (
            "token_format",
            match opened.format {
                Format::Jwe => "jwe",
                Format::Jwt => "jwt",
            }
            .into(),
        ),
    ]);
    if !opened.scope.is_empty() {
        body.insert("scope", opened.scope);
    }
    Response::json(200, &body).no_store()
}
