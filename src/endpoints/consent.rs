//! The consent page and its form: what GET /authorize renders and what
//! POST /authorize accepts. The form's state is sealed (it cannot be forged
//! or altered), bound to the browser's CSRF cookie, expires, and carries a
//! nonce so one form answers once. An approved key is checked with the
//! platform first (`KEY_CHECK_URL`): a key it refuses gets the page back,
//! still usable, and nothing is issued.

use crate::config::Config;
use crate::crypto::entropy::Entropy;
use crate::crypto::seal::{Keys, Purpose};
use crate::crypto::secret::ApiKey;
use crate::endpoints::{form_check, redirect, Context};
use crate::grants::code::{Code, Grant, CODE_STORE_TTL};
use crate::grants::key_check::KeyVerdict;
use crate::grants::request::AuthRequest;
use crate::http::{Request, Response};
use crate::pages::cookie;
use crate::pages::{self, ConsentView};
use crate::protocol::encoding::b64url;
use crate::protocol::error::ErrorCode;
use crate::protocol::form::Params;
use crate::protocol::redirect::RedirectUri;
use crate::store::Store;

/// How long a consent page may stay open, in seconds.
pub const FORM_LIFETIME: u64 = 3600;

/// The consent form's sealed state.
#[derive(Debug, Clone)]
pub struct ConsentForm {
    /// The validated authorization request.
    pub request: AuthRequest,
    csrf: String,
    nonce: String,
    /// Unix time after which the form is refused.
    pub expires_at: u64,
}

/// `{"request":{…},"csrf":…,"nonce":…,"expires_at":…}`, sealed into the page.
impl crate::json::ToJson for ConsentForm {
    fn to_json(&self) -> crate::json::Value {
        crate::json::Value::object([
            ("request", self.request.to_json()),
            ("csrf", (&self.csrf).into()),
            ("nonce", (&self.nonce).into()),
            ("expires_at", self.expires_at.into()),
        ])
    }
}

impl crate::json::FromJson for ConsentForm {
    fn from_json(value: &crate::json::Value) -> Result<ConsentForm, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        Ok(ConsentForm {
            request: f.read("request")?,
            csrf: f.str("csrf")?,
            nonce: f.str("nonce")?,
            expires_at: f.u64("expires_at")?,
        })
    }
}

impl ConsentForm {
    /// The id under which this form's answer is claimed (single use).
    pub fn claim_id(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(format!("consent:{}", self.nonce)).into()
    }

    /// The redirect URI (validated at GET /authorize, sealed since).
    pub fn redirect_uri(&self) -> Option<RedirectUri> {
        RedirectUri::parse(&self.request.redirect_uri).ok()
    }
}

/// Renders the consent page for a validated request.
pub fn show(
    config: &Config,
    keys: &Keys,
    request: &Request,
    auth: AuthRequest,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    let (csrf, set_csrf) = cookie::csrf_token(request, entropy);
    let form = ConsentForm { request: auth, csrf, nonce: b64url(&entropy.next32()), expires_at: now + FORM_LIFETIME };
    let sealed = keys.seal(Purpose::ConsentForm, crate::json::encode(&form).as_bytes(), entropy);
    let saved_hint = cookie::remembered(request, keys, now).map(|k| k.hint());
    let response = render(config, &form, &sealed, saved_hint, None, 200, Kept::default());
    match set_csrf {
        Some(c) => response.with_header("set-cookie", &c),
        None => response,
    }
}

/// What a page shown again keeps of the form as it was posted (never the
/// key: its field comes back empty).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kept {
    /// "Remember this key" was ticked.
    pub remember: bool,
    /// "Use a different key" was chosen over the saved one.
    pub new_key: bool,
}

/// Renders the page for an already sealed form (again, with a message).
pub fn render(
    config: &Config,
    form: &ConsentForm,
    sealed: &str,
    saved_hint: Option<String>,
    error: Option<&str>,
    status: u16,
    kept: Kept,
) -> Response {
    let Some(redirect) = form.redirect_uri() else {
        return pages::error(
            config,
            400,
            "Invalid request",
            "The redirect URI is not valid.",
            Some(ErrorCode::InvalidRequest),
        );
    };
    let host = redirect.receiver();
    let form_target = redirect.csp_source();
    let resource = form.request.resource.as_deref().or(config.tokens.default_resource.as_deref());
    let sealed_for = sealed_for(config, resource);
    let view = ConsentView {
        host: &host,
        redirect_uri: redirect.as_str(),
        client_name: form.request.client_name.as_deref(),
        scope: form.request.scope.as_deref(),
        resource: form.request.resource.as_deref(),
        request: sealed,
        csrf: &form.csrf,
        saved_hint,
        error,
        form_target: &form_target,
        remember: kept.remember,
        new_key: kept.new_key,
        sealed_for,
    };
    pages::consent(config, view, status)
}

/// What the user chose on the consent page.
#[derive(Debug)]
pub enum Choice {
    /// Share this key; remember it on this browser if asked.
    Approve {
        /// The key, typed or remembered.
        key: ApiKey,
        /// Whether to set the remember cookie.
        remember: bool,
        /// Whether the key is the saved one (from the remember cookie).
        saved: bool,
    },
    /// Approve without a usable key: show the page again with this message.
    MissingKey(&'static str),
    /// Refuse.
    Deny,
    /// Delete the remembered key and show the page again.
    Forget,
}

/// An answered consent form, checked: origin, CSRF, seal, expiry.
#[derive(Debug)]
pub struct Answer {
    /// The form's state.
    pub form: ConsentForm,
    /// The sealed state as posted (to render the page again).
    pub sealed: String,
    /// The user's choice.
    pub choice: Choice,
}

/// Why a consent POST was refused: a page to show.
pub struct Refused {
    /// HTTP status.
    pub status: u16,
    /// Page title.
    pub title: &'static str,
    /// What happened, for the user.
    pub message: &'static str,
}

fn refused(status: u16, title: &'static str, message: &'static str) -> Refused {
    Refused { status, title, message }
}

const FORGED: &str = "This consent form did not come from this page in this browser. Nothing was shared. Go back to the app and start again.";

/// Checks a consent POST and reads the user's choice.
pub fn read(config: &Config, keys: &Keys, request: &Request, now: u64) -> Result<Answer, Refused> {
    check_origin(config, request)?;
    if request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(refused(400, "Invalid form", "The consent form must be posted as a form."));
    }
    let params = Params::parse_body(&request.body)
        .map_err(|_| refused(400, "Invalid form", "The consent form could not be read."))?;
    let sealed = params.get("request").ok_or(refused(403, "Invalid form", FORGED))?;
    let form: ConsentForm = keys
        .open(Purpose::ConsentForm, sealed)
        .and_then(|json| crate::json::from_slice(&json).ok())
        .ok_or(refused(403, "Invalid form", FORGED))?;
    if !form_check::csrf_matches(request, params.get("csrf").unwrap_or(""), &form.csrf) {
        return Err(refused(403, "Invalid form", FORGED));
    }
    if now > form.expires_at {
        return Err(refused(400, "This page has expired", "Nothing was shared. Go back to the app and connect again."));
    }
    let choice = match params.get("action") {
        Some("approve") => approve(&params, keys, request, now),
        Some("deny") => Choice::Deny,
        Some("forget") => Choice::Forget,
        _ => return Err(refused(400, "Invalid form", "Choose Allow or Deny.")),
    };
    Ok(Answer { form, sealed: sealed.to_string(), choice })
}

const PASTE: &str = "Paste your API key to continue.";

pub(crate) fn approve(params: &Params, keys: &Keys, request: &Request, now: u64) -> Choice {
    let typed = params.get("api_key");
    let radio = params.get("key_choice");
    let use_saved = match radio {
        Some("saved") => true,
        Some(_) => false,
        // Without the radio (no saved key when the page was shown), a typed key wins.
        None => typed.is_none(),
    };
    if use_saved {
        return match cookie::remembered(request, keys, now) {
            Some(key) => Choice::Approve { key, remember: false, saved: true },
            // Neither a key nor the saved key's radio: nothing was chosen.
            None if radio.is_none() => Choice::MissingKey(PASTE),
            None => Choice::MissingKey("Your saved key is no longer available on this browser. Paste your API key."),
        };
    }
    match typed.map(ApiKey::parse) {
        Some(Some(key)) => Choice::Approve { key, remember: params.get("remember").is_some(), saved: false },
        Some(None) => {
            Choice::MissingKey("That does not look like an API key. Paste it exactly as shown in your dashboard.")
        }
        None => Choice::MissingKey(PASTE),
    }
}

fn check_origin(config: &Config, request: &Request) -> Result<(), Refused> {
    if form_check::from_our_page(config, request) {
        Ok(())
    } else {
        Err(refused(403, "Invalid form", FORGED))
    }
}

/// POST /authorize: the user's answer on the consent page.
pub(crate) async fn post<S: Store>(
    ctx: &Context,
    request: &Request,
    store: &S,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    let answer = match read(&ctx.config, &ctx.keys, request, now) {
        Ok(answer) => answer,
        Err(r) => return ctx.page(r.status, r.title, r.message, None),
    };
    let form = &answer.form;
    let Some(redirect_uri) = form.redirect_uri() else {
        return ctx.page(400, "Invalid request", "The redirect URI is not valid.", Some(ErrorCode::InvalidRequest));
    };
    let issuer = ctx.config.issuer_for(&request.origin());
    let claim = form.claim_id();
    // The answer, kept a few seconds for the same form posted again from
    // this browser (read() checked its CSRF token): a double click whose
    // first answer the browser dropped gets the same redirect.
    let respond = |choice: &'static str, params: &[(&str, &str)]| {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(state) = &form.request.state {
            all.push(("state", state));
        }
        all.push(("iss", &issuer));
        let location = redirect_uri.with_params(&all);
        ctx.claims.keep_answer(claim, choice, location.clone(), now + crate::grants::guard::REPEAT_WINDOW, now);
        redirect(303, &location)
    };
    let already_answered = |choice: &str| match ctx.claims.answer(&claim, choice, now) {
        Some(location) => redirect(303, &location),
        None => ctx.page(
            403,
            "Already answered",
            "This consent form was already used. Go back to the app and connect again.",
            None,
        ),
    };
    match answer.choice {
        Choice::Forget => redirect(303, &authorize_url(&ctx.config, &form.request))
            .with_header("set-cookie", &cookie::clear(cookie::REMEMBER)),
        Choice::MissingKey(message) => {
            let hint = cookie::remembered(request, &ctx.keys, now).map(|k| k.hint());
            render(&ctx.config, form, &answer.sealed, hint, Some(message), 400, Kept::default())
        }
        Choice::Deny => {
            if !ctx.claims.claim(claim, form.expires_at, now) {
                return already_answered("deny");
            }
            respond("deny", &[("error", "access_denied"), ("error_description", "the user denied access")])
        }
        Choice::Approve { key, remember, saved } => {
            if !ctx.claims.claim(claim, form.expires_at, now) {
                let again = already_answered("approve");
                // The first answer's remember cookie was dropped with it: set
                // again, from this POST's own key (it passed the same checks).
                return match remember && again.status == 303 {
                    true => again.with_header("set-cookie", &cookie::remember(&ctx.keys, &key, now, entropy)),
                    false => again,
                };
            }
            // Claimed first, so a double submit asks the platform once; a
            // refused key releases the claim: the same form answers again.
            if ctx.check_key(&key, now).await == KeyVerdict::Refused {
                ctx.claims.release(&claim);
                return refused_key(ctx, request, form, &answer.sealed, now, remember, saved);
            }
            let code = Code::new(entropy.next32());
            let resource = form.request.resource.as_deref().or(ctx.config.tokens.default_resource.as_deref());
            let sealed = ctx.config.tokens.seals(resource);
            let grant = Grant::new(form.request.clone(), key, &issuer, sealed, now);
            if let Err(e) = store.put(&code.store_key(), &code.seal(&grant), CODE_STORE_TTL).await {
                (ctx.log)(&format!("store put failed, no code issued: {}", e.0));
                ctx.claims.release(&claim);
                return ctx.page(
                    503,
                    "Temporarily unavailable",
                    "Nothing was shared. Please go back and try again in a moment.",
                    Some(ErrorCode::TemporarilyUnavailable),
                );
            }
            let response = respond("approve", &[("code", code.as_str())]);
            if remember {
                response.with_header("set-cookie", &cookie::remember(&ctx.keys, &grant.key, now, entropy))
            } else {
                response
            }
        }
    }
}

/// The consent page again after the platform refused the key: status 400,
/// the message in the alert area, the key field empty, the rest of the
/// form as posted. A refused saved key is forgotten (its cookie cleared)
/// and the page asks for a new one.
fn refused_key(
    ctx: &Context,
    request: &Request,
    form: &ConsentForm,
    sealed: &str,
    now: u64,
    remember: bool,
    saved: bool,
) -> Response {
    let message =
        format!("{} did not accept this key. Check that you copied all of it.", ctx.config.branding.product_name);
    let hint = if saved { None } else { cookie::remembered(request, &ctx.keys, now).map(|k| k.hint()) };
    let kept = Kept { remember, new_key: hint.is_some() };
    let page = render(&ctx.config, form, sealed, hint, Some(&message), 400, kept);
    if saved {
        page.with_header("set-cookie", &cookie::clear(cookie::REMEMBER))
    } else {
        page
    }
}

/// The GET /authorize URL that shows the consent page for `auth` again.
fn authorize_url(config: &Config, auth: &AuthRequest) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", auth.client_id.as_str()),
        ("redirect_uri", auth.redirect_uri.as_str()),
        ("code_challenge", auth.code_challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in [("state", &auth.state), ("scope", &auth.scope), ("resource", &auth.resource)] {
        if let Some(v) = value {
            pairs.push((name, v));
        }
    }
    format!("{}?{}", config.endpoint_path("authorize"), crate::protocol::url::form_encode_pairs(&pairs))
}

/// For a grant that gets sealed tokens: the `host[:port]` of the MCP server
/// that will use the key (the app itself gets only a token it cannot open),
/// and how many days an unused connection lasts. The consent and device
/// pages say so.
pub(crate) fn sealed_for(config: &Config, resource: Option<&str>) -> Option<(String, u64)> {
    let host = config.tokens.seals(resource).then(|| crate::Url::parse(resource?).ok()?.host_port()).flatten()?;
    Some((host, config.tokens.refresh_ttl.div_ceil(86_400)))
}
