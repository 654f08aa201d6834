//! GET and POST /grants: "Apps with access to your key". A person proves
//! they hold a key (pasted, or the saved one, resolved from the remember
//! cookie on the server) and sees every grant of that key's subject (during
//! a `SECRET` rotation, its subject under the previous secret too), newest
//! first; each sealed grant can be revoked, all at once too, and a
//! passthrough approval's row forgotten.
//!
//! The proof lasts as long as the page: a sealed session value (subjects,
//! masked key hint, CSRF token, nonce, ten-minute expiry) in every action
//! form, never a login cookie, never the key. Every POST passes the same
//! origin and CSRF checks as the consent form; each session answers once
//! (claimed by its nonce), and each answer renders a fresh one, so a
//! replayed form is refused.

use crate::crypto::entropy::Entropy;
use crate::crypto::seal::Purpose;
use crate::crypto::secret::ApiKey;
use crate::endpoints::{form_check, Context};
use crate::grants::guard::REPEAT_WINDOW;
use crate::grants::ledger::{GrantCommand, GrantMode, GrantRecord, GrantReply};
use crate::grants::refresh::subjects;
use crate::http::{Request, Response};
use crate::pages::grants::within;
use crate::pages::{self, cookie, GrantsState, GrantsView};
use crate::protocol::encoding::b64url;
use crate::protocol::error::ErrorCode;
use crate::protocol::form::Params;
use crate::store::GrantStore;

/// How long a grants page may act after the key was proven, in seconds.
pub const SESSION_LIFETIME: u64 = 600;

/// The grants page's sealed session.
struct Session {
    sub: String,
    /// During a `SECRET` rotation, the key's subject under the previous
    /// secret: its grants are listed and acted on too.
    previous_sub: Option<String>,
    hint: String,
    csrf: String,
    nonce: String,
    expires_at: u64,
}

impl crate::json::ToJson for Session {
    fn to_json(&self) -> crate::json::Value {
        let mut o = crate::json::Object::new();
        o.insert("sub", &self.sub);
        o.insert_some("previous_sub", self.previous_sub.as_deref());
        o.insert("hint", &self.hint);
        o.insert("csrf", &self.csrf);
        o.insert("nonce", &self.nonce);
        o.insert("expires_at", self.expires_at);
        o.into()
    }
}

impl crate::json::FromJson for Session {
    fn from_json(value: &crate::json::Value) -> Result<Session, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        Ok(Session {
            sub: f.str("sub")?,
            previous_sub: f.opt_str("previous_sub")?,
            hint: f.str("hint")?,
            csrf: f.str("csrf")?,
            nonce: f.str("nonce")?,
            expires_at: f.u64("expires_at")?,
        })
    }
}

impl Session {
    /// Every subject of the proven key: the current one first.
    fn subs(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.sub.as_str()).chain(self.previous_sub.as_deref())
    }

    fn claim_id(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(format!("grants:{}", self.nonce)).into()
    }
}

const FORGED: &str = "This form did not come from this page in this browser. Nothing was changed. Open the page again.";

fn forged(ctx: &Context) -> Response {
    ctx.page(403, "Invalid form", FORGED, None)
}

fn unavailable(ctx: &Context, e: &str) -> Response {
    (ctx.log)(&format!("grant store failed on the grants page: {e}"));
    ctx.page(
        503,
        "Temporarily unavailable",
        "Nothing was changed. Please try again in a moment.",
        Some(ErrorCode::TemporarilyUnavailable),
    )
}

/// GET /grants: the key form (or, without a grant store, why there is
/// nothing to show).
pub(crate) fn get<G: GrantStore>(
    ctx: &Context,
    request: &Request,
    grants: &G,
    now: u64,
    entropy: &mut Entropy,
) -> Response {
    let (csrf, set_csrf) = cookie::csrf_token(request, entropy);
    let state = if grants.bound() {
        GrantsState::KeyForm { saved_hint: cookie::remembered(request, &ctx.keys, now).map(|k| k.hint()) }
    } else {
        GrantsState::Untracked
    };
    let page = pages::grants::page(&ctx.config, GrantsView { csrf: &csrf, state, notice: None, error: None }, 200);
    match set_csrf {
        Some(c) => page.with_header("set-cookie", &c),
        None => page,
    }
}

fn key_form(ctx: &Context, request: &Request, csrf: &str, error: &str, now: u64) -> Response {
    let saved_hint = cookie::remembered(request, &ctx.keys, now).map(|k| k.hint());
    let view = GrantsView { csrf, state: GrantsState::KeyForm { saved_hint }, notice: None, error: Some(error) };
    pages::grants::page(&ctx.config, view, 400)
}

/// The key the person proved: typed, or the saved one.
fn proven_key(params: &Params, ctx: &Context, request: &Request, now: u64) -> Result<ApiKey, &'static str> {
    let typed = params.get("api_key").filter(|k| !k.is_empty());
    let use_saved = match params.get("key_choice") {
        Some(choice) => choice == "saved",
        None => typed.is_none(),
    };
    if use_saved {
        return cookie::remembered(request, &ctx.keys, now)
            .ok_or("Your saved key is no longer available on this browser. Paste your API key.");
    }
    match typed.map(ApiKey::parse) {
        Some(Some(key)) => Ok(key),
        Some(None) => Err("That does not look like an API key. Paste it exactly as shown in your dashboard."),
        None => Err("Paste your API key to see the apps connected with it."),
    }
}

/// POST /grants: prove the key (`action=show`), or act on the list with
/// the page's session (`revoke` with `grant`, `revoke_all`, `forget` with
/// `grant`).
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
    let Ok(params) = Params::parse_body(&request.body) else {
        return ctx.page(400, "Invalid form", "The form could not be read.", None);
    };
    let posted_csrf = params.get("csrf").unwrap_or("");
    let action = params.get("action").unwrap_or("");
    if action == "show" {
        let csrf = request.cookie(cookie::CSRF).unwrap_or("");
        if !form_check::csrf_matches(request, posted_csrf, csrf) {
            return forged(ctx);
        }
        if !grants.bound() {
            let view = GrantsView { csrf, state: GrantsState::Untracked, notice: None, error: None };
            return pages::grants::page(&ctx.config, view, 200);
        }
        return match proven_key(&params, ctx, request, now) {
            Ok(key) => {
                let mut subs = subjects(&ctx.keys, &key).into_iter();
                let session = Session {
                    sub: subs.next().unwrap_or_default(),
                    previous_sub: subs.next(),
                    hint: key.hint(),
                    csrf: csrf.to_string(),
                    nonce: b64url(&entropy.next32()),
                    expires_at: now + SESSION_LIFETIME,
                };
                list(ctx, grants, session, None, entropy).await
            }
            Err(message) => key_form(ctx, request, csrf, message, now),
        };
    }
    if !matches!(action, "revoke" | "revoke_all" | "forget") {
        return ctx.page(400, "Invalid form", "Choose an action on the page.", None);
    }
    let Some(session) = params
        .get("session")
        .and_then(|s| ctx.keys.open(Purpose::GrantsSession, s))
        .and_then(|json| crate::json::from_slice::<Session>(&json).ok())
    else {
        return forged(ctx);
    };
    if !form_check::csrf_matches(request, posted_csrf, &session.csrf) {
        return forged(ctx);
    }
    if now > session.expires_at {
        return key_form(ctx, request, &session.csrf, "This page has expired. Show your connected apps again.", now);
    }
    let claim = session.claim_id();
    let choice = match action {
        "revoke" => "revoke",
        "revoke_all" => "revoke_all",
        _ => "forget",
    };
    // What the same action on the same app answered (kept for a double press).
    let grant = params.get("grant").unwrap_or("");
    let kept = |notice: &str| format!("{grant}\n{notice}");
    let done = if ctx.claims.claim(claim, session.expires_at, now) {
        match act(ctx, grants, &session, action, params.get("grant")).await {
            Ok(done) => {
                if let Done::Notice(notice) = &done {
                    ctx.claims.keep_answer(claim, choice, kept(notice), now + REPEAT_WINDOW, now);
                }
                done
            }
            Err(e) => {
                ctx.claims.release(&claim);
                return unavailable(ctx, &e);
            }
        }
    } else {
        // Pressed twice, and the browser dropped the first answer: the first
        // answer's notice again, over the list as it is now; nothing is done twice.
        let first = ctx.claims.answer(&claim, choice, now);
        match first.as_deref().and_then(|a| a.strip_prefix(grant)?.strip_prefix('\n')) {
            Some(notice) => Done::Notice(notice.to_string()),
            None => return ctx.page(403, "Already used", "This form was already used. Open the page again.", None),
        }
    };
    let fresh = Session { nonce: b64url(&entropy.next32()), expires_at: now + SESSION_LIFETIME, ..session };
    list(ctx, grants, fresh, Some(done), entropy).await
}

/// What an action did, for the confirmation line (or why it did nothing).
enum Done {
    Notice(String),
    Refused(&'static str),
}

async fn act<G: GrantStore>(
    ctx: &Context,
    grants: &G,
    session: &Session,
    action: &str,
    grant: Option<&str>,
) -> Result<Done, String> {
    let ends = within(ctx.config.tokens.access_ttl);
    if action == "revoke_all" {
        for sub in session.subs() {
            grants.call(sub, GrantCommand::Revoke { id: None }).await.map_err(|e| e.0)?;
        }
        return Ok(Done::Notice(format!(
            "Every app's access is revoked: none of them can refresh any more, and access tokens they already hold stop working {ends}."
        )));
    }
    let Some(id) = grant.filter(|g| !g.is_empty()) else {
        return Ok(Done::Refused("Choose an app on the page."));
    };
    let mut found = None;
    for sub in session.subs() {
        if let GrantReply::Record { record: Some(r) } =
            grants.call(sub, GrantCommand::Get { id: id.to_string() }).await.map_err(|e| e.0)?
        {
            found = Some((sub, r));
            break;
        }
    }
    let Some((sub, record)) = found else {
        return Ok(Done::Refused("That app is no longer listed."));
    };
    let host = host_of(&record);
    match (action, record.mode) {
        ("revoke", GrantMode::Sealed) => {
            grants.call(sub, GrantCommand::Revoke { id: Some(record.id.clone()) }).await.map_err(|e| e.0)?;
            Ok(Done::Notice(format!(
                "Revoked {host}: it can no longer refresh, and access tokens it already holds stop working {ends}."
            )))
        }
        ("forget", GrantMode::Passthrough) => {
            grants.call(sub, GrantCommand::Forget { id: record.id.clone() }).await.map_err(|e| e.0)?;
            Ok(Done::Notice(format!(
                "Removed {host} from this list. It still holds your key until you revoke the key in your dashboard."
            )))
        }
        ("revoke", GrantMode::Passthrough) => {
            Ok(Done::Refused("That app holds your key itself: only revoking the key in your dashboard stops it."))
        }
        _ => Ok(Done::Refused("Only an app that received your key itself can be forgotten; revoke this one.")),
    }
}

fn host_of(record: &GrantRecord) -> &str {
    record.client_host.as_deref().unwrap_or(&record.client_id)
}

/// The subject's grants with a fresh session for the next action.
async fn list<G: GrantStore>(
    ctx: &Context,
    grants: &G,
    session: Session,
    done: Option<Done>,
    entropy: &mut Entropy,
) -> Response {
    let mut records = Vec::new();
    for sub in session.subs() {
        match grants.call(sub, GrantCommand::List).await {
            Ok(GrantReply::Records { records: more }) => records.extend(more),
            Ok(_) => {}
            Err(e) => return unavailable(ctx, &e.0),
        }
    }
    // Newest first across both subjects, as the ledger lists one.
    crate::grants::ledger::newest_first(&mut records);
    let sealed = ctx.keys.seal(Purpose::GrantsSession, crate::json::encode(&session).as_bytes(), entropy);
    let (notice, error) = match &done {
        Some(Done::Notice(n)) => (Some(n.as_str()), None),
        Some(Done::Refused(r)) => (None, Some(*r)),
        None => (None, None),
    };
    let state = GrantsState::List {
        hint: session.hint.clone(),
        session: &sealed,
        records: &records,
        access_ends: within(ctx.config.tokens.access_ttl),
    };
    pages::grants::page(&ctx.config, GrantsView { csrf: &session.csrf, state, notice, error }, 200)
}
