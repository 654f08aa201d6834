//! Authenticated encryption of small values (remember cookie, consent form
//! state) under keys derived once from `SECRET` with HKDF-SHA256.
//!
//! Format: base64url(key id (4) ‖ nonce (12) ‖ AES-256-GCM ciphertext+tag).
//! The purpose of the value is the associated data, so a value sealed for
//! one use never opens as another. A previous secret still opens values, so
//! `SECRET` can rotate.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use std::sync::OnceLock;

use crate::crypto::entropy::Entropy;
use crate::crypto::secret::Secret;
use crate::protocol::encoding::{b64url, from_b64url};

/// What a sealed value is for (the AEAD associated data).
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// The remembered API key cookie.
    RememberCookie,
    /// The consent form's state.
    ConsentForm,
    /// A refresh token (sealed deterministically, see [`Keys::seal_deterministic`]).
    RefreshToken,
    /// The grants page's session: whose grants one open page may change.
    GrantsSession,
    /// The device consent step's state (RFC 8628).
    DeviceForm,
    /// An approved device flow's key, in its device record.
    DeviceKey,
}

impl Purpose {
    fn aad(self) -> &'static [u8] {
        match self {
            Purpose::RememberCookie => b"parallel-oauth-provider remember-cookie v1",
            Purpose::ConsentForm => b"parallel-oauth-provider consent-form v1",
            Purpose::RefreshToken => b"parallel-oauth-provider refresh-token v1",
            Purpose::GrantsSession => b"parallel-oauth-provider grants-session v1",
            Purpose::DeviceForm => b"parallel-oauth-provider device-form v1",
            Purpose::DeviceKey => b"parallel-oauth-provider device-key v1",
        }
    }
}

struct Key {
    id: [u8; 4],
    aead: Aes256Gcm,
    mac: [u8; 32],
}

impl Key {
    fn derive(secret: &Secret) -> Key {
        let hk = Hkdf::<Sha256>::new(Some(b"parallel-oauth-provider v1"), secret.bytes());
        let mut aead = [0u8; 32];
        let mut mac = [0u8; 32];
        let mut id = [0u8; 4];
        // Lengths are far below HKDF's limit (255 * 32 bytes): expand cannot fail.
        hk.expand(b"aes-256-gcm", &mut aead).expect("valid HKDF length");
        hk.expand(b"hmac-sha256", &mut mac).expect("valid HKDF length");
        hk.expand(b"key-id", &mut id).expect("valid HKDF length");
        Key { id, aead: Aes256Gcm::new(&aead.into()), mac }
    }

    /// HMAC-SHA256 of `message` under this key, `label` (length-prefixed)
    /// separating its uses.
    fn tag(&self, label: &[u8], message: &[u8]) -> [u8; 32] {
        self.hmac(&[&(label.len() as u32).to_be_bytes(), label, message])
    }

    /// HMAC-SHA256 under this key of `parts`, concatenated.
    fn hmac(&self, parts: &[&[u8]]) -> [u8; 32] {
        use hkdf::hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// The provider's keys: the current one seals, the previous one still opens.
/// Derived on first use, so a request that seals and opens nothing (a
/// metadata document, an isolate's first request) derives none.
pub struct Keys {
    secrets: (Secret, Option<Secret>),
    derived: OnceLock<(Key, Option<Key>)>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

const HEADER: usize = 4 + 12;

impl Keys {
    /// The keys of these secrets, derived once, on first use (HKDF:
    /// microseconds, not PBKDF2's milliseconds).
    pub fn derive(current: &Secret, previous: Option<&Secret>) -> Keys {
        Keys { secrets: (current.clone(), previous.cloned()), derived: OnceLock::new() }
    }

    fn derived(&self) -> &(Key, Option<Key>) {
        self.derived.get_or_init(|| (Key::derive(&self.secrets.0), self.secrets.1.as_ref().map(Key::derive)))
    }

    fn current(&self) -> &Key {
        &self.derived().0
    }

    /// The current key, then the previous one while rotating.
    fn all(&self) -> impl Iterator<Item = &Key> {
        let (current, previous) = self.derived();
        std::iter::once(current).chain(previous)
    }

    /// Encrypts and authenticates `plaintext` for `purpose`.
    pub fn seal(&self, purpose: Purpose, plaintext: &[u8], entropy: &mut Entropy) -> String {
        self.seal_with_nonce(purpose, plaintext, entropy.nonce())
    }

    fn seal_with_nonce(&self, purpose: Purpose, plaintext: &[u8], nonce: [u8; 12]) -> String {
        let key = self.current();
        let ciphertext = key
            .aead
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: purpose.aad() })
            .expect("AES-GCM encryption of a small value cannot fail");
        let mut out = Vec::with_capacity(HEADER + ciphertext.len());
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        b64url(&out)
    }

    /// Seals `plaintext` with a nonce derived from it (an HMAC of the purpose
    /// and the plaintext, as in SIV constructions): the same plaintext always
    /// gives the same value, and two different plaintexts get different
    /// nonces (a collision needs 2^48 values), so the nonce never repeats
    /// under one key for different messages. Refresh rotation relies on it:
    /// a successor is a pure function of its predecessor, so a replay within
    /// the grace window gets the very same successor back, with nothing
    /// stored.
    pub fn seal_deterministic(&self, purpose: Purpose, plaintext: &[u8]) -> String {
        let mut input = Vec::with_capacity(purpose.aad().len() + 1 + plaintext.len());
        input.extend_from_slice(purpose.aad());
        input.push(0);
        input.extend_from_slice(plaintext);
        let tag = self.tag(b"siv-nonce", &input);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&tag[..12]);
        self.seal_with_nonce(purpose, plaintext, nonce)
    }

    /// An HMAC-SHA256 tag of `message` under the current key, with `label`
    /// separating its uses (pseudonymous subjects, grant ids, nonces).
    pub fn tag(&self, label: &[u8], message: &[u8]) -> [u8; 32] {
        self.current().tag(label, message)
    }

    /// [`Keys::tag`] under the current key and, during rotation, the
    /// previous one (what the same message was tagged before the rotation).
    pub fn tags<'a>(&'a self, label: &'a [u8], message: &'a [u8]) -> impl Iterator<Item = [u8; 32]> + 'a {
        self.all().map(move |k| k.tag(label, message))
    }

    /// Opens a sealed value; `None` if it is malformed, tampered, sealed for
    /// another purpose or under a key we no longer have.
    pub fn open(&self, purpose: Purpose, sealed: &str) -> Option<Vec<u8>> {
        let raw = from_b64url(sealed)?;
        if raw.len() < HEADER + 16 {
            return None;
        }
        let key = self.all().find(|k| raw[..4] == k.id)?;
        key.aead.decrypt(Nonce::from_slice(&raw[4..HEADER]), Payload { msg: &raw[HEADER..], aad: purpose.aad() }).ok()
    }

    /// HMAC-SHA256 tags under the current key and, during rotation, the
    /// previous one: the first signs, any of them verifies.
    pub fn macs<'a>(&'a self, message: &'a [u8]) -> impl Iterator<Item = [u8; 32]> + 'a {
        self.all().map(move |k| k.hmac(&[message]))
    }

    /// A keyed hash of a secret value (an API key) to name it in this
    /// isolate's memory: a [`Keys::tag`] with a label of its own, so a cache
    /// holds neither the value nor a plain hash one could test guesses
    /// against without `SECRET`.
    pub fn cache_tag(&self, value: &[u8]) -> [u8; 32] {
        self.tag(b"key-check-cache v1", value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(s: &str) -> Keys {
        Keys::derive(&Secret::new(&s.repeat(40)).unwrap(), None)
    }

    fn entropy() -> Entropy {
        Entropy::new([3; 32])
    }

    #[test]
    fn seal_open_round_trip() {
        let k = keys("a");
        let sealed = k.seal(Purpose::RememberCookie, b"sk-key", &mut entropy());
        assert_eq!(k.open(Purpose::RememberCookie, &sealed).unwrap(), b"sk-key");
        assert!(!sealed.contains("sk-key"));
    }

    #[test]
    fn keys_are_derived_on_first_use_only() {
        let k = keys("a");
        assert!(k.derived.get().is_none(), "nothing derived before a value is sealed or opened");
        let sealed = k.seal(Purpose::RememberCookie, b"sk-key", &mut entropy());
        assert!(k.derived.get().is_some());
        // The same keys as derived at once: a fresh set opens what this one sealed.
        assert_eq!(keys("a").open(Purpose::RememberCookie, &sealed).unwrap(), b"sk-key");
    }

    #[test]
    fn tampered_byte_is_refused() {
        let k = keys("a");
        let sealed = k.seal(Purpose::RememberCookie, b"sk-key", &mut entropy());
        let mut raw = from_b64url(&sealed).unwrap();
        for i in 0..raw.len() {
            raw[i] ^= 1;
            assert!(k.open(Purpose::RememberCookie, &b64url(&raw)).is_none(), "byte {i}");
            raw[i] ^= 1;
        }
    }

    #[test]
    fn wrong_key_and_wrong_purpose_are_refused() {
        let sealed = keys("a").seal(Purpose::RememberCookie, b"sk-key", &mut entropy());
        assert!(keys("b").open(Purpose::RememberCookie, &sealed).is_none());
        assert!(keys("a").open(Purpose::ConsentForm, &sealed).is_none());
    }

    #[test]
    fn rotated_key_still_opens_old_values() {
        let old = Secret::new(&"o".repeat(40)).unwrap();
        let new = Secret::new(&"n".repeat(40)).unwrap();
        let sealed = Keys::derive(&old, None).seal(Purpose::RememberCookie, b"k", &mut entropy());
        let rotated = Keys::derive(&new, Some(&old));
        assert_eq!(rotated.open(Purpose::RememberCookie, &sealed).unwrap(), b"k");
        // New values are sealed under the new key only.
        let fresh = rotated.seal(Purpose::RememberCookie, b"k", &mut entropy());
        assert!(Keys::derive(&old, None).open(Purpose::RememberCookie, &fresh).is_none());
        assert!(Keys::derive(&new, None).open(Purpose::RememberCookie, &fresh).is_some());
    }

    #[test]
    fn truncated_and_garbage_values_are_refused() {
        let k = keys("a");
        let sealed = k.seal(Purpose::ConsentForm, b"x", &mut entropy());
        for n in 0..sealed.len() {
            assert!(k.open(Purpose::ConsentForm, &sealed[..n]).is_none());
        }
        assert!(k.open(Purpose::ConsentForm, "!!!").is_none());
    }

    #[test]
    fn mac_verifies_under_previous_key() {
        let old = Secret::new(&"o".repeat(40)).unwrap();
        let new = Secret::new(&"n".repeat(40)).unwrap();
        let tag = Keys::derive(&old, None).macs(b"m").next().unwrap();
        assert!(Keys::derive(&new, Some(&old)).macs(b"m").any(|t| t == tag));
        assert!(!Keys::derive(&new, None).macs(b"m").any(|t| t == tag));
    }

    #[test]
    fn tags_are_the_current_tag_then_the_previous_keys() {
        let old = Secret::new(&"o".repeat(40)).unwrap();
        let new = Secret::new(&"n".repeat(40)).unwrap();
        let rotating = Keys::derive(&new, Some(&old));
        let tags: Vec<_> = rotating.tags(b"l", b"m").collect();
        assert_eq!(tags, [rotating.tag(b"l", b"m"), Keys::derive(&old, None).tag(b"l", b"m")]);
        assert_ne!(tags[0], rotating.tag(b"other label", b"m"));
        assert_eq!(Keys::derive(&new, None).tags(b"l", b"m").count(), 1);
    }

    #[test]
    fn deterministic_seal_repeats_for_the_same_plaintext_only() {
        let k = keys("a");
        let one = k.seal_deterministic(Purpose::RefreshToken, b"gen 1");
        assert_eq!(one, k.seal_deterministic(Purpose::RefreshToken, b"gen 1"));
        let two = k.seal_deterministic(Purpose::RefreshToken, b"gen 2");
        assert_ne!(one, two);
        // Different nonces, not just different ciphertexts.
        assert_ne!(from_b64url(&one).unwrap()[4..HEADER], from_b64url(&two).unwrap()[4..HEADER]);
        assert_eq!(k.open(Purpose::RefreshToken, &one).unwrap(), b"gen 1");
        assert!(k.open(Purpose::RememberCookie, &one).is_none());
        assert!(keys("b").open(Purpose::RefreshToken, &one).is_none());
    }

    #[test]
    fn tags_are_separated_by_label_and_key() {
        let k = keys("a");
        assert_eq!(k.tag(b"sub", b"x"), k.tag(b"sub", b"x"));
        assert_ne!(k.tag(b"sub", b"x"), k.tag(b"gid", b"x"));
        assert_ne!(k.tag(b"su", b"bx"), k.tag(b"sub", b"x"));
        assert_ne!(k.tag(b"sub", b"x"), keys("b").tag(b"sub", b"x"));
    }

    #[test]
    fn cache_tag_is_keyed_and_not_the_mac() {
        let k = keys("a");
        let tag = k.cache_tag(b"sk-key");
        assert_eq!(tag, k.cache_tag(b"sk-key"));
        assert_ne!(tag, k.cache_tag(b"sk-kez"));
        assert_ne!(tag, keys("b").cache_tag(b"sk-key"), "another SECRET, another tag");
        assert!(k.macs(b"sk-key").all(|m| m != tag), "its own key, not the client-id MAC key");
        use sha2::Digest;
        assert_ne!(tag.as_slice(), Sha256::digest(b"sk-key").as_slice(), "not a plain hash");
    }

    proptest! {
        #[test]
        fn open_never_panics(s in ".{0,200}") {
            let _ = keys("a").open(Purpose::RememberCookie, &s);
        }
    }
}
