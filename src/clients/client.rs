//! Who a `client_id` is, and which redirect URIs it may use.
//!
//! Stateless, like the original: a client registered with redirect URIs on
//! one host and no name gets that host as its `client_id` (and may then use
//! any redirect URI on that host, as the original allowed). Any other
//! registration gets a self-contained, HMAC-signed `client_id` carrying its
//! exact redirect URIs and name, so nothing is stored per client.

use subtle::ConstantTimeEq;

use crate::crypto::seal::Keys;
use crate::protocol::encoding::{b64url, from_b64url};
use crate::protocol::redirect::{RedirectUri, Refusal};

const SIGNED_PREFIX: &str = "pc1.";
/// Bytes of HMAC tag kept in a signed client id (128 bits).
const TAG_LEN: usize = 16;
/// The longest client name we keep, in characters.
pub const MAX_CLIENT_NAME: usize = 100;

/// A client as resolved from its `client_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    /// The original provider's scheme: the client is a host name and may
    /// redirect anywhere on that host.
    Host(String),
    /// A registration carried inside the signed `client_id`, or read from
    /// a client metadata document.
    Registered {
        /// Exactly these redirect URIs (loopback ones on any port).
        redirect_uris: Vec<RedirectUri>,
        /// The name the client gave itself (unverified).
        name: Option<String>,
        /// The grant types it registered; `None`: any (an id signed before
        /// ids carried them, or a metadata document).
        grant_types: Option<GrantTypes>,
    },
}

/// The grant types a registration may use, as a signed id carries them:
/// one letter each (`c` authorization_code, `r` refresh_token, `d` the
/// device grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantTypes {
    code: bool,
    refresh: bool,
    device: bool,
}

impl GrantTypes {
    const LETTERS: [(char, &'static str); 3] =
        [('c', "authorization_code"), ('r', "refresh_token"), ('d', crate::endpoints::token::DEVICE_CODE_GRANT)];

    /// The set of `grant_types` (names /token does not know are left out).
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> GrantTypes {
        let mut g = GrantTypes { code: false, refresh: false, device: false };
        for name in names {
            match name {
                "authorization_code" => g.code = true,
                "refresh_token" => g.refresh = true,
                n if n == crate::endpoints::token::DEVICE_CODE_GRANT => g.device = true,
                _ => {}
            }
        }
        g
    }

    /// Whether `grant_type` is one of them.
    pub fn contains(&self, grant_type: &str) -> bool {
        let g = GrantTypes::of([grant_type]);
        (g.code && self.code) || (g.refresh && self.refresh) || (g.device && self.device)
    }

    fn flags(&self) -> [bool; 3] {
        [self.code, self.refresh, self.device]
    }

    fn letters(&self) -> String {
        Self::LETTERS.iter().zip(self.flags()).filter(|(_, on)| *on).map(|((l, _), _)| *l).collect()
    }

    fn from_letters(letters: &str) -> Option<GrantTypes> {
        let known = letters.chars().all(|c| Self::LETTERS.iter().any(|(l, _)| *l == c));
        let names = Self::LETTERS.iter().filter(|(l, _)| letters.contains(*l)).map(|(_, name)| *name);
        known.then(|| GrantTypes::of(names))
    }
}

struct SignedPayload {
    r: Vec<String>,
    n: Option<String>,
    g: Option<String>,
}

/// `{"r":[…],"n":"…","g":"cr"}`: the bytes a signed `client_id` carries (so
/// the same registration always gets the same id).
impl crate::json::ToJson for SignedPayload {
    fn to_json(&self) -> crate::json::Value {
        let mut o = crate::json::Object::new();
        o.insert("r", self.r.as_slice());
        o.insert_some("n", self.n.as_deref());
        o.insert_some("g", self.g.as_deref());
        o.into()
    }
}

impl crate::json::FromJson for SignedPayload {
    fn from_json(value: &crate::json::Value) -> Result<SignedPayload, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        Ok(SignedPayload { r: f.read("r")?, n: f.opt_str("n")?, g: f.opt_str("g")? })
    }
}

impl Client {
    /// The `client_id` for a registration: the shared host of web redirect
    /// URIs when there is one and no name (the original's scheme, which
    /// carries no grant types: any), otherwise a signed id carrying the
    /// redirect URIs, the name and `grant_types`.
    pub fn client_id_for(
        redirect_uris: &[RedirectUri],
        name: Option<&str>,
        grant_types: GrantTypes,
        keys: &Keys,
    ) -> String {
        let hosts: Vec<Option<String>> = redirect_uris.iter().map(RedirectUri::web_host).collect();
        if let (Some(Some(first)), None) = (hosts.first(), name) {
            if hosts.iter().all(|h| h.as_deref() == Some(first.as_str())) {
                return first.clone();
            }
        }
        let payload = SignedPayload {
            r: redirect_uris.iter().map(|u| u.as_str().to_string()).collect(),
            n: name.map(str::to_string),
            g: Some(grant_types.letters()),
        };
        let body = b64url(crate::json::encode(&payload).as_bytes());
        let tag = keys.macs(body.as_bytes()).next().expect("current key");
        format!("{SIGNED_PREFIX}{body}.{}", b64url(&tag[..TAG_LEN]))
    }

    /// Whether `client_id` is a signed registration (not a hostname or a
    /// metadata document URL).
    pub fn is_signed_id(client_id: &str) -> bool {
        client_id.starts_with(SIGNED_PREFIX)
    }

    /// Resolves a `client_id` sent to /authorize or /token.
    pub fn resolve(client_id: &str, keys: &Keys) -> Result<Client, Refusal> {
        if let Some(rest) = client_id.strip_prefix(SIGNED_PREFIX) {
            return Self::resolve_signed(rest, keys);
        }
        if is_host_name(client_id) {
            return Ok(Client::Host(client_id.to_ascii_lowercase()));
        }
        Err("client_id is not a registered client")
    }

    fn resolve_signed(rest: &str, keys: &Keys) -> Result<Client, Refusal> {
        let invalid = "client_id is not a valid registration (was it issued by this server?)";
        let (body, tag) = rest.split_once('.').ok_or(invalid)?;
        let tag = from_b64url(tag).filter(|t| t.len() == TAG_LEN).ok_or(invalid)?;
        if !keys.macs(body.as_bytes()).any(|t| bool::from(t[..TAG_LEN].ct_eq(&tag))) {
            return Err(invalid);
        }
        let payload: SignedPayload = from_b64url(body).and_then(|b| crate::json::from_slice(&b).ok()).ok_or(invalid)?;
        // None for a device's registration (the device grant only): no
        // redirect URI matches, so /authorize refuses it.
        let redirect_uris =
            payload.r.iter().map(|u| RedirectUri::parse(u)).collect::<Result<Vec<_>, _>>().map_err(|_| invalid)?;
        // A name signed before the displayable rule grew (a format character
        // then let through) is not shown: the page names the host alone.
        let grant_types = match payload.g.as_deref() {
            Some(letters) => Some(GrantTypes::from_letters(letters).ok_or(invalid)?),
            None => None,
        };
        Ok(Client::Registered { redirect_uris, name: payload.n.filter(|n| is_displayable_name(n)), grant_types })
    }

    /// Checks that `uri` may receive this client's codes.
    pub fn allows(&self, uri: &RedirectUri) -> Result<(), Refusal> {
        let ok = match self {
            Client::Host(host) => uri.web_host().as_deref() == Some(host.as_str()),
            Client::Registered { redirect_uris, .. } => redirect_uris.iter().any(|r| r.matches(uri)),
        };
        if ok {
            Ok(())
        } else {
            Err("redirect_uri is not registered for this client")
        }
    }

    /// The redirect URI to use when the request names none: only a
    /// registration with exactly one URI has a default.
    pub fn default_redirect(&self) -> Option<&RedirectUri> {
        match self {
            Client::Registered { redirect_uris, .. } if redirect_uris.len() == 1 => redirect_uris.first(),
            _ => None,
        }
    }

    /// Whether the client registered `grant_type` (RFC 7591 §2): a client
    /// whose id carries no grant types may use any.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        match self {
            Client::Registered { grant_types: Some(g), .. } => g.contains(grant_type),
            _ => true,
        }
    }

    /// The client's self-declared name.
    pub fn name(&self) -> Option<&str> {
        match self {
            Client::Registered { name, .. } => name.as_deref(),
            Client::Host(_) => None,
        }
    }
}

/// Whether a self-declared client name may be shown: 1 to 100 characters,
/// no control characters and no bidirectional or invisible formatting
/// characters (which could hide or visually reorder the page's text:
/// [`crate::protocol::shown::is_hidden`]).
pub fn is_displayable_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= MAX_CLIENT_NAME
        && !name.chars().any(crate::protocol::shown::is_hidden)
}

/// A DNS name or IP literal as the URL parser prints hosts (lower case,
/// punycode, IPv6 in brackets).
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret::Secret;

    fn keys() -> Keys {
        Keys::derive(&Secret::new(&"s".repeat(40)).unwrap(), None)
    }

    fn cr() -> GrantTypes {
        GrantTypes::of(["authorization_code", "refresh_token"])
    }

    fn uris(list: &[&str]) -> Vec<RedirectUri> {
        list.iter().map(|u| RedirectUri::parse(u).unwrap()).collect()
    }

    #[test]
    fn single_host_without_name_is_the_hostname() {
        let id = Client::client_id_for(&uris(&["https://yourapp.com/callback"]), None, cr(), &keys());
        assert_eq!(id, "yourapp.com");
        let c = Client::resolve(&id, &keys()).unwrap();
        assert!(c.allows(&RedirectUri::parse("https://yourapp.com/other").unwrap()).is_ok());
        assert!(c.allows(&RedirectUri::parse("https://evil.example/callback").unwrap()).is_err());
        assert!(c.allows(&RedirectUri::parse("https://sub.yourapp.com/callback").unwrap()).is_err());
        assert!(c.allows(&RedirectUri::parse("myapp://yourapp.com/callback").unwrap()).is_err(), "web schemes only");
    }

    #[test]
    fn names_with_bidi_or_control_characters_are_not_displayable() {
        assert!(is_displayable_name("Claude"));
        assert!(is_displayable_name("Visual Studio Code – Insiders"));
        for bad in ["", "  ", "evil\u{202E}edoC", "a\u{2066}b", "zero\u{200B}width", "nl\n", &"x".repeat(101)] {
            assert!(!is_displayable_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_client_name_with_format_characters_outside_the_bidi_set_was_shown() {
        for bad in ["soft\u{AD}hyphen", "tag\u{E0041}smuggled", "mongolian\u{180E}", "filler\u{3164}", "line\u{2028}"] {
            assert!(!is_displayable_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_name_signed_before_the_rule_grew_was_still_shown() {
        let id = Client::client_id_for(
            &uris(&["https://a.example/cb", "https://b.example/cb"]),
            Some("x\u{E0041}"),
            cr(),
            &keys(),
        );
        let c = Client::resolve(&id, &keys()).unwrap();
        assert_eq!(c.name(), None);
        assert!(c.allows(&RedirectUri::parse("https://a.example/cb").unwrap()).is_ok(), "the client still works");
    }

    #[test]
    fn private_use_registration_is_signed() {
        let id = Client::client_id_for(&uris(&["cursor://Anysphere.cursor-mcp/cb"]), None, cr(), &keys());
        assert!(id.starts_with(SIGNED_PREFIX));
        let c = Client::resolve(&id, &keys()).unwrap();
        assert!(c.allows(&RedirectUri::parse("cursor://Anysphere.cursor-mcp/cb").unwrap()).is_ok());
    }

    #[test]
    fn multi_host_registration_is_signed_and_exact() {
        let list = [
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "https://www.cursor.com/agents/mcp/oauth/callback",
            "http://localhost:8787/callback",
        ];
        let id = Client::client_id_for(&uris(&list), None, cr(), &keys());
        assert!(id.starts_with("pc1."));
        let c = Client::resolve(&id, &keys()).unwrap();
        for u in list {
            assert!(c.allows(&RedirectUri::parse(u).unwrap()).is_ok(), "{u}");
        }
        assert!(c.allows(&RedirectUri::parse("http://localhost:9999/callback").unwrap()).is_ok());
        assert!(c.allows(&RedirectUri::parse("https://www.cursor.com/other").unwrap()).is_err());
    }

    #[test]
    fn named_client_keeps_its_name() {
        let id =
            Client::client_id_for(&uris(&["https://claude.ai/api/mcp/auth_callback"]), Some("Claude"), cr(), &keys());
        assert_eq!(Client::resolve(&id, &keys()).unwrap().name(), Some("Claude"));
    }

    #[test]
    fn forged_or_foreign_signed_id_is_refused() {
        let id = Client::client_id_for(&uris(&["https://a.example/cb"]), Some("A"), cr(), &keys());
        let other = Keys::derive(&Secret::new(&"t".repeat(40)).unwrap(), None);
        assert!(Client::resolve(&id, &other).is_err());
        let (body, _) = id.trim_start_matches(SIGNED_PREFIX).split_once('.').unwrap();
        let forged = format!("{SIGNED_PREFIX}{body}.{}", b64url(&[0u8; TAG_LEN]));
        assert!(Client::resolve(&forged, &keys()).is_err());
        for bad in ["pc1.", "pc1.x", "pc1.x.y", "pc1..", "has space", "a/b", ""] {
            assert!(Client::resolve(bad, &keys()).is_err(), "{bad}");
        }
    }

    /// Regression: the registered `grant_types` were not carried, so a
    /// client registered for the code flow alone could start the device
    /// flow (RFC 7591 §2: the grant types it may use).
    #[test]
    fn a_client_used_grant_types_it_never_registered() {
        let code_only = GrantTypes::of(["authorization_code"]);
        let id = Client::client_id_for(&uris(&["https://a.example/cb"]), Some("A"), code_only, &keys());
        let c = Client::resolve(&id, &keys()).unwrap();
        assert!(c.allows_grant("authorization_code"));
        assert!(!c.allows_grant("refresh_token"));
        assert!(!c.allows_grant(crate::endpoints::token::DEVICE_CODE_GRANT));
        let all =
            GrantTypes::of(["refresh_token", crate::endpoints::token::DEVICE_CODE_GRANT, "authorization_code", "x"]);
        let id = Client::client_id_for(&uris(&["https://a.example/cb"]), Some("A"), all, &keys());
        assert!(Client::resolve(&id, &keys()).unwrap().allows_grant(crate::endpoints::token::DEVICE_CODE_GRANT));
        // Ids signed before ids carried grant types, and the original's
        // hostname ids, may use any.
        let body = b64url(br#"{"r":["https://a.example/cb"],"n":"A"}"#);
        let tag = keys().macs(body.as_bytes()).next().unwrap();
        let legacy = format!("{SIGNED_PREFIX}{body}.{}", b64url(&tag[..TAG_LEN]));
        assert!(Client::resolve(&legacy, &keys()).unwrap().allows_grant("refresh_token"));
        assert!(Client::Host("a.example".into()).allows_grant(crate::endpoints::token::DEVICE_CODE_GRANT));
        // A letter this server does not know: not one of its ids.
        let body = b64url(br#"{"r":["https://a.example/cb"],"g":"cx"}"#);
        let tag = keys().macs(body.as_bytes()).next().unwrap();
        assert!(Client::resolve(&format!("{SIGNED_PREFIX}{body}.{}", b64url(&tag[..TAG_LEN])), &keys()).is_err());
    }
}
