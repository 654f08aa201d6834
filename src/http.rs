//! Plain HTTP values the core works on: no platform types, so the same
//! code runs in workerd and in native tests.

/// The request headers the provider reads (lower case). The Workers
/// adapter copies only these into [`Request::headers`]: each header read
/// from the runtime is a few crossings between JavaScript and WASM, and a
/// browser sends a dozen the provider never looks at. A test checks that
/// every header the crate's code reads is listed.
pub const REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "cf-connecting-ip",
    "content-encoding",
    "content-length",
    "content-type",
    "cookie",
    "origin",
    "sec-fetch-site",
    "user-agent",
];

/// An HTTP request as the provider sees it: method, absolute URL, headers
/// (names compared case-insensitively) and the whole body.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, upper case (`GET`, `POST`, ...).
    pub method: String,
    /// The absolute request URL.
    pub url: crate::Url,
    /// Header names and values in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body, already read (the adapter enforces the size limit).
    pub body: Vec<u8>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: &str, url: crate::Url) -> Self {
        Request { method: method.to_ascii_uppercase(), url, headers: Vec::new(), body: Vec::new() }
    }

    /// The media type of the body (`Content-Type` without parameters), lower case.
    pub fn media_type(&self) -> Option<String> {
        let ct = self.header("content-type")?;
        Some(ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// Whether an `Accept` header asks for an HTML page: `text/html` or
    /// `application/xhtml+xml`, in any case, with a `q` above 0 (RFC 9110
    /// §12.5.1).
    pub fn accepts_html(accept: &str) -> bool {
        accept.split(',').any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let html = media.eq_ignore_ascii_case("text/html") || media.eq_ignore_ascii_case("application/xhtml+xml");
            let refused = parts.any(|p| {
                let p = p.trim();
                let weight = p.get(2..).filter(|_| p[..2].eq_ignore_ascii_case("q="));
                weight.map(str::trim).is_some_and(|q| q.starts_with('0') && q.bytes().all(|b| b == b'0' || b == b'.'))
            });
            html && !refused
        })
    }

    /// The value of one cookie, if the request carries it exactly once.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        let mut found = None;
        for header in self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("cookie")) {
            for pair in header.1.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=') {
                    if k == name {
                        if found.is_some() {
                            return None;
                        }
                        found = Some(v);
                    }
                }
            }
        }
        found
    }

    /// `scheme://host[:port]` of the request URL.
    pub fn origin(&self) -> String {
        self.url.origin()
    }
}

/// The path of an absolute URL as the runtime serializes it
/// (`scheme://authority/path?query`), without parsing it: for routing
/// decisions made before the provider's work starts.
pub fn url_path(url: &str) -> &str {
    use crate::protocol::text::{find, find_any};
    let after_scheme = find(url, "://").map_or(url, |i| &url[i + 3..]);
    match find_any(after_scheme, b"/?#") {
        Some(i) if after_scheme[i..].starts_with('/') => {
            let path = &after_scheme[i..];
            &path[..find_any(path, b"?#").unwrap_or(path.len())]
        }
        _ => "/",
    }
}

/// An HTTP response built by the core.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names and values; `Set-Cookie` may repeat.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    // Bodies can hold an access token: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .finish()
    }
}

impl Response {
    /// An empty response with a status.
    pub fn empty(status: u16) -> Self {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    /// A JSON response.
    pub fn json(status: u16, value: &crate::json::Value) -> Self {
        Response::json_text(status, value.to_string())
    }

    /// A JSON response of JSON text the caller wrote (with `serde_json`,
    /// say).
    pub fn json_text(status: u16, json: String) -> Self {
        Response::empty(status)
            .with_header("content-type", "application/json")
            .with_header("x-content-type-options", "nosniff")
            .with_body(json)
    }

    /// An HTML response.
    pub fn html(status: u16, body: String) -> Self {
        Response::empty(status).with_header("content-type", "text/html; charset=utf-8").with_body(body)
    }

    /// All values of a header (e.g. every `Set-Cookie`).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), for tests and logs of non-secret bodies.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Marks the response as not cacheable (token and page responses).
    pub fn no_store(self) -> Self {
        self.with_header("cache-control", "no-store").with_header("pragma", "no-cache")
    }
}

/// Header and body builders shared by [`Request`] and [`Response`].
macro_rules! message_methods {
    ($t:ty) => {
        impl $t {
            /// Adds a header (builder style).
            pub fn with_header(mut self, name: &str, value: &str) -> Self {
                self.headers.push((name.to_string(), value.to_string()));
                self
            }

            /// Sets the body (builder style).
            pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
                self.body = body.into();
                self
            }

            /// The first value of a header, by case-insensitive name.
            pub fn header(&self, name: &str) -> Option<&str> {
                self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
            }
        }
    };
}

message_methods!(Request);
message_methods!(Response);

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in `text` that code reads from a request: `request.header("…")`,
    /// `self.header("…")` (the request's own helpers) and the header-name
    /// comparisons `n.eq_ignore_ascii_case("…")`.
    fn request_header_reads(text: &str) -> Vec<String> {
        let mut names = Vec::new();
        for pattern in ["request.header(\"", "self.header(\"", "n.eq_ignore_ascii_case(\""] {
            for (i, _) in text.match_indices(pattern) {
                let rest = &text[i + pattern.len()..];
                if let Some(end) = rest.find('"') {
                    names.push(rest[..end].to_string());
                }
            }
        }
        names
    }

    #[test]
    fn every_request_header_the_code_reads_is_one_the_adapter_copies() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let mut seen = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // The code, not its tests (which build requests with any header).
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for name in request_header_reads(code) {
                seen += 1;
                assert!(
                    REQUEST_HEADERS.contains(&name.to_ascii_lowercase().as_str()),
                    "{} reads the request header {name:?}, which REQUEST_HEADERS does not list: \
                     on Workers the provider would never see it",
                    file.display()
                );
            }
        }
        assert!(seen >= 10, "the scan found only {seen} header reads: the patterns no longer match the code");
        assert_eq!(request_header_reads(r#"request.header("x-new")"#), ["x-new"]);
    }

    fn req() -> Request {
        Request::new("get", crate::Url::parse("http://127.0.0.1:8787/x").unwrap())
    }

    #[test]
    fn url_path_agrees_with_the_parsed_url() {
        for url in [
            "http://127.0.0.1:8787/__noop",
            "https://oauth.parallel.ai/",
            "https://oauth.parallel.ai",
            "https://a.example/authorize?redirect_uri=https://b.example/cb",
            "https://a.example/token#frag",
            "https://a.example/.well-known/oauth-authorization-server/mcp?x=1",
            "https://user:pw@a.example:444/x/y/",
            "https://a.example?next=/authorize",
        ] {
            assert_eq!(url_path(url), crate::Url::parse(url).unwrap().path(), "{url}");
        }
    }

    #[test]
    fn cookie_is_found_among_others() {
        let r = req().with_header("Cookie", "a=1; b=2;c=3");
        assert_eq!(r.cookie("b"), Some("2"));
        assert_eq!(r.cookie("c"), Some("3"));
        assert_eq!(r.cookie("d"), None);
    }

    #[test]
    fn duplicated_cookie_is_treated_as_absent() {
        let r = req().with_header("cookie", "a=1").with_header("cookie", "a=2");
        assert_eq!(r.cookie("a"), None);
    }

    /// Regression: a 404's HTML page was chosen by a substring, so
    /// `text/html;q=0` got HTML and `TEXT/HTML` got JSON.
    #[test]
    fn the_404_page_ignored_q_0_and_the_media_types_case() {
        for (accept, html) in [
            ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true),
            ("TEXT/HTML", true),
            ("application/xhtml+xml", true),
            ("text/html;q=0.5", true),
            ("text/html;q=0, application/json", false),
            ("text/html; q=0.000", false),
            ("Text/Html;Q=0", false),
            ("*/*", false),
            ("application/json", false),
            ("text/htmlx", false),
        ] {
            assert_eq!(Request::accepts_html(accept), html, "{accept}");
        }
    }

    #[test]
    fn media_type_drops_parameters() {
        let r = req().with_header("Content-Type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8");
        assert_eq!(r.media_type().as_deref(), Some("application/x-www-form-urlencoded"));
        assert_eq!(r.method, "GET");
    }

    #[test]
    fn response_debug_hides_the_body() {
        let r = Response::json(200, &crate::json::Value::object([("access_token", "sk-secret".into())]));
        assert!(!format!("{r:?}").contains("sk-secret"));
    }
}
