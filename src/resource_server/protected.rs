//! What an MCP server publishes and answers: RFC 9728 metadata and the
//! RFC 6750 challenges.

use crate::Url;

use super::bearer::{bearer_token, BearerToken};
use crate::http::{Request, Response};

/// The well-known path of RFC 9728 protected-resource metadata.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Why a resource identifier was refused by [`ProtectedResource::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidResource(&'static str);

impl std::fmt::Display for InvalidResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for InvalidResource {}

/// A protected resource (e.g. an MCP endpoint) and the authorization server
/// that issues its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    resource: String,
    metadata_url: String,
    metadata_path: String,
    authorization_server: String,
    scopes: Vec<String>,
    resource_name: Option<String>,
    pub(super) leeway: u64,
}

impl ProtectedResource {
    /// A resource identified by `resource` (an absolute `https` URL, or
    /// `http` on loopback for local development; no fragment, no query)
    /// whose tokens come from the provider with issuer
    /// `authorization_server` (as in the provider's metadata: no trailing
    /// slash, which is removed if present).
    pub fn new(resource: &str, authorization_server: &str) -> Result<Self, InvalidResource> {
        let url = Url::parse(resource).map_err(|_| InvalidResource("the resource must be an absolute URL"))?;
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(InvalidResource("the resource must be an http(s) URL with a host"));
        }
        match url.scheme() {
            "https" => {}
            "http" if crate::protocol::redirect::is_loopback(&url) => {}
            _ => return Err(InvalidResource("the resource must be https (http only on loopback)")),
        }
        if url.fragment().is_some() || url.query().is_some() {
            return Err(InvalidResource("the resource must have no query and no fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidResource("the resource must have no user information"));
        }
        let issuer = authorization_server.trim().trim_end_matches('/');
        let issuer_ok = Url::parse(issuer).is_ok_and(|u| {
            matches!(u.scheme(), "https" | "http")
                && u.host().is_some()
                && u.query().is_none()
                && u.fragment().is_none()
        });
        if !issuer_ok {
            return Err(InvalidResource("the authorization server must be an http(s) URL without query or fragment"));
        }
        // RFC 9728 §3.1: the well-known segment goes between the host and
        // the path; a bare origin has no path part.
        let path = url.path().trim_end_matches('/');
        let metadata_path = format!("{METADATA_PATH}{path}");
        let metadata_url = format!("{}{metadata_path}", url.origin());
        let resource = if url.path() == "/" { url.origin() } else { url.to_string() };
        Ok(ProtectedResource {
            resource,
            metadata_url,
            metadata_path,
            authorization_server: issuer.to_string(),
            scopes: Vec::new(),
            resource_name: None,
            leeway: crate::grants::access_token::LEEWAY,
        })
    }

    /// Lists `scopes` in the metadata and in the `401` challenge (clients
    /// then request them). Tokens that are not RFC 6749 §3.3 scope tokens
    /// are dropped.
    pub fn with_scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().filter(|s| is_scope_token(s)).map(|s| s.to_string()).collect();
        self
    }

    /// A human-readable name for the metadata's `resource_name`.
    pub fn with_resource_name(mut self, name: &str) -> Self {
        self.resource_name = Some(name.to_string()).filter(|n| !n.trim().is_empty());
        self
    }

    /// The resource identifier, as the metadata's `resource` and as clients
    /// send it in RFC 8707 `resource` parameters.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The issuer of the authorization server.
    pub fn authorization_server(&self) -> &str {
        &self.authorization_server
    }

    /// The absolute URL of this resource's metadata document.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path of this resource's metadata document
    /// (`/.well-known/oauth-protected-resource` + the resource's path).
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The RFC 9728 metadata document.
    pub fn metadata(&self) -> crate::json::Value {
        let mut m = crate::json::Object::from([
            ("resource", (&self.resource).into()),
            ("authorization_servers", [self.authorization_server.as_str()].into()),
            ("bearer_methods_supported", ["header"].into()),
        ]);
        if !self.scopes.is_empty() {
            m.insert("scopes_supported", self.scopes.as_slice());
        }
        m.insert_some("resource_name", self.resource_name.as_deref());
        m.into()
    }

    /// The metadata as a `200` JSON response (cacheable for an hour).
    pub fn metadata_response(&self) -> Response {
        Response::json(200, &self.metadata()).with_header("cache-control", "public, max-age=3600")
    }

    /// Answers a `GET`/`HEAD` for this resource's metadata: at its own
    /// path, and at the bare well-known path for clients that look there
    /// first (the same document: this server protects one resource).
    /// `None` for any other request.
    pub fn serve_metadata(&self, request: &Request) -> Option<Response> {
        let path = request.url.path();
        let ours = path == self.metadata_path || path == METADATA_PATH;
        (ours && matches!(request.method.as_str(), "GET" | "HEAD")).then(|| self.metadata_response())
    }

    /// The `WWW-Authenticate` value: `Bearer resource_metadata="…"`, with
    /// `scope="…"` when scopes are configured, and `error="invalid_token"`
    /// plus a description when `invalid` is given.
    pub fn www_authenticate(&self, invalid: Option<&str>) -> String {
        let mut params = Vec::new();
        if let Some(description) = invalid {
            params.push(r#"error="invalid_token""#.to_string());
            params.push(format!(r#"error_description="{}""#, quoted_text(description)));
        }
        params.push(format!(r#"resource_metadata="{}""#, self.metadata_url));
        if !self.scopes.is_empty() {
            params.push(format!(r#"scope="{}""#, self.scopes.join(" ")));
        }
        format!("Bearer {}", params.join(", "))
    }

    /// The `401` for a request without a bearer token: the challenge names
    /// the metadata and no error (RFC 6750 §3.1).
    pub fn unauthorized(&self) -> Response {
        // "401 Unauthorized" in the text: MCP Inspector (v0.15) only sees the
        // body through its proxy and starts OAuth when it reads either word.
        self.challenge(None, "401 Unauthorized: this resource needs a bearer token; see WWW-Authenticate")
    }

    /// The `401` for a request whose bearer token was present but refused
    /// (`error="invalid_token"`): expired, revoked, malformed or not
    /// accepted upstream. `description` is for developers; never put the
    /// token in it.
    pub fn invalid_token(&self, description: &str) -> Response {
        self.challenge(Some(description), &format!("401 Unauthorized: {description}"))
    }

    /// The request's bearer token, or the `401` to answer: [`unauthorized`]
    /// when it has no `Authorization` header, [`invalid_token`] when it has
    /// one that is not exactly one well-formed bearer token.
    ///
    /// [`unauthorized`]: ProtectedResource::unauthorized
    /// [`invalid_token`]: ProtectedResource::invalid_token
    pub fn authenticate(&self, request: &Request) -> Result<BearerToken, Response> {
        if let Some(token) = bearer_token(request) {
            return Ok(token);
        }
        if request.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("authorization")) {
            Err(self.invalid_token("the Authorization header must hold exactly one Bearer token"))
        } else {
            Err(self.unauthorized())
        }
    }

    fn challenge(&self, invalid: Option<&str>, description: &str) -> Response {
        let error = if invalid.is_some() { "invalid_token" } else { "unauthorized" };
        Response::json(
            401,
            &crate::json::Value::object([("error", error.into()), ("error_description", description.into())]),
        )
        .with_header("www-authenticate", &self.www_authenticate(invalid))
        .no_store()
    }
}

/// RFC 6749 §3.3 scope-token characters.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// RFC 6750 §3: `error_description` characters are `%x20-21 / %x23-5B /
/// %x5D-7E`; anything else is dropped so the header stays well-formed.
fn quoted_text(s: &str) -> String {
    s.chars().filter(|&c| c == ' ' || c == '!' || (('#'..='~').contains(&c) && c != '\\')).take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mcp() -> ProtectedResource {
        ProtectedResource::new("https://mcp.example/mcp", "https://oauth.parallel.ai").unwrap()
    }

    fn req(auth: &[&str]) -> Request {
        let mut r = Request::new("POST", "https://mcp.example/mcp".parse().unwrap());
        for a in auth {
            r = r.with_header("Authorization", a);
        }
        r
    }

    /// MCP Inspector 0.15 sees only the 401's body (through its proxy) and
    /// starts OAuth only if that text says "401" or "Unauthorized".
    #[test]
    fn unauthorized_body_names_401_for_mcp_inspector() {
        for r in [mcp().unauthorized(), mcp().invalid_token("bad token")] {
            assert_eq!(r.status, 401);
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert!(body["error_description"].as_str().unwrap().starts_with("401 Unauthorized"));
        }
    }

    #[test]
    fn metadata_points_at_the_issuer() {
        let r = ProtectedResource::new("https://mcp.example/mcp", "https://oauth.parallel.ai/")
            .unwrap()
            .with_scopes(&["api"])
            .with_resource_name("Parallel MCP");
        assert_eq!(
            r.metadata(),
            serde_json::json!({
                "resource": "https://mcp.example/mcp",
                "authorization_servers": ["https://oauth.parallel.ai"],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["api"],
                "resource_name": "Parallel MCP",
            })
        );
        let plain = mcp().metadata();
        assert!(plain.get("scopes_supported").is_none() && plain.get("resource_name").is_none());
        assert!(!plain.to_string().contains("null"));
    }

    #[test]
    fn metadata_url_inserts_the_well_known_segment_rfc9728() {
        assert_eq!(mcp().metadata_url(), "https://mcp.example/.well-known/oauth-protected-resource/mcp");
        assert_eq!(mcp().metadata_path(), "/.well-known/oauth-protected-resource/mcp");
        let origin = ProtectedResource::new("https://mcp.example/", "https://as.example").unwrap();
        assert_eq!(origin.metadata_url(), "https://mcp.example/.well-known/oauth-protected-resource");
        assert_eq!(origin.resource(), "https://mcp.example");
        let local = ProtectedResource::new("http://127.0.0.1:8788/mcp", "http://127.0.0.1:8787").unwrap();
        assert_eq!(local.metadata_url(), "http://127.0.0.1:8788/.well-known/oauth-protected-resource/mcp");
        assert_eq!(local.resource(), "http://127.0.0.1:8788/mcp");
        let nested = ProtectedResource::new("https://a.example/tenant/mcp", "https://as.example").unwrap();
        assert_eq!(nested.metadata_path(), "/.well-known/oauth-protected-resource/tenant/mcp");
    }

    #[test]
    fn refuses_resources_that_are_not_urls_of_a_server() {
        for (resource, issuer) in [
            ("mcp", "https://as.example"),
            ("/mcp", "https://as.example"),
            ("http://mcp.example/mcp", "https://as.example"),
            ("https://mcp.example/mcp#x", "https://as.example"),
            ("https://mcp.example/mcp?x=1", "https://as.example"),
            ("https://u:p@mcp.example/mcp", "https://as.example"),
            ("urn:x:y", "https://as.example"),
            ("https://mcp.example/mcp", ""),
            ("https://mcp.example/mcp", "as.example"),
            ("https://mcp.example/mcp", "https://as.example/?x=1"),
        ] {
            assert!(ProtectedResource::new(resource, issuer).is_err(), "{resource} {issuer}");
        }
    }

    #[test]
    fn serves_metadata_at_its_path_and_the_bare_well_known_path() {
        let r = mcp().with_scopes(&["api"]);
        for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
            let get = Request::new("GET", format!("https://mcp.example{path}").parse().unwrap());
            let response = r.serve_metadata(&get).expect(path);
            assert_eq!(response.status, 200);
            assert_eq!(response.header("content-type"), Some("application/json"));
            let m: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            assert_eq!(m["resource"], "https://mcp.example/mcp");
        }
        for (method, path) in
            [("GET", "/mcp"), ("POST", METADATA_PATH), ("GET", "/.well-known/oauth-protected-resource/other")]
        {
            let other = Request::new(method, format!("https://mcp.example{path}").parse().unwrap());
            assert!(r.serve_metadata(&other).is_none(), "{method} {path}");
        }
    }

    #[test]
    fn unauthorized_names_the_metadata_and_no_error() {
        let r = mcp().unauthorized();
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp""#)
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let scoped = mcp().with_scopes(&["api", "search"]).unauthorized();
        assert_eq!(
            scoped.header("www-authenticate"),
            Some(
                r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="api search""#
            )
        );
    }

    #[test]
    fn invalid_token_has_the_error_and_a_clean_description() {
        let r = mcp().with_scopes(&["api"]).invalid_token("the key was \"revoked\"\r\n\\");
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some(concat!(
                r#"Bearer error="invalid_token", error_description="the key was revoked", "#,
                r#"resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="api""#
            ))
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["error"], "invalid_token");
    }

    #[test]
    fn authenticate_tells_missing_from_malformed() {
        let r = mcp();
        assert_eq!(r.authenticate(&req(&["Bearer sk-abc"])).unwrap().expose(), "sk-abc");
        let missing = r.authenticate(&req(&[])).unwrap_err();
        assert_eq!(missing.status, 401);
        assert!(!missing.header("www-authenticate").unwrap().contains("error="));
        for bad in [&["Basic c2stYWJj"][..], &["Bearer a b"], &["Bearer a", "Bearer b"]] {
            let refused = r.authenticate(&req(bad)).unwrap_err();
            assert_eq!(refused.status, 401);
            assert!(
                refused.header("www-authenticate").unwrap().starts_with(r#"Bearer error="invalid_token""#),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn scopes_that_would_break_the_header_are_dropped() {
        let r = mcp().with_scopes(&["api", "a\"b", "", "c d", "ok:read"]);
        assert_eq!(r.metadata()["scopes_supported"], serde_json::json!(["api", "ok:read"]));
    }

    proptest! {
        #[test]
        fn new_never_panics(r in "\\PC{0,60}", i in "\\PC{0,40}") {
            let _ = ProtectedResource::new(&r, &i);
        }
    }
}
