//! GET /userinfo: the pseudonymous subject of a sealed access token of any
//! of our resources, `{"sub": …}`. Anything else is 401 with an RFC 6750
//! challenge.

use crate::endpoints::Context;
use crate::grants::access_token::open_for_provider;
use crate::grants::ledger::{GrantCommand, GrantReply};
use crate::grants::refresh::grant_of_access_token_id;
use crate::http::{Request, Response};
use crate::protocol::error::OAuthError;
use crate::resource_server::bearer_token;
use crate::store::GrantStore;

fn challenge(error: Option<&str>) -> Response {
    let value = match error {
        Some(e) => format!("Bearer error=\"invalid_token\", error_description=\"{e}\""),
        None => "Bearer".to_string(),
    };
    let mut body = crate::json::Object::from([("error", "invalid_token".into())]);
    body.insert_some("error_description", error);
    Response::json(401, &body.into()).with_header("www-authenticate", &value).no_store()
}

/// GET /userinfo.
pub(crate) async fn get<G: GrantStore>(ctx: &Context, request: &Request, grants: &G, now: u64) -> Response {
    let Some(token) = bearer_token(request) else {
        return challenge(None);
    };
    let opened = match open_for_provider(
        token.expose(),
        |r| ctx.tokens.resource_keys(r),
        &ctx.tokens.verifying_for(token.expose()),
        now,
    ) {
        Ok(o) => o,
        Err(e) => return challenge(Some(&e.to_string())),
    };
    let Some(gid) = grant_of_access_token_id(&opened.jti) else {
        return challenge(Some("the access token is invalid"));
    };
    if grants.bound() {
        match grants.call(&opened.sub, GrantCommand::Get { id: gid.to_string() }).await {
            Ok(GrantReply::Record { record: Some(r) }) if !r.revoked => {}
            Ok(_) => return challenge(Some("the grant was revoked")),
            Err(e) => {
                (ctx.log)(&format!("grant store failed at /userinfo: {}", e.0));
                return OAuthError::unavailable().to_response();
            }
        }
    }
    Response::json(200, &crate::json::Value::object([("sub", opened.sub.into())])).no_store()
}
