//! Absolute URLs: a strict subset of the WHATWG URL standard, read the way
//! browsers read them, instead of the `url` crate (with its host and IDNA
//! code, 8% of the Worker's WASM).
//!
//! Every URL this parser accepts, the `url` crate reads to the very same
//! serialization and parts (the tests check it on generated input), so
//! what we decide about a URL is what a browser will do with it. Where the
//! standard rewrites its input in ways that are rarely meant and easy to
//! misjudge, this parser refuses instead:
//!
//! - white space, control characters, backslashes and non-ASCII hosts
//!   (browsers send internationalized hosts as `xn--` punycode);
//! - a special scheme (`http`, `https`, `ws`, `wss`, `ftp`) without `//`
//!   or with more slashes, and `file:`;
//! - `%` in a host, an empty host, a host starting with `.`, characters
//!   other than letters, digits, `-`, `.`, `_` in a web host;
//! - any host whose last label starts with a digit but is not a plain
//!   dotted quad (`127.1`, `0x7f.0.0.1`, `010.0.0.1`);
//! - `.` and `..` path segments (also percent-encoded).
//!
//! What the standard normalizes and this parser does the same way: the
//! scheme and a web host to lower case, a default port left out, an empty
//! web path as `/`, IPv6 literals in their shortest form, and characters a
//! URL may not hold percent-encoded (`"`, `<`, `>`, `` ` ``, `{`, `}`,
//! non-ASCII; `'` in the query of a web URL).

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::protocol::text::find_any;

/// A parsed absolute URL (see the module documentation for what parses).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url {
    serialization: String,
    /// The end of the scheme (the index of its `:`).
    scheme_end: usize,
    /// Where the username starts and the host starts and ends (`None`
    /// without an authority).
    authority: Option<Authority>,
    host: HostKind,
    port: Option<u16>,
    path_start: usize,
    query_start: Option<usize>,
    fragment_start: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Authority {
    username_end: usize,
    password_end: usize,
    host_start: usize,
    host_end: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum HostKind {
    None,
    Domain,
    Opaque,
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

/// A URL's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain (lower case) or, for a non-web scheme, an opaque host (as
    /// written).
    Domain(&'a str),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

/// Why a URL did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError(&'static str);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ParseError {}

/// The default port of a special scheme; `None` for other schemes.
fn special_port(scheme: &str) -> Option<Option<u16>> {
    match scheme {
        "http" | "ws" => Some(Some(80)),
        "https" | "wss" => Some(Some(443)),
        "ftp" => Some(Some(21)),
        _ => None,
    }
}

/// Appends `part`, percent-encoding non-ASCII bytes and the ASCII bytes in
/// `encode`; a run of bytes that need none is copied at once.
fn push_encoded(out: &mut String, part: &str, encode: &[u8]) {
    let mut start = 0;
    for (i, &b) in part.as_bytes().iter().enumerate() {
        if b.is_ascii() && !encode.contains(&b) {
            continue;
        }
        // Bytes before `i` since `start` are ASCII, so both are boundaries.
        if start < i {
            out.push_str(&part[start..i]);
        }
        push_percent(out, b);
        start = i + 1;
    }
    if start < part.len() {
        out.push_str(&part[start..]);
    }
}

/// Appends `text` in ASCII lower case.
fn push_lowercase(out: &mut String, text: &str) {
    out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
}

/// Appends `n` in decimal (a port), without the formatting machinery.
fn push_decimal(out: &mut String, n: u16) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
}

/// Appends `%XX` for `b`, upper-case hex as the URL standard writes it.
fn push_percent(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

fn is_dot_segment(segment: &str) -> bool {
    [".", "%2e", "..", ".%2e", "%2e.", "%2e%2e"].iter().any(|dot| segment.eq_ignore_ascii_case(dot))
}

/// A canonical dotted quad: four decimal numbers 0-255, no leading zero.
fn dotted_quad(host: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = host.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.starts_with('0')) {
            return None;
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// An IPv6 address in its text form (RFC 4291 §2.2): eight groups of 1 to
/// 4 hex digits, one `::` standing for the zero groups it leaves out. The
/// form with a trailing dotted IPv4 address is refused.
pub(crate) fn parse_ipv6(text: &str) -> Option<Ipv6Addr> {
    let groups = |part: &str| -> Option<Vec<u16>> {
        if part.is_empty() {
            return Some(Vec::new());
        }
        part.split(':')
            .map(|g| {
                let hex = (1..=4).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit());
                hex.then(|| u16::from_str_radix(g, 16).ok()).flatten()
            })
            .collect()
    };
    let mut pieces = [0u16; 8];
    match text.split_once("::") {
        None => pieces.copy_from_slice(&groups(text).filter(|g| g.len() == 8)?),
        Some((head, tail)) => {
            let (head, tail) = (groups(head)?, groups(tail)?);
            if head.len() + tail.len() > 7 {
                return None;
            }
            pieces[..head.len()].copy_from_slice(&head);
            pieces[8 - tail.len()..].copy_from_slice(&tail);
        }
    }
    Some(Ipv6Addr::from(pieces))
}

/// The WHATWG serialization of an IPv6 address: the longest run of two or
/// more zero pieces (the first, on a tie) as `::`, lower-case hex.
fn write_ipv6(out: &mut String, ip: Ipv6Addr) {
    let pieces = ip.segments();
    let (mut best, mut best_len, mut i) = (None, 1, 0);
    while i < 8 {
        if pieces[i] == 0 {
            let start = i;
            while i < 8 && pieces[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = Some(start);
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    out.push('[');
    let mut i = 0;
    while i < 8 {
        if Some(i) == best {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += best_len;
            continue;
        }
        let _ = write!(out, "{:x}", pieces[i]);
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
    out.push(']');
}

impl Url {
    /// Parses an absolute URL.
    pub fn parse(input: &str) -> Result<Url, ParseError> {
        let invalid = ParseError("not an absolute URL this server accepts");
        if input.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\') {
            return Err(ParseError("a URL must not contain white space, control characters or backslashes"));
        }
        let colon = input.find(':').ok_or(invalid)?;
        let scheme = &input[..colon];
        let mut bytes = scheme.bytes();
        if !bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            || !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(invalid);
        }
        let mut out = String::with_capacity(input.len() + 1);
        push_lowercase(&mut out, scheme);
        let scheme_end = out.len();
        if &out[..scheme_end] == "file" {
            return Err(invalid);
        }
        let default_port = special_port(&out[..scheme_end]);
        let special = default_port.is_some();
        let mut rest = &input[colon + 1..];
        out.push(':');

        let (mut authority, mut host, mut port) = (None, HostKind::None, None);
        if let Some(after) = rest.strip_prefix("//") {
            let end = find_any(after, b"/?#").unwrap_or(after.len());
            let (auth, tail) = after.split_at(end);
            out.push_str("//");
            let (a, h, p) = Url::authority(auth, special, default_port.flatten(), &mut out)?;
            (authority, host, port) = (Some(a), h, p);
            rest = tail;
        } else if special {
            return Err(invalid);
        }

        let path_start = out.len();
        let path_end = find_any(rest, b"?#").unwrap_or(rest.len());
        let (path, mut rest) = rest.split_at(path_end);
        let opaque = authority.is_none() && !path.starts_with('/');
        if opaque {
            // `mailto:x`: kept as written, but for non-ASCII.
            push_encoded(&mut out, path, b"");
        } else {
            if path.split('/').any(is_dot_segment) {
                return Err(invalid);
            }
            if special && path.is_empty() {
                out.push('/');
            }
            push_encoded(&mut out, path, b"\"<>`{}");
        }

        let mut query_start = None;
        if let Some(after) = rest.strip_prefix('?') {
            let end = after.find('#').unwrap_or(after.len());
            let query = &after[..end];
            query_start = Some(out.len());
            out.push('?');
            push_encoded(&mut out, query, if special { b"\"<>'" } else { b"\"<>" });
            rest = &after[end..];
        }
        let mut fragment_start = None;
        if let Some(fragment) = rest.strip_prefix('#') {
            fragment_start = Some(out.len());
            out.push('#');
            push_encoded(&mut out, fragment, b"\"<>`");
        }
        Ok(Url { serialization: out, scheme_end, authority, host, port, path_start, query_start, fragment_start })
    }

    /// Reads `userinfo@host:port` (after `//`), writing its serialization.
    fn authority(
        auth: &str,
        special: bool,
        default_port: Option<u16>,
        out: &mut String,
    ) -> Result<(Authority, HostKind, Option<u16>), ParseError> {
        let invalid = ParseError("not a URL authority this server accepts");
        let (userinfo, hostport) = match auth.rfind('@') {
            Some(at) => (Some(&auth[..at]), &auth[at + 1..]),
            None => (None, auth),
        };
        let user_start = out.len();
        let (mut username_end, mut password_end) = (user_start, user_start);
        if let Some(userinfo) = userinfo {
            let ok = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b));
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            if !ok(user) || !ok(password) {
                return Err(invalid);
            }
            out.push_str(user);
            username_end = out.len();
            if !password.is_empty() {
                out.push(':');
                out.push_str(password);
            }
            password_end = out.len();
            if !user.is_empty() || !password.is_empty() {
                out.push('@');
            }
        }
        let (host_text, port_text) = if hostport.starts_with('[') {
            let close = hostport.find(']').ok_or(invalid)?;
            let tail = &hostport[close + 1..];
            let port = match tail.strip_prefix(':') {
                Some(p) => Some(p),
                None if tail.is_empty() => None,
                None => return Err(invalid),
            };
            (&hostport[..=close], port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host_text.is_empty() {
            return Err(invalid);
        }
        let host_start = out.len();
        let host = if let Some(inner) = host_text.strip_prefix('[') {
            let ip = inner.strip_suffix(']').and_then(parse_ipv6).ok_or(invalid)?;
            write_ipv6(out, ip);
            HostKind::Ipv6(ip)
        } else if special {
            let ok = host_text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !ok || host_text.starts_with('.') {
                return Err(invalid);
            }
            push_lowercase(out, host_text);
            let host = &out[host_start..];
            // The standard reads a host whose last label (before a final
            // dot) is a number as IPv4, in many notations.
            let last = host.strip_suffix('.').unwrap_or(host).rsplit('.').next().unwrap_or_default();
            if last.starts_with(|c: char| c.is_ascii_digit()) {
                HostKind::Ipv4(dotted_quad(host).ok_or(invalid)?)
            } else {
                HostKind::Domain
            }
        } else {
            // An opaque host (`cursor://Anysphere.cursor-mcp`): case kept,
            // non-ASCII percent-encoded, as the standard does.
            let ok = host_text
                .bytes()
                .all(|b| !b.is_ascii() || b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b));
            if !ok {
                return Err(invalid);
            }
            push_encoded(out, host_text, b"");
            HostKind::Opaque
        };
        let host_end = out.len();
        let mut port = None;
        if let Some(p) = port_text.filter(|p| !p.is_empty()) {
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid);
            }
            let digits = p.trim_start_matches('0');
            let n: u16 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| invalid)? };
            if Some(n) != default_port {
                out.push(':');
                push_decimal(out, n);
                port = Some(n);
            }
        }
        Ok((Authority { username_end, password_end, host_start, host_end }, host, port))
    }

    /// The whole URL.
    pub fn as_str(&self) -> &str {
        &self.serialization
    }

    /// The scheme, lower case.
    pub fn scheme(&self) -> &str {
        &self.serialization[..self.scheme_end]
    }

    fn is_special(&self) -> bool {
        special_port(self.scheme()).is_some()
    }

    /// The username (empty when there is none).
    pub fn username(&self) -> &str {
        match self.authority {
            Some(a) => &self.serialization[self.scheme_end + 3..a.username_end],
            None => "",
        }
    }

    /// The password, if there is one.
    pub fn password(&self) -> Option<&str> {
        let a = self.authority?;
        (a.password_end > a.username_end).then(|| &self.serialization[a.username_end + 1..a.password_end])
    }

    /// The host as written in the URL (IPv6 in brackets), if it has one.
    pub fn host_str(&self) -> Option<&str> {
        self.authority.map(|a| &self.serialization[a.host_start..a.host_end])
    }

    /// The host, if it has one.
    pub fn host(&self) -> Option<Host<'_>> {
        match self.host {
            HostKind::None => None,
            HostKind::Domain | HostKind::Opaque => self.host_str().map(Host::Domain),
            HostKind::Ipv4(ip) => Some(Host::Ipv4(ip)),
            HostKind::Ipv6(ip) => Some(Host::Ipv6(ip)),
        }
    }

    /// `host[:port]` as a person reads where something goes: the port only
    /// when it is not the scheme's default.
    pub fn host_port(&self) -> Option<String> {
        let host = self.host_str()?;
        Some(match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        })
    }

    /// The port, unless it is the scheme's default (or absent).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path (`/` at least for web URLs).
    pub fn path(&self) -> &str {
        let end = self.query_start.or(self.fragment_start).unwrap_or(self.serialization.len());
        &self.serialization[self.path_start..end]
    }

    /// The query after `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        let start = self.query_start?;
        Some(&self.serialization[start + 1..self.fragment_start.unwrap_or(self.serialization.len())])
    }

    /// The fragment after `#`, if there is one.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment_start.map(|start| &self.serialization[start + 1..])
    }

    /// Whether the URL has an opaque path (`mailto:x`, `urn:x`): no
    /// authority and a path that does not start with `/`.
    pub fn cannot_be_a_base(&self) -> bool {
        self.authority.is_none() && !self.path().starts_with('/')
    }

    /// The ASCII serialization of the origin: `scheme://host[:port]` for
    /// web URLs, `null` for any other scheme (an opaque origin).
    pub fn origin(&self) -> String {
        match self.authority {
            Some(_) if self.is_special() => {
                let mut origin = format!("{}://{}", self.scheme(), self.host_str().unwrap_or_default());
                if let Some(port) = self.port {
                    let _ = write!(origin, ":{port}");
                }
                origin
            }
            _ => "null".into(),
        }
    }

    /// The same URL without its port.
    pub fn without_port(&self) -> String {
        match (self.authority, self.port) {
            (Some(a), Some(_)) => {
                format!("{}{}", &self.serialization[..a.host_end], &self.serialization[self.path_start..])
            }
            _ => self.serialization.clone(),
        }
    }

    /// The URL with `pairs` appended to its query (form-urlencoded), as
    /// an authorization response is built on a redirect URI.
    pub fn with_query_pairs(&self, pairs: &[(&str, &str)]) -> String {
        let (before, fragment) = match self.fragment_start {
            Some(start) => self.serialization.split_at(start),
            None => (self.serialization.as_str(), ""),
        };
        let mut out = before.to_string();
        let first = match self.query() {
            None => {
                out.push('?');
                true
            }
            Some(q) => q.is_empty(),
        };
        if !pairs.is_empty() {
            if !first {
                out.push('&');
            }
            out.push_str(&form_encode_pairs(pairs));
        }
        out.push_str(fragment);
        out
    }
}

/// `name=value&…`, each form-encoded ([`form_encode`]).
pub fn form_encode_pairs(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_form_encoded(&mut out, name);
        out.push('=');
        push_form_encoded(&mut out, value);
    }
    out
}

/// `application/x-www-form-urlencoded` encoding of one name or value:
/// letters, digits and `*-._` as they are, space as `+`, every other byte
/// as `%XX`.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_form_encoded(&mut out, text);
    out
}

fn push_form_encoded(out: &mut String, text: &str) {
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => push_percent(out, b),
        }
    }
}

impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Url({:?})", self.serialization)
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.serialization)
    }
}

impl std::str::FromStr for Url {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Url, ParseError> {
        Url::parse(s)
    }
}

impl From<Url> for String {
    fn from(url: Url) -> String {
        url.serialization
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ours against the `url` crate: every part the same.
    fn agrees(input: &str) -> Result<(), String> {
        let Ok(ours) = Url::parse(input) else { return Ok(()) };
        let theirs = url::Url::parse(input).map_err(|e| format!("{input:?}: we accept, url refuses ({e})"))?;
        let same = ours.as_str() == theirs.as_str()
            && ours.scheme() == theirs.scheme()
            && ours.username() == theirs.username()
            && ours.password() == theirs.password()
            && ours.host_str() == theirs.host_str()
            && ours.port() == theirs.port()
            && ours.path() == theirs.path()
            && ours.query() == theirs.query()
            && ours.fragment() == theirs.fragment()
            && ours.cannot_be_a_base() == theirs.cannot_be_a_base()
            && ours.origin() == theirs.origin().ascii_serialization();
        let hosts = match (ours.host(), theirs.host()) {
            (None, None) => true,
            (Some(Host::Domain(a)), Some(url::Host::Domain(b))) => a == b,
            (Some(Host::Ipv4(a)), Some(url::Host::Ipv4(b))) => a == b,
            (Some(Host::Ipv6(a)), Some(url::Host::Ipv6(b))) => a == b,
            _ => false,
        };
        if !same || !hosts {
            return Err(format!("{input:?}: ours {:?} / url {:?}", ours.as_str(), theirs.as_str()));
        }
        let mut port_less = theirs.clone();
        if port_less.set_port(None).is_ok() && port_less.as_str() != ours.without_port() {
            return Err(format!("{input:?}: without port {:?} / {:?}", ours.without_port(), port_less.as_str()));
        }
        let pairs = [("code", "a b+c/é&="), ("state", "")];
        let mut with = theirs.clone();
        with.query_pairs_mut().extend_pairs(pairs);
        if ours.with_query_pairs(&pairs) != with.as_str() {
            return Err(format!("{input:?}: with pairs {:?} / {:?}", ours.with_query_pairs(&pairs), with.as_str()));
        }
        Ok(())
    }

    #[test]
    fn reads_what_real_clients_send_as_the_url_crate_does() {
        for s in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://chatgpt.com/connector/oauth/abc123",
            "http://localhost:6274/oauth/callback/debug",
            "http://127.0.0.1:33418/",
            "http://127.0.0.1",
            "http://[::1]:8080/cb",
            "http://[0:0:0:0:0:0:0:1]/cb",
            "http://[2001:db8:0:0:1:0:0:1]/",
            "http://[::ffff:102:304]/",
            "http://[1:2:3:4:5:6:7::]/",
            "http://[::]/",
            "http://[0001:0DB8::00]/",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "vscode://vscode.github-authentication/did-authenticate?windowId=1",
            "com.example.app:/cb",
            "mailto:someone@example.com",
            "https://yourapp.com/callback?x=1&y=%20z",
            "HTTPS://MCP.Example:443/mcp",
            "https://mcp.example:8443",
            "https://u:p@mcp.example/",
            "https://@mcp.example/",
            "https://u:@mcp.example/",
            "https://a.example/p\"<>`{}é?q=\"'<>é#f\"<>`é",
            "https://a.example/%zz?%zz=%41#%",
            "https://a.example/?",
            "https://a.example/#",
            "https://a.example/x?a=1#frag",
            "myapp://CaseKept.Host/Path",
            "x-app://%C3%A9.example/cb",
            "x-app://é.example/cb",
            "x-app://a%20b/cb",
            "https://xn--nxasmq6b.example/",
            "https://under_score.example/",
            "http://localhost:0/",
            "http://localhost:00080/",
            "wss://a.example:443/x",
            "ftp://a.example:21/x",
            "https://a..example/",
            "https://a.example./",
            "https://a.example/a^b|c[d]e?q=^|[]{}`#^|[]{}",
        ] {
            assert!(Url::parse(s).is_ok(), "refused {s}");
            agrees(s).unwrap();
        }
        assert_eq!(Url::parse("HTTPS://MCP.Example:443").unwrap().as_str(), "https://mcp.example/");
        assert_eq!(Url::parse("http://[0:0:0:0:0:0:0:1]/").unwrap().host_str(), Some("[::1]"));
    }

    #[test]
    fn refuses_what_browsers_would_rewrite_in_surprising_ways() {
        for s in [
            "",
            "/relative",
            "relative/path",
            "1http://a.example/",
            "https:a.example",
            "https:/a.example",
            "https:///a.example",
            "https://",
            "https://a.example:99999/",
            "https://a.example:x/",
            "https://a b.example/",
            "https://a.example/ x",
            "https://a.example\\@b.example/",
            "https://a.example/\t",
            "https://%61.example/",
            "https://a%2eexample/",
            "https://é.example/",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://010.0.0.1/",
            "http://1.2.3.256/",
            "http://1.2.3.4.5/",
            "http://example.123/",
            "http://1.2.3.4./",
            "https://.a.example/",
            "https://a.example/./x",
            "https://a.example/x/../y",
            "https://a.example/%2e%2E/y",
            "https://[::1/",
            "https://[::1]x/",
            "https://[fe80::1%25eth0]/",
            "http://[::ffff:1.2.3.4]/",
            "http://[1::2::3]/",
            "http://[:::]/",
            "http://[12345::]/",
            "http://[1:2:3:4:5:6:7:8:9]/",
            "http://[1:2:3:4:5:6:7]/",
            "http://[1:2:3:4:5:6:7:8::]/",
            "file:///etc/passwd",
            "cursor:///callback",
            "cursor://a b/",
            "https://a@b@c.example/",
            "https://a.example/?\u{7f}",
        ] {
            assert!(Url::parse(s).is_err(), "accepted {s:?}");
        }
    }

    #[test]
    fn parts_read_back() {
        let u = Url::parse("https://u:p@MCP.example:8443/a/b?x=1&y=%41+b#f").unwrap();
        assert_eq!(u.as_str(), "https://u:p@mcp.example:8443/a/b?x=1&y=%41+b#f");
        assert_eq!((u.scheme(), u.username(), u.password()), ("https", "u", Some("p")));
        assert_eq!((u.host(), u.port()), (Some(Host::Domain("mcp.example")), Some(8443)));
        assert_eq!((u.path(), u.query(), u.fragment()), ("/a/b", Some("x=1&y=%41+b"), Some("f")));
        assert_eq!(u.origin(), "https://mcp.example:8443");
        assert_eq!(u.without_port(), "https://u:p@mcp.example/a/b?x=1&y=%41+b#f");
        assert_eq!(Url::parse("http://127.0.0.1:9/").unwrap().host(), Some(Host::Ipv4(Ipv4Addr::LOCALHOST)));
        assert_eq!(Url::parse("myapp:/cb").unwrap().origin(), "null");
        assert!(Url::parse("mailto:x").unwrap().cannot_be_a_base());
        assert_eq!("https://a.example".parse::<Url>().unwrap().to_string(), "https://a.example/");
    }

    /// Each input is read, and as the url crate reads it.
    fn read_as_the_url_crate_reads(inputs: &[&str]) {
        for s in inputs {
            assert!(Url::parse(s).is_ok(), "{s:?} is read");
            agrees(s).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn non_ascii_and_reserved_bytes_are_encoded_as_the_url_crate_encodes_them() {
        read_as_the_url_crate_reads(&[
            "https://a.example/é€😀/x?q=\"é€\"&r='<>'#f€`x",
            "cursor://cb/path€?é",
            "https://a.example/%E2%82%AC€?%25",
            "https://a.example/é\u{2028}x",
        ]);
        let url = Url::parse("https://a.example/€?é").map(|u| u.to_string()).ok();
        assert_eq!(url.as_deref(), Some("https://a.example/%E2%82%AC?%C3%A9"));
    }

    #[test]
    fn ports_schemes_and_hosts_are_written_as_the_url_crate_writes_them() {
        read_as_the_url_crate_reads(&[
            "HTTP://LocalHost:0/",
            "http://127.0.0.1:8787/x",
            "https://A.Example:65535/",
            "https://a.example:443/",
            "http://a.example:00080/",
            "wss://a.example:9/",
            "ftp://a.example:21/",
            "Custom+X.y-z://Host:1/",
        ]);
        assert!(Url::parse("https://a.example:65536/").is_err());
        for dot in ["/a/%2E/b", "/a/.%2E/b", "/%2e%2E/x", "/./x"] {
            assert!(Url::parse(&format!("https://a.example{dot}")).is_err(), "{dot} is refused");
        }
    }

    #[test]
    fn form_encoding_is_the_url_crates() {
        let text = "a b+c/é&=*-._~!";
        assert_eq!(form_encode(text), url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>());
    }

    proptest! {
        #[test]
        fn any_text_never_panics(s in "\\PC{0,60}") {
            let _ = Url::parse(&s);
        }

        /// IPv6 text: we read exactly what the standard library reads (but
        /// the dotted IPv4 tail we refuse), to the same address.
        #[test]
        fn ipv6_reads_as_the_standard_library_reads(text in "[0-9a-fA-F:]{0,3}(:[0-9a-fA-F]{0,5}){0,9}") {
            let std_reads = text.parse::<Ipv6Addr>().ok();
            prop_assert_eq!(parse_ipv6(&text), std_reads, "{}", text);
        }

        /// URL-shaped text: whatever we accept, the url crate reads the
        /// same way, part by part.
        #[test]
        fn what_we_accept_the_url_crate_reads_the_same(
            scheme in "(https?|HTTPS|wss?|ftp|cursor|vscode|com\\.ex\\.app|x-y\\+z)",
            slashes in "(//|/|)",
            user in "([a-z%:@]{0,3}@)?",
            host in "([a-zA-Z0-9_.%é-]{0,12}|\\[[0-9a-f:.]{2,20}\\]|[0-9]{1,3}(\\.[0-9]{1,3}){0,4})",
            port in "(:[0-9]{0,6})?",
            path in "(/[a-zA-Z0-9._~%!$&'()*+,;=:@\"<>`{}é^|\\[\\]-]{0,6}){0,3}",
            query in "(\\?[a-zA-Z0-9._%&=+'\"<>é/?^|{}\\[\\]`-]{0,10})?",
            fragment in "(#[a-zA-Z0-9%\"<>`é#?/^|{}\\[\\]-]{0,6})?",
        ) {
            let input = format!("{scheme}:{slashes}{user}{host}{port}{path}{query}{fragment}");
            if let Err(e) = agrees(&input) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}
