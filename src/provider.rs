//! The library entry point: routes a request to the provider's endpoints
//! and runs each one against a [`Store`]. Everything here is plain Rust:
//! the caller passes the time and a random seed.

use crate::clients::cimd::Fetch;
use crate::clients::register;
use crate::config::{Config, ConfigError};
use crate::crypto::entropy::Entropy;
use crate::crypto::secret::Secret;
use crate::endpoints::{
    authorize, consent, cors, device, grants_page, introspect, metadata, method_not_allowed, revoke, token, userinfo,
    Context,
};
use crate::grants::key_check::KeyChecker;
use crate::http::{Request, Response};
use crate::protocol::error::{challenged_if_tried, json_error, ErrorCode};
use crate::store::{GrantStore, NoGrants, Store};

/// The largest request body read, in bytes; larger bodies get 413.
pub const MAX_BODY: usize = 64 * 1024;

const AS_METADATA: &str = "/.well-known/oauth-authorization-server";
const PR_METADATA: &str = "/.well-known/oauth-protected-resource";

/// The provider's secrets: `SECRET` and, while rotating, the previous one,
/// which still opens what the old secret sealed (cookies, forms, client ids).
///
/// A `&str` converts into `Secrets` with no previous secret, so a Worker
/// that mounts the provider with one secret keeps compiling.
#[derive(Clone, Copy)]
pub struct Secrets<'a> {
    /// The secret that seals and signs (at least 32 bytes).
    pub current: &'a str,
    /// The previous secret, accepted for opening only.
    pub previous: Option<&'a str>,
}

impl std::fmt::Debug for Secrets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

impl<'a> Secrets<'a> {
    /// `current` only.
    pub fn new(current: &'a str) -> Self {
        Secrets { current, previous: None }
    }

    /// `current`, and `previous` while rotating (an empty one counts as none).
    pub fn rotating(current: &'a str, previous: Option<&'a str>) -> Self {
        Secrets { current, previous: previous.filter(|p| !p.is_empty()) }
    }

    /// A digest of both secrets, to tell whether a cached provider was
    /// built from the same ones (never the secrets themselves).
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for s in [Some(self.current), self.previous] {
            let s = s.unwrap_or("");
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
        h.update([self.previous.is_some() as u8]);
        h.finalize().into()
    }
}

impl<'a> From<&'a str> for Secrets<'a> {
    fn from(current: &'a str) -> Self {
        Secrets::new(current)
    }
}

impl<'a> From<&'a String> for Secrets<'a> {
    fn from(current: &'a String) -> Self {
        Secrets::new(current)
    }
}

/// An authorization server: configuration, keys derived once from the
/// secret, and the single-use claims of this instance.
pub struct Provider {
    ctx: Context,
}

enum Route {
    AsMetadata,
    PrMetadata(String),
    UnknownWellKnown,
    Authorize,
    Grants,
    Token,
    Register,
    Jwks,
    Revoke,
    Introspect,
    Userinfo,
    DeviceAuthorization,
    Device,
}

impl Route {
    /// Whether the endpoint reads a POST's body.
    fn takes_a_body(&self) -> bool {
        !matches!(self, Route::AsMetadata | Route::PrMetadata(_) | Route::UnknownWellKnown | Route::Jwks)
    }

    /// Whether the endpoint is a page a browser posts a form to.
    fn is_page(&self) -> bool {
        matches!(self, Route::Authorize | Route::Grants | Route::Device)
    }
}

/// Whether the request's body has a content coding (`Content-Encoding`
/// other than `identity`), which the provider does not decode.
fn is_encoded(request: &Request) -> bool {
    request.header("content-encoding").is_some_and(|c| {
        c.split(',').map(str::trim).any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
    })
}

/// A POST body the provider does not read, refused before any endpoint
/// runs: 413 over [`MAX_BODY`], and 415 for a content coding (RFC 9110
/// §15.5.16, RFC 7694 §3: `Accept-Encoding: identity` says to send it as it
/// is). A page gets an error page, an API endpoint a JSON error with CORS.
fn refused_body(ctx: &crate::endpoints::Context, request: &Request, route: &Route) -> Option<Response> {
    if request.method != "POST" || !route.takes_a_body() {
        return None;
    }
    let (status, title, page_message, json_message) = if request.body.len() > MAX_BODY {
        (413, "Request too large", "The form is too large.", "the request body is larger than 64 KB")
    } else if is_encoded(request) {
        (
            415,
            "Unsupported encoding",
            "The form was sent compressed. Send it again as it is.",
            "the request body has a Content-Encoding; send it without one",
        )
    } else {
        return None;
    };
    let response = if route.is_page() {
        ctx.page(status, title, page_message, None)
    } else {
        cors::allow(request, json_error(status, "invalid_request", json_message))
    };
    Some(if status == 415 { response.with_header("accept-encoding", "identity") } else { response })
}

impl Provider {
    /// A provider with `secret` (at least 32 bytes) and, while rotating, the
    /// previous secret, which still opens cookies and client ids.
    pub fn new(config: Config, secret: &str, previous_secret: Option<&str>) -> Result<Provider, ConfigError> {
        let current = Secret::new(secret)?;
        let previous = previous_secret.filter(|s| !s.is_empty()).map(Secret::new).transpose()?;
        Ok(Provider { ctx: Context::new(config, &current, previous.as_ref()) })
    }

    /// A provider with both [`Secrets`].
    pub fn with_secrets(config: Config, secrets: Secrets<'_>) -> Result<Provider, ConfigError> {
        Provider::new(config, secrets.current, secrets.previous)
    }

    /// Enables Client ID Metadata Documents: `client_id`s that are https
    /// URLs are fetched with `fetcher`.
    pub fn with_fetcher(mut self, fetcher: Box<dyn Fetch>) -> Self {
        self.ctx.fetcher = Some(fetcher);
        self
    }

    /// Checks typed and saved keys with the platform (`KEY_CHECK_URL` in
    /// the configuration) through `checker` before issuing anything.
    /// Without a checker, a configured check is logged as not done and the
    /// key goes through unchecked.
    pub fn with_key_checker(mut self, checker: Box<dyn KeyChecker>) -> Self {
        self.ctx.key_checker = Some(checker);
        self
    }

    /// Sends operational messages (never secrets) to `log`.
    pub fn with_logger(mut self, log: fn(&str)) -> Self {
        self.ctx.log = log;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// Whether a request is for one of the provider's routes (checked
    /// before the body is read, so other routes keep their request intact).
    pub fn owns(&self, url: &crate::Url) -> bool {
        self.route(url.path()).is_some()
    }

    fn route(&self, path: &str) -> Option<Route> {
        let suffix = |base: &str| path.strip_prefix(base).filter(|rest| rest.is_empty() || rest.starts_with('/'));
        if suffix(AS_METADATA).is_some() {
            return Some(Route::AsMetadata);
        }
        if let Some(rest) = suffix(PR_METADATA) {
            return Some(Route::PrMetadata(rest.to_string()));
        }
        if path == metadata::JWKS_PATH {
            return Some(Route::Jwks);
        }
        if path.starts_with("/.well-known/") {
            return Some(Route::UnknownWellKnown);
        }
        let endpoint = path.strip_prefix(self.ctx.config.path_prefix.as_str())?;
        match endpoint {
            "/authorize" => Some(Route::Authorize),
            "/grants" => Some(Route::Grants),
            "/token" => Some(Route::Token),
            "/register" => Some(Route::Register),
            "/revoke" => Some(Route::Revoke),
            "/introspect" => Some(Route::Introspect),
            "/userinfo" => Some(Route::Userinfo),
            "/device_authorization" => Some(Route::DeviceAuthorization),
            "/device" => Some(Route::Device),
            _ => None,
        }
    }

    /// The answer for a request nobody serves (the crate's own Worker's
    /// 404): a page's path with a trailing slash (`/device/`, typed by
    /// hand) goes to the page (308); a browser asking for HTML gets an HTML
    /// page; anything else the JSON `not_found`.
    pub fn unrouted(&self, method: &str, url: &crate::Url, accept: Option<&str>) -> Response {
        let path = url.path();
        let page = path
            .strip_suffix('/')
            .filter(|p| matches!(self.route(p), Some(Route::Authorize | Route::Device | Route::Grants)));
        if let (Some(page), "GET" | "HEAD") = (page, method) {
            let location = match url.query() {
                Some(q) => format!("{page}?{q}"),
                None => page.to_string(),
            };
            return Response::empty(308).with_header("location", &location);
        }
        if accept.is_some_and(Request::accepts_html) {
            let message = "There is no page at this address. Check the address, or go back to the app you came from.";
            return crate::pages::error(&self.ctx.config, 404, "Page not found", message, None);
        }
        json_error(404, "not_found", "no such endpoint")
    }

    /// Answers `request`, or `None` when it is not for the provider.
    /// `now` is Unix time in seconds; `seed` is 32 bytes from a CSPRNG.
    pub async fn handle<S: Store>(&self, request: &Request, store: &S, now: u64, seed: [u8; 32]) -> Option<Response> {
        self.handle_with(request, store, &NoGrants::default(), now, seed).await
    }

    /// [`Provider::handle`] with a grant store, which sealed tokens need
    /// (refresh, revocation, introspection): `store` keeps codes (KV on
    /// Workers), `grants` the strongly consistent grants (a Durable Object).
    pub async fn handle_with<S: Store, G: GrantStore>(
        &self,
        request: &Request,
        store: &S,
        grants: &G,
        now: u64,
        seed: [u8; 32],
    ) -> Option<Response> {
        let route = self.route(request.url.path())?;
        let mut entropy = Entropy::new(seed);
        let method = request.method.as_str();
        if let Some(refused) = refused_body(&self.ctx, request, &route) {
            return Some(refused);
        }
        let response = match (route, method) {
            (Route::Authorize, "GET" | "HEAD") => {
                Separate::new(authorize::get(&self.ctx, request, now, &mut entropy)).await
            }
            (Route::Authorize, "POST") => {
                Separate::new(consent::post(&self.ctx, request, store, now, &mut entropy)).await
            }
            (Route::Authorize | Route::Device, _) if method != "GET" && method != "HEAD" && method != "POST" => self
                .ctx
                .page(405, "Method not allowed", "Use GET or POST.", Some(ErrorCode::InvalidRequest))
                .with_header("allow", "GET, HEAD, POST"),
            (Route::Grants, "GET" | "HEAD") => grants_page::get(&self.ctx, request, grants, now, &mut entropy),
            (Route::Grants, "POST") => {
                Separate::new(grants_page::post(&self.ctx, request, grants, now, &mut entropy)).await
            }
            (Route::Grants, _) => self
                .ctx
                .page(405, "Method not allowed", "Use GET or POST.", Some(ErrorCode::InvalidRequest))
                .with_header("allow", "GET, HEAD, POST"),
            (Route::Device, "GET" | "HEAD") => device::page(&self.ctx, request, &mut entropy),
            (Route::Device, _) => Separate::new(device::post(&self.ctx, request, grants, now, &mut entropy)).await,
            (_, "OPTIONS") => cors::preflight(request),
            (route, _) => {
                cors::allow(request, Separate::new(self.api(route, request, store, grants, now, &mut entropy)).await)
            }
        };
        Some(response)
    }

    async fn api<S: Store, G: GrantStore>(
        &self,
        route: Route,
        request: &Request,
        store: &S,
        grants: &G,
        now: u64,
        entropy: &mut Entropy,
    ) -> Response {
        let method = request.method.as_str();
        let origin = request.origin();
        let config = &self.ctx.config;
        let issuer = config.issuer_for(&origin);
        match (route, method) {
            (Route::UnknownWellKnown, _) => json_error(404, "not_found", "no such metadata document"),
            (Route::AsMetadata, "GET" | "HEAD") => {
                let cimd = self.ctx.fetcher.is_some();
                Response::json(200, &metadata::authorization_server(config, &issuer, &origin, cimd, grants.bound()))
                    .with_header("cache-control", "public, max-age=3600")
            }
            (Route::PrMetadata(path), "GET" | "HEAD") => {
                Response::json(200, &metadata::protected_resource(config, &issuer, &origin, &path))
                    .with_header("cache-control", "public, max-age=3600")
            }
            (Route::AsMetadata | Route::PrMetadata(_), _) => method_not_allowed("GET, HEAD, OPTIONS"),
            (Route::Jwks, "GET" | "HEAD") => metadata::jwks(&self.ctx.tokens),
            (Route::Userinfo, "GET" | "HEAD" | "POST") => {
                Separate::new(userinfo::get(&self.ctx, request, grants, now)).await
            }
            (Route::Jwks, _) => method_not_allowed("GET, HEAD, OPTIONS"),
            (Route::Userinfo, _) => method_not_allowed("GET, HEAD, POST, OPTIONS"),
            // Where a client authenticates: invalid_client challenges only a
            // client that tried the Authorization header.
            (client_route @ (Route::Token | Route::DeviceAuthorization | Route::Revoke), "POST") => {
                let answer = match client_route {
                    Route::Token => Separate::new(token::post(&self.ctx, request, store, grants, now, entropy)).await,
                    Route::DeviceAuthorization => {
                        Separate::new(device::authorization(&self.ctx, request, grants, now, entropy)).await
                    }
                    _ => Separate::new(revoke::post(&self.ctx, request, grants, now)).await,
                };
                challenged_if_tried(answer, request.header("authorization"))
            }
            (Route::Introspect, "POST") => Separate::new(introspect::post(&self.ctx, request, grants, now)).await,
            (Route::Register, "POST") => {
                let supported = metadata::grant_types(config, grants.bound());
                match register::register(
                    request.media_type().as_deref(),
                    &request.body,
                    &self.ctx.keys,
                    &supported,
                    now,
                ) {
                    Ok(body) => Response::json(201, &body).no_store(),
                    Err(e) => e.to_response(),
                }
            }
            (Route::Token | Route::Register | Route::Revoke | Route::Introspect | Route::DeviceAuthorization, _) => {
                method_not_allowed("POST, OPTIONS")
            }
            (Route::Authorize | Route::Device | Route::Grants, _) => unreachable_route(),
        }
    }
}

/// A future polled in a function of its own: each endpoint's state machine
/// stays out of its caller's, so the WASM runtime compiles (on first call)
/// only the endpoints a request reaches. Inlined into one, every endpoint
/// made one 66 KB function that the first request of an isolate compiled
/// whole, even for a metadata document.
struct Separate<'a>(std::pin::Pin<Box<dyn std::future::Future<Output = Response> + 'a>>);

impl<'a> Separate<'a> {
    fn new(future: impl std::future::Future<Output = Response> + 'a) -> Self {
        Separate(Box::pin(future))
    }
}

impl std::future::Future for Separate<'_> {
    type Output = Response;

    #[inline(never)]
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Response> {
        self.0.as_mut().poll(cx)
    }
}

fn unreachable_route() -> Response {
    json_error(404, "not_found", "no such endpoint")
}
