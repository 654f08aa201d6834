//! The library entry point: routes a request to the provider's endpoints
//! and runs each one against a [`Store`]. Everything here is plain Rust:
//! the caller passes the time and a random seed.

use sha2::{Digest, Sha256};

use crate::clients::cimd::{self, Fetch};
use crate::clients::client::Client;
use crate::clients::register;
use crate::config::Config;
use crate::crypto::entropy::Entropy;
use crate::crypto::seal::Keys;
use crate::crypto::secret::Secret;
use crate::endpoints::authorize::{self, AuthRequest, AuthorizeError};
use crate::endpoints::consent::{self, Choice};
use crate::endpoints::cors;
use crate::endpoints::metadata;
use crate::endpoints::token;
use crate::grants::code::{Code, Grant, CODE_STORE_TTL};
use crate::grants::guard::Claims;
use crate::http::{Request, Response};
use crate::pages;
use crate::pages::cookie;
use crate::protocol::error::{json_error, ErrorCode, OAuthError};
use crate::protocol::redirect::Refusal;
use crate::store::Store;
use crate::ConfigError;

/// The largest request body read, in bytes; larger bodies get 413.
pub const MAX_BODY: usize = 64 * 1024;

const AS_METADATA: &str = "/.well-known/oauth-authorization-server";
const PR_METADATA: &str = "/.well-known/oauth-protected-resource";

/// An authorization server: configuration, keys derived once from the
/// secret, and the single-use claims of this instance.
pub struct Provider {
    config: Config,
    keys: Keys,
    claims: Claims,
    fetcher: Option<Box<dyn Fetch>>,
    documents: cimd::Cache,
    log: fn(&str),
}

enum Route {
    AsMetadata,
    PrMetadata(String),
    UnknownWellKnown,
    Authorize,
    Token,
    Register,
}

impl Provider {
    /// A provider with `secret` (at least 32 bytes) and, while rotating, the
    /// previous secret, which still opens cookies and client ids.
    pub fn new(config: Config, secret: &str, previous_secret: Option<&str>) -> Result<Provider, ConfigError> {
        let current = Secret::new(secret)?;
        let previous = previous_secret.filter(|s| !s.is_empty()).map(Secret::new).transpose()?;
        Ok(Provider {
            config: config.normalized(),
            keys: Keys::derive(&current, previous.as_ref()),
            claims: Claims::default(),
            fetcher: None,
            documents: cimd::Cache::default(),
            log: |_| {},
        })
    }

    /// Enables Client ID Metadata Documents: `client_id`s that are https
    /// URLs are fetched with `fetcher`.
    pub fn with_fetcher(mut self, fetcher: Box<dyn Fetch>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Sends operational messages (never secrets) to `log`.
    pub fn with_logger(mut self, log: fn(&str)) -> Self {
        self.log = log;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether a request is for one of the provider's routes (checked
    /// before the body is read, so other routes keep their request intact).
    pub fn owns(&self, url: &url::Url) -> bool {
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
        if path.starts_with("/.well-known/") {
            return Some(Route::UnknownWellKnown);
        }
        let endpoint = path.strip_prefix(self.config.path_prefix.as_str())?;
        match endpoint {
            "/authorize" => Some(Route::Authorize),
            "/token" => Some(Route::Token),
            "/register" => Some(Route::Register),
            _ => None,
        }
    }

    /// Answers `request`, or `None` when it is not for the provider.
    /// `now` is Unix time in seconds; `seed` is 32 bytes from a CSPRNG.
    pub async fn handle<S: Store>(&self, request: &Request, store: &S, now: u64, seed: [u8; 32]) -> Option<Response> {
        let route = self.route(request.url.path())?;
        let mut entropy = Entropy::new(seed);
        let method = request.method.as_str();
        let too_large = request.body.len() > MAX_BODY;
        let response = match (route, method) {
            (Route::Authorize, "GET" | "HEAD") => self.authorize(request, now, &mut entropy).await,
            (Route::Authorize, "POST") if too_large => {
                self.page(413, "Request too large", "The form is too large.", None)
            }
            (Route::Authorize, "POST") => self.consent(request, store, now, &mut entropy).await,
            (Route::Authorize, _) => self
                .page(405, "Method not allowed", "Use GET or POST.", Some(ErrorCode::InvalidRequest))
                .with_header("allow", "GET, POST"),
            (
                Route::UnknownWellKnown | Route::AsMetadata | Route::PrMetadata(_) | Route::Token | Route::Register,
                "OPTIONS",
            ) => cors::preflight(request),
            (route, _) => cors::allow(request, self.api(route, request, store, now, too_large).await),
        };
        Some(response)
    }

    async fn api<S: Store>(&self, route: Route, request: &Request, store: &S, now: u64, too_large: bool) -> Response {
        let method = request.method.as_str();
        let origin = request.origin();
        let issuer = self.config.issuer_for(&origin);
        match (route, method) {
            (Route::UnknownWellKnown, _) => json_error(404, "not_found", "no such metadata document"),
            (Route::AsMetadata, "GET" | "HEAD") => {
                let cimd = self.fetcher.is_some();
                Response::json(200, &metadata::authorization_server(&self.config, &issuer, &origin, cimd))
                    .with_header("cache-control", "public, max-age=3600")
            }
            (Route::PrMetadata(path), "GET" | "HEAD") => {
                Response::json(200, &metadata::protected_resource(&self.config, &issuer, &origin, &path))
                    .with_header("cache-control", "public, max-age=3600")
            }
            (Route::AsMetadata | Route::PrMetadata(_), _) => method_not_allowed("GET, OPTIONS"),
            (Route::Token | Route::Register, "POST") if too_large => {
                json_error(413, "invalid_request", "the request body is larger than 64 KB")
            }
            (Route::Token, "POST") => self.token(request, store, now).await,
            (Route::Register, "POST") => {
                match register::register(request.media_type().as_deref(), &request.body, &self.keys, now) {
                    Ok(body) => Response::json(201, &body).no_store(),
                    Err(e) => e.to_response(),
                }
            }
            (Route::Token | Route::Register, _) => method_not_allowed("POST, OPTIONS"),
            (Route::Authorize, _) => unreachable_route(),
        }
    }

    fn page(&self, status: u16, title: &str, message: &str, code: Option<ErrorCode>) -> Response {
        pages::error(&self.config, status, title, message, code)
    }

    /// GET /authorize: validate, then show the consent page.
    async fn authorize(&self, request: &Request, now: u64, entropy: &mut Entropy) -> Response {
        let query = request.url.query().unwrap_or("");
        let validated = match authorize::read(query) {
            Ok((params, client_id)) => {
                let client = self.client(&client_id, now).await;
                authorize::validate(&params, &client_id, client, &self.config.resources)
            }
            Err(e) => Err(e),
        };
        match validated {
            Ok(auth) => consent::show(&self.config, &self.keys, request, auth, now, entropy),
            Err(AuthorizeError::Page { status, code, message }) => {
                self.page(status, "This authorization request is not valid", message, Some(code))
            }
            Err(AuthorizeError::Redirect { redirect_uri, state, error }) => {
                let issuer = self.config.issuer_for(&request.origin());
                let mut params = vec![("error", error.code.as_str()), ("error_description", error.description)];
                if let Some(state) = &state {
                    params.push(("state", state));
                }
                params.push(("iss", &issuer));
                redirect(302, &redirect_uri.with_params(&params))
            }
        }
    }

    /// Resolves a `client_id`: a metadata document URL (fetched, validated,
    /// cached) or one of our own ids.
    async fn client(&self, client_id: &str, now: u64) -> Result<Client, Refusal> {
        if !cimd::is_document_url(client_id, self.config.dev) {
            return Client::resolve(client_id, &self.keys);
        }
        if let Some(client) = self.documents.get(client_id, now) {
            return Ok(client);
        }
        let fetcher = self.fetcher.as_ref().ok_or("client metadata documents are not supported here")?;
        let fetched = fetcher.fetch(client_id).await.map_err(|e| {
            (self.log)(&format!("client metadata document fetch failed: {e}"));
            "the client metadata document could not be fetched"
        })?;
        let client = cimd::parse_document(client_id, &fetched)?;
        self.documents.put(client_id, client.clone(), now, cimd::cache_lifetime(fetched.cache_control.as_deref()));
        Ok(client)
    }

    /// POST /authorize: the user's answer on the consent page.
    async fn consent<S: Store>(&self, request: &Request, store: &S, now: u64, entropy: &mut Entropy) -> Response {
        let answer = match consent::read(&self.config, &self.keys, request, now) {
            Ok(answer) => answer,
            Err(r) => return self.page(r.status, r.title, r.message, None),
        };
        let form = &answer.form;
        let Some(redirect_uri) = form.redirect_uri() else {
            return self.page(
                400,
                "Invalid request",
                "The redirect URI is not valid.",
                Some(ErrorCode::InvalidRequest),
            );
        };
        let issuer = self.config.issuer_for(&request.origin());
        let respond = |params: &[(&str, &str)]| {
            let mut all: Vec<(&str, &str)> = params.to_vec();
            if let Some(state) = &form.request.state {
                all.push(("state", state));
            }
            all.push(("iss", &issuer));
            redirect(303, &redirect_uri.with_params(&all))
        };
        let claim = form.claim_id();
        let already_answered = || {
            self.page(
                403,
                "Already answered",
                "This consent form was already used. Go back to the app and connect again.",
                None,
            )
        };
        match answer.choice {
            Choice::Forget => redirect(303, &self.authorize_url(&form.request))
                .with_header("set-cookie", &cookie::clear(cookie::REMEMBER)),
            Choice::MissingKey(message) => {
                let hint = cookie::remembered(request, &self.keys, now).map(|k| k.hint());
                consent::render(&self.config, form, &answer.sealed, hint, Some(message), 400)
            }
            Choice::Deny => {
                if !self.claims.claim(claim, form.expires_at, now) {
                    return already_answered();
                }
                respond(&[("error", "access_denied"), ("error_description", "the user denied access")])
            }
            Choice::Approve { key, remember } => {
                if !self.claims.claim(claim, form.expires_at, now) {
                    return already_answered();
                }
                let code = Code::new(entropy.next32());
                let grant = Grant::new(form.request.clone(), key, now);
                if let Err(e) = store.put(&code.store_key(), &code.seal(&grant), CODE_STORE_TTL).await {
                    (self.log)(&format!("store put failed, no code issued: {}", e.0));
                    self.claims.release(&claim);
                    return self.page(
                        503,
                        "Temporarily unavailable",
                        "Nothing was shared. Please go back and try again in a moment.",
                        Some(ErrorCode::TemporarilyUnavailable),
                    );
                }
                let response = respond(&[("code", code.as_str())]);
                if remember {
                    response.with_header("set-cookie", &cookie::remember(&self.keys, &grant.key, now, entropy))
                } else {
                    response
                }
            }
        }
    }

    /// The GET /authorize URL that shows the consent page for `auth` again.
    fn authorize_url(&self, auth: &AuthRequest) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &auth.client_id)
            .append_pair("redirect_uri", &auth.redirect_uri)
            .append_pair("code_challenge", auth.code_challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        for (name, value) in [("state", &auth.state), ("scope", &auth.scope), ("resource", &auth.resource)] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        format!("{}?{}", self.config.endpoint_path("authorize"), q.finish())
    }

    /// POST /token: redeem a code once.
    ///
    /// A code is consumed by the first request that presents it, whether or
    /// not the rest of that request is right: an attacker who intercepted a
    /// code and guesses at the verifier burns it instead of getting retries.
    async fn token<S: Store>(&self, request: &Request, store: &S, now: u64) -> Response {
        let token_request = match token::parse(request) {
            Ok(r) => r,
            Err(e) => return e.to_response(),
        };
        if !cimd::is_document_url(&token_request.client_id, self.config.dev) {
            if let Err(e) = Client::resolve(&token_request.client_id, &self.keys) {
                (self.log)(&format!("token request from an unknown client: {e}"));
                return OAuthError::new(ErrorCode::InvalidClient, "unknown client_id").to_response();
            }
        }
        let used = OAuthError::invalid_grant("the code is invalid, expired or already used");
        let key = token_request.code.store_key();
        let stored = match store.get(&key).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return used.to_response(),
            Err(e) => {
                (self.log)(&format!("store get failed at /token: {}", e.0));
                return OAuthError::unavailable().to_response();
            }
        };
        // Claimed synchronously after the read: of concurrent redemptions in
        // this instance, exactly one gets past this line.
        let claim: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        if !self.claims.claim(claim, now + CODE_STORE_TTL, now) {
            return used.to_response();
        }
        if let Err(e) = store.delete(&key).await {
            (self.log)(&format!("store delete failed at /token, code kept for a retry: {}", e.0));
            self.claims.release(&claim);
            return OAuthError::unavailable().to_response();
        }
        let Some(grant) = token_request.code.open(&stored) else {
            return used.to_response();
        };
        match token::check(&grant, &token_request, now) {
            Ok(()) => Response::json(200, &token::response_body(&grant)).no_store(),
            Err(e) => e.to_response(),
        }
    }
}

fn redirect(status: u16, location: &str) -> Response {
    Response::empty(status).with_header("location", location).with_header("referrer-policy", "no-referrer").no_store()
}

fn method_not_allowed(allow: &str) -> Response {
    json_error(405, "invalid_request", "method not allowed").with_header("allow", allow)
}

fn unreachable_route() -> Response {
    json_error(404, "not_found", "no such endpoint")
}
