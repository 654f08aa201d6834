//! PKCE (RFC 7636) with S256 only: the challenge sent to /authorize and the
//! verifier sent to /token.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::encoding::b64url;
use crate::protocol::error::OAuthError;

/// The length of an S256 challenge: 32 bytes in unpadded base64url.
pub const S256_CHALLENGE_LEN: usize = 43;

/// An S256 `code_challenge`: the base64url (no padding) SHA-256 digest of a
/// verifier, so exactly 43 characters of `[A-Za-z0-9-_]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates `code_challenge` and `code_challenge_method` (which must be `S256`).
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<CodeChallenge, OAuthError> {
        let challenge = challenge.ok_or(OAuthError::invalid_request("code_challenge is required (PKCE)"))?;
        match method {
            Some("S256") => {}
            None => return Err(OAuthError::invalid_request("code_challenge_method is required and must be S256")),
            Some("plain") => {
                return Err(OAuthError::invalid_request("code_challenge_method plain is not allowed; use S256"))
            }
            Some(_) => return Err(OAuthError::invalid_request("code_challenge_method must be S256")),
        }
        // RFC 7636 §4.2 allows 43-128 characters in general, but S256's is a
        // 32-byte digest: any other length can never match a verifier, so it
        // is refused here rather than after the user's consent, at /token.
        if challenge.len() != S256_CHALLENGE_LEN || !challenge.bytes().all(is_base64url) {
            return Err(OAuthError::invalid_request(
                "code_challenge must be the 43 base64url characters of an S256 digest",
            ));
        }
        Ok(CodeChallenge(challenge.to_string()))
    }

    /// Whether `verifier` hashes to this challenge (constant time).
    pub fn is_met_by(&self, verifier: &CodeVerifier) -> bool {
        let computed = b64url(&Sha256::digest(verifier.0.as_bytes()));
        computed.as_bytes().ct_eq(self.0.as_bytes()).into()
    }

    /// The challenge text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A challenge is stored as its text.
impl crate::json::FromJson for CodeChallenge {
    fn from_json(value: &crate::json::Value) -> Result<CodeChallenge, crate::json::Error> {
        String::from_json(value).map(CodeChallenge)
    }
}

/// A `code_verifier`: 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub struct CodeVerifier(String);

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

impl CodeVerifier {
    /// Validates a verifier's length and characters.
    ///
    /// One exception keeps the original provider's README recipe working: it
    /// builds its verifier as `btoa(crypto.getRandomValues(new Uint8Array(32)))`,
    /// which base64-encodes the *decimal text* of 32 random bytes ("12,250,...")
    /// and so is 84-172 characters long. Such a verifier, and only such one
    /// (it decodes to exactly 32 comma-separated numbers 0-255, 256 bits of
    /// entropy), is accepted above 128 characters.
    pub fn parse(verifier: Option<&str>) -> Result<CodeVerifier, OAuthError> {
        let verifier = verifier.ok_or(OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
        let charset_ok = verifier.bytes().all(|b| is_base64url(b) || b == b'.' || b == b'~');
        let length_ok = (43..=128).contains(&verifier.len()) || is_legacy_recipe_verifier(verifier);
        if !charset_ok || !length_ok {
            return Err(OAuthError::invalid_request("code_verifier must be 43-128 characters of [A-Za-z0-9-._~]"));
        }
        Ok(CodeVerifier(verifier.to_string()))
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The verifier the original README recipe makes (see [`CodeVerifier::parse`]).
fn is_legacy_recipe_verifier(verifier: &str) -> bool {
    if verifier.len() > 172 {
        return false;
    }
    let Some(text) = crate::protocol::encoding::from_b64url(verifier) else { return false };
    let Ok(text) = std::str::from_utf8(&text) else { return false };
    let numbers: Vec<&str> = text.split(',').collect();
    numbers.len() == 32
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.len() <= 3
                && n.bytes().all(|b| b.is_ascii_digit())
                && n.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        let c = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        assert!(c.is_met_by(&CodeVerifier::parse(Some(VERIFIER)).unwrap()));
        let wrong = CodeVerifier::parse(Some(&VERIFIER.replace('d', "e"))).unwrap();
        assert!(!c.is_met_by(&wrong));
    }

    #[test]
    fn plain_missing_and_unknown_methods_are_refused() {
        for method in [None, Some("plain"), Some("s256"), Some("S512"), Some("")] {
            assert!(CodeChallenge::parse(Some(CHALLENGE), method).is_err(), "{method:?}");
        }
        assert!(CodeChallenge::parse(None, Some("S256")).is_err());
    }

    #[test]
    fn challenge_length_and_charset_are_checked() {
        assert!(CodeChallenge::parse(Some(&"a".repeat(42)), Some("S256")).is_err());
        assert!(CodeChallenge::parse(Some(&"a".repeat(129)), Some("S256")).is_err());
        assert!(CodeChallenge::parse(Some(&"a".repeat(43)), Some("S256")).is_ok());
        assert!(CodeChallenge::parse(Some(&format!("{}+", &CHALLENGE[1..])), Some("S256")).is_err());
        assert!(CodeChallenge::parse(Some(&format!("{}=", &CHALLENGE[1..])), Some("S256")).is_err());
    }

    /// Regression: a well-formed S256 challenge of 44-128 characters reached
    /// the consent page and failed only at /token, after the user's click.
    #[test]
    fn s256_challenge_of_another_length_than_43_is_refused() {
        for len in [44, 64, 100, 128] {
            assert!(CodeChallenge::parse(Some(&"a".repeat(len)), Some("S256")).is_err(), "{len}");
        }
        assert_eq!(CHALLENGE.len(), S256_CHALLENGE_LEN);
    }

    #[test]
    fn verifier_length_and_charset_are_checked() {
        assert!(CodeVerifier::parse(None).is_err());
        assert!(CodeVerifier::parse(Some(&"a".repeat(42))).is_err());
        assert!(CodeVerifier::parse(Some(&"a".repeat(129))).is_err());
        assert!(CodeVerifier::parse(Some(&"a~.-_".repeat(20))).is_ok());
        assert!(CodeVerifier::parse(Some(&format!("{VERIFIER}+"))).is_err());
        assert!(CodeVerifier::parse(Some(&format!("{VERIFIER} "))).is_err());
    }

    #[test]
    fn original_readme_recipe_verifier_is_accepted() {
        use base64::Engine;
        // What `btoa(crypto.getRandomValues(new Uint8Array(32)))` with the
        // recipe's `+/=` replacement yields.
        let text = (0..32u32).map(|i| ((i * 37 + 200) % 256).to_string()).collect::<Vec<_>>().join(",");
        let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        assert!(verifier.len() > 128);
        let parsed = CodeVerifier::parse(Some(&verifier)).unwrap();
        let challenge =
            CodeChallenge::parse(Some(&b64url(&Sha256::digest(verifier.as_bytes()))), Some("S256")).unwrap();
        assert!(challenge.is_met_by(&parsed));
    }

    #[test]
    fn long_verifier_that_is_not_the_recipe_is_refused() {
        use base64::Engine;
        let text = (0..31).map(|_| "255").collect::<Vec<_>>().join(",");
        let short_list = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{text},256"));
        assert!(CodeVerifier::parse(Some(&short_list)).is_err());
        assert!(CodeVerifier::parse(Some(&"Q".repeat(150))).is_err());
    }

    #[test]
    fn verifier_debug_is_redacted() {
        let v = CodeVerifier::parse(Some(VERIFIER)).unwrap();
        assert!(!format!("{v:?}").contains(VERIFIER));
    }

    proptest! {
        #[test]
        fn verifier_parse_never_panics(s in ".{0,200}") {
            let _ = CodeVerifier::parse(Some(&s));
        }

        #[test]
        fn challenge_parse_never_panics(s in ".{0,200}", m in ".{0,8}") {
            let _ = CodeChallenge::parse(Some(&s), Some(&m));
        }
    }
}
