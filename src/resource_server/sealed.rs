//! For MCP servers that receive sealed tokens: open the request's token with
//! the server's own resource key (and, for JWT tokens, the provider's JWKS),
//! and answer what RFC 6750 says when it does not open or lacks a scope.
//!
//! A resource server holds only its own key (`make resource-key
//! RESOURCE=<its resource>` in the provider's repository prints it; store it
//! with `wrangler secret put RESOURCE_KEY`): it can open nothing meant for
//! another resource.

use super::protected::ProtectedResource;
use crate::crypto::jose::VerifyingKey;
use crate::grants::access_token::{open, Opened, Refusal, ResourceKey};
use crate::http::{Request, Response};

impl ProtectedResource {
    /// Opens the request's sealed access token for this resource: the user's
    /// key, `client_id`, `scope`, `sub` and `exp` of a valid token issued for
    /// it. `keys` are this resource's keys (the current one and, while the
    /// provider rotates `SECRET`, the previous one); `jwks` the provider's
    /// JWKS for JWT tokens (empty if it issues JWE only). Refused, the
    /// answer is the RFC 6750 `invalid_token` 401 naming the metadata, or
    /// the plain 401 without a token.
    pub fn open_sealed(
        &self,
        request: &Request,
        keys: &[ResourceKey],
        jwks: &[VerifyingKey],
        now: u64,
    ) -> Result<Opened, Response> {
        let token = self.authenticate(request)?;
        self.open_token(token.expose(), keys, jwks, now).map_err(|refusal| self.invalid_token(&refusal.to_string()))
    }

    /// [`ProtectedResource::open_sealed`] on a token already read, with the
    /// typed refusal (expired, another audience, tampered, not sealed).
    pub fn open_token(
        &self,
        token: &str,
        keys: &[ResourceKey],
        jwks: &[VerifyingKey],
        now: u64,
    ) -> Result<Opened, Refusal> {
        let opened = open(token, self.resource(), keys, jwks, now)?;
        if opened.iss != self.authorization_server() {
            return Err(Refusal::WrongIssuer);
        }
        if now > opened.exp.saturating_add(self.leeway) {
            return Err(Refusal::Expired);
        }
        Ok(opened)
    }

    /// Allows less clock skew than [`LEEWAY`](crate::grants::access_token::LEEWAY)
    /// (60 s) past a token's `exp`: 0 when this server and the provider
    /// share a clock (the same Workers platform). More than 60 s is not
    /// allowed.
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds.min(crate::grants::access_token::LEEWAY);
        self
    }

    /// The `403` for a valid token without `scope` (RFC 6750 §3.1
    /// `insufficient_scope`), naming the scope needed and the metadata.
    pub fn insufficient_scope(&self, scope: &str) -> Response {
        let scope: String =
            scope.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ').collect();
        let challenge = format!(
            r#"Bearer error="insufficient_scope", scope="{scope}", resource_metadata="{}""#,
            self.metadata_url()
        );
        Response::json(
            403,
            &crate::json::Value::object([
                ("error", "insufficient_scope".into()),
                ("error_description", format!("this needs the scope {scope}").into()),
            ]),
        )
        .with_header("www-authenticate", &challenge)
        .no_store()
    }

    /// `Ok` when `opened` carries every token of `scope`, else the 403.
    pub fn require_scope(&self, opened: &Opened, scope: &str) -> Result<(), Response> {
        let has: Vec<&str> = opened.scope.split(' ').collect();
        if scope.split(' ').filter(|s| !s.is_empty()).all(|s| has.contains(&s)) {
            Ok(())
        } else {
            Err(self.insufficient_scope(scope))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret::{ApiKey, Secret};
    use crate::grants::access_token::{mint_jwe, AccessClaims};

    const R: &str = "https://mcp.example/mcp";
    const NOW: u64 = 1_700_000_000;

    fn key(resource: &str) -> ResourceKey {
        ResourceKey::derive(&Secret::new(&"s".repeat(40)).unwrap(), resource)
    }

    fn token(aud: &str, exp: u64, scope: &str) -> String {
        let claims = AccessClaims {
            iss: "https://oauth.example".into(),
            sub: "sub-1".into(),
            aud: aud.into(),
            client_id: "c".into(),
            scope: scope.into(),
            iat: NOW,
            exp,
            jti: "g.1".into(),
        };
        mint_jwe(&claims, &ApiKey::parse("sk-live-0123456789abcdef").unwrap(), &key(aud), [1; 12])
    }

    fn mcp() -> ProtectedResource {
        ProtectedResource::new(R, "https://oauth.example").unwrap()
    }

    fn req(token: &str) -> Request {
        Request::new("POST", R.parse().unwrap()).with_header("authorization", &format!("Bearer {token}"))
    }

    #[test]
    fn a_valid_token_opens_with_the_key_and_its_claims() {
        let opened = mcp().open_sealed(&req(&token(R, NOW + 60, "api")), &[key(R)], &[], NOW).unwrap();
        assert_eq!(opened.api_key.expose(), "sk-live-0123456789abcdef");
        assert_eq!((opened.client_id.as_str(), opened.scope.as_str(), opened.sub.as_str()), ("c", "api", "sub-1"));
        assert_eq!(opened.exp, NOW + 60);
    }

    #[test]
    fn refusals_are_typed_and_answer_invalid_token_with_the_metadata() {
        let other = "https://other.example/mcp";
        let cases = [
            (token(R, NOW - 61, "api"), Refusal::Expired),
            (token(other, NOW + 60, "api"), Refusal::WrongAudience),
            ("sk-live-0123456789abcdef".to_string(), Refusal::NotSealed),
        ];
        for (t, refusal) in cases {
            assert_eq!(mcp().open_token(&t, &[key(R)], &[], NOW).unwrap_err(), refusal);
            let r = mcp().open_sealed(&req(&t), &[key(R)], &[], NOW).unwrap_err();
            assert_eq!(r.status, 401);
            let challenge = r.header("www-authenticate").unwrap();
            assert!(challenge.contains(r#"error="invalid_token""#) && challenge.contains("resource_metadata="));
        }
        // Another resource's token opened with that resource's key still says another audience.
        let theirs = ProtectedResource::new(other, "https://oauth.example").unwrap();
        assert_eq!(
            theirs.open_token(&token(R, NOW + 60, "api"), &[key(other)], &[], NOW).unwrap_err(),
            Refusal::WrongAudience
        );
        let mut tampered = token(R, NOW + 60, "api").into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(mcp().open_token(&tampered, &[key(R)], &[], NOW).unwrap_err(), Refusal::Invalid);
        assert_eq!(
            mcp().open_sealed(&Request::new("POST", R.parse().unwrap()), &[key(R)], &[], NOW).unwrap_err().status,
            401
        );
    }

    /// Regression: the resource server never compared `iss` with its
    /// authorization server (RFC 9068 §4): a token of another provider
    /// sharing the key (staging and production with one `SECRET`) opened.
    #[test]
    fn a_token_of_another_authorization_server_opened() {
        let t = token(R, NOW + 60, "api");
        let elsewhere = ProtectedResource::new(R, "https://staging.oauth.example").unwrap();
        assert_eq!(elsewhere.open_token(&t, &[key(R)], &[], NOW).unwrap_err(), Refusal::WrongIssuer);
        let r = elsewhere.open_sealed(&req(&t), &[key(R)], &[], NOW).unwrap_err();
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").unwrap().contains("another authorization server"));
        // The configured issuer with a trailing slash is the same issuer.
        let slash = ProtectedResource::new(R, "https://oauth.example/").unwrap();
        assert!(slash.open_token(&t, &[key(R)], &[], NOW).is_ok());
    }

    #[test]
    fn a_smaller_leeway_ends_tokens_sooner_never_later() {
        let t = token(R, NOW, "api");
        assert!(mcp().open_token(&t, &[key(R)], &[], NOW + 60).is_ok());
        let strict = mcp().with_leeway(0);
        assert!(strict.open_token(&t, &[key(R)], &[], NOW).is_ok());
        assert_eq!(strict.open_token(&t, &[key(R)], &[], NOW + 1).unwrap_err(), Refusal::Expired);
        let lax = mcp().with_leeway(3600);
        assert_eq!(lax.open_token(&t, &[key(R)], &[], NOW + 61).unwrap_err(), Refusal::Expired);
    }

    #[test]
    fn insufficient_scope_is_403_with_the_scope_needed() {
        let opened = mcp().open_token(&token(R, NOW + 60, "api"), &[key(R)], &[], NOW).unwrap();
        assert!(mcp().require_scope(&opened, "api").is_ok());
        let r = mcp().require_scope(&opened, "api admin").unwrap_err();
        assert_eq!(r.status, 403);
        let challenge = r.header("www-authenticate").unwrap();
        assert!(
            challenge.contains(r#"error="insufficient_scope""#) && challenge.contains(r#"scope="api admin""#),
            "{challenge}"
        );
    }
}
