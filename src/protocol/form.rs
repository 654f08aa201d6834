//! Strict `application/x-www-form-urlencoded` parsing for query strings and
//! form bodies: malformed percent-encoding, invalid UTF-8 and repeated
//! parameters are errors, never "the first one wins".

use crate::protocol::error::{ErrorCode, OAuthError};

/// Parameters of a query or form body, each name at most once.
#[derive(Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// Names sent more than once and left out of `pairs`
    /// ([`Params::parse_authorize`] only).
    repeated: Vec<String>,
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
        Ok(Params { pairs, repeated: Vec::new() })
    }

    /// Parses a form body (bytes must be UTF-8).
    pub fn parse_body(body: &[u8]) -> Result<Params, OAuthError> {
        Params::parse(body_text(body)?)
    }

    /// [`Params::parse`] for an OAuth request: RFC 8707 lets a client send
    /// `resource` more than once (a token for several resources), which
    /// this provider, binding each token to one resource, refuses with
    /// `invalid_target` rather than as a malformed request. Every other
    /// parameter may still appear once only.
    pub fn parse_oauth(input: &str) -> Result<Params, OAuthError> {
        let error = match Params::parse(input) {
            Ok(params) => return Ok(params),
            Err(e) => e,
        };
        match Params::without_repeated(input) {
            Some(p) if p.repeated == ["resource"] => Err(repeated_resource()),
            _ => Err(error),
        }
    }

    /// [`Params::parse`] for GET /authorize, whose errors go back to the
    /// client only once its redirect URI is known: with parameters other
    /// than `client_id` and `redirect_uri` repeated, the rest, and
    /// [`Params::repeated`] names them (the endpoint refuses the ones it
    /// defines and ignores the others, RFC 6749 §3.1).
    pub fn parse_authorize(input: &str) -> Result<Params, OAuthError> {
        Params::parse(input).or_else(|error| {
            Params::without_repeated(input)
                .filter(|p| !p.repeated.iter().any(|n| n == "client_id" || n == "redirect_uri"))
                .ok_or(error)
        })
    }

    /// The parameters sent once, when some are repeated and nothing is
    /// malformed; [`Params::repeated`] names the others.
    fn without_repeated(input: &str) -> Option<Params> {
        if input.len() > MAX_PARAMS_LEN {
            return None;
        }
        let pieces: Vec<&str> = input.split('&').filter(|p| !p.is_empty()).collect();
        let names: Vec<String> =
            pieces.iter().map(|p| decode(p.split('=').next().unwrap_or(""))).collect::<Result<_, _>>().ok()?;
        let mut repeated: Vec<String> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) && !repeated.contains(name) {
                repeated.push(name.clone());
            }
        }
        if repeated.is_empty() {
            return None;
        }
        let once: Vec<&str> =
            pieces.iter().zip(&names).filter(|(_, n)| !repeated.contains(n)).map(|(p, _)| *p).collect();
        let params = Params::parse(&once.join("&")).ok()?;
        Some(Params { repeated, ..params })
    }

    /// The names sent more than once, left out of these parameters (only
    /// from [`Params::parse_authorize`]; else empty).
    pub fn repeated(&self) -> &[String] {
        &self.repeated
    }

    /// [`Params::parse_oauth`] on a form body.
    pub fn parse_oauth_body(body: &[u8]) -> Result<Params, OAuthError> {
        Params::parse_oauth(body_text(body)?)
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

/// The `invalid_target` for a `resource` sent more than once.
pub(crate) fn repeated_resource() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, "one resource per request: each token here is for one resource")
}

fn body_text(body: &[u8]) -> Result<&str, OAuthError> {
    std::str::from_utf8(body).map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))
}

/// Percent-decodes one name or value (`+` is a space).
pub(crate) fn decode(raw: &str) -> Result<String, OAuthError> {
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
    fn a_repeated_resource_is_invalid_target_and_anything_else_repeated_invalid_request() {
        let two = "resource=https%3A%2F%2Fa.example%2Fmcp&code=c&resource=https%3A%2F%2Fb.example%2Fmcp";
        assert_eq!(Params::parse(two).unwrap_err().code, ErrorCode::InvalidRequest, "strict as ever");
        assert_eq!(Params::parse_oauth(two).unwrap_err().code, ErrorCode::InvalidTarget);
        assert_eq!(Params::parse_oauth_body(two.as_bytes()).unwrap_err().code, ErrorCode::InvalidTarget);
        for other in ["resource=a&resource=b&code=1&code=2", "resource=a&resource=b&code=%zz", "code=1&code=2"] {
            assert_eq!(Params::parse_oauth(other).unwrap_err().code, ErrorCode::InvalidRequest, "{other}");
        }
        let once = Params::parse_oauth("resource=https%3A%2F%2Fa.example%2Fmcp&code=c").unwrap();
        assert_eq!(once.get("resource"), Some("https://a.example/mcp"));
        assert!(once.repeated().is_empty());
        // For /authorize: the other parameters, and the names for later.
        let p = Params::parse_authorize(two).unwrap();
        assert_eq!((p.get("code"), p.get("resource")), (Some("c"), None));
        assert_eq!(p.repeated(), ["resource"]);
        let p = Params::parse_authorize("code=1&x=2&code=3&%78=4&state=s").unwrap();
        assert_eq!((p.get("code"), p.get("x"), p.get("state")), (None, None, Some("s")));
        assert_eq!(p.repeated(), ["code", "x"]);
        for page in ["client_id=a&client_id=b", "redirect_uri=a&x=1&redirect_uri=a", "code=1&code=2&x=%zz"] {
            assert!(Params::parse_authorize(page).is_err(), "{page}");
        }
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
