//! The two cookies: the remembered key (sealed, 30 days) and the consent
//! form's CSRF token. Both `__Host-`, `Secure`, `HttpOnly`, `SameSite=Lax`.

use crate::crypto::entropy::Entropy;
use crate::crypto::seal::{Keys, Purpose};
use crate::crypto::secret::ApiKey;
use crate::http::Request;
use crate::protocol::encoding::{b64url, from_b64url};

/// The remembered key's cookie.
pub const REMEMBER: &str = "__Host-parallel-oauth-key";
/// The CSRF token's cookie.
pub const CSRF: &str = "__Host-parallel-oauth-csrf";
/// How long a key is remembered, in seconds (30 days).
pub const REMEMBER_FOR: u64 = 30 * 24 * 3600;

const ATTRIBUTES: &str = "Path=/; Secure; HttpOnly; SameSite=Lax";

/// `Set-Cookie` that remembers `key` on this browser.
pub fn remember(keys: &Keys, key: &ApiKey, now: u64, entropy: &mut Entropy) -> String {
    let json = crate::json::Value::object([("k", key.expose().into()), ("t", now.into())]).to_string();
    format!(
        "{REMEMBER}={}; Max-Age={REMEMBER_FOR}; {ATTRIBUTES}",
        keys.seal(Purpose::RememberCookie, json.as_bytes(), entropy)
    )
}

/// The remembered key, if the request has a cookie that opens and is not
/// older than 30 days. Anything else counts as no cookie.
pub fn remembered(request: &Request, keys: &Keys, now: u64) -> Option<ApiKey> {
    let sealed = request.cookie(REMEMBER)?;
    let json = keys.open(Purpose::RememberCookie, sealed)?;
    let value = crate::json::parse(&json).ok()?;
    let f = crate::json::Fields::of(&value).ok()?;
    let (k, t): (ApiKey, u64) = (f.read("k").ok()?, f.u64("t").ok()?);
    (t <= now && now - t <= REMEMBER_FOR).then_some(k)
}

/// `Set-Cookie` that deletes a cookie.
pub fn clear(name: &str) -> String {
    format!("{name}=; Max-Age=0; {ATTRIBUTES}")
}

/// The browser's CSRF token: the one it has, or a new one to set.
/// Returns the token and, when new, its `Set-Cookie`.
pub fn csrf_token(request: &Request, entropy: &mut Entropy) -> (String, Option<String>) {
    if let Some(token) = request.cookie(CSRF).filter(|t| is_csrf_token(t)) {
        return (token.to_string(), None);
    }
    let token = b64url(&entropy.next32());
    let cookie = format!("{CSRF}={token}; {ATTRIBUTES}");
    (token, Some(cookie))
}

/// Whether a string has the shape of our CSRF tokens (32 bytes, base64url).
pub fn is_csrf_token(token: &str) -> bool {
    token.len() == 43 && from_b64url(token).is_some_and(|b| b.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret::Secret;

    fn keys(s: &str) -> Keys {
        Keys::derive(&Secret::new(&s.repeat(40)).unwrap(), None)
    }

    fn with_cookie(set_cookie: &str) -> Request {
        let pair = set_cookie.split(';').next().unwrap();
        Request::new("GET", crate::Url::parse("https://o.example/authorize").unwrap()).with_header("cookie", pair)
    }

    #[test]
    fn remember_cookie_has_the_required_attributes() {
        let c = remember(&keys("a"), &ApiKey::parse("sk-1234567890abcdef").unwrap(), 0, &mut Entropy::new([1; 32]));
        assert!(c.starts_with("__Host-parallel-oauth-key="));
        for attr in ["Max-Age=2592000", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(c.contains(attr), "{attr}");
        }
        assert!(!c.contains("sk-1234567890abcdef"));
        assert!(!c.contains("Domain"));
    }

    #[test]
    fn remembered_key_round_trips_and_expires() {
        let k = keys("a");
        let c = remember(&k, &ApiKey::parse("sk-abc").unwrap(), 1000, &mut Entropy::new([1; 32]));
        let r = with_cookie(&c);
        assert_eq!(remembered(&r, &k, 1000 + REMEMBER_FOR).unwrap().expose(), "sk-abc");
        assert!(remembered(&r, &k, 1000 + REMEMBER_FOR + 1).is_none());
        assert!(remembered(&r, &keys("b"), 1000).is_none());
    }

    #[test]
    fn tampered_or_truncated_cookie_counts_as_absent() {
        let k = keys("a");
        let c = remember(&k, &ApiKey::parse("sk-abc").unwrap(), 0, &mut Entropy::new([1; 32]));
        let pair = c.split(';').next().unwrap();
        let truncated = &pair[..pair.len() - 3];
        let req =
            Request::new("GET", crate::Url::parse("https://o.example/").unwrap()).with_header("cookie", truncated);
        assert!(remembered(&req, &k, 0).is_none());
        let garbage = Request::new("GET", crate::Url::parse("https://o.example/").unwrap())
            .with_header("cookie", "__Host-parallel-oauth-key=%%%");
        assert!(remembered(&garbage, &k, 0).is_none());
    }

    #[test]
    fn csrf_token_is_reused_when_valid() {
        let (t, set) = csrf_token(
            &Request::new("GET", crate::Url::parse("https://o.example/").unwrap()),
            &mut Entropy::new([1; 32]),
        );
        let set = set.unwrap();
        assert!(set.contains("__Host-parallel-oauth-csrf=") && set.contains("HttpOnly"));
        let (again, none) = csrf_token(&with_cookie(&set), &mut Entropy::new([2; 32]));
        assert_eq!((again, none), (t, None));
        let bad = with_cookie("__Host-parallel-oauth-csrf=short");
        assert!(csrf_token(&bad, &mut Entropy::new([2; 32])).1.is_some());
    }
}
