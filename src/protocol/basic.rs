//! HTTP Basic credentials as OAuth uses them (RFC 6749 §2.3.1): both the
//! user name and the password are form-urlencoded inside the base64.

use crate::protocol::encoding::{from_b64, from_b64url};
use crate::protocol::form::Params;

/// The (user, password) of an `Authorization: Basic …` value, each
/// form-decoded; `None` for another scheme or anything malformed.
pub fn credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = from_b64(encoded.trim()).or_else(|| from_b64url(encoded.trim()))?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    let decode = |s: &str| Some(Params::parse(&format!("v={s}")).ok()?.get("v").unwrap_or("").to_string());
    // A password that does not form-decode is kept as sent: /token ignores
    // client secrets and must not refuse a client for one.
    Some((decode(user)?, decode(password).unwrap_or_else(|| password.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_and_password_are_form_decoded() {
        // "https%3A%2F%2Fa.example%2Fmcp:k%2Bey"
        let v = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "https%3A%2F%2Fa.example%2Fmcp:k%2Bey")
        );
        assert_eq!(credentials(&v), Some(("https://a.example/mcp".into(), "k+ey".into())));
        assert_eq!(credentials("basic YTpi"), Some(("a".into(), "b".into())));
        // "a:%zz": a secret that is not form-encoded is kept as sent.
        assert_eq!(credentials("Basic YToleno="), Some(("a".into(), "%zz".into())));
        for bad in ["Bearer YTpi", "Basic", "Basic !!!", "Basic YWI=", ""] {
            assert_eq!(credentials(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = credentials(&s);
        }
    }
}
