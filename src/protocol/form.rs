//! Strict `application/x-www-form-urlencoded` parsing for query strings and
//! form bodies: malformed percent-encoding, invalid UTF-8 and repeated
//! parameters are errors, never "the first one wins".

use crate::protocol::error::OAuthError;

/// Parameters of a query or form body, each name at most once.
#[derive(Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Params {
    // Values can hold an API key or a code verifier: print names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.pairs.iter().map(|(n, _)| n)).finish()
    }
}

/// The longest query string or form body we read, in bytes.
pub const MAX_PARAMS_LEN: usize = 16 * 1024;

impl Params {
    /// Parses `a=1&b=2`. An empty string gives no parameters.
    pub fn parse(input: &str) -> Result<Params, OAuthError> {
        if input.len() > MAX_PARAMS_LEN {
            return Err(OAuthError::invalid_request("request parameters are too long"));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for piece in input.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::invalid_request("a parameter is repeated"));
            }
            pairs.push((name, value));
        }
        Ok(Params { pairs })
    }

    /// Parses a form body (bytes must be UTF-8).
    pub fn parse_body(body: &[u8]) -> Result<Params, OAuthError> {
        let text = std::str::from_utf8(body).map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
        Params::parse(text)
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// A required parameter, or `invalid_request` naming it.
    pub fn require(&self, name: &str, missing: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or(OAuthError::invalid_request(missing))
    }
}

/// Percent-decodes one name or value (`+` is a space).
fn decode(raw: &str) -> Result<String, OAuthError> {
    let bad = || OAuthError::invalid_request("malformed percent-encoding");
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)).ok_or_else(bad)?;
                let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)).ok_or_else(bad)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| OAuthError::invalid_request("a parameter is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::parse("a=x+y%2Bz&redirect_uri=https%3A%2F%2Fa.example%2Fcb").unwrap();
        assert_eq!(p.get("a"), Some("x y+z"));
        assert_eq!(p.get("redirect_uri"), Some("https://a.example/cb"));
    }

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let err = Params::parse("code=a&code=b").unwrap_err();
        assert_eq!(err.code.as_str(), "invalid_request");
    }

    #[test]
    fn malformed_percent_encoding_is_invalid_request() {
        for bad in ["a=%", "a=%4", "a=%zz", "a=%C3%28"] {
            assert!(Params::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_value_counts_as_absent() {
        let p = Params::parse("state=&scope=api&&").unwrap();
        assert_eq!(p.get("state"), None);
        assert_eq!(p.get("scope"), Some("api"));
        assert!(p.require("state", "state is required").is_err());
    }

    #[test]
    fn oversized_input_is_refused() {
        assert!(Params::parse(&"a".repeat(MAX_PARAMS_LEN + 1)).is_err());
    }

    #[test]
    fn debug_prints_names_only() {
        let p = Params::parse("api_key=sk-secret").unwrap();
        assert!(!format!("{p:?}").contains("sk-secret"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = Params::parse(&s);
        }

        #[test]
        fn encoded_values_round_trip(name in "[a-z_]{1,12}", value in ".{1,100}") {
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(&name, &value).finish();
            let p = Params::parse(&encoded).unwrap();
            prop_assert_eq!(p.get(&name), Some(value.as_str()));
        }
    }
}
