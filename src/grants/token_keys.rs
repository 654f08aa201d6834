//! The keys of sealed access tokens, from `SECRET` (and, while rotating,
//! `SECRET_PREVIOUS`): each resource's AES key, derived when needed (a few
//! microseconds of HKDF), and the ES256 signing keys, derived once per
//! instance on first use (a scalar multiplication) so that a cold start
//! that never signs never pays for it.

use std::sync::OnceLock;

use crate::crypto::jose::{self, SigningKey, VerifyingKey};
use crate::crypto::secret::Secret;
use crate::grants::access_token::{signing_key, ResourceKey};

/// The token keys of one provider.
pub struct TokenKeys {
    current: Secret,
    previous: Option<Secret>,
    signing: OnceLock<Vec<SigningKey>>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys([redacted])")
    }
}

impl TokenKeys {
    /// Keys from the current and, while rotating, the previous secret.
    pub fn new(current: &Secret, previous: Option<&Secret>) -> Self {
        TokenKeys { current: current.clone(), previous: previous.cloned(), signing: OnceLock::new() }
    }

    /// The key that seals tokens for `resource`.
    pub fn resource_key(&self, resource: &str) -> ResourceKey {
        ResourceKey::derive(&self.current, resource)
    }

    /// Every key that opens tokens for `resource`: the current one first.
    pub fn resource_keys(&self, resource: &str) -> Vec<ResourceKey> {
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .map(|s| ResourceKey::derive(s, resource))
            .collect()
    }

    fn signing_keys(&self) -> &[SigningKey] {
        self.signing.get_or_init(|| {
            // Empty only when no P-256 implementation is installed.
            [Some(&self.current), self.previous.as_ref()].into_iter().flatten().filter_map(signing_key).collect()
        })
    }

    /// These keys as on a runtime without a P-256 implementation: no key
    /// signs (natively RustCrypto is always installed).
    #[cfg(test)]
    pub(crate) fn unable_to_sign(self) -> Self {
        let _ = self.signing.set(Vec::new());
        self
    }

    /// The key that signs JWT access tokens; `None` only when no P-256
    /// implementation is installed ([`crate::crypto::p256`]).
    pub fn signing(&self) -> Option<&SigningKey> {
        self.signing_keys().first()
    }

    /// Every key that verifies them: the current one and, while rotating,
    /// the previous one.
    pub fn verifying(&self) -> Vec<VerifyingKey> {
        self.signing_keys().iter().map(|k| k.verifying_key().clone()).collect()
    }

    /// The keys that may verify `token`: none unless it is a JWS (three
    /// parts), so that a JWE never derives the ES256 keys (a scalar
    /// multiplication, once per instance).
    pub fn verifying_for(&self, token: &str) -> Vec<VerifyingKey> {
        if token.split('.').count() == 3 {
            self.verifying()
        } else {
            Vec::new()
        }
    }

    /// The JWKS document (RFC 7517 §5) of [`TokenKeys::verifying`].
    pub fn jwks(&self) -> String {
        let keys = self.verifying();
        jose::jwks(&keys.iter().collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(c: &str) -> Secret {
        Secret::new(&c.repeat(40)).unwrap()
    }

    #[test]
    fn rotation_keeps_the_previous_keys_for_opening_only() {
        let old = TokenKeys::new(&secret("o"), None);
        let rotated = TokenKeys::new(&secret("n"), Some(&secret("o")));
        let r = "https://mcp.example/mcp";
        assert_eq!(rotated.resource_keys(r).len(), 2);
        assert_eq!(rotated.resource_keys(r)[1], old.resource_key(r));
        assert_ne!(rotated.resource_key(r), old.resource_key(r));
        assert_eq!(rotated.verifying()[1], old.verifying()[0]);
        assert_eq!(rotated.signing().unwrap().kid(), rotated.verifying()[0].kid());
        let jwks: serde_json::Value = serde_json::from_str(&rotated.jwks()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(rotated.verifying_for("a.b.c.d.e").is_empty() && rotated.signing.get().is_some());
        let fresh = TokenKeys::new(&secret("f"), None);
        assert!(fresh.verifying_for("a.b.c.d.e").is_empty());
        assert!(fresh.signing.get().is_none(), "a JWE derives no signing key");
        assert_eq!(fresh.verifying_for("a.b.c").len(), 1);
        assert!(!format!("{rotated:?}").contains('o'.to_string().repeat(5).as_str()));
    }
}
