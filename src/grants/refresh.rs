//! Refresh tokens: self-contained, sealed values that carry the grant's
//! identity and the key itself, so that storage holds no key. The grant
//! store keeps only each grant's current generation; a token of another
//! generation is a replay (see [`crate::grants::ledger::rotate`]).
//!
//! A successor is a pure function of its predecessor (the same payload
//! with the next generation, sealed deterministically), so a replay within
//! the grace window gets the very same successor back with nothing stored.
//! The refresh token's scope never changes (RFC 6749 §6): a narrower
//! `scope` on refresh narrows only the new access token.

use crate::crypto::seal::{Keys, Purpose};
use crate::crypto::secret::ApiKey;
use crate::protocol::encoding::b64url;

/// The longest refresh token read, in bytes.
pub const MAX_REFRESH_TOKEN_LEN: usize = 4096;

/// What a refresh token carries.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Format version.
    v: u8,
    /// The pseudonymous subject (see [`subject`]).
    pub sub: String,
    /// The grant's id.
    pub gid: String,
    /// This token's generation.
    pub generation: u64,
    /// The client it was issued to.
    pub client_id: String,
    /// The resource its access tokens are for.
    pub resource: String,
    /// The granted scope.
    pub scope: Option<String>,
    /// The user's API key, which only this sealed value holds.
    pub key: ApiKey,
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("gid", &self.gid)
            .field("generation", &self.generation)
            .field("client_id", &self.client_id)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl crate::json::ToJson for RefreshToken {
    fn to_json(&self) -> crate::json::Value {
        let mut o = crate::json::Object::new();
        o.insert("v", u64::from(self.v));
        o.insert("sub", &self.sub);
        o.insert("gid", &self.gid);
        o.insert("generation", self.generation);
        o.insert("client_id", &self.client_id);
        o.insert("resource", &self.resource);
        o.insert_some("scope", self.scope.as_deref());
        o.insert("key", self.key.expose());
        o.into()
    }
}

impl crate::json::FromJson for RefreshToken {
    fn from_json(value: &crate::json::Value) -> Result<RefreshToken, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        Ok(RefreshToken {
            v: u8::try_from(f.u64("v")?).map_err(|_| crate::json::Error::new("`v` out of range"))?,
            sub: f.str("sub")?,
            gid: f.str("gid")?,
            generation: f.u64("generation")?,
            client_id: f.str("client_id")?,
            resource: f.str("resource")?,
            scope: f.opt_str("scope")?,
            key: f.read("key")?,
        })
    }
}

impl RefreshToken {
    /// The first refresh token of a grant.
    pub fn first(
        sub: String,
        gid: String,
        client_id: String,
        resource: String,
        scope: Option<String>,
        key: ApiKey,
    ) -> Self {
        RefreshToken { v: 1, sub, gid, generation: 0, client_id, resource, scope, key }
    }

    /// The same token at `generation`.
    pub fn at(&self, generation: u64) -> Self {
        RefreshToken { generation, ..self.clone() }
    }

    /// The token's text: sealed deterministically under the current key.
    pub fn seal(&self, keys: &Keys) -> String {
        // A struct of strings and integers always serializes.
        let json = crate::json::encode(self).into_bytes();
        keys.seal_deterministic(Purpose::RefreshToken, &json)
    }

    /// Opens a refresh token; `None` for anything we did not seal.
    pub fn open(keys: &Keys, token: &str) -> Option<RefreshToken> {
        if token.len() > MAX_REFRESH_TOKEN_LEN {
            return None;
        }
        let json = keys.open(Purpose::RefreshToken, token)?;
        crate::json::from_slice::<RefreshToken>(&json).ok().filter(|t| t.v == 1)
    }
}

/// The pseudonymous subject of a key: an HMAC of it under a key derived
/// from `SECRET` (never the key, nor a plain hash of it), the same for
/// every client, so one person's grants live together.
pub fn subject(keys: &Keys, key: &ApiKey) -> String {
    b64url(&keys.tag(b"subject v1", key.expose().as_bytes()))
}

/// The key's subject under the current secret and, during a rotation, the
/// one it had under the previous secret (whose grants still refresh until
/// `SECRET_PREVIOUS` is dropped): the current one first.
pub fn subjects(keys: &Keys, key: &ApiKey) -> Vec<String> {
    keys.tags(b"subject v1", key.expose().as_bytes()).map(|t| b64url(&t)).collect()
}

/// The id of the grant a code's exchange creates, derived from the code's
/// store key: a retried exchange of one code names the same grant.
pub fn grant_id_for_code(keys: &Keys, code_store_key: &str) -> String {
    b64url(&keys.tag(b"grant-id v1", code_store_key.as_bytes())[..16])
}

/// The `jti` of an access token of grant `gid`: the grant's id, a dot and
/// 16 random bytes, so a token names its grant (for revocation and
/// introspection) and no two tokens share an id.
pub fn access_token_id(gid: &str, random: &[u8; 32]) -> String {
    format!("{gid}.{}", b64url(&random[..16]))
}

/// The grant an access token's `jti` names.
pub fn grant_of_access_token_id(jti: &str) -> Option<&str> {
    jti.split_once('.').map(|(gid, _)| gid).filter(|g| !g.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret::Secret;
    use proptest::prelude::*;

    fn keys(c: &str) -> Keys {
        Keys::derive(&Secret::new(&c.repeat(40)).unwrap(), None)
    }

    fn token() -> RefreshToken {
        let key = ApiKey::parse("sk-live-0123456789abcdef").unwrap();
        RefreshToken::first("sub".into(), "gid".into(), "c".into(), "https://mcp.example/mcp".into(), None, key)
    }

    #[test]
    fn round_trip_and_successor_is_deterministic() {
        let k = keys("a");
        let t = token();
        let sealed = t.seal(&k);
        assert!(!sealed.contains("sk-live"));
        assert_eq!(RefreshToken::open(&k, &sealed).unwrap(), t);
        assert_eq!(t.at(1).seal(&k), t.at(1).seal(&k), "the same successor every time");
        assert_ne!(t.at(1).seal(&k), t.at(2).seal(&k));
        assert_ne!(t.at(1).seal(&k), sealed);
        assert!(RefreshToken::open(&keys("b"), &sealed).is_none());
        assert!(RefreshToken::open(&k, &"A".repeat(MAX_REFRESH_TOKEN_LEN + 1)).is_none());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", token());
        assert!(!shown.contains("sk-live") && !shown.contains("sub\""), "{shown}");
    }

    #[test]
    fn subject_is_keyed_and_stable() {
        let key = ApiKey::parse("sk-live-0123456789abcdef").unwrap();
        assert_eq!(subject(&keys("a"), &key), subject(&keys("a"), &key));
        assert_ne!(subject(&keys("a"), &key), subject(&keys("b"), &key));
        assert!(!subject(&keys("a"), &key).contains("sk-live"));
    }

    #[test]
    fn access_token_ids_name_their_grant() {
        let jti = access_token_id("g1", &[7; 32]);
        assert_eq!(grant_of_access_token_id(&jti), Some("g1"));
        assert_ne!(jti, access_token_id("g1", &[8; 32]));
        assert_eq!(grant_of_access_token_id("nodot"), None);
        assert_eq!(grant_of_access_token_id(".x"), None);
    }

    proptest! {
        #[test]
        fn open_never_panics(s in ".{0,300}") {
            let _ = RefreshToken::open(&keys("a"), &s);
        }
    }
}
