//! Issuing sealed tokens: the grant recorded in the grant store, the access
//! token minted for its resource, the refresh token sealed with the key.

use crate::clients::client::Client;
use crate::config::TokenFormat;
use crate::crypto::entropy::Entropy;
use crate::crypto::secret::ApiKey;
use crate::endpoints::Context;
use crate::grants::access_token::{mint_jwe, mint_jwt, AccessClaims};
use crate::grants::code::Grant;
use crate::grants::ledger::{GrantCommand, GrantMode, GrantRecord};
use crate::grants::refresh::{access_token_id, grant_id_for_code, subject, RefreshToken};
use crate::http::Response;
use crate::protocol::error::{json_error, ErrorCode, OAuthError};
use crate::protocol::redirect::RedirectUri;
use crate::store::GrantStore;

/// The answer when sealed tokens are asked for and no grant store is bound:
/// refuse to issue, never silently weaker.
pub(crate) fn no_grant_store(ctx: &Context, why: &str) -> Response {
    (ctx.log)(&format!("sealed tokens need a grant store, refusing to issue: {why}"));
    json_error(503, ErrorCode::ServerError.as_str(), "the grant store is not configured").no_store()
}

/// The answer when a JWT cannot be signed: no P-256 implementation (on
/// Workers, the runtime lacks `node:crypto`; the Worker's configuration
/// check names the missing `nodejs_compat` flag at start).
fn cannot_sign(ctx: &Context) -> Response {
    (ctx.log)("TOKEN_FORMAT=jwt: no ES256 implementation is installed, refusing to issue (see crypto::p256)");
    json_error(503, ErrorCode::ServerError.as_str(), "the token signer is not available").no_store()
}

/// What a person approved, from a code's grant or a device flow's record.
pub(crate) struct Approval<'a> {
    pub client_id: &'a str,
    pub client_name: Option<&'a str>,
    pub client_host: Option<String>,
    pub resource: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub key: &'a ApiKey,
}

impl<'a> From<&'a Grant> for Approval<'a> {
    fn from(grant: &'a Grant) -> Self {
        Approval {
            client_id: &grant.request.client_id,
            client_name: grant.request.client_name.as_deref(),
            client_host: RedirectUri::parse(&grant.request.redirect_uri).ok().map(|u| u.receiver()),
            resource: grant.request.resource.as_deref(),
            scope: grant.request.scope.as_deref(),
            key: &grant.key,
        }
    }
}

fn record(grant: &Approval, id: String, mode: GrantMode, resource: Option<String>, now: u64) -> GrantRecord {
    GrantRecord {
        id,
        client_id: grant.client_id.to_string(),
        client_name: grant.client_name.map(str::to_string),
        client_host: grant.client_host.clone(),
        resource,
        scope: grant.scope.map(str::to_string),
        mode,
        created: now,
        last_used: now,
        generation: 0,
        rotated_at: now,
        revoked: false,
    }
}

/// Records a sealed grant for a code being exchanged and returns its first
/// refresh token. The grant's id is derived from the code, so a retried
/// exchange records nothing twice.
pub(crate) async fn record_sealed_grant<G: GrantStore>(
    ctx: &Context,
    grants: &G,
    grant: &Grant,
    code_store_key: &str,
    now: u64,
) -> Result<RefreshToken, Response> {
    record_sealed(ctx, grants, &Approval::from(grant), code_store_key, now).await
}

/// [`record_sealed_grant`] for any approval; the grant id is derived from
/// `id_source` (a code's store key, a device record's id).
pub(crate) async fn record_sealed<G: GrantStore>(
    ctx: &Context,
    grants: &G,
    grant: &Approval<'_>,
    code_store_key: &str,
    now: u64,
) -> Result<RefreshToken, Response> {
    let first = first_refresh(ctx, grant, code_store_key)?;
    if !grants.bound() {
        return Err(no_grant_store(ctx, grants.unbound_reason()));
    }
    // Before anything is recorded (and so before a code is spent): a JWT
    // that cannot be signed now would fail after the grant was made.
    if ctx.config.tokens.format == TokenFormat::Jwt && ctx.tokens.signing().is_none() {
        return Err(cannot_sign(ctx));
    }
    let command = GrantCommand::Create {
        record: record(grant, first.gid.clone(), GrantMode::Sealed, Some(first.resource.clone()), now),
    };
    if let Err(e) = grants.call(&first.sub, command).await {
        (ctx.log)(&format!("grant store failed recording a sealed grant, nothing issued: {}", e.0));
        return Err(OAuthError::unavailable().to_response());
    }
    Ok(first)
}

/// The first refresh token of the sealed grant that [`record_sealed`]
/// records for `grant` (a pure function of it: the device flow records the
/// grant at the approval and mints this at the poll).
pub(crate) fn first_refresh(
    ctx: &Context,
    grant: &Approval<'_>,
    code_store_key: &str,
) -> Result<RefreshToken, Response> {
    let Some(resource) = grant.resource.map(str::to_string).or_else(|| ctx.config.tokens.default_resource.clone())
    else {
        return Err(OAuthError::new(ErrorCode::InvalidTarget, "a resource is required for sealed tokens").to_response());
    };
    Ok(RefreshToken::first(
        subject(&ctx.keys, grant.key),
        grant_id_for_code(&ctx.keys, code_store_key),
        grant.client_id.to_string(),
        resource,
        grant.scope.map(str::to_string),
        grant.key.clone(),
    ))
}

/// Records a passthrough approval where a grant store is bound, so the
/// person can see who holds the key. Best effort: the key was handed out
/// either way, and a store failure must not keep it from the client, nor
/// a slow store delay it ([`GrantStore::call_later`]: on Workers the call
/// finishes after the response).
pub(crate) async fn record_passthrough<G: GrantStore>(
    ctx: &Context,
    grants: &G,
    grant: &Approval<'_>,
    code_store_key: &str,
    now: u64,
) {
    if !grants.bound() {
        return;
    }
    let sub = subject(&ctx.keys, grant.key);
    let gid = grant_id_for_code(&ctx.keys, code_store_key);
    let command = GrantCommand::Create {
        record: record(grant, gid, GrantMode::Passthrough, grant.resource.map(str::to_string), now),
    };
    if let Err(e) = grants.call_later(&sub, command).await {
        (ctx.log)(&format!("grant store failed recording a passthrough approval: {}", e.0));
    }
}

/// Whether `client_id` registered the refresh grant (RFC 7591 §2), so that
/// its token responses carry a refresh token: a client whose id carries no
/// grant types did.
pub(crate) fn refreshes(ctx: &Context, client_id: &str) -> bool {
    Client::resolve(client_id, &ctx.keys).map_or(true, |c| c.allows_grant("refresh_token"))
}

/// The token response for a sealed grant: a fresh access token for the
/// refresh token's resource (with `scope`, or the grant's), and, when
/// `with_refresh` (the client registered the refresh grant), the refresh
/// token itself.
pub(crate) fn sealed_response(
    ctx: &Context,
    refresh: &RefreshToken,
    scope: Option<&str>,
    issuer: &str,
    now: u64,
    entropy: &mut Entropy,
    with_refresh: bool,
) -> Response {
    let policy = &ctx.config.tokens;
    let scope = scope.or(refresh.scope.as_deref()).unwrap_or("");
    let claims = AccessClaims {
        iss: issuer.to_string(),
        sub: refresh.sub.clone(),
        aud: refresh.resource.clone(),
        client_id: refresh.client_id.clone(),
        scope: scope.to_string(),
        iat: now,
        exp: now + policy.access_ttl,
        jti: access_token_id(&refresh.gid, &entropy.next32()),
    };
    let resource_key = ctx.tokens.resource_key(&refresh.resource);
    let access_token = match policy.format {
        TokenFormat::Jwe => mint_jwe(&claims, &refresh.key, &resource_key, entropy.nonce()),
        TokenFormat::Jwt => {
            let signed =
                ctx.tokens.signing().and_then(|k| mint_jwt(&claims, &refresh.key, k, &resource_key, entropy.nonce()));
            match signed {
                Some(token) => token,
                // The grant is kept: a retry within the grace window gets
                // the same refresh token, and once signing works, a token.
                None => return cannot_sign(ctx),
            }
        }
    };
    let mut body = crate::json::Value::object([
        ("access_token", access_token.into()),
        ("token_type", "Bearer".into()),
        ("expires_in", policy.access_ttl.into()),
    ]);
    if with_refresh {
        body.insert("refresh_token", refresh.seal(&ctx.keys));
    }
    if !scope.is_empty() {
        body.insert("scope", scope);
    }
    Response::json(200, &body).no_store()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, TokenMode};
    use crate::crypto::secret::Secret;
    use crate::grants::token_keys::TokenKeys;
    use crate::store::{block_on, MemoryGrantStore};

    fn context(format: TokenFormat, secret: &Secret) -> Context {
        let mut config = Config::default();
        config.tokens.mode = TokenMode::Sealed;
        config.tokens.format = format;
        Context::new(config, secret, None)
    }

    #[test]
    fn a_jwt_that_cannot_be_signed_is_refused_before_the_grant_is_recorded() {
        let secret = Secret::new(&"s".repeat(40)).unwrap();
        let key = ApiKey::parse("sk-test-0123456789").unwrap();
        let approval = Approval {
            client_id: "client",
            client_name: None,
            client_host: None,
            resource: Some("https://mcp.example/mcp"),
            scope: None,
            key: &key,
        };
        let grants = MemoryGrantStore::new();
        let mut unable = context(TokenFormat::Jwt, &secret);
        unable.tokens = TokenKeys::new(&secret, None).unable_to_sign();
        let refused = block_on(record_sealed(&unable, &grants, &approval, "code:a", 100)).unwrap_err();
        assert_eq!(refused.status, 503);
        assert_eq!(grants.dump(), "[]", "nothing may be recorded");

        // The same approval with a signer (or as a JWE) is recorded.
        for format in [TokenFormat::Jwt, TokenFormat::Jwe] {
            let able = context(format, &secret);
            assert!(block_on(record_sealed(&able, &grants, &approval, "code:a", 100)).is_ok());
        }
        assert_ne!(grants.dump(), "[]");
    }
}
