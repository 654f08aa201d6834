//! The device authorization grant (RFC 8628): POST /device_authorization
//! (the device asks), GET/POST /device (the person enters the user code,
//! sees where the request came from, and allows or denies), and the device
//! code grant at /token (the device polls). The decisions are
//! [`crate::grants::device`]'s; the records live in the strongly consistent
//! grant store (one subject, [`DEVICE_SUBJECT`]), which every step reads
//! after the previous step's write, whichever isolate or location runs it.
//! Without a grant store every device endpoint answers 503.

use crate::crypto::entropy::Entropy;
use crate::crypto::seal::Purpose;
use crate::crypto::secret::ApiKey;
use crate::endpoints::consent::{self, Choice};
use crate::endpoints::token::{client_id, DeviceRequest, DEVICE_CODE_GRANT};
use crate::endpoints::{authorize, form_check, issue, Context};
use crate::grants::device::{
    format_user_code, normalize_user_code, user_code, DeviceCode, DeviceRecord, DeviceState, Lookup, Poll,
    DEVICE_LIFETIME, DEVICE_SUBJECT, INTERVAL,
};
use crate::grants::key_check::KeyVerdict;
use crate::grants::ledger::{GrantCommand, GrantReply};
use crate::http::{Request, Response};
use crate::json::{Object, Value};
use crate::pages::{self, cookie, DeviceView};
use crate::protocol::encoding::b64url;
use crate::protocol::error::{json_error, ErrorCode, OAuthError};
use crate::protocol::form::Params;
use crate::store::GrantStore;

/// The longest user agent kept and shown, in characters.
pub const MAX_USER_AGENT: usize = 200;

fn no_store_bound(ctx: &Context, grants: &impl GrantStore) -> Response {
    (ctx.log)(&format!(
        "the device flow needs the strongly consistent grant store, refusing: {}",
        grants.unbound_reason()
    ));
    json_error(503, ErrorCode::ServerError.as_str(), "the device flow needs a grant store, which is not configured")
}

fn store_failed(ctx: &Context, at: &str, e: crate::store::StoreError) -> Response {
    (ctx.log)(&format!("grant store failed at {at}: {}", e.0));
    OAuthError::unavailable().to_response()
}

/// The keyed hash under which a normalized user code is found.
fn user_id(ctx: &Context, normalized: &str) -> String {
    b64url(&ctx.keys.tag(b"device user code v1", normalized.as_bytes()))
}

/// The device's address: `cf-connecting-ip` (set by Cloudflare), if any.
fn client_ip(request: &Request) -> Option<String> {
    request.header("cf-connecting-ip").map(|ip| ip.chars().take(64).collect())
}

/// The wrong-code limit's bucket for a client address: an IPv6 address by
/// its /64, the least a network hands one customer (counting each address
/// apart gave one /64 2^64 buckets), however it is written; IPv4 as is.
fn ip_bucket(ip: &str) -> String {
    match crate::protocol::url::parse_ipv6(ip.trim_start_matches('[').trim_end_matches(']')) {
        Some(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("ip:{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        None => format!("ip:{ip}"),
    }
}

/// POST /device_authorization (RFC 8628 §3.1–3.2).
pub(crate) async fn authorization<G: GrantStore>(
    ctx: &Context,
    request: &Request,
    grants: &G,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    if request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return OAuthError::invalid_request("device authorization requests must be application/x-www-form-urlencoded")
            .to_response();
    }
    let params = match Params::parse_oauth_body(&request.body) {
        Ok(p) => p,
        Err(e) => return e.to_response(),
    };
    let client_id = match client_id(&params, request.header("authorization")) {
        Ok(id) => id,
        Err(e) => return e.to_response(),
    };
    let client = match ctx.client(&client_id, now).await {
        Ok(c) => c,
        Err(why) => {
            (ctx.log)(&format!("device authorization from an unknown client: {why}"));
            return OAuthError::new(ErrorCode::InvalidClient, "unknown client_id").to_response();
        }
    };
    if !client.allows_grant(DEVICE_CODE_GRANT) {
        return OAuthError::new(ErrorCode::UnauthorizedClient, "this client did not register the device_code grant")
            .to_response();
    }
    let scope = match params.get("scope").map(authorize::check_scope).transpose() {
        Ok(s) => s.or_else(|| authorize::default_scope(&ctx.config)),
        Err(e) => return e.to_response(),
    };
    let mut resource = match params.get("resource").map(|r| ctx.config.resources.check(r)).transpose() {
        Ok(r) => r,
        Err(e) => return e.to_response(),
    };
    if resource.is_none() && ctx.config.tokens.mode == crate::config::TokenMode::Sealed {
        match &ctx.config.tokens.default_resource {
            Some(d) => resource = Some(d.clone()),
            None => {
                return OAuthError::new(
                    ErrorCode::InvalidTarget,
                    "this provider issues tokens for one resource: send resource",
                )
                .to_response()
            }
        }
    }
    if !grants.bound() {
        return no_store_bound(ctx, grants);
    }
    let device_code = DeviceCode::new(entropy.next32());
    let origin = request.origin();
    for _ in 0..3 {
        let Some(user) = user_code(&entropy.next32()) else { continue };
        let record = DeviceRecord {
            id: device_code.id(),
            user: user_id(ctx, &user),
            client_id: client_id.clone(),
            client_name: client.name().map(str::to_string),
            scope: scope.clone(),
            resource: resource.clone(),
            requested_at: now,
            ip: client_ip(request),
            user_agent: request.header("user-agent").map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
            expires_at: now + DEVICE_LIFETIME,
            interval: INTERVAL,
            last_poll: None,
            state: DeviceState::Pending,
            sealed: None,
            subject: None,
        };
        match grants.call(DEVICE_SUBJECT, GrantCommand::DevicePut { device: record }).await {
            Ok(GrantReply::Done) => {}
            Ok(GrantReply::Taken) => continue,
            Ok(other) => return store_failed(ctx, "/device_authorization", unexpected(&other)),
            Err(e) => return store_failed(ctx, "/device_authorization", e),
        }
        let shown = format_user_code(&user);
        let verification_uri = format!("{origin}{}", ctx.config.endpoint_path("device"));
        let complete = format!("{verification_uri}?user_code={shown}");
        return Response::json(
            200,
            &Value::object([
                ("device_code", device_code.as_str().into()),
                ("user_code", shown.into()),
                ("verification_uri", verification_uri.into()),
                ("verification_uri_complete", complete.into()),
                ("expires_in", DEVICE_LIFETIME.into()),
                ("interval", INTERVAL.into()),
            ]),
        )
        .no_store();
    }
    store_failed(ctx, "/device_authorization", crate::store::StoreError("no free user code after 3 draws".into()))
}

fn unexpected(reply: &GrantReply) -> crate::store::StoreError {
    crate::store::StoreError(format!("unexpected reply {}", crate::store::grant_wire::reply_tag(reply)))
}

/// The plaintext of an approved record's sealed key: the record's id, a
/// newline, the key (bound to the record; no serde, for size).
fn key_plaintext(id: &str, key: &ApiKey) -> Vec<u8> {
    format!("{id}\n{}", key.expose()).into_bytes()
}

fn open_key(plaintext: &[u8], id: &str) -> Option<ApiKey> {
    let text = std::str::from_utf8(plaintext).ok()?;
    let (bound, key) = text.split_once('\n')?;
    (bound == id).then(|| ApiKey::parse(key)).flatten()
}

/// The device code grant at /token (RFC 8628 §3.4–3.5).
pub(crate) async fn poll<G: GrantStore>(
    ctx: &Context,
    request: &DeviceRequest,
    grants: &G,
    issuer: &str,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    if !grants.bound() {
        return no_store_bound(ctx, grants);
    }
    let id = request.device_code.id();
    let command = GrantCommand::DevicePoll { id: id.clone(), client_id: request.client_id.clone(), now };
    let outcome = match grants.call(DEVICE_SUBJECT, command).await {
        Ok(GrantReply::Poll { outcome }) => outcome,
        Ok(other) => return store_failed(ctx, "/token (device)", unexpected(&other)),
        Err(e) => return store_failed(ctx, "/token (device)", e),
    };
    let error = |code: ErrorCode, description: &'static str| OAuthError::new(code, description).to_response();
    let device = match outcome {
        Poll::Redeemed { subject: Some(sub) } => {
            revoke_redeemed(ctx, grants, &sub, &id).await;
            return error(ErrorCode::InvalidGrant, "the device code is invalid, expired or already used");
        }
        Poll::Unknown | Poll::Redeemed { subject: None } => {
            return error(ErrorCode::InvalidGrant, "the device code is invalid, expired or already used")
        }
        Poll::WrongClient => return error(ErrorCode::InvalidGrant, "the device code was issued to another client"),
        Poll::Pending => return error(ErrorCode::AuthorizationPending, "the person has not answered yet"),
        Poll::SlowDown { interval } => {
            return json_error(400, "slow_down", &format!("polling too fast: wait {interval} seconds between polls"))
        }
        Poll::Denied => return error(ErrorCode::AccessDenied, "the person denied access"),
        Poll::Expired => return error(ErrorCode::ExpiredToken, "the device code has expired"),
        Poll::Tokens { device } => device,
    };
    let opened =
        device.sealed.as_deref().and_then(|s| ctx.keys.open(Purpose::DeviceKey, s)).and_then(|p| open_key(&p, &id));
    let Some(key) = opened else {
        (ctx.log)("an approved device record's key does not open (secret rotated?)");
        return error(ErrorCode::InvalidGrant, "the device code is invalid, expired or already used");
    };
    // The grant was recorded at the approval: nothing more to store, so
    // nothing can fail between the redeeming poll and the tokens.
    if ctx.config.tokens.seals(device.resource.as_deref()) {
        return match issue::first_refresh(ctx, &approval(&device, &key), &id) {
            Ok(first) => {
                let with_refresh = issue::refreshes(ctx, &request.client_id);
                issue::sealed_response(ctx, &first, None, issuer, now, entropy, with_refresh)
            }
            Err(response) => response,
        };
    }
    let mut body = Object::from([("access_token", key.expose().into()), ("token_type", "Bearer".into())]);
    body.insert_some("scope", device.scope.as_deref());
    body.insert_some("resource", device.resource.as_deref());
    Response::json(200, &body.into()).no_store()
}

/// A device code redeemed again: the sealed grant its first redemption
/// made is revoked, as for an authorization code presented twice (RFC 6749
/// §4.1.2; RFC 8628 says nothing). Best effort: the poll is refused either way.
async fn revoke_redeemed<G: GrantStore>(ctx: &Context, grants: &G, sub: &str, id: &str) {
    let gid = crate::grants::refresh::grant_id_for_code(&ctx.keys, id);
    (ctx.log)("a device code was redeemed again: its grant is revoked");
    if let Err(e) = grants.call(sub, GrantCommand::Revoke { id: Some(gid) }).await {
        (ctx.log)(&format!("grant store failed revoking the grant of a reused device code: {}", e.0));
    }
}

/// Removes the sealed grant recorded for an approval that did not take
/// (the request was answered or expired meanwhile). Best effort: such a
/// grant never had a token.
async fn forget_grant<G: GrantStore>(ctx: &Context, grants: &G, approved: &issue::Approval<'_>, id: &str) {
    if let Ok(first) = issue::first_refresh(ctx, approved, id) {
        if let Err(e) = grants.call(&first.sub, GrantCommand::Forget { id: first.gid }).await {
            (ctx.log)(&format!("grant store failed forgetting an unused device grant: {}", e.0));
        }
    }
}

/// What the person approves for a device record.
fn approval<'a>(device: &'a DeviceRecord, key: &'a ApiKey) -> issue::Approval<'a> {
    issue::Approval {
        client_id: &device.client_id,
        client_name: device.client_name.as_deref(),
        client_host: None,
        resource: device.resource.as_deref(),
        scope: device.scope.as_deref(),
        key,
    }
}

/// How long the consent step may stay open, in seconds (the record's own
/// expiry is checked again at the answer).
pub const STEP_LIFETIME: u64 = DEVICE_LIFETIME;

/// The consent step's sealed state: the pending record as found, bound to
/// the browser's CSRF cookie.
pub struct DeviceForm {
    device: DeviceRecord,
    csrf: String,
    expires_at: u64,
}

impl DeviceForm {
    /// Sealed as `csrf \n expires_at \n record JSON` (the record's JSON
    /// form exists anyway).
    fn seal(&self, ctx: &Context, entropy: &mut Entropy) -> String {
        let record = crate::json::encode(&self.device);
        let text = format!("{}\n{}\n{record}", self.csrf, self.expires_at);
        ctx.keys.seal(Purpose::DeviceForm, text.as_bytes(), entropy)
    }

    fn open(ctx: &Context, sealed: &str) -> Option<DeviceForm> {
        let plain = ctx.keys.open(Purpose::DeviceForm, sealed)?;
        let text = std::str::from_utf8(&plain).ok()?;
        let mut parts = text.splitn(3, '\n');
        let csrf = parts.next()?.to_string();
        let expires_at = parts.next()?.parse().ok()?;
        let device = crate::json::from_slice(parts.next()?.as_bytes()).ok()?;
        Some(DeviceForm { device, csrf, expires_at })
    }
}

/// GET /device: the code entry page, pre-filled from `?user_code=`.
pub(crate) fn page(ctx: &Context, request: &Request, entropy: &mut Entropy) -> Response {
    let query = crate::protocol::form::Params::parse(request.url.query().unwrap_or_default()).ok();
    let prefill = query.as_ref().and_then(|q| q.get("user_code")).map(|v| v.chars().take(32).collect::<String>());
    let (csrf, set_csrf) = cookie::csrf_token(request, entropy);
    let view = DeviceView { csrf: &csrf, user_code: prefill.as_deref(), ..DeviceView::default() };
    with_cookie(pages::device(&ctx.config, view, 200), set_csrf)
}

fn with_cookie(response: Response, cookie: Option<String>) -> Response {
    match cookie {
        Some(c) => response.with_header("set-cookie", &c),
        None => response,
    }
}

/// The code entry page again, with a message.
fn entry_again(ctx: &Context, csrf: &str, typed: Option<&str>, message: &str, status: u16) -> Response {
    let view = DeviceView { csrf, user_code: typed, error: Some(message), ..DeviceView::default() };
    pages::device(&ctx.config, view, status)
}

/// What a POST /device asks, once its origin and CSRF token are checked.
#[derive(Debug, PartialEq, Eq)]
pub enum DevicePost {
    /// A typed user code.
    Enter(Option<String>),
    /// An answer to the consent step: `approve`, `deny` or `forget`, with
    /// the sealed step state.
    Answer(String, String),
}

/// Reads a POST /device: never panics, whatever the body.
pub fn read_post(body: &[u8], cookie_csrf: Option<&str>) -> Result<(Params, DevicePost), &'static str> {
    let params = Params::parse_body(body).map_err(|_| "The form could not be read.")?;
    let posted = params.get("csrf").unwrap_or("");
    if !form_check::same_token(posted, cookie_csrf.unwrap_or("")) {
        return Err(FORGED);
    }
    let post = match params.get("action") {
        Some("enter") | None => DevicePost::Enter(params.get("user_code").map(str::to_string)),
        Some(a @ ("approve" | "deny" | "forget")) => {
            DevicePost::Answer(a.to_string(), params.get("form").ok_or(FORGED)?.to_string())
        }
        Some(_) => return Err("Choose Allow or Deny."),
    };
    Ok((params, post))
}

const FORGED: &str =
    "This form did not come from this page in this browser. Nothing was shared. Open the page again and retry.";

/// POST /device: a typed code, or the answer to the consent step.
pub(crate) async fn post<G: GrantStore>(
    ctx: &Context,
    request: &Request,
    grants: &G,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    if let Err(refused) = form_check::page_post(ctx, request, FORGED) {
        return refused;
    }
    let cookie_csrf = request.cookie(cookie::CSRF).filter(|t| cookie::is_csrf_token(t));
    let (params, post) = match read_post(&request.body, cookie_csrf) {
        Ok(read) => read,
        Err(message) => return ctx.page(403, "Invalid form", message, None),
    };
    let csrf = cookie_csrf.unwrap_or_default();
    if !grants.bound() {
        let _ = no_store_bound(ctx, grants);
        return ctx.page(
            503,
            "Not available",
            "Signing in from a device is not configured on this server.",
            Some(ErrorCode::ServerError),
        );
    }
    let unavailable = |e: crate::store::StoreError| {
        (ctx.log)(&format!("grant store failed at /device: {}", e.0));
        ctx.page(
            503,
            "Temporarily unavailable",
            "Nothing was shared. Please try again in a moment.",
            Some(ErrorCode::TemporarilyUnavailable),
        )
    };
    match post {
        DevicePost::Enter(typed) => {
            let typed = typed.unwrap_or_default();
            let Some(code) = normalize_user_code(&typed) else {
                return entry_again(
                    ctx,
                    csrf,
                    Some(&typed),
                    "A code has 8 letters, like BCDF-GHJK. Check the code shown on your device.",
                    400,
                );
            };
            let mut who = vec![format!("browser:{}", b64url(&ctx.keys.tag(b"device guess browser", csrf.as_bytes())))];
            if let Some(ip) = client_ip(request) {
                who.push(ip_bucket(&ip));
            }
            let command = GrantCommand::DeviceLookup { user: user_id(ctx, &code), who, now };
            match grants.call(DEVICE_SUBJECT, command).await {
                Ok(GrantReply::Lookup { outcome: Lookup::Found { device } }) => {
                    let form = DeviceForm { device: *device, csrf: csrf.to_string(), expires_at: now + STEP_LIFETIME };
                    let sealed = form.seal(ctx, entropy);
                    step(ctx, request, &form, &sealed, None, 200, now)
                }
                Ok(GrantReply::Lookup { outcome: Lookup::Wrong }) => entry_again(
                    ctx,
                    csrf,
                    Some(&typed),
                    "That code is not valid: it may be mistyped, expired or already used. Check the code shown on your device.",
                    400,
                ),
                Ok(GrantReply::Lookup { outcome: Lookup::Limited { wait } }) => {
                    let minutes = wait.div_ceil(60);
                    let message = format!(
                        "Too many attempts; wait {minutes} minute{} and try again.",
                        if minutes == 1 { "" } else { "s" }
                    );
                    entry_again(ctx, csrf, None, &message, 429).with_header("retry-after", &wait.to_string())
                }
                Ok(other) => unavailable(unexpected(&other)),
                Err(e) => unavailable(e),
            }
        }
        DevicePost::Answer(action, sealed) => {
            let form = DeviceForm::open(ctx, &sealed).filter(|f| form_check::same_token(&f.csrf, csrf));
            let Some(form) = form else {
                return ctx.page(403, "Invalid form", FORGED, None);
            };
            if now > form.expires_at || now > form.device.expires_at {
                return ctx.page(400, "This code has expired", "Nothing was shared. Start again on your device.", None);
            }
            let decided = |sealed_key: Option<String>, subject: Option<String>| GrantCommand::DeviceDecide {
                id: form.device.id.clone(),
                sealed: sealed_key,
                subject,
                now,
            };
            let gone = || {
                ctx.page(
                    400,
                    "Already answered or expired",
                    "This request was already answered (if you just allowed it, your device is connected: a reload sends the answer again), or it expired. Nothing more was shared.",
                    None,
                )
            };
            let choice = match action.as_str() {
                "deny" => Choice::Deny,
                "forget" => Choice::Forget,
                _ => consent::approve(&params, &ctx.keys, request, now),
            };
            match choice {
                Choice::Forget => step(ctx, request, &form, &sealed, None, 200, now)
                    .with_header("set-cookie", &cookie::clear(cookie::REMEMBER)),
                Choice::MissingKey(message) => step(ctx, request, &form, &sealed, Some(message), 400, now),
                Choice::Deny => match grants.call(DEVICE_SUBJECT, decided(None, None)).await {
                    Ok(GrantReply::Device { device: Some(_) }) => ctx.page(
                        200,
                        "Access denied",
                        "Nothing was shared. Your device will be told that you said no.",
                        None,
                    ),
                    Ok(GrantReply::Device { device: None }) => gone(),
                    Ok(other) => unavailable(unexpected(&other)),
                    Err(e) => unavailable(e),
                },
                Choice::Approve { key, remember, saved } => {
                    if ctx.check_key(&key, now).await == KeyVerdict::Refused {
                        let message = format!(
                            "{} did not accept this key. Check that you copied all of it.",
                            ctx.config.branding.product_name
                        );
                        let page = step(ctx, request, &form, &sealed, Some(&message), 400, now);
                        return if saved {
                            page.with_header("set-cookie", &cookie::clear(cookie::REMEMBER))
                        } else {
                            page
                        };
                    }
                    // The grant is recorded first (idempotently, its id derived
                    // from the device record's), so the poll that redeems the
                    // approval needs no further write.
                    let approved = approval(&form.device, &key);
                    let sealed_mode = ctx.config.tokens.seals(form.device.resource.as_deref());
                    let mut subject = None;
                    if sealed_mode {
                        match issue::record_sealed(ctx, grants, &approved, &form.device.id, now).await {
                            Ok(first) => subject = Some(first.sub.clone()),
                            Err(response) => {
                                return if response.status == 503 {
                                    unavailable(crate::store::StoreError("recording the sealed grant".into()))
                                } else {
                                    ctx.page(400, "Invalid request", "This request cannot be granted.", None)
                                };
                            }
                        }
                    }
                    let plaintext = key_plaintext(&form.device.id, &key);
                    let sealed_key_text = ctx.keys.seal(Purpose::DeviceKey, &plaintext, entropy);
                    match grants.call(DEVICE_SUBJECT, decided(Some(sealed_key_text.clone()), subject)).await {
                        Ok(GrantReply::Device { device: Some(d) }) if d.sealed.as_deref() == Some(&sealed_key_text) => {
                            if !sealed_mode {
                                issue::record_passthrough(ctx, grants, &approved, &form.device.id, now).await;
                            }
                            let page = ctx.page(
                                200,
                                "Device connected",
                                "You can close this page and go back to your device.",
                                None,
                            );
                            if remember {
                                page.with_header("set-cookie", &cookie::remember(&ctx.keys, &key, now, entropy))
                            } else {
                                page
                            }
                        }
                        // This key's approval already stands (a reload, a second
                        // click): the grant recorded above is the one it uses.
                        Ok(GrantReply::Device { device: Some(_) }) => gone(),
                        Ok(GrantReply::Device { device: None }) => {
                            if sealed_mode {
                                forget_grant(ctx, grants, &approved, &form.device.id).await;
                            }
                            gone()
                        }
                        Ok(other) => unavailable(unexpected(&other)),
                        Err(e) => unavailable(e),
                    }
                }
            }
        }
    }
}

/// The consent step for a found request.
fn step(
    ctx: &Context,
    request: &Request,
    form: &DeviceForm,
    sealed: &str,
    error: Option<&str>,
    status: u16,
    now: u64,
) -> Response {
    let d = &form.device;
    let saved_hint = cookie::remembered(request, &ctx.keys, now).map(|k| k.hint());
    let when = utc_time(d.requested_at);
    let ago = now.saturating_sub(d.requested_at);
    let when = if ago < 120 { format!("{when} ({ago} s ago)") } else { format!("{when} ({} min ago)", ago / 60) };
    // The device wrote it: shown with what would hide or reorder text replaced.
    let user_agent = d.user_agent.as_deref().map(crate::protocol::shown::shown);
    let view = DeviceView {
        csrf: &form.csrf,
        step: true,
        form: Some(sealed),
        client_id: Some(&d.client_id),
        client_name: d.client_name.as_deref(),
        scope: d.scope.as_deref(),
        resource: d.resource.as_deref(),
        ip: Some(d.ip.as_deref().unwrap_or("unknown")),
        user_agent: Some(user_agent.as_deref().unwrap_or("not sent")),
        when: Some(&when),
        saved_hint,
        error,
        user_code: None,
        sealed_for: crate::endpoints::consent::sealed_for(
            &ctx.config,
            d.resource.as_deref().or(ctx.config.tokens.default_resource.as_deref()),
        ),
    };
    pages::device(&ctx.config, view, status)
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a Unix time.
pub fn utc_time(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CSRF: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn each_ipv6_address_of_one_network_had_its_own_wrong_code_limit() {
        let bucket = ip_bucket("2001:db8:1:2::1");
        assert_eq!(bucket, "ip:2001:db8:1:2::/64");
        for same in
            ["2001:db8:1:2::16", "2001:0db8:0001:0002:0000:0000:0000:0001", "2001:DB8:1:2::1", "[2001:db8:1:2:ffff::]"]
        {
            assert_eq!(ip_bucket(same), bucket, "{same}");
        }
        assert_ne!(ip_bucket("2001:db8:1:3::1"), bucket);
        assert_eq!(ip_bucket("198.51.100.7"), "ip:198.51.100.7");
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(1_800_000_000), "2027-01-15 08:00:00 UTC");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn posts_need_the_csrf_token_and_a_known_action() {
        let ok = format!("csrf={CSRF}&user_code=bcdf-ghjk");
        assert_eq!(read_post(ok.as_bytes(), Some(CSRF)).unwrap().1, DevicePost::Enter(Some("bcdf-ghjk".into())));
        assert!(read_post(ok.as_bytes(), None).is_err());
        assert!(read_post(b"user_code=x", Some(CSRF)).is_err());
        let answer = format!("csrf={CSRF}&action=approve");
        assert!(read_post(answer.as_bytes(), Some(CSRF)).is_err(), "an answer needs its form");
        let odd = format!("csrf={CSRF}&action=steal");
        assert!(read_post(odd.as_bytes(), Some(CSRF)).is_err());
    }

    proptest! {
        #[test]
        fn malformed_form_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_post(&body, Some(CSRF));
            let _ = read_post(&body, None);
        }

        #[test]
        fn structured_form_bodies_never_panic(
            user_code in ".{0,80}",
            action in "(enter|approve|deny|forget|[a-z%]{0,8})",
            form in "[A-Za-z0-9_%-]{0,60}",
        ) {
            let body = format!("csrf={CSRF}&action={action}&user_code={user_code}&form={form}");
            if let Ok((_, DevicePost::Enter(Some(typed)))) = read_post(body.as_bytes(), Some(CSRF)) {
                let _ = normalize_user_code(&typed);
            }
        }
    }
}
