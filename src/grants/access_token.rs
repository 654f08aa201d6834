//! The provider's sealed access tokens: RFC 9068 claims that carry the
//! user's API key to one resource (an MCP server) and nowhere else.
//!
//! Two formats, both standard JOSE (see [`crate::crypto::jose`] and
//! `ACCESS_TOKENS.md`):
//!
//! - **JWE** `dir`/`A256GCM` under the resource's key: the claims and the
//!   API key are encrypted; only the provider and that resource can read
//!   them.
//! - **JWT** (JWS `ES256`) signed by the provider's key, published in its
//!   JWKS: the claims are readable by anyone holding the token; the API key
//!   is in `sealed_api_key`, a JWE under the resource's key bound to the
//!   token by its `jti`.
//!
//! A resource's key is derived from `SECRET` and the resource's normalized
//! URI, so a token for one resource opens nowhere else (audience is the
//! resource, never the client). [`open`] checks, in this fixed order:
//! format, decryption or signature, `typ`, `aud`, `exp` (with [`LEEWAY`]),
//! then everything else; each failure is one [`Refusal`].

use crate::json::{Fields, FromJson, Object, Value};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use crate::crypto::jose::{self, Header, SigningKey, VerifyingKey};
use crate::crypto::secret::{ApiKey, Secret};
use crate::protocol::encoding::{b64url, from_b64url};
use crate::protocol::resource::normalize;

/// Clock skew tolerated on `exp` (and on `iat` in the future), in seconds:
/// a token is expired when `now > exp + LEEWAY`.
pub const LEEWAY: u64 = 60;

/// The `typ` of access tokens (RFC 9068 §2.1); `application/at+jwt` and
/// any letter case are accepted too.
pub const TYP: &str = "at+jwt";

/// The `cty` of the JWE inside a JWT's `sealed_api_key`.
pub const API_KEY_CTY: &str = "api-key";

const RESOURCE_KEY_INFO: &[u8] = b"parallel-oauth-provider resource-key v1 ";
const SIGNING_KEY_INFO: &[u8] = b"parallel-oauth-provider access-token es256 v1";

/// The normalized form of a resource, or the string itself if it is not a
/// URI we can normalize (it then matches only itself).
fn canonical(resource: &str) -> String {
    normalize(resource).unwrap_or_else(|| resource.to_owned())
}

/// The 32-byte AES-256-GCM key shared by the provider and one resource,
/// with its key id. `Debug` prints only the key id; equality is constant
/// time.
#[derive(Clone)]
pub struct ResourceKey {
    key: [u8; 32],
    kid: String,
}

impl std::fmt::Debug for ResourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResourceKey {{ kid: {:?}, key: [redacted] }}", self.kid)
    }
}

impl PartialEq for ResourceKey {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.key[..], &other.key[..]).into()
    }
}

impl Eq for ResourceKey {}

impl ResourceKey {
    /// The key of `resource` under `secret`: HKDF-SHA256 (salt none, IKM
    /// `SECRET`, info `"parallel-oauth-provider resource-key v1 "` followed
    /// by the resource's normalized URI), 32 bytes. `https://h` and
    /// `https://h/` get the same key.
    pub fn derive(secret: &Secret, resource: &str) -> ResourceKey {
        let resource = canonical(resource);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF's limit (255 * 32): cannot fail.
        Hkdf::<Sha256>::new(None, secret.bytes())
            .expand_multi_info(&[RESOURCE_KEY_INFO, resource.as_bytes()], &mut key)
            .expect("valid HKDF length");
        ResourceKey::from_bytes(key)
    }

    /// A key from its 32 bytes. The key id is computed from them alone:
    /// base64url of the first 8 bytes of SHA-256(`"kid"` ‖ key), 11
    /// characters, so a resource server holding only the key knows its id.
    pub fn from_bytes(key: [u8; 32]) -> ResourceKey {
        let mut h = Sha256::new();
        h.update(b"kid");
        h.update(key);
        let kid = b64url(&h.finalize()[..8]);
        ResourceKey { key, kid }
    }

    /// Reads a key as `make resource-key` prints it: base64url without
    /// padding of 32 bytes (surrounding white space is ignored).
    pub fn from_b64url(text: &str) -> Option<ResourceKey> {
        let bytes: [u8; 32] = from_b64url(text.trim())?.try_into().ok()?;
        Some(ResourceKey::from_bytes(bytes))
    }

    /// The key as base64url without padding (43 characters): a secret, for
    /// the resource server's configuration only.
    pub fn to_b64url(&self) -> String {
        b64url(&self.key)
    }

    /// The key id (not secret).
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// The provider's ES256 key for JWT access tokens, derived from `SECRET`
/// (see [`SigningKey::derive`]; info
/// `"parallel-oauth-provider access-token es256 v1"`). Its public half goes
/// in the JWKS; during a rotation publish the previous `SECRET`'s too.
/// `None` only when no P-256 implementation is installed
/// ([`crate::crypto::p256`]).
pub fn signing_key(secret: &Secret) -> Option<SigningKey> {
    SigningKey::derive(secret.bytes(), SIGNING_KEY_INFO)
}

/// The claims of an access token (RFC 9068 §2.2), besides the API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The provider's issuer identifier.
    pub iss: String,
    /// The user (subject) the grant belongs to.
    pub sub: String,
    /// The resource (RFC 8707) the token is for; written normalized.
    pub aud: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated scopes; empty means none (the claim is then left out).
    pub scope: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// A unique token identifier.
    pub jti: String,
}

/// The payload as written: `iss`, `sub`, `aud`, `exp`, `iat`, `jti`,
/// `client_id`, `scope` (left out when empty), then `api_key` or
/// `sealed_api_key`.
fn payload(claims: &AccessClaims, aud: &str, api_key: Option<&str>, sealed_api_key: Option<&str>) -> Vec<u8> {
    let mut o = Object::from([
        ("iss", Value::from(&claims.iss)),
        ("sub", Value::from(&claims.sub)),
        ("aud", Value::from(aud)),
        ("exp", Value::from(claims.exp)),
        ("iat", Value::from(claims.iat)),
        ("jti", Value::from(&claims.jti)),
        ("client_id", Value::from(&claims.client_id)),
    ]);
    o.insert_some("scope", Some(claims.scope.as_str()).filter(|s| !s.is_empty()));
    o.insert_some("api_key", api_key);
    o.insert_some("sealed_api_key", sealed_api_key);
    Value::from(o).to_string().into_bytes()
}

/// A JWE access token for `key`'s resource: header
/// `{"alg":"dir","enc":"A256GCM","kid":…,"typ":"at+jwt","aud":…}` (`aud`
/// replicated as a header parameter, RFC 7519 §5.3, so the provider can
/// find the key of any of its tokens), payload the claims plus `api_key`.
/// `iv`: 12 fresh random bytes.
pub fn mint_jwe(claims: &AccessClaims, api_key: &ApiKey, key: &ResourceKey, iv: [u8; 12]) -> String {
    let aud = canonical(&claims.aud);
    let header =
        Header { kid: Some(key.kid.clone()), typ: Some(TYP.into()), aud: Some(aud.clone()), ..Header::default() };
    jose::encrypt(&key.key, &header, &payload(claims, &aud, Some(api_key.expose()), None), iv)
}

/// A JWT access token signed by `signing`: header
/// `{"alg":"ES256","kid":…,"typ":"at+jwt"}`, payload the claims plus
/// `sealed_api_key`, a compact JWE under `resource_key` with header
/// `{"alg":"dir","enc":"A256GCM","kid":…,"cty":"api-key","jti":…}` (the
/// outer token's `jti`, so it opens with no other token) whose plaintext is
/// the API key. `iv`: 12 fresh random bytes. `None` when the P-256
/// implementation could not sign ([`crate::crypto::p256`]).
pub fn mint_jwt(
    claims: &AccessClaims,
    api_key: &ApiKey,
    signing: &SigningKey,
    resource_key: &ResourceKey,
    iv: [u8; 12],
) -> Option<String> {
    let sealed_header = Header {
        kid: Some(resource_key.kid.clone()),
        cty: Some(API_KEY_CTY.into()),
        jti: Some(claims.jti.clone()),
        ..Header::default()
    };
    let sealed = jose::encrypt(&resource_key.key, &sealed_header, api_key.expose().as_bytes(), iv);
    let header = Header { kid: Some(signing.kid().into()), typ: Some(TYP.into()), ..Header::default() };
    jose::sign_es256(signing, &header, &payload(claims, &canonical(&claims.aud), None, Some(&sealed)))
}

/// Which of the two formats a token was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Compact JWE, `dir`/`A256GCM`.
    Jwe,
    /// Compact JWS, `ES256`, with `sealed_api_key`.
    Jwt,
}

/// A token that opened: its claims and the API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The user's API key.
    pub api_key: ApiKey,
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// The resource it was opened for (normalized).
    pub aud: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Space-separated scopes (empty if none).
    pub scope: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// Token identifier.
    pub jti: String,
    /// JWE or JWT.
    pub format: Format,
}

/// Why a token did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a compact JOSE token at all (not 5 or 3 dot-separated parts
    /// whose first is a base64url JSON object): maybe a plain API key,
    /// which only a passthrough resource may accept.
    NotSealed,
    /// Tampered, under a key we do not hold, unknown `kid`, wrong
    /// algorithm or `typ`, missing or malformed claims, a `sealed_api_key`
    /// of another token.
    Invalid,
    /// A valid token for another resource.
    WrongAudience,
    /// A valid token past `exp` + [`LEEWAY`].
    Expired,
    /// A valid token whose `iss` is not the resource server's
    /// authorization server (RFC 9068 §4).
    WrongIssuer,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NotSealed => "the access token is not a sealed token",
            Refusal::Invalid => "the access token is invalid",
            Refusal::WrongAudience => "the access token is for another resource",
            Refusal::Expired => "the access token expired",
            Refusal::WrongIssuer => "the access token is from another authorization server",
        })
    }
}

impl std::error::Error for Refusal {}

/// The payload as read; every member optional so each check can refuse in
/// its turn. The JSON reader refuses repeated members.
struct Payload {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    client_id: Option<String>,
    scope: Option<String>,
    iat: Option<u64>,
    exp: Option<u64>,
    jti: Option<String>,
    api_key: Option<String>,
    sealed_api_key: Option<String>,
}

/// `aud`: one string or an array of them (RFC 7519 §4.1.3).
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Payload {
    fn read(value: &Value) -> Result<Payload, crate::json::Error> {
        let f = Fields::of(value)?;
        let aud = match f.get("aud") {
            None => None,
            Some(Value::String(one)) => Some(Audience::One(one.clone())),
            Some(many) => Some(Audience::Many(FromJson::from_json(many)?)),
        };
        Ok(Payload {
            iss: f.opt_str("iss")?,
            sub: f.opt_str("sub")?,
            aud,
            client_id: f.opt_str("client_id")?,
            scope: f.opt_str("scope")?,
            iat: f.opt_u64("iat")?,
            exp: f.opt_u64("exp")?,
            jti: f.opt_str("jti")?,
            api_key: f.opt_str("api_key")?,
            sealed_api_key: f.opt_str("sealed_api_key")?,
        })
    }
}

impl Audience {
    fn contains(&self, resource: &str) -> bool {
        match self {
            Audience::One(a) => a == resource,
            Audience::Many(all) => all.iter().any(|a| a == resource),
        }
    }

    fn single(&self) -> Option<&str> {
        match self {
            Audience::One(a) => Some(a),
            Audience::Many(all) if all.len() == 1 => Some(&all[0]),
            Audience::Many(_) => None,
        }
    }
}

fn is_json_object(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) == Some(&b'{')
}

/// Step 1: which format, by shape alone.
fn detect(token: &str) -> Result<Format, Refusal> {
    let format = match token.bytes().filter(|&b| b == b'.').count() {
        4 => Format::Jwe,
        2 => Format::Jwt,
        _ => return Err(Refusal::NotSealed),
    };
    if token.len() > jose::MAX_TOKEN_LEN {
        // JOSE-shaped but too long to decode: jose refuses it.
        return Ok(format);
    }
    let first = token.split('.').next().unwrap_or_default();
    match from_b64url(first) {
        Some(header) if is_json_object(&header) => Ok(format),
        _ => Err(Refusal::NotSealed),
    }
}

fn find<'k>(keys: &'k [ResourceKey], header: &Header) -> Option<&'k ResourceKey> {
    let kid = header.kid.as_deref()?;
    keys.iter().find(|k| k.kid == kid)
}

fn find_verifying<'k>(keys: &'k [VerifyingKey], header: &Header) -> Option<&'k VerifyingKey> {
    let kid = header.kid.as_deref()?;
    keys.iter().find(|k| k.kid() == kid)
}

/// Step 3: `typ`.
fn check_typ(header: &Header) -> Result<(), Refusal> {
    let typ = header.typ.as_deref().unwrap_or_default();
    if typ.eq_ignore_ascii_case(TYP) || typ.eq_ignore_ascii_case("application/at+jwt") {
        Ok(())
    } else {
        Err(Refusal::Invalid)
    }
}

fn parse_payload(bytes: &[u8]) -> Result<Payload, Refusal> {
    crate::json::parse(bytes).and_then(|v| Payload::read(&v)).map_err(|_| Refusal::Invalid)
}

/// An API key exactly as minted (no white space to trim, within bounds).
fn api_key(text: &str) -> Result<ApiKey, Refusal> {
    ApiKey::parse(text).filter(|k| k.expose() == text).ok_or(Refusal::Invalid)
}

/// Steps 3 to 6, on an authenticated header and payload.
fn finish(
    format: Format,
    header: &Header,
    payload: Payload,
    resource: &str,
    keys: &[ResourceKey],
    now: u64,
) -> Result<Opened, Refusal> {
    check_typ(header)?;
    let aud_ok = payload.aud.as_ref().is_some_and(|a| a.contains(resource));
    if !aud_ok || header.aud.as_deref().is_some_and(|a| a != resource) {
        return Err(Refusal::WrongAudience);
    }
    let exp = payload.exp.ok_or(Refusal::Invalid)?;
    if now > exp.saturating_add(LEEWAY) {
        return Err(Refusal::Expired);
    }
    let iat = payload.iat.ok_or(Refusal::Invalid)?;
    if iat > now.saturating_add(LEEWAY) || iat > exp {
        return Err(Refusal::Invalid);
    }
    let (Some(iss), Some(sub), Some(client_id), Some(jti)) = (payload.iss, payload.sub, payload.client_id, payload.jti)
    else {
        return Err(Refusal::Invalid);
    };
    if jti.is_empty() {
        return Err(Refusal::Invalid);
    }
    let api_key = match (format, payload.api_key, payload.sealed_api_key) {
        (Format::Jwe, Some(key), None) => api_key(&key)?,
        (Format::Jwt, None, Some(sealed)) => {
            let (inner, plaintext) =
                jose::decrypt(&sealed, |h| find(keys, h).map(|k| k.key)).map_err(|_| Refusal::Invalid)?;
            if inner.cty.as_deref() != Some(API_KEY_CTY) || inner.jti.as_deref() != Some(jti.as_str()) {
                return Err(Refusal::Invalid);
            }
            api_key(std::str::from_utf8(&plaintext).map_err(|_| Refusal::Invalid)?)?
        }
        _ => return Err(Refusal::Invalid),
    };
    Ok(Opened {
        api_key,
        iss,
        sub,
        aud: resource.to_owned(),
        client_id,
        scope: payload.scope.unwrap_or_default(),
        iat,
        exp,
        jti,
        format,
    })
}

/// Opens an access token presented to `resource` (a resource server, or
/// the provider introspecting for an authenticated resource).
///
/// `keys`: the resource's keys (current, and previous during a `SECRET`
/// rotation), picked by `kid`. `verifying`: the provider's ES256 keys (its
/// JWKS) for JWTs; may be empty where only JWEs are accepted. `now`: Unix
/// seconds.
///
/// Checks, in order: format (5 parts: JWE, 3: JWT, else
/// [`Refusal::NotSealed`]); decryption or signature; `typ` is `at+jwt`;
/// `aud` is (or contains) the normalized `resource`; `now <= exp + LEEWAY`;
/// then `iat` not more than [`LEEWAY`] ahead and not after `exp`, `iss`,
/// `sub`, `client_id` and `jti` present, and the API key: `api_key` in a
/// JWE; in a JWT, `sealed_api_key` opens under `keys` with `cty` `api-key`
/// and the token's own `jti`.
pub fn open(
    token: &str,
    resource: &str,
    keys: &[ResourceKey],
    verifying: &[VerifyingKey],
    now: u64,
) -> Result<Opened, Refusal> {
    let format = detect(token)?;
    let resource = canonical(resource);
    // A JWE that names another resource in its header (unauthenticated
    // until it decrypts, which it cannot under our key) is reported as one
    // for another audience: the refusal is the same, the reason clearer.
    let mut elsewhere = false;
    let (header, payload) = match format {
        Format::Jwe => jose::decrypt(token, |h| {
            elsewhere = h.aud.as_deref().is_some_and(|a| canonical(a) != resource);
            find(keys, h).map(|k| k.key)
        }),
        Format::Jwt => jose::verify_es256(token, |h| find_verifying(verifying, h)),
    }
    .map_err(|_| if elsewhere { Refusal::WrongAudience } else { Refusal::Invalid })?;
    finish(format, &header, parse_payload(&payload)?, &resource, keys, now)
}

/// Opens an access token of any resource, for the provider itself (e.g.
/// userinfo), which finds the resource in the token: for a JWE, the `aud`
/// replicated in its protected header (RFC 7519 §5.3), authenticated by the
/// decryption and required to equal the `aud` claim; for a JWT, the `aud`
/// claim under the verified signature (one resource).
///
/// `derive(resource)` returns that resource's keys (e.g.
/// `ResourceKey::derive` under the current and previous `SECRET`). The
/// other checks are those of [`open`].
pub fn open_for_provider(
    token: &str,
    derive: impl Fn(&str) -> Vec<ResourceKey>,
    verifying: &[VerifyingKey],
    now: u64,
) -> Result<Opened, Refusal> {
    match detect(token)? {
        Format::Jwe => {
            let (header, payload) = jose::decrypt(token, |h| {
                let keys = derive(h.aud.as_deref()?);
                find(&keys, h).map(|k| k.key)
            })
            .map_err(|_| Refusal::Invalid)?;
            let resource = header.aud.clone().ok_or(Refusal::Invalid)?;
            finish(Format::Jwe, &header, parse_payload(&payload)?, &resource, &[], now)
        }
        Format::Jwt => {
            let (header, payload) =
                jose::verify_es256(token, |h| find_verifying(verifying, h)).map_err(|_| Refusal::Invalid)?;
            check_typ(&header)?;
            let payload = parse_payload(&payload)?;
            let resource = payload.aud.as_ref().and_then(Audience::single).ok_or(Refusal::WrongAudience)?.to_owned();
            let keys = derive(&resource);
            finish(Format::Jwt, &header, payload, &resource, &keys, now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: &str = "https://mcp.example/mcp";
    const B: &str = "https://other.example/mcp";
    const NOW: u64 = 1_700_000_000;
    const IV: [u8; 12] = [5; 12];
    const KEY: &str = "sk-live-0123456789abcdef";

    fn secret(c: &str) -> Secret {
        Secret::new(&c.repeat(40)).unwrap()
    }

    fn claims(aud: &str, jti: &str) -> AccessClaims {
        AccessClaims {
            iss: "https://mcp.example/oauth".into(),
            sub: "user-1".into(),
            aud: aud.into(),
            client_id: "client-1".into(),
            scope: "read write".into(),
            iat: NOW,
            exp: NOW + 3600,
            jti: jti.into(),
        }
    }

    fn api_key(k: &str) -> ApiKey {
        ApiKey::parse(k).unwrap()
    }

    fn rk(s: &str, resource: &str) -> ResourceKey {
        ResourceKey::derive(&secret(s), resource)
    }

    fn jwe(aud: &str) -> String {
        mint_jwe(&claims(aud, "jti-1"), &api_key(KEY), &rk("s", aud), IV)
    }

    fn jwt(aud: &str) -> String {
        mint_jwt(&claims(aud, "jti-1"), &api_key(KEY), &signing_key(&secret("s")).unwrap(), &rk("s", aud), IV).unwrap()
    }

    fn vks() -> Vec<VerifyingKey> {
        vec![signing_key(&secret("s")).unwrap().verifying_key().clone()]
    }

    fn open_at(token: &str, resource: &str, now: u64) -> Result<Opened, Refusal> {
        open(token, resource, &[rk("s", resource)], &vks(), now)
    }

    fn decoded(part: &str) -> serde_json::Value {
        serde_json::from_slice(&from_b64url(part).unwrap()).unwrap()
    }

    fn expected(format: Format) -> Opened {
        Opened {
            api_key: api_key(KEY),
            iss: "https://mcp.example/oauth".into(),
            sub: "user-1".into(),
            aud: A.into(),
            client_id: "client-1".into(),
            scope: "read write".into(),
            iat: NOW,
            exp: NOW + 3600,
            jti: "jti-1".into(),
            format,
        }
    }

    /// A JWE access token of arbitrary header members and payload JSON.
    fn jwe_raw(header: Header, payload: &serde_json::Value, key: &ResourceKey) -> String {
        jose::encrypt(&key.key, &header, payload.to_string().as_bytes(), IV)
    }

    fn at_header(key: &ResourceKey, aud: &str) -> Header {
        Header { kid: Some(key.kid.clone()), typ: Some(TYP.into()), aud: Some(aud.into()), ..Header::default() }
    }

    fn jwe_payload() -> serde_json::Value {
        serde_json::json!({
            "iss": "https://mcp.example/oauth", "sub": "user-1", "aud": A, "exp": NOW + 3600, "iat": NOW,
            "jti": "jti-1", "client_id": "client-1", "scope": "read write", "api_key": KEY,
        })
    }

    #[test]
    fn jwe_round_trip_and_exact_format() {
        let token = jwe(A);
        assert_eq!(open_at(&token, A, NOW).unwrap(), expected(Format::Jwe));
        assert!(!token.contains(KEY));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts[1], "");
        let kid = rk("s", A).kid;
        assert_eq!(
            from_b64url(parts[0]).unwrap(),
            format!(r#"{{"alg":"dir","enc":"A256GCM","kid":"{kid}","typ":"at+jwt","aud":"{A}"}}"#).as_bytes()
        );
        let (_, plaintext) = jose::decrypt(&token, |_| Some(rk("s", A).key)).unwrap();
        assert_eq!(
            String::from_utf8(plaintext).unwrap(),
            format!(
                r#"{{"iss":"https://mcp.example/oauth","sub":"user-1","aud":"{A}","exp":{},"iat":{NOW},"jti":"jti-1","client_id":"client-1","scope":"read write","api_key":"{KEY}"}}"#,
                NOW + 3600
            )
        );
    }

    #[test]
    fn jwt_round_trip_and_exact_format() {
        let token = jwt(A);
        assert_eq!(open_at(&token, A, NOW).unwrap(), expected(Format::Jwt));
        assert!(!token.contains(KEY));
        let parts: Vec<&str> = token.split('.').collect();
        let signing = signing_key(&secret("s")).unwrap();
        assert_eq!(
            from_b64url(parts[0]).unwrap(),
            format!(r#"{{"alg":"ES256","kid":"{}","typ":"at+jwt"}}"#, signing.kid()).as_bytes()
        );
        let claims = decoded(parts[1]);
        assert_eq!(claims["aud"], A);
        assert_eq!(claims["client_id"], "client-1");
        assert!(claims.get("api_key").is_none());
        let sealed = claims["sealed_api_key"].as_str().unwrap();
        let inner: Vec<&str> = sealed.split('.').collect();
        assert_eq!(
            from_b64url(inner[0]).unwrap(),
            format!(r#"{{"alg":"dir","enc":"A256GCM","kid":"{}","cty":"api-key","jti":"jti-1"}}"#, rk("s", A).kid)
                .as_bytes()
        );
        let (_, key) = jose::decrypt(sealed, |_| Some(rk("s", A).key)).unwrap();
        assert_eq!(key, KEY.as_bytes());
        // Verifiable with the JWKS a resource server fetches.
        let published = jose::parse_jwks(&jose::jwks(&[signing.verifying_key()])).unwrap();
        assert_eq!(open(&token, A, &[rk("s", A)], &published, NOW).unwrap().format, Format::Jwt);
    }

    #[test]
    fn empty_scope_is_left_out_and_reads_back_empty() {
        let mut c = claims(A, "j");
        c.scope.clear();
        let token = mint_jwt(&c, &api_key(KEY), &signing_key(&secret("s")).unwrap(), &rk("s", A), IV).unwrap();
        assert!(decoded(token.split('.').nth(1).unwrap()).get("scope").is_none());
        assert_eq!(open_at(&token, A, NOW).unwrap().scope, "");
    }

    #[test]
    fn expiry_has_sixty_seconds_of_leeway() {
        for token in [jwe(A), jwt(A)] {
            let exp = NOW + 3600;
            assert!(open_at(&token, A, exp).is_ok());
            assert!(open_at(&token, A, exp + 60).is_ok());
            assert_eq!(open_at(&token, A, exp + 61), Err(Refusal::Expired));
            assert_eq!(open_at(&token, A, u64::MAX), Err(Refusal::Expired));
        }
    }

    #[test]
    fn a_token_for_one_resource_opens_at_no_other() {
        for token in [jwe(A), jwt(A)] {
            // Opened as B with A's key (a confused resource server): the
            // audience refuses it.
            assert_eq!(open(&token, B, &[rk("s", A)], &vks(), NOW), Err(Refusal::WrongAudience));
            // Opened as B with B's key.
            let at_b = open_at(&token, B, NOW);
            assert!(matches!(at_b, Err(Refusal::Invalid) | Err(Refusal::WrongAudience)), "{at_b:?}");
        }
        assert_eq!(
            open_at(&jwe(A), B, NOW),
            Err(Refusal::WrongAudience),
            "B's key does not decrypt A's token, whose header names A"
        );
        assert_eq!(open_at(&jwt(A), B, NOW), Err(Refusal::WrongAudience), "the signature holds, aud does not");
        // Same resource, other spelling.
        assert_eq!(rk("s", "https://mcp.example"), rk("s", "https://mcp.example/"));
        assert_ne!(rk("s", A), rk("s", B));
        assert!(open_at(&jwe("https://mcp.example"), "https://MCP.example:443/", NOW).is_ok());
        assert_eq!(
            open_at(&jwt("https://mcp.example"), "https://mcp.example/", NOW).unwrap().aud,
            "https://mcp.example/"
        );
    }

    #[test]
    fn tampered_tokens_are_refused() {
        for token in [jwe(A), jwt(A)] {
            for i in 0..token.len() {
                let mut bytes = token.clone().into_bytes();
                if bytes[i] == b'.' {
                    continue;
                }
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                let t = String::from_utf8(bytes).unwrap();
                let r = open_at(&t, A, NOW);
                // A changed header may no longer look like JOSE at all.
                let expect = if i < token.find('.').unwrap() { r.is_err() } else { r == Err(Refusal::Invalid) };
                assert!(expect, "char {i}: {r:?}");
            }
        }
    }

    #[test]
    fn plain_api_keys_are_not_sealed() {
        for t in ["sk-live-abc", "", "a.b", "a.b.c", "a.b.c.d.e", "sk.live.key", "e30", "....", "eyJ.eyJ.eyJ"] {
            assert_eq!(open_at(t, A, NOW), Err(Refusal::NotSealed), "{t}");
        }
        // JOSE-shaped ones are tokens, and invalid ones are Invalid.
        let none = format!("{}.{}.", b64url(br#"{"alg":"none","typ":"at+jwt"}"#), b64url(b"{}"));
        assert_eq!(open_at(&none, A, NOW), Err(Refusal::Invalid));
        assert_eq!(open_at(&format!("{}....", b64url(b"{}")), A, NOW), Err(Refusal::Invalid));
    }

    #[test]
    fn keys_rotate_by_kid() {
        let (old, new) = (secret("o"), secret("n"));
        let old_token = mint_jwe(&claims(A, "j"), &api_key(KEY), &ResourceKey::derive(&old, A), IV);
        let both = [ResourceKey::derive(&new, A), ResourceKey::derive(&old, A)];
        assert_ne!(both[0].kid(), both[1].kid());
        assert!(open(&old_token, A, &both, &[], NOW).is_ok());
        assert_eq!(open(&old_token, A, &both[..1], &[], NOW), Err(Refusal::Invalid));

        // JWT: signed under the old SECRET's key, sealed under its resource key.
        let old_jwt =
            mint_jwt(&claims(A, "j"), &api_key(KEY), &signing_key(&old).unwrap(), &ResourceKey::derive(&old, A), IV)
                .unwrap();
        let jwks =
            [signing_key(&new).unwrap().verifying_key().clone(), signing_key(&old).unwrap().verifying_key().clone()];
        assert!(open(&old_jwt, A, &both, &jwks, NOW).is_ok());
        assert_eq!(open(&old_jwt, A, &both, &jwks[..1], NOW), Err(Refusal::Invalid));
        assert_eq!(open(&old_jwt, A, &both[..1], &jwks, NOW), Err(Refusal::Invalid));
        assert_eq!(open(&old_jwt, A, &both, &[], NOW), Err(Refusal::Invalid));
    }

    #[test]
    fn a_sealed_api_key_opens_only_in_its_own_token() {
        let signing = signing_key(&secret("s")).unwrap();
        let key = rk("s", A);
        let one = mint_jwt(&claims(A, "jti-1"), &api_key("sk-one"), &signing, &key, [1; 12]).unwrap();
        let two = mint_jwt(&claims(A, "jti-2"), &api_key("sk-two"), &signing, &key, [2; 12]).unwrap();
        let mut payload = decoded(one.split('.').nth(1).unwrap());
        let resign = |p: &serde_json::Value| {
            let h = Header { kid: Some(signing.kid().into()), typ: Some(TYP.into()), ..Header::default() };
            jose::sign_es256(&signing, &h, p.to_string().as_bytes()).unwrap()
        };
        // Re-signed unchanged: opens (the forgery below is otherwise sound).
        assert_eq!(open_at(&resign(&payload), A, NOW).unwrap().api_key, api_key("sk-one"));
        payload["sealed_api_key"] = decoded(two.split('.').nth(1).unwrap())["sealed_api_key"].clone();
        assert_eq!(open_at(&resign(&payload), A, NOW), Err(Refusal::Invalid));
        // Nor with its jti made to match the other token's: then it is that token.
        payload["jti"] = "jti-2".into();
        assert_eq!(open_at(&resign(&payload), A, NOW).unwrap().api_key, api_key("sk-two"));
        // A sealed key with the right jti but another cty is no sealed key.
        let wrong_cty = jose::encrypt(
            &key.key,
            &Header {
                kid: Some(key.kid.clone()),
                cty: Some("json".into()),
                jti: Some("jti-2".into()),
                ..Header::default()
            },
            b"sk-two",
            IV,
        );
        payload["sealed_api_key"] = wrong_cty.into();
        assert_eq!(open_at(&resign(&payload), A, NOW), Err(Refusal::Invalid));
    }

    #[test]
    fn typ_must_be_at_jwt() {
        let key = rk("s", A);
        for (typ, ok) in [
            (Some("at+jwt"), true),
            (Some("AT+JWT"), true),
            (Some("application/at+jwt"), true),
            (Some("Application/At+Jwt"), true),
            (Some("JWT"), false),
            (Some("at+jwt "), false),
            (Some(""), false),
            (None, false),
        ] {
            let h = Header { typ: typ.map(Into::into), ..at_header(&key, A) };
            assert_eq!(open_at(&jwe_raw(h, &jwe_payload(), &key), A, NOW).is_ok(), ok, "{typ:?}");
        }
        // The api-key JWE inside a JWT is no access token.
        let sealed = decoded(jwt(A).split('.').nth(1).unwrap())["sealed_api_key"].as_str().unwrap().to_owned();
        assert_eq!(open_at(&sealed, A, NOW), Err(Refusal::Invalid));
    }

    #[test]
    fn claims_are_checked_after_the_audience_and_expiry() {
        let key = rk("s", A);
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut p = jwe_payload();
            edit(&mut p);
            open_at(&jwe_raw(at_header(&key, A), &p, &key), A, NOW)
        };
        assert!(with(&|_| {}).is_ok());
        for member in ["iss", "sub", "client_id", "jti", "iat", "exp", "api_key"] {
            assert_eq!(with(&|p| drop(p.as_object_mut().unwrap().remove(member))), Err(Refusal::Invalid), "{member}");
        }
        assert_eq!(with(&|p| drop(p.as_object_mut().unwrap().remove("aud"))), Err(Refusal::WrongAudience));
        assert!(with(&|p| drop(p.as_object_mut().unwrap().remove("scope"))).is_ok());
        assert!(with(&|p| p["aud"] = serde_json::json!([B, A])).is_ok());
        assert_eq!(with(&|p| p["aud"] = serde_json::json!([B])), Err(Refusal::WrongAudience));
        assert_eq!(with(&|p| p["iat"] = (NOW + 61).into()), Err(Refusal::Invalid), "iat in the future");
        assert!(with(&|p| p["iat"] = (NOW + 60).into()).is_ok());
        assert_eq!(with(&|p| p["iat"] = (NOW + 7200).into()), Err(Refusal::Invalid));
        assert_eq!(with(&|p| p["exp"] = "soon".into()), Err(Refusal::Invalid));
        // Claims of the wrong JSON type, as a token minted elsewhere could
        // carry them (the payload is read by the crate's own JSON layer).
        for (member, value) in [
            ("exp", serde_json::json!(1.7e9)),
            ("exp", serde_json::json!(-1)),
            ("exp", serde_json::json!(1e20)),
            ("iat", serde_json::json!(true)),
            ("aud", serde_json::json!(5)),
            ("aud", serde_json::json!([A, 5])),
            ("aud", serde_json::json!({ "a": A })),
            ("sub", serde_json::json!(["u"])),
        ] {
            let got = with(&|p| p[member] = value.clone());
            assert!(matches!(got, Err(Refusal::Invalid) | Err(Refusal::WrongAudience)), "{member} = {value}: {got:?}");
        }
        assert_eq!(with(&|p| p["jti"] = "".into()), Err(Refusal::Invalid));
        assert_eq!(with(&|p| p["api_key"] = " sk-padded ".into()), Err(Refusal::Invalid));
        assert_eq!(with(&|p| p["sealed_api_key"] = "x".into()), Err(Refusal::Invalid));
        // Expired and for another resource: the audience is reported first.
        assert_eq!(with(&|p| p["exp"] = 0.into()), Err(Refusal::Expired));
        assert_eq!(
            with(&|p| {
                p["exp"] = 0.into();
                p["aud"] = B.into();
            }),
            Err(Refusal::WrongAudience)
        );
        // The header's replicated aud must be the resource too.
        assert_eq!(open_at(&jwe_raw(at_header(&key, B), &jwe_payload(), &key), A, NOW), Err(Refusal::WrongAudience));
        // A payload that is not an object.
        let array = jose::encrypt(&key.key, &at_header(&key, A), b"[1,2]", IV);
        assert_eq!(open_at(&array, A, NOW), Err(Refusal::Invalid));
        let dup = br#"{"aud":"https://other.example/mcp","aud":"https://mcp.example/mcp"}"#;
        assert_eq!(open_at(&jose::encrypt(&key.key, &at_header(&key, A), dup, IV), A, NOW), Err(Refusal::Invalid));
    }

    #[test]
    fn the_provider_finds_the_resource_in_the_token() {
        let s = secret("s");
        let derive = |r: &str| vec![ResourceKey::derive(&s, r)];
        for (token, format) in [(jwe(A), Format::Jwe), (jwt(A), Format::Jwt)] {
            assert_eq!(open_for_provider(&token, derive, &vks(), NOW).unwrap(), expected(format));
            assert_eq!(open_for_provider(&token, |_| vec![], &vks(), NOW), Err(Refusal::Invalid));
            let other = secret("x");
            assert_eq!(
                open_for_provider(&token, |r| vec![ResourceKey::derive(&other, r)], &vks(), NOW),
                Err(Refusal::Invalid)
            );
            assert_eq!(open_for_provider(&token, derive, &vks(), NOW + 3661), Err(Refusal::Expired));
        }
        assert_eq!(open_for_provider("sk-plain", derive, &vks(), NOW), Err(Refusal::NotSealed));
        // A JWE whose header names B but whose claims say A (only a key
        // holder could make one): refused.
        let key = ResourceKey::derive(&s, B);
        let lying = jwe_raw(at_header(&key, B), &jwe_payload(), &key);
        assert_eq!(open_for_provider(&lying, derive, &vks(), NOW), Err(Refusal::WrongAudience));
    }

    #[test]
    fn resource_keys_travel_as_base64url_and_know_their_kid() {
        let key = rk("s", A);
        let text = key.to_b64url();
        assert_eq!(text.len(), 43);
        let back = ResourceKey::from_b64url(&format!(" {text}\n")).unwrap();
        assert_eq!(back, key);
        assert_eq!(back.kid(), key.kid());
        assert_eq!(key.kid().len(), 11);
        let mut h = Sha256::new();
        h.update(b"kid");
        h.update(key.key);
        assert_eq!(key.kid(), b64url(&h.finalize()[..8]));
        assert!(ResourceKey::from_b64url(&text[..42]).is_none());
        assert!(ResourceKey::from_b64url(&format!("{text}A")).is_none());
        assert!(ResourceKey::from_b64url("not base64!").is_none());
        assert_ne!(rk("s", A), rk("t", A));
        // A resource server configured with the printed key opens the token.
        assert!(open(&jwe(A), A, &[back], &[], NOW).is_ok());
    }

    #[test]
    fn derivation_matches_its_documentation() {
        let mut okm = [0u8; 32];
        Hkdf::<Sha256>::new(None, "s".repeat(40).as_bytes())
            .expand(b"parallel-oauth-provider resource-key v1 https://mcp.example/mcp", &mut okm)
            .unwrap();
        assert_eq!(rk("s", A).key, okm);
        let signing = signing_key(&secret("s")).unwrap();
        assert_eq!(signing.kid(), SigningKey::derive("s".repeat(40).as_bytes(), SIGNING_KEY_INFO).unwrap().kid());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let key = rk("s", A);
        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()) && !debug.contains(&key.to_b64url()));
        let opened = open_at(&jwe(A), A, NOW).unwrap();
        assert!(!format!("{opened:?}").contains(KEY));
        assert!(!format!("{:?}", signing_key(&secret("s")).unwrap()).contains("ssss"));
    }

    /// The example in ACCESS_TOKENS.md: minting is deterministic (fixed IV,
    /// RFC 6979), so the documented tokens are pinned byte for byte.
    #[test]
    fn documented_example_tokens_are_stable() {
        const RESOURCE_KEY: &str = "yBG-gLSQxHQKxvRADV7xo_eCzsbVuIncBQ93SPUeQiA";
        const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"TX8WEviUY5J7gUbVjKT3xAUEV5Wk_STa63HdSTFVUKA","y":"BVkEUfPvMlS5yaAWrPOTVyPTfXztwXk5mQs4_Hu2aYQ","kid":"WoGrH40_TmSpolkZxKhIppNUwBeTXolrvwjDfS16JNw","use":"sig","alg":"ES256"}]}"#;
        const JWE: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoibWNvdlk0WEZtWmciLCJ0eXAiOiJhdCtqd3QiLCJhdWQiOiJodHRwczovL21jcC5leGFtcGxlL21jcCJ9..BQUFBQUFBQUFBQUF.CzhwdCPL60hxK15bnz-8HrRufg4QqVn_tVg3_-Y_R28vLgYMW2cwJz9Q9GtNJkua76yERqrEp89_d7T0wZXM0DYsdOQnzc7oJuAbALN8HUmvP7ic8G0Ljad8ehyMSYcAbI4rfDuHCx-pEGQ3r3K2d-ZffP3mV8eaJ15N3DVp40aYOq5ODZM62VI5M8eba7nMrnyUFjfl8cdZ_s9VIJ1o5qJov9fNTkV2EMsExGhRsOnSPOL213IpPv3DJUnLCv_WybPmAi4GagKmJQ3ipBctZgkhJw.7uk_5CAT51xOddQLXKTZyg";
        const JWT: &str = "eyJhbGciOiJFUzI1NiIsImtpZCI6IldvR3JINDBfVG1TcG9sa1p4S2hJcHBOVXdCZVRYb2xydndqRGZTMTZKTnciLCJ0eXAiOiJhdCtqd3QifQ.eyJpc3MiOiJodHRwczovL21jcC5leGFtcGxlL29hdXRoIiwic3ViIjoidXNlci0xIiwiYXVkIjoiaHR0cHM6Ly9tY3AuZXhhbXBsZS9tY3AiLCJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoianRpLTEiLCJjbGllbnRfaWQiOiJjbGllbnQtMSIsInNjb3BlIjoicmVhZCB3cml0ZSIsInNlYWxlZF9hcGlfa2V5IjoiZXlKaGJHY2lPaUprYVhJaUxDSmxibU1pT2lKQk1qVTJSME5OSWl3aWEybGtJam9pYldOdmRsazBXRVp0V21jaUxDSmpkSGtpT2lKaGNHa3RhMlY1SWl3aWFuUnBJam9pYW5ScExURWlmUS4uQlFVRkJRVUZCUVVGQlFVRi5BM0UwYXptZnRFY3BiaGdZMkRDbEJ1RTBiMElXdFYzMC5hZl9fZG9WSjU4bmFGdVYtSHAzOHRBIn0.-uPpnB-mIVOLAl889PfX2xDPcK8cipZGlr7Pctiy2XiCPp7EHZcFaDr-oGk1CcUMH1Ww310wbFtTIPHSFr3VbQ";
        let key = rk("s", A);
        assert_eq!((key.to_b64url().as_str(), key.kid()), (RESOURCE_KEY, "mcovY4XFmZg"));
        assert_eq!(jose::jwks(&[signing_key(&secret("s")).unwrap().verifying_key()]), JWKS);
        assert_eq!(jwe(A), JWE);
        assert_eq!(jwt(A), JWT);
        let printed = [ResourceKey::from_b64url(RESOURCE_KEY).unwrap()];
        let published = jose::parse_jwks(JWKS).unwrap();
        assert_eq!(open(JWE, A, &printed, &[], NOW).unwrap(), expected(Format::Jwe));
        assert_eq!(open(JWT, A, &printed, &published, NOW).unwrap(), expected(Format::Jwt));
    }

    proptest! {
        #[test]
        fn open_never_panics(s in ".{0,300}") {
            let keys = [rk("s", A)];
            let _ = open(&s, A, &keys, &vks(), NOW);
            let _ = open_for_provider(&s, |_| keys.to_vec(), &vks(), NOW);
        }

        #[test]
        fn jose_shaped_strings_never_panic(parts in proptest::collection::vec("[A-Za-z0-9_-]{0,60}", 3..6), jwe in any::<bool>()) {
            let keys = [rk("s", A)];
            let head = if jwe { b64url(br#"{"alg":"dir","enc":"A256GCM","kid":"x","typ":"at+jwt"}"#) } else { b64url(br#"{"alg":"ES256"}"#) };
            let s = format!("{head}.{}", parts.join("."));
            let _ = open(&s, A, &keys, &vks(), NOW);
            let _ = open_for_provider(&s, |_| keys.to_vec(), &vks(), NOW);
        }
    }
}
