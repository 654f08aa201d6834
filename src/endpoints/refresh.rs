//! The refresh-token grant (RFC 6749 §6): rotation in the grant store, one
//! lineage per grant, replays within the grace window answered with the same
//! successor, reuse after it revoking the grant (RFC 9700 §4.14.2).
//!
//! Every refusal is 400 `invalid_grant` (clients start a new authorization
//! on it), except a different resource (`invalid_target`) and a wider
//! scope (`invalid_scope`); a store failure is 503 and changes nothing, so
//! the same refresh token works on retry.

use crate::crypto::entropy::Entropy;
use crate::endpoints::token::RefreshRequest;
use crate::endpoints::{issue, Context};
use crate::grants::ledger::{GrantCommand, GrantReply, Rotation};
use crate::grants::refresh::RefreshToken;
use crate::http::Response;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::store::GrantStore;

/// POST /token with `grant_type=refresh_token`.
pub(crate) async fn refresh<G: GrantStore>(
    ctx: &Context,
    request: &RefreshRequest,
    grants: &G,
    issuer: &str,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    let invalid = OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let Some(presented) = RefreshToken::open(&ctx.keys, &request.refresh_token) else {
        return invalid.to_response();
    };
    if request.client_id.as_ref().is_some_and(|c| *c != presented.client_id) {
        return OAuthError::invalid_grant("the refresh token was issued to another client").to_response();
    }
    if request.resource.as_ref().is_some_and(|r| *r != presented.resource) {
        return OAuthError::new(ErrorCode::InvalidTarget, "resource differs from the refresh token's").to_response();
    }
    if let Some(scope) = &request.scope {
        if !narrows(scope, presented.scope.as_deref()) {
            return OAuthError::new(ErrorCode::InvalidScope, "scope may narrow the grant's, never widen it")
                .to_response();
        }
    }
    if !grants.bound() {
        return issue::no_grant_store(ctx, grants.unbound_reason());
    }
    let policy = &ctx.config.tokens;
    let command = GrantCommand::Rotate {
        id: presented.gid.clone(),
        generation: presented.generation,
        now,
        grace: policy.refresh_grace,
        idle: policy.refresh_ttl,
    };
    let outcome = match grants.call(&presented.sub, command).await {
        Ok(GrantReply::Rotation { outcome }) => outcome,
        Ok(other) => {
            (ctx.log)(&format!("grant store answered a rotation with {}", crate::store::grant_wire::reply_tag(&other)));
            return OAuthError::unavailable().to_response();
        }
        Err(e) => {
            (ctx.log)(&format!("grant store failed at refresh, nothing rotated: {}", e.0));
            return OAuthError::unavailable().to_response();
        }
    };
    match outcome {
        Rotation::Rotated { generation } | Rotation::Replayed { generation } => {
            let successor = presented.at(generation);
            issue::sealed_response(ctx, &successor, request.scope.as_deref(), issuer, now, entropy, true)
        }
        Rotation::Refused { reason } => {
            (ctx.log)(&format!("refresh refused: {}", crate::store::grant_wire::refusal_name(reason)));
            invalid.to_response()
        }
    }
}

/// Whether `requested` asks for no scope token outside `granted`.
fn narrows(requested: &str, granted: Option<&str>) -> bool {
    let granted: Vec<&str> = granted.unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
    requested.split(' ').filter(|s| !s.is_empty()).all(|s| granted.contains(&s))
}

#[cfg(test)]
mod tests {
    use super::narrows;

    #[test]
    fn scope_may_narrow_never_widen() {
        assert!(narrows("api", Some("api read")));
        assert!(narrows("read api", Some("api read")));
        assert!(narrows("", Some("api")));
        assert!(!narrows("admin", Some("api")));
        assert!(!narrows("api", None));
    }
}
