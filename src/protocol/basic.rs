//! HTTP Basic credentials as OAuth uses them (RFC 6749 §2.3.1): both the
//! user name and the password are form-urlencoded inside the base64. Many
//! clients skip that step (authlib, `curl -u`, Python's `requests`), so a
//! user name sent raw that is an absolute URL (a resource, a client id
//! metadata document), whose own colons would end it at its scheme under
//! RFC 7617's first-colon rule, is read up to the last colon instead.

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
    let decode = |s: &str| Some(Params::parse(&format!("v={s}")).ok()?.get("v").unwrap_or("").to_string());
    // A password that does not form-decode is kept as sent: /token ignores
    // client secrets and must not refuse a client for one.
    let password = |p: &str| decode(p).unwrap_or_else(|| p.to_string());
    let (first, rest) = text.split_once(':')?;
    if rest.starts_with("//") {
        // "scheme://…": a raw URL (a form-encoded one has no ':'), taken as is.
        let (user, secret) = text.rsplit_once(':')?;
        return (user.len() > first.len()).then(|| (user.to_string(), password(secret)));
    }
    Some((decode(first)?, password(rest)))
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

    /// Regression: authlib's `client_secret_basic` sends the resource raw,
    /// `http://127.0.0.1:8788/mcp:<key>`; read at the first colon it was the
    /// user `http`, and introspection refused the resource server with 401.
    #[test]
    fn a_raw_url_user_name_was_cut_at_its_scheme() {
        let basic =
            |text: &str| format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text));
        let cases = [
            ("http://127.0.0.1:8788/mcp:k-ey_1", Some(("http://127.0.0.1:8788/mcp", "k-ey_1"))),
            ("https://mcp.example/mcp:key", Some(("https://mcp.example/mcp", "key"))),
            // A client id metadata document URL and no secret.
            ("https://app.example/oauth/client.json:", Some(("https://app.example/oauth/client.json", ""))),
            // Raw, so not form-decoded: a '+' stays a '+'.
            ("https://a.example/x+y:k", Some(("https://a.example/x+y", "k"))),
            // "scheme://" and no colon after it: no password at all.
            ("https://mcp.example/mcp", None),
            // Encoded as RFC 6749 asks: unchanged.
            ("http%3A%2F%2F127.0.0.1%3A8788%2Fmcp:k", Some(("http://127.0.0.1:8788/mcp", "k"))),
            ("client:se:cret", Some(("client", "se:cret"))),
        ];
        for (text, want) in cases {
            let got = credentials(&basic(text));
            assert_eq!(got.as_ref().map(|(u, p)| (u.as_str(), p.as_str())), want, "{text}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = credentials(&s);
        }
    }
}
