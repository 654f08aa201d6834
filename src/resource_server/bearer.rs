//! Bearer tokens from the `Authorization` header (RFC 6750 §2.1).

use crate::http::Request;

/// The longest bearer token read, in bytes (a longer one counts as none).
pub const MAX_TOKEN_LEN: usize = 4096;

/// A bearer token from an `Authorization` header. In passthrough mode it is
/// the user's API key: `Debug` is redacted and comparison is constant-time.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// The token itself, to forward upstream. Never log it; use
    /// [`BearerToken::masked`].
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A form safe to show and log: the prefix up to its first `-` or `_`
    /// (at most 8 characters) and the last four characters, e.g.
    /// `sk-…abcd`; tokens shorter than 16 characters show only `…`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

crate::crypto::secret::secret_string!(BearerToken);

/// A form of a key or token safe to show and log: the prefix up to its
/// first `-` or `_` (at most 8 characters) and the last four characters,
/// e.g. `sk-…abcd`; shorter than 16 characters shows only `…`.
pub fn mask(t: &str) -> String {
    if t.len() < 16 || !t.is_ascii() {
        return "…".to_string();
    }
    let prefix = t.find(['-', '_']).filter(|&i| i < 8).map(|i| &t[..=i]).unwrap_or("");
    format!("{prefix}…{}", &t[t.len() - 4..])
}

/// The bearer token of a request (RFC 6750 §2.1): exactly one
/// `Authorization` header holding `Bearer` (any case), one or more spaces,
/// and one token of the `b64token` characters (`A-Z a-z 0-9 - . _ ~ + /`,
/// then `=` padding). Anything else — no header, two headers, another
/// scheme, an empty token, two tokens, other characters — is `None`
/// ([`bearer_header`] tells those apart).
pub fn bearer_token(request: &Request) -> Option<BearerToken> {
    match bearer_header(request) {
        BearerHeader::Token(token) => Some(token),
        BearerHeader::Absent | BearerHeader::Malformed => None,
    }
}

/// What a request's `Authorization` headers say of a bearer token.
pub(crate) enum BearerHeader {
    /// No header, or only another scheme's: the request carries no bearer
    /// token (RFC 6750 §3.1: no error information).
    Absent,
    /// A `Bearer` header without exactly one well-formed token, or beside
    /// another `Authorization` header: `invalid_request` (§3.1).
    Malformed,
    /// The one token.
    Token(BearerToken),
}

/// The request's bearer token, told apart from its absence and from a
/// malformed `Bearer` header (see [`bearer_token`]).
pub(crate) fn bearer_header(request: &Request) -> BearerHeader {
    let mut values = request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("authorization")).map(|(_, v)| v);
    let Some(first) = values.next() else { return BearerHeader::Absent };
    let others: Vec<&String> = values.collect();
    if !others.is_empty() {
        let bearer = names_bearer(first) || others.iter().any(|v| names_bearer(v));
        return if bearer { BearerHeader::Malformed } else { BearerHeader::Absent };
    }
    match parse_bearer(first) {
        Some(token) => BearerHeader::Token(token),
        None if names_bearer(first) => BearerHeader::Malformed,
        None => BearerHeader::Absent,
    }
}

/// Whether a header value's scheme is `Bearer` (any case), whatever follows.
fn names_bearer(value: &str) -> bool {
    let value = value.trim_matches([' ', '\t']);
    value.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("bearer"))
        && value[6..].chars().next().is_none_or(|c| c == ' ' || c == '\t')
}

/// Parses one `Authorization` header value (see [`bearer_token`]).
pub fn parse_bearer(value: &str) -> Option<BearerToken> {
    if !names_bearer(value) {
        return None;
    }
    let rest = &value.trim_matches([' ', '\t'])[6..];
    let token = rest.trim_start_matches(' ');
    if token.len() == rest.len() || token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return None;
    }
    b64token(token)
}

/// A token of the `b64token` characters (then `=` padding), at most
/// [`MAX_TOKEN_LEN`] bytes, as a header's or a form body's `access_token`
/// (RFC 6750 §2.2) carries it; anything else is `None`.
pub(crate) fn b64token(token: &str) -> Option<BearerToken> {
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'));
    ok.then(|| BearerToken(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(auth: &[&str]) -> Request {
        let mut r = Request::new("POST", "https://mcp.example/mcp".parse().unwrap());
        for a in auth {
            r = r.with_header("Authorization", a);
        }
        r
    }

    #[test]
    fn a_bearer_header_is_a_token_malformed_or_absent() {
        let kind = |auth: &[&str]| match bearer_header(&req(auth)) {
            BearerHeader::Token(t) => format!("token {}", t.expose()),
            BearerHeader::Malformed => "malformed".to_string(),
            BearerHeader::Absent => "absent".to_string(),
        };
        assert_eq!(kind(&["Bearer sk-abc"]), "token sk-abc");
        for absent in [&[][..], &["Basic dTpw"], &["Basic a", "Basic b"], &["Bearerx abc"], &["Beare abc"]] {
            assert_eq!(kind(absent), "absent", "{absent:?}");
        }
        for malformed in [
            &["Bearer"][..],
            &["Bearer "],
            &[" bearer\t"],
            &["Bearer a b"],
            &["Bearer\tabc"],
            &["Bearer <x>"],
            &["Bearer abc", "Bearer abc"],
            &["Basic dTpw", "Bearer abc"],
        ] {
            assert_eq!(kind(malformed), "malformed", "{malformed:?}");
        }
    }

    #[test]
    fn bearer_token_rfc6750() {
        for (header, token) in [
            ("Bearer sk-abc", "sk-abc"),
            ("bearer sk-abc", "sk-abc"),
            ("BEARER sk-abc", "sk-abc"),
            ("Bearer   sk-abc", "sk-abc"),
            ("  Bearer sk-abc\t", "sk-abc"),
            ("Bearer a.b_c~d+e/f==", "a.b_c~d+e/f=="),
        ] {
            assert_eq!(
                bearer_token(&req(&[header])).map(|t| t.expose().to_string()).as_deref(),
                Some(token),
                "{header:?}"
            );
        }
    }

    #[test]
    fn anything_else_is_no_token() {
        for header in [
            "",
            "Bearer",
            "Bearer ",
            "Bearer\tsk-abc",
            "Bearersk-abc",
            "Basic c2stYWJj",
            "Token sk-abc",
            "Bearer sk-abc sk-def",
            "Bearer sk-abc, Bearer sk-def",
            "Bearer sk\"abc",
            "Bearer sk-ab=c",
            "Bearer ===",
            "Bearer sk-äbc",
            "Bearer sk-abc\r\nX: y",
        ] {
            assert!(bearer_token(&req(&[header])).is_none(), "{header:?}");
        }
        assert!(bearer_token(&req(&[])).is_none());
        assert!(bearer_token(&req(&["Bearer a", "Bearer a"])).is_none(), "two headers");
        assert!(parse_bearer(&format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1))).is_none());
    }

    #[test]
    fn token_is_redacted_and_masked() {
        let t = parse_bearer("Bearer sk-0123456789abcdef").unwrap();
        assert_eq!(format!("{t:?}"), "BearerToken([redacted])");
        assert_eq!(t.masked(), "sk-…cdef");
        assert_eq!(parse_bearer("Bearer e2eABCDEFGHIJKLMNOPwxyz").unwrap().masked(), "…wxyz");
        assert_eq!(parse_bearer("Bearer pk_live_0123456789abcdef").unwrap().masked(), "pk_…cdef");
        assert_eq!(parse_bearer("Bearer short-key").unwrap().masked(), "…");
        assert_eq!(t, parse_bearer("bearer sk-0123456789abcdef").unwrap());
        assert_ne!(t, parse_bearer("Bearer sk-0123456789abcdeF").unwrap());
    }

    proptest! {
        #[test]
        fn parse_bearer_never_panics_and_tokens_are_b64token(s in "\\PC{0,80}") {
            if let Some(t) = parse_bearer(&s) {
                prop_assert!(!t.expose().is_empty());
                prop_assert!(t.expose().bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b','));
                let masked = t.masked();
                prop_assert!(t.expose().len() < 16 || !masked.contains(t.expose()));
            }
        }

        #[test]
        fn masked_never_shows_more_than_twelve_characters(t in "[A-Za-z0-9_-]{16,64}") {
            let token = parse_bearer(&format!("Bearer {t}")).unwrap();
            let shown = token.masked().replace('…', "");
            prop_assert!(shown.len() <= 12);
        }
    }
}
