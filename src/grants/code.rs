//! Authorization codes (DESIGN.md decision 4): 256 random bits, stored under
//! a hash of the code, with the grant sealed under a key derived from the
//! code itself, so the store never holds a usable key or code.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};

use crate::crypto::secret::ApiKey;
use crate::grants::request::AuthRequest;
use crate::protocol::encoding::{b64url, from_b64url};

/// How long a code lives, in seconds.
pub const CODE_LIFETIME: u64 = 600;
/// The store's TTL for a code record: the lifetime plus a margin (Workers KV
/// needs at least 60 s); the lifetime itself is checked inside the value.
pub const CODE_STORE_TTL: u64 = CODE_LIFETIME + 60;

/// An authorization code as handed to the client.
pub struct Code(String);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code([redacted])")
    }
}

impl Code {
    /// A new code from 32 random bytes.
    pub fn new(random: [u8; 32]) -> Code {
        Code(b64url(&random))
    }

    /// A code presented at /token; `None` if it cannot be one of ours.
    pub fn parse(text: &str) -> Option<Code> {
        (text.len() == 43 && from_b64url(text).is_some_and(|b| b.len() == 32)).then(|| Code(text.to_string()))
    }

    /// The code text for the redirect.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The store key: a hash of the code, so the store cannot yield codes.
    pub fn store_key(&self) -> String {
        format!("code:{}", b64url(&self.derive(b"parallel-oauth-provider code id v1")))
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(label);
        h.update(self.0.as_bytes());
        h.finalize().into()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.derive(b"parallel-oauth-provider code key v1").into())
    }

    /// Seals a grant for storage. Each code has its own key, used for this
    /// value and at most once more for its spent record, each with a fixed
    /// nonce of its own, so the fixed nonces are safe.
    pub fn seal(&self, grant: &Grant) -> String {
        let json = crate::json::encode(grant).into_bytes();
        let ct = self
            .cipher()
            .encrypt(Nonce::from_slice(&GRANT_NONCE), Payload { msg: &json, aad: self.store_key().as_bytes() })
            .expect("AES-GCM encryption of a small value cannot fail");
        b64url(&ct)
    }

    /// Opens a stored grant; `None` if it was not sealed for this code.
    pub fn open(&self, stored: &str) -> Option<Grant> {
        crate::json::from_slice(&self.open_bytes(stored, GRANT_NONCE)?).ok()
    }

    /// What a code redeemed for a sealed grant leaves in the store for the
    /// rest of its life: the subject whose grant it made, sealed under the
    /// code's key with a nonce of its own (the key seals two values), so
    /// that a second redemption can revoke that grant (RFC 6749 §4.1.2).
    pub fn seal_spent(&self, subject: &str) -> String {
        let json = crate::json::to_string(&crate::json::Value::object([("spent", subject.into())])).into_bytes();
        let ct = self
            .cipher()
            .encrypt(Nonce::from_slice(&SPENT_NONCE), Payload { msg: &json, aad: self.store_key().as_bytes() })
            .expect("AES-GCM encryption of a small value cannot fail");
        b64url(&ct)
    }

    /// The subject of a spent code's record; `None` for anything else.
    pub fn open_spent(&self, stored: &str) -> Option<String> {
        let value = crate::json::parse(&self.open_bytes(stored, SPENT_NONCE)?).ok()?;
        crate::json::Fields::of(&value).ok()?.read("spent").ok()
    }

    fn open_bytes(&self, stored: &str, nonce: [u8; 12]) -> Option<Vec<u8>> {
        let ct = from_b64url(stored)?;
        self.cipher().decrypt(Nonce::from_slice(&nonce), Payload { msg: &ct, aad: self.store_key().as_bytes() }).ok()
    }
}

/// The nonce of a code's grant; [`SPENT_NONCE`] that of its spent record.
const GRANT_NONCE: [u8; 12] = [0; 12];
const SPENT_NONCE: [u8; 12] = [1; 12];

/// What a code grants: the authorization request it answers, the key, and
/// when it expires; where it was approved and what the page promised.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The validated request the user approved.
    pub request: AuthRequest,
    /// The key the user gave.
    pub key: ApiKey,
    /// Unix time after which the code is no longer valid.
    pub expires_at: u64,
    /// The issuer whose consent page approved it: only that issuer's
    /// /token redeems it (`None` in a code written before it was recorded).
    pub issuer: Option<String>,
    /// Whether the consent page said the key goes sealed to the resource:
    /// a /token that would hand out the key itself refuses it, and the
    /// other way round (`None` as for `issuer`).
    pub sealed: Option<bool>,
}

/// A grant is its request's members, then `key` and `expires_at`, in one
/// object.
impl crate::json::ToJson for Grant {
    fn to_json(&self) -> crate::json::Value {
        let mut o = crate::json::Object::new();
        self.request.write_into(&mut o);
        o.insert("key", self.key.expose());
        o.insert("expires_at", self.expires_at);
        o.insert_some("issuer", self.issuer.as_deref());
        if let Some(sealed) = self.sealed {
            o.insert("sealed", sealed);
        }
        o.into()
    }
}

impl crate::json::FromJson for Grant {
    fn from_json(value: &crate::json::Value) -> Result<Grant, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        Ok(Grant {
            request: AuthRequest::read(&f)?,
            key: f.read("key")?,
            expires_at: f.u64("expires_at")?,
            issuer: f.opt_str("issuer")?,
            sealed: f.opt_bool("sealed")?,
        })
    }
}

impl Grant {
    /// A grant for `request`, approved at `issuer` with the page saying
    /// whether the key goes `sealed`, valid for [`CODE_LIFETIME`] from `now`.
    pub fn new(request: AuthRequest, key: ApiKey, issuer: &str, sealed: bool, now: u64) -> Grant {
        Grant { request, key, expires_at: now + CODE_LIFETIME, issuer: Some(issuer.to_string()), sealed: Some(sealed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::pkce::CodeChallenge;

    fn grant() -> Grant {
        let request = AuthRequest {
            client_id: "a.example".into(),
            redirect_uri: "https://a.example/cb".into(),
            state: None,
            code_challenge: CodeChallenge::parse(Some(&"a".repeat(43)), Some("S256")).unwrap(),
            scope: Some("api".into()),
            resource: None,
            client_name: None,
        };
        Grant::new(request, ApiKey::parse("sk-secret-key").unwrap(), "https://as.example", false, 1000)
    }

    #[test]
    fn sealed_grant_opens_only_with_its_code() {
        let code = Code::new([1; 32]);
        let stored = code.seal(&grant());
        assert!(!stored.contains("sk-secret-key"));
        let opened = code.open(&stored).unwrap();
        assert_eq!(opened.key.expose(), "sk-secret-key");
        assert_eq!(opened.expires_at, 1000 + CODE_LIFETIME);
        assert!(Code::new([2; 32]).open(&stored).is_none());
    }

    #[test]
    fn a_spent_record_opens_only_as_one_and_only_with_its_code() {
        let code = Code::new([1; 32]);
        let spent = code.seal_spent("subject-1");
        assert_eq!(code.open_spent(&spent).as_deref(), Some("subject-1"));
        assert!(code.open(&spent).is_none(), "not a grant");
        assert!(code.open_spent(&code.seal(&grant())).is_none(), "a grant is not spent");
        assert!(Code::new([2; 32]).open_spent(&spent).is_none());
        assert_ne!(spent, code.seal_spent("subject-2"));
    }

    #[test]
    fn a_code_written_before_its_issuer_was_recorded_still_reads() {
        let mut old = grant();
        (old.issuer, old.sealed) = (None, None);
        let json = crate::json::encode(&old);
        assert!(!json.contains("issuer") && !json.contains("sealed"), "{json}");
        let read: Grant = crate::json::from_slice(json.as_bytes()).unwrap();
        assert_eq!((read.issuer, read.sealed), (None, None));
        let new: Grant = crate::json::from_slice(crate::json::encode(&grant()).as_bytes()).unwrap();
        assert_eq!((new.issuer.as_deref(), new.sealed), (Some("https://as.example"), Some(false)));
    }

    #[test]
    fn store_key_does_not_reveal_the_code() {
        let code = Code::new([1; 32]);
        assert!(!code.store_key().contains(code.as_str()));
        assert_ne!(code.store_key(), Code::new([2; 32]).store_key());
    }

    #[test]
    fn only_well_formed_codes_parse() {
        let code = Code::new([9; 32]);
        assert!(Code::parse(code.as_str()).is_some());
        assert!(Code::parse(&code.as_str()[1..]).is_none());
        assert!(Code::parse(&format!("{}A", code.as_str())).is_none());
        assert!(Code::parse(&"*".repeat(43)).is_none());
        assert!(Code::parse("").is_none());
    }
}
