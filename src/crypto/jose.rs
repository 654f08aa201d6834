//! Minimal, strict JOSE: exactly the two compact forms the provider's
//! tokens use, and nothing a token could ask for beyond them.
//!
//! - JWE (RFC 7516) with `"alg":"dir"` and `"enc":"A256GCM"` only: the
//!   shared 32-byte key is the content-encryption key, the encrypted-key
//!   part is empty, the additional authenticated data is the ASCII of the
//!   base64url protected header (RFC 7516 §5.1 step 14).
//! - JWS (RFC 7515) with `"alg":"ES256"` only (ECDSA P-256 SHA-256, RFC 7518
//!   §3.4): the signature is the 64-byte `r ‖ s`, never DER. The curve
//!   arithmetic is [`super::p256`]'s (the runtime's on Workers).
//!
//! Everything else is refused: any other `alg` (`none`, `HS256`, `ES384`,
//! `RSA-OAEP`, `A256KW`…) or `enc`, a missing `alg`, `zip`, `crit`,
//! `"b64":false`, a header that is not a JSON object or repeats a member,
//! a wrong number of parts, wrong IV/tag/signature lengths, an unknown `kid`
//! and tokens over [`MAX_TOKEN_LEN`]. The algorithm is never chosen by the
//! token: each function implements one, and a key is only ever used with it
//! (no algorithm confusion). Every failure is one opaque [`JoseError`].
//!
//! Keys: [`SigningKey::derive`] makes a P-256 key from secret input keying
//! material; [`VerifyingKey`] exports and imports JWKs (RFC 7517/7518 §6.2),
//! and its key id is the RFC 7638 JWK thumbprint.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use super::p256::{self, Point};
use crate::protocol::encoding::{b64url, from_b64url};

/// The longest compact token [`decrypt`] and [`verify_es256`] look at, in
/// bytes; longer ones are refused before anything is decoded.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The longest JWK or JWKS document [`VerifyingKey::from_jwk_json`] and
/// [`parse_jwks`] read, in bytes.
pub const MAX_JWKS_LEN: usize = 64 * 1024;

/// Why a token was refused. The variants exist for tests and logs; every
/// one displays the same text, which names no key, claim or token content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoseError {
    /// Longer than [`MAX_TOKEN_LEN`] (or [`MAX_JWKS_LEN`]).
    TooLarge,
    /// Wrong number of parts, bad base64url, a header that is not a JSON
    /// object, wrong IV, tag or signature length, a malformed JWK.
    Malformed,
    /// An algorithm, encryption or header parameter we do not accept
    /// (`alg` other than the one expected, `enc`, `zip`, `crit`, `b64`).
    Unsupported,
    /// No `kid`, or one the caller has no key for.
    UnknownKey,
    /// The tag or signature does not verify under the key.
    Rejected,
    /// No P-256 implementation is installed (on Workers: the runtime has
    /// no `node:crypto`; see [`super::p256`]).
    Unavailable,
}

impl std::fmt::Display for JoseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid or unsupported JOSE token")
    }
}

impl std::error::Error for JoseError {}

/// The protected header members a caller sets and reads. `alg` and `enc`
/// are not here: each function writes and requires its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `kid`: which key. Required by [`decrypt`]; [`verify_es256`] hands it
    /// (or its absence) to the caller's lookup.
    pub kid: Option<String>,
    /// `typ`: the media type of the whole token (e.g. `at+jwt`).
    pub typ: Option<String>,
    /// `cty`: the media type of the payload.
    pub cty: Option<String>,
    /// `aud` replicated as a header parameter (RFC 7519 §5.3; integrity
    /// protected like every protected header member).
    pub aud: Option<String>,
    /// `jti` replicated as a header parameter (RFC 7519 §5.3).
    pub jti: Option<String>,
}

/// The header as read. The JSON reader refuses a repeated member
/// (`{"alg":"dir","alg":"none"}`), the fields a value of the wrong type;
/// unknown members are ignored, as RFC 7515 §4 requires of non-critical
/// ones.
struct RawHeader {
    alg: Option<String>,
    enc: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    aud: Option<String>,
    jti: Option<String>,
    zip: bool,
    crit: bool,
    b64: Option<bool>,
}

impl RawHeader {
    fn read(value: &crate::json::Value) -> Result<RawHeader, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        // `zip` and `crit` count whenever they are there, even as `null`.
        let present = |name| value.as_object().is_some_and(|o| o.contains_key(name));
        Ok(RawHeader {
            alg: f.opt_str("alg")?,
            enc: f.opt_str("enc")?,
            kid: f.opt_str("kid")?,
            typ: f.opt_str("typ")?,
            cty: f.opt_str("cty")?,
            aud: f.opt_str("aud")?,
            jti: f.opt_str("jti")?,
            zip: present("zip"),
            crit: present("crit"),
            b64: f.opt_bool("b64")?,
        })
    }

    fn into_header(self) -> Header {
        Header { kid: self.kid, typ: self.typ, cty: self.cty, aud: self.aud, jti: self.jti }
    }
}

/// The header as written: `alg`, `enc`, `kid`, `typ`, `cty`, `aud`, `jti`
/// in this order, absent ones left out.
fn wire(alg: &str, enc: Option<&str>, h: &Header) -> String {
    let mut o = crate::json::Object::from([("alg", alg.into())]);
    o.insert_some("enc", enc);
    o.insert_some("kid", h.kid.as_deref());
    o.insert_some("typ", h.typ.as_deref());
    o.insert_some("cty", h.cty.as_deref());
    o.insert_some("aud", h.aud.as_deref());
    o.insert_some("jti", h.jti.as_deref());
    b64url(crate::json::Value::from(o).to_string().as_bytes())
}

fn parse_header(encoded: &str) -> Result<RawHeader, JoseError> {
    let bytes = from_b64url(encoded).ok_or(JoseError::Malformed)?;
    crate::json::parse(&bytes).and_then(|v| RawHeader::read(&v)).map_err(|_| JoseError::Malformed)
}

/// Exactly `N` dot-separated parts.
fn split<const N: usize>(token: &str) -> Result<[&str; N], JoseError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JoseError::TooLarge);
    }
    let mut parts = [""; N];
    let mut it = token.split('.');
    for part in parts.iter_mut() {
        *part = it.next().ok_or(JoseError::Malformed)?;
    }
    if it.next().is_some() {
        return Err(JoseError::Malformed);
    }
    Ok(parts)
}

fn decode_exact<const N: usize>(encoded: &str) -> Result<[u8; N], JoseError> {
    from_b64url(encoded).and_then(|v| <[u8; N]>::try_from(v).ok()).ok_or(JoseError::Malformed)
}

/// AES-256-GCM over `plaintext` with `aad`: (ciphertext, tag).
fn seal_content(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let mut buf = plaintext.to_vec();
    let tag = Aes256Gcm::new(key.into())
        .encrypt_in_place_detached(Nonce::from_slice(iv), aad, &mut buf)
        // Fails only past GCM's 64 GiB per message; tokens are a few KB.
        .expect("AES-GCM encryption of a small value cannot fail");
    (buf, tag.into())
}

/// A compact JWE with `"alg":"dir","enc":"A256GCM"` and the `header`'s
/// members, encrypting `plaintext` under `key` with the 96-bit `iv`.
///
/// `iv` must never repeat under one key: pass 12 fresh random bytes (with
/// random IVs, stay well under 2³² tokens per key).
pub fn encrypt(key: &[u8; 32], header: &Header, plaintext: &[u8], iv: [u8; 12]) -> String {
    let protected = wire("dir", Some("A256GCM"), header);
    let (ciphertext, tag) = seal_content(key, &iv, protected.as_bytes(), plaintext);
    format!("{protected}..{}.{}.{}", b64url(&iv), b64url(&ciphertext), b64url(&tag))
}

/// Opens a compact JWE made by [`encrypt`]: exactly five parts, an empty
/// encrypted key, a 12-byte IV, a 16-byte tag, and a protected header that
/// is a JSON object with `alg` exactly `dir`, `enc` exactly `A256GCM`, a
/// `kid`, and no `zip`, `crit` or `b64`.
///
/// `lookup` receives the parsed header (not yet authenticated: use it only
/// to pick a key, by `kid` and, for replicated claims, `aud`) and returns
/// the key, or `None` if it has none. The header returned with the
/// plaintext is authenticated.
pub fn decrypt(token: &str, lookup: impl FnOnce(&Header) -> Option<[u8; 32]>) -> Result<(Header, Vec<u8>), JoseError> {
    let [protected, encrypted_key, iv, ciphertext, tag] = split::<5>(token)?;
    let raw = parse_header(protected)?;
    if raw.alg.as_deref() != Some("dir")
        || raw.enc.as_deref() != Some("A256GCM")
        || raw.zip
        || raw.crit
        || raw.b64.is_some()
    {
        return Err(JoseError::Unsupported);
    }
    if !encrypted_key.is_empty() {
        return Err(JoseError::Malformed);
    }
    let iv = decode_exact::<12>(iv)?;
    let tag = decode_exact::<16>(tag)?;
    let mut buf = from_b64url(ciphertext).ok_or(JoseError::Malformed)?;
    let header = raw.into_header();
    if header.kid.is_none() {
        return Err(JoseError::UnknownKey);
    }
    let key = lookup(&header).ok_or(JoseError::UnknownKey)?;
    Aes256Gcm::new((&key).into())
        .decrypt_in_place_detached(Nonce::from_slice(&iv), protected.as_bytes(), &mut buf, Tag::from_slice(&tag))
        .map_err(|_| JoseError::Rejected)?;
    Ok((header, buf))
}

/// A compact JWS with `"alg":"ES256"` and the `header`'s members, signing
/// `payload` with `key`; `None` when no P-256 implementation is installed
/// or it could not sign (see [`super::p256`]).
pub fn sign_es256(key: &SigningKey, header: &Header, payload: &[u8]) -> Option<String> {
    let signing_input = format!("{}.{}", wire("ES256", None, header), b64url(payload));
    let signature = p256::installed()?.sign(&key.d, signing_input.as_bytes())?;
    Some(format!("{signing_input}.{}", b64url(&signature)))
}

/// Verifies a compact JWS made by [`sign_es256`] (or any ES256 signer):
/// exactly three parts, a protected header that is a JSON object with `alg`
/// exactly `ES256`, no `enc`, `zip` or `crit`, `b64` absent or `true`, and a
/// signature of exactly 64 bytes (`r ‖ s`, both in range; high `s` is
/// accepted, as RFC 7518 does not require low `s`).
///
/// `lookup` receives the parsed header (not yet authenticated: use it only
/// to pick a key by `kid`, which may be absent) and returns the verifying
/// key. Returns the header and the decoded payload.
pub fn verify_es256<'k>(
    token: &str,
    lookup: impl FnOnce(&Header) -> Option<&'k VerifyingKey>,
) -> Result<(Header, Vec<u8>), JoseError> {
    let [protected, payload, signature] = split::<3>(token)?;
    let raw = parse_header(protected)?;
    if raw.alg.as_deref() != Some("ES256") || raw.enc.is_some() || raw.zip || raw.crit || raw.b64 == Some(false) {
        return Err(JoseError::Unsupported);
    }
    let signature = decode_exact::<64>(signature)?;
    let header = raw.into_header();
    let key = lookup(&header).ok_or(JoseError::UnknownKey)?;
    let signing_input = &token[..protected.len() + 1 + payload.len()];
    let p256 = p256::installed().ok_or(JoseError::Unavailable)?;
    if !p256.verify(&key.point, signing_input.as_bytes(), &signature) {
        return Err(JoseError::Rejected);
    }
    let payload = from_b64url(payload).ok_or(JoseError::Malformed)?;
    Ok((header, payload))
}

/// A P-256 private key for ES256, with its public half and key id.
/// `Debug` prints only the key id; the scalar is zeroed on drop.
#[derive(Clone)]
pub struct SigningKey {
    d: [u8; 32],
    public: VerifyingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey {{ kid: {:?}, d: [redacted] }}", self.public.kid)
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        for b in self.d.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl SigningKey {
    /// Derives a key deterministically from secret input keying material
    /// `ikm` (e.g. `SECRET`) and a purpose `info`; `None` only when no
    /// P-256 implementation is installed (see [`super::p256`]).
    ///
    /// The private scalar is found by rejection sampling (FIPS 186-5
    /// A.2.2): PRK = HKDF-Extract(salt = none, `ikm`); for counter
    /// c = 0, 1, …: d = HKDF-Expand(PRK, `info` ‖ c as one byte, 32 bytes)
    /// read big-endian; the first d with 1 ≤ d < n (the group order) is the
    /// key. So d is uniform over the valid scalars and never zero; a
    /// candidate is rejected with probability below 2⁻³², so c is 0 in
    /// practice. The key id is the public key's RFC 7638 thumbprint.
    pub fn derive(ikm: &[u8], info: &[u8]) -> Option<SigningKey> {
        let hk = Hkdf::<Sha256>::new(None, ikm);
        // 256 rejections in a row have probability below 2^-8192.
        (0u8..=255)
            .find_map(|counter| {
                let mut candidate = [0u8; 32];
                // 32 bytes is far below HKDF's limit (255 * 32): cannot fail.
                hk.expand_multi_info(&[info, &[counter]], &mut candidate).ok()?;
                p256::is_scalar(&candidate).then_some(candidate)
            })
            .and_then(|d| SigningKey::from_scalar_bytes(&d))
    }

    /// A key from its 32-byte big-endian private scalar (the JWK `d`);
    /// `None` if it is zero or not below the group order, or no P-256
    /// implementation is installed.
    pub fn from_scalar_bytes(d: &[u8; 32]) -> Option<SigningKey> {
        if !p256::is_scalar(d) {
            return None;
        }
        let point = p256::installed()?.public_key(d)?;
        Some(SigningKey { d: *d, public: VerifyingKey::with_thumbprint(point) })
    }

    /// The key id: the public key's RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The public half, for the JWKS.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }
}

/// A P-256 public key for ES256 and its key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    point: Point,
    kid: String,
}

/// A JWK as read: the members we look at.
struct RawJwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    kid: Option<String>,
    use_: Option<String>,
    alg: Option<String>,
    d: bool,
}

impl RawJwk {
    fn read(value: &crate::json::Value) -> Result<RawJwk, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        Ok(RawJwk {
            kty: f.opt_str("kty")?,
            crv: f.opt_str("crv")?,
            x: f.opt_str("x")?,
            y: f.opt_str("y")?,
            kid: f.opt_str("kid")?,
            use_: f.opt_str("use")?,
            alg: f.opt_str("alg")?,
            // A private key counts whenever `d` is there, even as `null`.
            d: value.as_object().is_some_and(|o| o.contains_key("d")),
        })
    }
}

impl VerifyingKey {
    fn with_thumbprint(point: Point) -> VerifyingKey {
        let (x, y) = coordinates(&point);
        VerifyingKey { point, kid: thumbprint(&x, &y) }
    }

    /// The key id: the JWK's `kid` if it had one, else the RFC 7638
    /// thumbprint (which is also what our own keys use).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The RFC 7638 JWK thumbprint: base64url(SHA-256(
    /// `{"crv":"P-256","kty":"EC","x":"<x>","y":"<y>"}`)), 43 characters.
    pub fn thumbprint(&self) -> String {
        let (x, y) = coordinates(&self.point);
        thumbprint(&x, &y)
    }

    /// The public JWK, exactly
    /// `{"kty":"EC","crv":"P-256","x":"…","y":"…","kid":"…","use":"sig","alg":"ES256"}`.
    pub fn to_jwk(&self) -> String {
        let (x, y) = coordinates(&self.point);
        crate::json::Value::object([
            ("kty", "EC".into()),
            ("crv", "P-256".into()),
            ("x", x.into()),
            ("y", y.into()),
            ("kid", (&self.kid).into()),
            ("use", "sig".into()),
            ("alg", "ES256".into()),
        ])
        .to_string()
    }

    /// Reads a public P-256 JWK: `kty` `EC`, `crv` `P-256`, `x` and `y` of
    /// exactly 32 bytes forming a point on the curve, `use` absent or `sig`,
    /// `alg` absent or `ES256`, and no private `d` (a published key set
    /// holding a private key is a mistake we refuse to build on).
    pub fn from_jwk(jwk: &crate::json::Value) -> Result<VerifyingKey, JoseError> {
        let raw = RawJwk::read(jwk).map_err(|_| JoseError::Malformed)?;
        if raw.kty.as_deref() != Some("EC")
            || raw.crv.as_deref() != Some("P-256")
            || raw.use_.as_deref().is_some_and(|u| u != "sig")
            || raw.alg.as_deref().is_some_and(|a| a != "ES256")
            || raw.d
        {
            return Err(JoseError::Unsupported);
        }
        let x = decode_exact::<32>(raw.x.as_deref().unwrap_or_default())?;
        let y = decode_exact::<32>(raw.y.as_deref().unwrap_or_default())?;
        let mut point = [0u8; 64];
        point[..32].copy_from_slice(&x);
        point[32..].copy_from_slice(&y);
        if !p256::installed().ok_or(JoseError::Unavailable)?.is_point(&point) {
            return Err(JoseError::Malformed);
        }
        let kid = match raw.kid {
            Some(kid) => kid,
            None => thumbprint(&b64url(&x), &b64url(&y)),
        };
        Ok(VerifyingKey { point, kid })
    }

    /// [`VerifyingKey::from_jwk`] on a JSON text.
    pub fn from_jwk_json(json: &str) -> Result<VerifyingKey, JoseError> {
        if json.len() > MAX_JWKS_LEN {
            return Err(JoseError::TooLarge);
        }
        VerifyingKey::from_jwk(&crate::json::parse(json.as_bytes()).map_err(|_| JoseError::Malformed)?)
    }
}

/// A JWK Set document, `{"keys":[…]}`, of the given keys.
pub fn jwks(keys: &[&VerifyingKey]) -> String {
    let keys: Vec<String> = keys.iter().map(|k| k.to_jwk()).collect();
    format!(r#"{{"keys":[{}]}}"#, keys.join(","))
}

/// Reads the ES256 verifying keys of a JWK Set (`{"keys":[…]}`) or of a
/// single JWK. Keys of other types, curves or uses (an RSA key next to
/// ours, say) are skipped; a document that is not JSON, or a set with no
/// usable key, is refused.
pub fn parse_jwks(json: &str) -> Result<Vec<VerifyingKey>, JoseError> {
    if json.len() > MAX_JWKS_LEN {
        return Err(JoseError::TooLarge);
    }
    let doc = crate::json::parse(json.as_bytes()).map_err(|_| JoseError::Malformed)?;
    let keys: Vec<VerifyingKey> = match doc.get("keys") {
        Some(crate::json::Value::Array(keys)) => keys.iter().filter_map(|k| VerifyingKey::from_jwk(k).ok()).collect(),
        Some(_) => return Err(JoseError::Malformed),
        None => vec![VerifyingKey::from_jwk(&doc)?],
    };
    if keys.is_empty() {
        return Err(JoseError::UnknownKey);
    }
    Ok(keys)
}

/// The base64url `x` and `y` of a public key (32 bytes each).
fn coordinates(point: &Point) -> (String, String) {
    (b64url(&point[..32]), b64url(&point[32..]))
}

fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    b64url(&Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: [u8; 32] = [7; 32];
    const IV: [u8; 12] = [9; 12];

    fn header(kid: &str) -> Header {
        Header { kid: Some(kid.into()), typ: Some("at+jwt".into()), ..Header::default() }
    }

    fn by_kid(kid: &'static str, key: [u8; 32]) -> impl Fn(&Header) -> Option<[u8; 32]> {
        move |h| (h.kid.as_deref() == Some(kid)).then_some(key)
    }

    fn signer() -> SigningKey {
        SigningKey::derive(b"input keying material of the test", b"jose test").unwrap()
    }

    fn vk_by_kid<'k>(key: &'k VerifyingKey) -> impl Fn(&Header) -> Option<&'k VerifyingKey> {
        move |h| (h.kid.as_deref() == Some(key.kid())).then_some(key)
    }

    /// Re-encodes the compact token with part `part` replaced.
    fn with_part(token: &str, part: usize, value: &str) -> String {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[part] = value;
        parts.join(".")
    }

    /// A JWS of an arbitrary header JSON, signed with `key` (for headers
    /// [`sign_es256`] would never write).
    fn sign_raw(key: &SigningKey, header_json: &str, payload: &[u8]) -> String {
        let input = format!("{}.{}", b64url(header_json.as_bytes()), b64url(payload));
        let sig = p256::installed().unwrap().sign(&key.d, input.as_bytes()).unwrap();
        format!("{input}.{}", b64url(&sig))
    }

    /// A JWE of an arbitrary header JSON, correctly encrypted under `key`.
    fn encrypt_raw(key: &[u8; 32], header_json: &str, plaintext: &[u8]) -> String {
        let protected = b64url(header_json.as_bytes());
        let (ct, tag) = seal_content(key, &IV, protected.as_bytes(), plaintext);
        format!("{protected}..{}.{}.{}", b64url(&IV), b64url(&ct), b64url(&tag))
    }

    // RFC 7516 Appendix A.1 (RSAES-OAEP and AES GCM): the A256GCM content
    // encryption step (A.1.3, A.1.4 IV, A.1.5 AAD, A.1.6 ciphertext and
    // tag). With "dir", the CEK is the shared key.
    const A1_CEK: [u8; 32] = [
        177, 161, 244, 128, 84, 143, 225, 115, 63, 180, 3, 255, 107, 154, 212, 246, 138, 7, 110, 91, 112, 46, 34, 105,
        47, 130, 203, 46, 122, 234, 64, 252,
    ];
    const A1_IV: [u8; 12] = [227, 197, 117, 252, 2, 219, 233, 68, 180, 225, 77, 219];
    const A1_PROTECTED: &str = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ";
    const A1_PLAINTEXT: &str = "The true sign of intelligence is not knowledge but imagination.";
    const A1_CIPHERTEXT: [u8; 63] = [
        229, 236, 166, 241, 53, 191, 115, 196, 174, 43, 73, 109, 39, 122, 233, 96, 140, 206, 120, 52, 51, 237, 48, 11,
        190, 219, 186, 80, 111, 104, 50, 142, 47, 167, 59, 61, 181, 127, 196, 21, 40, 82, 242, 32, 123, 143, 168, 226,
        73, 216, 176, 144, 138, 247, 106, 60, 16, 205, 160, 109, 64, 63, 192,
    ];
    const A1_TAG: [u8; 16] = [92, 80, 104, 49, 133, 25, 161, 215, 173, 101, 219, 211, 136, 91, 210, 145];
    const A1_TOKEN: &str = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.\
        OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe\
        ipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDb\
        Sv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaV\
        mqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je8\
        1860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi\
        6UklfCpIMfIjf7iGdXKHzg.\
        48V1_ALb6US04U3b.\
        5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji\
        SdiwkIr3ajwQzaBtQD_A.\
        XFBoMYUZodetZdvTiFvSkQ";

    #[test]
    fn rfc7516_a1_a256gcm_content_encryption_vector() {
        assert_eq!(b64url(&A1_IV), "48V1_ALb6US04U3b");
        let (ciphertext, tag) = seal_content(&A1_CEK, &A1_IV, A1_PROTECTED.as_bytes(), A1_PLAINTEXT.as_bytes());
        assert_eq!(ciphertext, A1_CIPHERTEXT);
        assert_eq!(tag, A1_TAG);
        // The compact serialization's last three parts (A.1.7).
        let parts: Vec<&str> = A1_TOKEN.split('.').collect();
        assert_eq!((parts[0], parts[2]), (A1_PROTECTED, "48V1_ALb6US04U3b"));
        assert_eq!(parts[3], b64url(&ciphertext));
        assert_eq!(parts[4], b64url(&tag));
    }

    #[test]
    fn rfc7516_a1_token_is_refused_for_its_rsa_oaep_alg() {
        assert_eq!(decrypt(A1_TOKEN, |_| Some(A1_CEK)), Err(JoseError::Unsupported));
        // The same content re-labelled "dir": the header is the AAD, so the
        // RFC's tag no longer verifies.
        let relabelled =
            with_part(&with_part(A1_TOKEN, 0, &b64url(br#"{"alg":"dir","enc":"A256GCM","kid":"k"}"#)), 1, "");
        assert_eq!(decrypt(&relabelled, |_| Some(A1_CEK)), Err(JoseError::Rejected));
    }

    // RFC 7515 Appendix A.3: ES256. The JWS and the public JWK (A.3.1);
    // the private `d` too, to check our signatures under the RFC's key.
    const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.\
        eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
        DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    const A3_JWK: &str = r#"{"kty":"EC","crv":"P-256",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    const A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

    #[test]
    fn rfc7515_a3_es256_vector_verifies() {
        let key = VerifyingKey::from_jwk_json(A3_JWK).unwrap();
        // The RFC's header has no kid; the lookup sees that.
        let (header, payload) = verify_es256(A3_TOKEN, |h| h.kid.is_none().then_some(&key)).unwrap();
        assert_eq!(header, Header::default());
        assert_eq!(payload, b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
        // Its s is high (> n/2): accepted, as RFC 7518 allows.
        let tampered = with_part(A3_TOKEN, 1, &b64url(b"{\"iss\":\"joe\"}"));
        assert_eq!(verify_es256(&tampered, |_| Some(&key)), Err(JoseError::Rejected));
    }

    #[test]
    fn rfc7515_a3_private_key_signs_what_its_public_key_verifies() {
        let d: [u8; 32] = from_b64url(A3_D).unwrap().try_into().unwrap();
        let ours = SigningKey::from_scalar_bytes(&d).unwrap();
        let theirs = VerifyingKey::from_jwk_json(A3_JWK).unwrap();
        assert_eq!(ours.verifying_key().point, theirs.point);
        let token = sign_es256(&ours, &Header::default(), b"payload").unwrap();
        assert_eq!(verify_es256(&token, |_| Some(&theirs)).unwrap().1, b"payload");
        // Natively deterministic (RFC 6979): the same input, the same token.
        assert_eq!(token, sign_es256(&ours, &Header::default(), b"payload").unwrap());
    }

    #[test]
    fn thumbprint_of_the_rfc7515_a3_key() {
        // Computed independently with joserfc's ECKey.thumbprint() (RFC 7638).
        let key = VerifyingKey::from_jwk_json(A3_JWK).unwrap();
        assert_eq!(key.thumbprint(), "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
        assert_eq!(key.kid(), key.thumbprint(), "no kid in the JWK: the thumbprint is the kid");
    }

    #[test]
    fn jwe_round_trip() {
        let h = Header {
            cty: Some("api-key".into()),
            aud: Some("https://a/".into()),
            jti: Some("j".into()),
            ..header("k1")
        };
        let token = encrypt(&KEY, &h, b"secret plaintext", IV);
        assert!(token.starts_with("eyJ") && token.contains(".."));
        let (got, plaintext) = decrypt(&token, by_kid("k1", KEY)).unwrap();
        assert_eq!((got, plaintext.as_slice()), (h, &b"secret plaintext"[..]));
        let protected = from_b64url(token.split('.').next().unwrap()).unwrap();
        assert_eq!(
            protected,
            br#"{"alg":"dir","enc":"A256GCM","kid":"k1","typ":"at+jwt","cty":"api-key","aud":"https://a/","jti":"j"}"#
        );
        assert_eq!(decrypt(&encrypt(&KEY, &header("k1"), b"", IV), by_kid("k1", KEY)).unwrap().1, b"");
    }

    #[test]
    fn jws_round_trip() {
        let key = signer();
        let token = sign_es256(&key, &header(key.kid()), b"{\"sub\":\"x\"}").unwrap();
        let protected = from_b64url(token.split('.').next().unwrap()).unwrap();
        assert_eq!(protected, format!(r#"{{"alg":"ES256","kid":"{}","typ":"at+jwt"}}"#, key.kid()).as_bytes());
        let (h, payload) = verify_es256(&token, vk_by_kid(key.verifying_key())).unwrap();
        assert_eq!((h, payload.as_slice()), (header(key.kid()), &b"{\"sub\":\"x\"}"[..]));
        assert_eq!(from_b64url(token.rsplit('.').next().unwrap()).unwrap().len(), 64);
    }

    #[test]
    fn every_flipped_byte_of_every_jwe_part_is_refused() {
        let token = encrypt(&KEY, &header("k1"), b"some plaintext", IV);
        for part in [0, 2, 3, 4] {
            let mut raw = from_b64url(token.split('.').nth(part).unwrap()).unwrap();
            for i in 0..raw.len() {
                for bit in [0x01, 0x80] {
                    raw[i] ^= bit;
                    assert!(decrypt(&with_part(&token, part, &b64url(&raw)), by_kid("k1", KEY)).is_err(), "{part}/{i}");
                    raw[i] ^= bit;
                }
            }
        }
        // A non-empty encrypted key.
        assert_eq!(decrypt(&with_part(&token, 1, "AA"), by_kid("k1", KEY)), Err(JoseError::Malformed));
    }

    #[test]
    fn every_flipped_byte_of_every_jws_part_is_refused() {
        let key = signer();
        let token = sign_es256(&key, &header(key.kid()), b"{\"sub\":\"x\"}").unwrap();
        for part in 0..3 {
            let mut raw = from_b64url(token.split('.').nth(part).unwrap()).unwrap();
            for i in 0..raw.len() {
                for bit in [0x01, 0x80] {
                    raw[i] ^= bit;
                    let tampered = with_part(&token, part, &b64url(&raw));
                    assert!(verify_es256(&tampered, vk_by_kid(key.verifying_key())).is_err(), "{part}/{i}");
                    raw[i] ^= bit;
                }
            }
        }
    }

    #[test]
    fn every_changed_character_is_refused() {
        let key = signer();
        let jwe = encrypt(&KEY, &header("k1"), b"x", IV);
        let jws = sign_es256(&key, &header(key.kid()), b"x").unwrap();
        for (token, jwe_form) in [(&jwe, true), (&jws, false)] {
            for i in 0..token.len() {
                let mut bytes = token.clone().into_bytes();
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                let t = String::from_utf8(bytes).unwrap();
                let ok = if jwe_form {
                    decrypt(&t, by_kid("k1", KEY)).is_ok()
                } else {
                    verify_es256(&t, vk_by_kid(key.verifying_key())).is_ok()
                };
                assert!(!ok, "char {i} of {t}");
            }
        }
    }

    #[test]
    fn wrong_key_and_unknown_or_missing_kid_are_refused() {
        let token = encrypt(&KEY, &header("k1"), b"x", IV);
        assert_eq!(decrypt(&token, by_kid("k1", [8; 32])), Err(JoseError::Rejected));
        assert_eq!(decrypt(&token, by_kid("k2", KEY)), Err(JoseError::UnknownKey));
        let no_kid = encrypt(&KEY, &Header::default(), b"x", IV);
        assert_eq!(decrypt(&no_kid, |_| Some(KEY)), Err(JoseError::UnknownKey));

        let (a, b) = (signer(), SigningKey::derive(b"other material", b"jose test").unwrap());
        assert_ne!(a.kid(), b.kid());
        let jws = sign_es256(&a, &header(a.kid()), b"x").unwrap();
        // b's key under a's kid (a confused key store): the signature fails.
        assert_eq!(verify_es256(&jws, |_| Some(b.verifying_key())), Err(JoseError::Rejected));
        assert_eq!(verify_es256(&jws, vk_by_kid(b.verifying_key())), Err(JoseError::UnknownKey));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let key = signer();
        let kid = key.kid();
        let vk = key.verifying_key();
        let payload = b64url(b"{\"sub\":\"x\"}");
        // Unsigned tokens, with and without a signature part.
        for h in [r#"{"alg":"none"}"#, r#"{"alg":"None"}"#, r#"{"alg":"NONE"}"#, r#"{"typ":"JWT"}"#, r#"{"alg":""}"#] {
            let unsigned = format!("{}.{payload}.", b64url(h.as_bytes()));
            assert_eq!(verify_es256(&unsigned, |_| Some(vk)), Err(JoseError::Unsupported), "{h}");
        }
        // Other algorithms, correctly ES256-signed: the header decides nothing.
        for alg in ["none", "HS256", "ES384", "ES512", "RS256", "PS256", "EdDSA", "es256", "ES256 ", "ES256K"] {
            let token = sign_raw(&key, &format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#), b"{}");
            assert_eq!(verify_es256(&token, |_| Some(vk)), Err(JoseError::Unsupported), "{alg}");
        }
        let ok = sign_raw(&key, &format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#), b"{}");
        assert!(verify_es256(&ok, |_| Some(vk)).is_ok());

        for (alg, enc) in [
            ("none", "A256GCM"),
            ("RSA-OAEP", "A256GCM"),
            ("A256KW", "A256GCM"),
            ("A256GCMKW", "A256GCM"),
            ("ECDH-ES", "A256GCM"),
            ("PBES2-HS256+A128KW", "A256GCM"),
            ("Dir", "A256GCM"),
            ("dir", "A128GCM"),
            ("dir", "A256CBC-HS512"),
            ("dir", "a256gcm"),
        ] {
            let token = encrypt_raw(&KEY, &format!(r#"{{"alg":"{alg}","enc":"{enc}","kid":"k1"}}"#), b"x");
            assert_eq!(decrypt(&token, by_kid("k1", KEY)), Err(JoseError::Unsupported), "{alg} {enc}");
        }
        assert!(
            decrypt(&encrypt_raw(&KEY, r#"{"alg":"dir","enc":"A256GCM","kid":"k1"}"#, b"x"), by_kid("k1", KEY)).is_ok()
        );
    }

    #[test]
    fn hs256_with_the_public_key_as_secret_is_refused() {
        use hkdf::hmac::{Hmac, Mac};
        let key = signer();
        let vk = key.verifying_key();
        let header = b64url(format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid()).as_bytes());
        let input = format!("{header}.{}", b64url(b"{\"sub\":\"admin\"}"));
        // The classic confusion: HMAC keyed with what the verifier holds as
        // "the key" (its JWK text, or its SEC1 bytes).
        for secret in [vk.to_jwk().into_bytes(), [&[4u8][..], &vk.point[..]].concat()] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret).unwrap();
            mac.update(input.as_bytes());
            let token = format!("{input}.{}", b64url(&mac.finalize().into_bytes()));
            assert_eq!(verify_es256(&token, |_| Some(vk)), Err(JoseError::Unsupported));
        }
    }

    #[test]
    fn forbidden_header_members_and_shapes_are_refused() {
        let dir =
            |extra: &str| encrypt_raw(&KEY, &format!(r#"{{"alg":"dir","enc":"A256GCM","kid":"k1"{extra}}}"#), b"x");
        for extra in [r#","zip":"DEF""#, r#","zip":null"#, r#","crit":["exp"]"#, r#","crit":[]"#, r#","b64":true"#] {
            assert_eq!(decrypt(&dir(extra), by_kid("k1", KEY)), Err(JoseError::Unsupported), "{extra}");
        }
        // Unknown non-critical members are ignored (RFC 7515 §4).
        assert!(decrypt(&dir(r#","x-note":[1,{"a":2}]"#), by_kid("k1", KEY)).is_ok());
        for header in [
            r#"{"alg":"dir","alg":"dir","enc":"A256GCM","kid":"k1"}"#,
            r#"{"alg":"dir","enc":"A256GCM","kid":"k1","kid":"k2"}"#,
            r#"["dir","A256GCM","k1"]"#,
            r#""dir""#,
            r#"{"alg":"dir","enc":"A256GCM","kid":1}"#,
            r#"{"alg":"dir","enc":"A256GCM","kid":"k1""#,
            "",
        ] {
            assert_eq!(
                decrypt(&encrypt_raw(&KEY, header, b"x"), by_kid("k1", KEY)),
                Err(JoseError::Malformed),
                "{header}"
            );
        }

        let key = signer();
        let kid = key.kid();
        let vk = key.verifying_key();
        for extra in [r#","crit":["b64"],"b64":false"#, r#","b64":false"#, r#","zip":"DEF""#, r#","enc":"A256GCM""#] {
            let token = sign_raw(&key, &format!(r#"{{"alg":"ES256","kid":"{kid}"{extra}}}"#), b"x");
            assert_eq!(verify_es256(&token, |_| Some(vk)), Err(JoseError::Unsupported), "{extra}");
        }
        let dup = sign_raw(&key, &format!(r#"{{"alg":"ES256","alg":"ES256","kid":"{kid}"}}"#), b"x");
        assert_eq!(verify_es256(&dup, |_| Some(vk)), Err(JoseError::Malformed));
    }

    #[test]
    fn wrong_lengths_and_part_counts_are_refused() {
        let token = encrypt(&KEY, &header("k1"), b"x", IV);
        let lookup = by_kid("k1", KEY);
        for t in [
            format!("{token}."),
            format!("{token}.AAAA"),
            token.rsplit_once('.').unwrap().0.to_string(),
            with_part(&token, 2, &b64url(&[9; 11])),
            with_part(&token, 2, &b64url(&[9; 13])),
            with_part(&token, 2, ""),
            with_part(&token, 4, &b64url(&[0; 15])),
            with_part(&token, 4, &b64url(&[0; 17])),
            with_part(&token, 3, "*"),
            with_part(&token, 3, "AA=="),
            String::new(),
            "....".into(),
        ] {
            assert!(decrypt(&t, &lookup).is_err(), "{t}");
        }

        let key = signer();
        let vk = key.verifying_key();
        let jws = sign_es256(&key, &header(key.kid()), b"x").unwrap();
        let sig = from_b64url(jws.rsplit('.').next().unwrap()).unwrap();
        let der = {
            // r and s as DER INTEGERs: what a careless signer would send.
            let mut d = vec![0x30, 0x44, 0x02, 0x20];
            d.extend_from_slice(&sig[..32]);
            d.extend_from_slice(&[0x02, 0x20]);
            d.extend_from_slice(&sig[32..]);
            d
        };
        for t in [
            format!("{jws}."),
            jws.rsplit_once('.').unwrap().0.to_string(),
            format!("{}.{jws}", jws.split('.').next().unwrap()),
            with_part(&jws, 2, &b64url(&sig[..63])),
            with_part(&jws, 2, &b64url(&[sig.as_slice(), &[0]].concat())),
            with_part(&jws, 2, &b64url(&der)),
            with_part(&jws, 2, &b64url(&[0; 64])),
            with_part(&jws, 2, &b64url(&[0xff; 64])),
            with_part(&jws, 2, ""),
        ] {
            assert!(verify_es256(&t, |_| Some(vk)).is_err(), "{t}");
        }
    }

    #[test]
    fn oversized_tokens_are_refused_before_decoding() {
        let big = encrypt(&KEY, &header("k1"), &[b'x'; MAX_TOKEN_LEN], IV);
        assert_eq!(decrypt(&big, |_| panic!("no lookup for an oversized token")), Err(JoseError::TooLarge));
        let key = signer();
        let big = sign_es256(&key, &header(key.kid()), &[b'x'; MAX_TOKEN_LEN]).unwrap();
        assert_eq!(verify_es256(&big, |_| panic!("no lookup")), Err(JoseError::TooLarge));
        let fits = encrypt(&KEY, &header("k1"), &[b'x'; 8 * 1024], IV);
        assert!(fits.len() <= MAX_TOKEN_LEN && decrypt(&fits, by_kid("k1", KEY)).is_ok());
    }

    #[test]
    fn display_is_opaque() {
        for e in [
            JoseError::TooLarge,
            JoseError::Malformed,
            JoseError::Unsupported,
            JoseError::UnknownKey,
            JoseError::Rejected,
        ] {
            assert_eq!(e.to_string(), "invalid or unsupported JOSE token");
        }
    }

    #[test]
    fn derived_keys_are_deterministic_and_separated_by_info() {
        let a = SigningKey::derive(b"ikm", b"one").unwrap();
        assert_eq!(a.kid(), SigningKey::derive(b"ikm", b"one").unwrap().kid());
        assert_ne!(a.kid(), SigningKey::derive(b"ikm", b"two").unwrap().kid());
        assert_ne!(a.kid(), SigningKey::derive(b"ikm2", b"one").unwrap().kid());
        assert_eq!(a.kid(), a.verifying_key().thumbprint());
        assert_eq!(a.kid().len(), 43);
        assert!(!format!("{a:?}").contains(&b64url(&a.d)));
        assert!(format!("{a:?}").contains("[redacted]"));
        // The scalar is the first HKDF candidate below n (counter 0).
        let mut d = [0u8; 32];
        Hkdf::<Sha256>::new(None, b"ikm").expand(b"one\x00", &mut d).unwrap();
        assert_eq!(a.d, d);
    }

    #[test]
    fn jwk_export_and_jwks_parse_round_trip() {
        let a = signer();
        let b = SigningKey::derive(b"other", b"jose test").unwrap();
        let jwk: serde_json::Value = serde_json::from_str(&a.verifying_key().to_jwk()).unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["kid"], a.kid());
        assert_eq!(from_b64url(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
        assert!(a.verifying_key().to_jwk().starts_with(r#"{"kty":"EC","crv":"P-256","x":""#));
        let set = jwks(&[a.verifying_key(), b.verifying_key()]);
        assert!(set.starts_with(r#"{"keys":[{"kty":"EC""#));
        let parsed = parse_jwks(&set).unwrap();
        assert_eq!(parsed, vec![a.verifying_key().clone(), b.verifying_key().clone()]);
        // Foreign keys in the set are skipped.
        let mixed = format!(
            r#"{{"keys":[{{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"}},{},{{"kty":"oct","k":"AA"}}]}}"#,
            a.verifying_key().to_jwk()
        );
        assert_eq!(parse_jwks(&mixed).unwrap(), vec![a.verifying_key().clone()]);
        assert_eq!(parse_jwks(A3_JWK).unwrap().len(), 1);
        assert!(parse_jwks(r#"{"keys":[]}"#).is_err());
        assert!(parse_jwks(r#"{"keys":{}}"#).is_err());
        assert!(parse_jwks("not json").is_err());
        assert_eq!(parse_jwks(&" ".repeat(MAX_JWKS_LEN + 1)), Err(JoseError::TooLarge));
    }

    #[test]
    fn bad_jwks_are_refused() {
        let good: serde_json::Value = serde_json::from_str(A3_JWK).unwrap();
        assert!(VerifyingKey::from_jwk(&crate::json::from_serde(&good)).is_ok());
        let with = |k: &str, v: serde_json::Value| {
            let mut j = good.clone();
            j[k] = v;
            VerifyingKey::from_jwk(&crate::json::from_serde(&j))
        };
        assert_eq!(with("crv", "P-384".into()), Err(JoseError::Unsupported));
        assert_eq!(with("kty", "RSA".into()), Err(JoseError::Unsupported));
        assert_eq!(with("use", "enc".into()), Err(JoseError::Unsupported));
        assert_eq!(with("alg", "HS256".into()), Err(JoseError::Unsupported));
        assert_eq!(with("d", A3_D.into()), Err(JoseError::Unsupported));
        assert_eq!(with("x", b64url(&[1; 31]).into()), Err(JoseError::Malformed));
        assert_eq!(with("x", b64url(&[1; 33]).into()), Err(JoseError::Malformed));
        assert_eq!(with("x", 5.into()), Err(JoseError::Malformed));
        // Not on the curve.
        assert_eq!(with("y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1".into()), Err(JoseError::Malformed));
        assert!(VerifyingKey::from_jwk(&crate::json::from_serde(&serde_json::json!([1, 2]))).is_err());
        assert_eq!(with("kid", "mine".into()).unwrap().kid(), "mine");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,300}") {
            let vk = signer().verifying_key().clone();
            let _ = decrypt(&s, |_| Some(KEY));
            let _ = verify_es256(&s, |_| Some(&vk));
            let _ = parse_jwks(&s);
        }

        #[test]
        fn compact_shaped_strings_never_panic(parts in proptest::collection::vec("[A-Za-z0-9_-]{0,80}", 0..7)) {
            let vk = signer().verifying_key().clone();
            let s = parts.join(".");
            let _ = decrypt(&s, |_| Some(KEY));
            let _ = verify_es256(&s, |_| Some(&vk));
            let with_header = format!("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiayJ9.{s}");
            let _ = decrypt(&with_header, |_| Some(KEY));
        }
    }
}
