//! GET or POST /userinfo: the pseudonymous subject of a sealed access
//! token of any of our resources, `{"sub": …}`. The token comes in the
//! `Authorization` header or, for a POST, as the form body's `access_token`
//! (RFC 6750 §2.2). No token is 401 with a bare `Bearer` challenge and no
//! error (§3.1); a bad one is 401 `invalid_token`; a malformed `Bearer`
//! header, two tokens at once or a malformed body is 400 `invalid_request`.

use crate::endpoints::Context;
use crate::grants::access_token::open_for_provider;
use crate::grants::ledger::{GrantCommand, GrantReply};
use crate::grants::refresh::grant_of_access_token_id;
use crate::http::{Request, Response};
use crate::protocol::error::OAuthError;
use crate::protocol::form::Params;
use crate::resource_server::{b64token, bearer_header, BearerHeader, BearerToken};
use crate::store::GrantStore;

/// A 401 with no error information: the request carried no token.
fn no_token() -> Response {
    Response::empty(401).with_header("www-authenticate", "Bearer").no_store()
}

/// An RFC 6750 §3.1 error, in the challenge and in the body alike.
fn challenge(status: u16, error: &str, description: &str) -> Response {
    let value = format!("Bearer error=\"{error}\", error_description=\"{description}\"");
    let body = crate::json::Value::object([("error", error.into()), ("error_description", description.into())]);
    Response::json(status, &body).with_header("www-authenticate", &value).no_store()
}

fn invalid_token(description: &str) -> Response {
    challenge(401, "invalid_token", description)
}

/// The request's access token, `None` when it carries none.
fn access_token(request: &Request) -> Result<Option<BearerToken>, Response> {
    let header = match bearer_header(request) {
        BearerHeader::Token(token) => Some(token),
        BearerHeader::Absent => None,
        BearerHeader::Malformed => {
            return Err(challenge(400, "invalid_request", "the Authorization header must be Bearer and one token"))
        }
    };
    if request.method != "POST" || request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Ok(header);
    }
    let params = Params::parse_body(&request.body).map_err(|e| challenge(400, "invalid_request", e.description))?;
    let Some(value) = params.get("access_token") else {
        return Ok(header);
    };
    if request.header("authorization").is_some() {
        return Err(challenge(
            400,
            "invalid_request",
            "send the access token once: in the Authorization header or in the body",
        ));
    }
    b64token(value).map(Some).ok_or_else(|| invalid_token("the access token is invalid"))
}

/// GET or POST /userinfo.
pub(crate) async fn get<G: GrantStore>(ctx: &Context, request: &Request, grants: &G, now: u64) -> Response {
    let token = match access_token(request) {
        Ok(Some(token)) => token,
        Ok(None) => return no_token(),
        Err(answer) => return answer,
    };
    let opened = match open_for_provider(
        token.expose(),
        |r| ctx.tokens.resource_keys(r),
        &ctx.tokens.verifying_for(token.expose()),
        now,
    ) {
        Ok(o) => o,
        Err(e) => return invalid_token(&e.to_string()),
    };
    // The provider's own clock: no resource server's leeway, so that
    // /userinfo and /introspect agree on when a token has expired.
    if now > opened.exp {
        return invalid_token("the access token expired");
    }
    let Some(gid) = grant_of_access_token_id(&opened.jti) else {
        return invalid_token("the access token is invalid");
    };
    if grants.bound() {
        match grants.call(&opened.sub, GrantCommand::Get { id: gid.to_string() }).await {
            Ok(GrantReply::Record { record: Some(r) }) if !r.revoked => {}
            Ok(_) => return invalid_token("the grant was revoked"),
            Err(e) => {
                (ctx.log)(&format!("grant store failed at /userinfo: {}", e.0));
                return OAuthError::unavailable().to_response();
            }
        }
    }
    Response::json(200, &crate::json::Value::object([("sub", opened.sub.into())])).no_store()
}
