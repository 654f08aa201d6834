//! Redirect URI rules (DESIGN.md rule 6, RFC 8252 for native apps): https;
//! http only on loopback (any port); private-use schemes for native apps;
//! never a dangerous scheme, userinfo, a fragment, white space or controls.

use crate::protocol::url::{Host, Url};
use std::net::IpAddr;

/// The longest redirect URI we accept, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Schemes that are never a redirect target: script, local content,
/// browser internals, or not an app callback at all.
const REFUSED_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "filesystem",
    "view-source",
    "chrome",
    "chrome-extension",
    "moz-extension",
    "ftp",
    "ws",
    "wss",
    "mailto",
    "tel",
    "sms",
    "urn",
    "intent",
    "jar",
    "ms-settings",
    "content",
    "resource",
];

/// A redirect URI that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(Url);

/// Why a redirect URI was refused (shown to the user and to registrants).
pub type Refusal = &'static str;

/// The refusal of an internationalized host written in Unicode.
pub const NON_ASCII_HOST: Refusal =
    "internationalized host names must be sent in their ASCII (punycode, xn--) form, as browsers send location.origin";

/// Whether the authority of `raw` (between `//` and the path) holds a
/// non-ASCII character: an internationalized host in Unicode form. The
/// provider does not carry the IDNA tables (a quarter of its WASM):
/// browsers and clients already send such hosts as punycode.
pub fn has_non_ascii_host(raw: &str) -> bool {
    // Only http(s) hosts go through IDNA; a private-use scheme's host is
    // opaque to the URL parser (kept percent-encoded).
    let Some((scheme, rest)) = raw.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return false;
    }
    rest.split(['/', '?', '#']).next().is_some_and(|authority| !authority.is_ascii())
}

/// The parameters an authorization response adds to the redirect URI (RFC
/// 6749 §4.1.2 and §4.1.2.1, RFC 9207 `iss`).
const RESPONSE_PARAMETERS: &[&str] = &["code", "state", "iss", "error", "error_description", "error_uri"];

/// The refusal of a redirect URI whose query already holds one of them.
pub const RESPONSE_PARAMETER: Refusal =
    "redirect_uri must not carry code, state, iss or error parameters in its query: the response adds them";

/// Whether a redirect URI's query names a response parameter: the response
/// would then carry it twice, and a client reading the first `iss` or
/// `code` would read the URI's, not ours (a mix-up or injection).
fn carries_response_parameters(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|piece| {
            let name = piece.split('=').next().unwrap_or("");
            crate::protocol::form::decode(name).is_ok_and(|n| RESPONSE_PARAMETERS.contains(&n.as_str()))
        })
    })
}

impl RedirectUri {
    /// Applies the rules to a raw string.
    pub fn parse(raw: &str) -> Result<RedirectUri, Refusal> {
        if raw.is_empty() || raw.len() > MAX_REDIRECT_URI_LEN {
            return Err("redirect_uri must be 1-2048 characters");
        }
        // The URL parser would silently drop tabs and newlines and trim
        // spaces and controls: refuse them before it sees them.
        if raw.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\') {
            return Err("redirect_uri must not contain white space, control characters or backslashes");
        }
        if raw.contains('#') {
            return Err("redirect_uri must not contain a fragment");
        }
        if has_non_ascii_host(raw) {
            return Err(NON_ASCII_HOST);
        }
        let url = Url::parse(raw).map_err(|_| "redirect_uri must be an absolute URI")?;
        if url.cannot_be_a_base() {
            return Err("redirect_uri must be an absolute URI with a path");
        }
        if carries_response_parameters(url.query()) {
            return Err(RESPONSE_PARAMETER);
        }
        if !url.username().is_empty() || url.password().is_some() || has_userinfo(raw) {
            return Err("redirect_uri must not contain user information");
        }
        let web = matches!(url.scheme(), "https" | "http");
        if web
            && raw
                .as_bytes()
                .get(url.scheme().len()..url.scheme().len() + 4)
                .is_none_or(|s| !s.starts_with(b"://") || s[3] == b'/')
        {
            return Err("redirect_uri must be scheme://host/...");
        }
        match url.scheme() {
            "https" => {
                if url.host().is_none() {
                    return Err("an https redirect_uri needs a host");
                }
            }
            "http" => {
                if !is_loopback(&url) {
                    return Err(
                        "http redirect URIs are allowed only on loopback (localhost, 127.0.0.1, [::1]); use https",
                    );
                }
            }
            scheme => {
                if REFUSED_SCHEMES.contains(&scheme) || scheme.starts_with("web+") {
                    return Err("this redirect_uri scheme is not allowed");
                }
                if raw.get(..scheme.len() + 3).is_some_and(|p| p.ends_with("://")) && url.host().is_none() {
                    return Err("redirect_uri has an empty host");
                }
            }
        }
        Ok(RedirectUri(url))
    }

    /// The URI as registered/sent (normalized by the URL parser).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The host (lower case, punycode for internationalized names), if any.
    pub fn host(&self) -> Option<String> {
        self.0.host_str().map(str::to_string)
    }

    /// The host of an http(s) URI (lower case, punycode), `None` for apps.
    pub fn web_host(&self) -> Option<String> {
        matches!(self.0.scheme(), "https" | "http").then(|| self.host()).flatten()
    }

    /// Whether this is an http URI on loopback (port-relaxed matching applies).
    pub fn is_loopback_http(&self) -> bool {
        self.0.scheme() == "http"
    }

    /// Who receives the code (and so the key), as the consent page shows it:
    /// `host[:port]` for web URIs, `scheme://host` or `scheme:` for apps.
    pub fn receiver(&self) -> String {
        let url = &self.0;
        match (url.scheme(), url.host_str()) {
            ("https" | "http", Some(_)) => url.host_port().unwrap_or_default(),
            (scheme, Some(host)) => format!("{scheme}://{host}"),
            (scheme, None) => format!("{scheme}:"),
        }
    }

    /// The CSP `form-action` source that allows the browser to follow our 303
    /// to this URI: its origin for web URIs, its scheme for apps.
    pub fn csp_source(&self) -> String {
        match self.0.scheme() {
            "https" | "http" => self.0.origin(),
            scheme => format!("{scheme}:"),
        }
    }

    /// Whether a presented URI matches this registered one: exact string
    /// equality, except that loopback http URIs match on any port
    /// (RFC 8252 §7.3).
    pub fn matches(&self, presented: &RedirectUri) -> bool {
        if self.is_loopback_http() && presented.is_loopback_http() {
            return self.0.without_port() == presented.0.without_port();
        }
        self.0.as_str() == presented.0.as_str()
    }

    /// The redirect with response parameters appended to the query.
    pub fn with_params(&self, params: &[(&str, &str)]) -> String {
        self.0.with_query_pairs(params)
    }
}

/// Whether the authority of a raw URI has an `@` (even an empty user info,
/// which the URL parser drops: `https://@evil.example/`).
fn has_userinfo(raw: &str) -> bool {
    raw.split_once("://").is_some_and(|(_, rest)| rest.split(['/', '?']).next().unwrap_or("").contains('@'))
}

/// Whether an http URL's host is loopback: `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> RedirectUri {
        RedirectUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_what_real_clients_register() {
        for s in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://chatgpt.com/connector/oauth/abc123",
            "http://localhost:6274/oauth/callback",
            "http://127.0.0.1:33418/",
            "http://127.0.0.1/",
            "http://[::1]:8080/cb",
            "http://127.1.2.3:9/cb",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "vscode://vscode.github-authentication/did-authenticate",
            "com.example.app:/cb",
            "https://yourapp.com/callback?x=1",
        ] {
            ok(s);
        }
    }

    /// Regression: `…/cb?code=evil&state=evil&iss=evil` was accepted, and the
    /// response then carried two of each, the URI's first.
    #[test]
    fn a_query_with_the_response_parameters_doubled_them() {
        for s in ["https://a.example/cb?code=x", "https://a.example/cb?a=1&iss=x", "http://127.0.0.1/cb?%73tate=1"] {
            assert_eq!(RedirectUri::parse(s).err(), Some(RESPONSE_PARAMETER), "{s}");
        }
        for s in ["https://a.example/cb?codes=1", "https://a.example/cb?x=code&y=state", "https://a.example/cb?"] {
            ok(s);
        }
    }

    #[test]
    fn refuses_dangerous_and_malformed_uris() {
        for s in [
            "javascript:alert(1)",
            "JavaScript://x/%0aalert(1)",
            " javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "data:text/html,hi",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "blob:https://a.example/uuid",
            "https://app.example@evil.example/cb",
            "https://app.example\\@evil.example/cb",
            "https://@evil.example/cb",
            "https://:@evil.example/cb",
            "https:\\\\evil.example/cb",
            "https://a.example/cb#frag",
            "https://a.example/cb#",
            "/relative/cb",
            "//evil.example/cb",
            "http://evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.0.0.1.nip.io/cb",
            "https://a.example/c\r\nb",
            "https://a.example/c\nb",
            "https://a.example/cb\0",
            "https://a.example/cb ",
            "urn:ietf:wg:oauth:2.0:oob",
            "mailto:a@b.example",
            "https:///cb",
            "",
        ] {
            assert!(RedirectUri::parse(s).is_err(), "{s:?} should be refused");
        }
        assert!(RedirectUri::parse(&format!("https://a.example/{}", "a".repeat(2100))).is_err());
    }

    /// The IDNA tables are gone: a Unicode host is refused with a message
    /// that says what to send instead; its punycode form works as any host.
    #[test]
    fn unicode_hosts_are_refused_with_the_punycode_hint() {
        assert_eq!(RedirectUri::parse("https://аррӏе.com/cb").unwrap_err(), NON_ASCII_HOST);
        assert_eq!(RedirectUri::parse("https://bücher.example/cb").unwrap_err(), NON_ASCII_HOST);
        assert_eq!(ok("https://xn--80ak6aa92e.com/cb").receiver(), "xn--80ak6aa92e.com");
        assert_eq!(ok("https://a.example/caf%C3%A9").receiver(), "a.example");
        assert!(ok("https://a.example/café").as_str().ends_with("caf%C3%A9"), "a Unicode path is fine");
    }

    #[test]
    fn receiver_is_the_host() {
        assert_eq!(ok("http://localhost:6274/cb").receiver(), "localhost:6274");
        assert_eq!(ok("https://claude.ai/cb").receiver(), "claude.ai");
        assert_eq!(ok("cursor://anysphere.cursor-mcp/cb").receiver(), "cursor://anysphere.cursor-mcp");
        assert_eq!(ok("com.example.app:/cb").receiver(), "com.example.app:");
    }

    #[test]
    fn loopback_matches_any_port_others_match_exactly() {
        assert!(ok("http://127.0.0.1/").matches(&ok("http://127.0.0.1:33418/")));
        assert!(ok("http://localhost:1/cb").matches(&ok("http://localhost:2/cb")));
        assert!(!ok("http://localhost:1/cb").matches(&ok("http://localhost:1/other")));
        assert!(!ok("http://localhost/cb").matches(&ok("http://127.0.0.1/cb")));
        assert!(!ok("https://a.example/cb").matches(&ok("https://a.example:444/cb")));
        assert!(!ok("https://a.example/cb").matches(&ok("https://a.example/cb/")));
        assert!(ok("https://a.example/cb").matches(&ok("https://a.example/cb")));
    }

    #[test]
    fn params_are_appended_and_encoded() {
        let u = ok("https://a.example/cb?x=1").with_params(&[("code", "c"), ("state", "a b&\r\n")]);
        assert_eq!(u, "https://a.example/cb?x=1&code=c&state=a+b%26%0D%0A");
    }

    #[test]
    fn csp_source_is_origin_or_scheme() {
        assert_eq!(ok("http://localhost:6274/cb").csp_source(), "http://localhost:6274");
        assert_eq!(ok("cursor://anysphere.cursor-mcp/cb").csp_source(), "cursor:");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,120}") {
            let _ = RedirectUri::parse(&s);
        }

        #[test]
        fn accepted_uris_have_no_controls_or_fragment(s in "(https?|javascript|cursor)://[a-z0-9.@:/#%?\\\\ ]{0,40}") {
            if let Ok(u) = RedirectUri::parse(&s) {
                prop_assert!(!u.as_str().bytes().any(|b| b < 0x21));
                prop_assert!(u.url().fragment().is_none());
                prop_assert!(u.url().username().is_empty());
            }
        }
    }
}
