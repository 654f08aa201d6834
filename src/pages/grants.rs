//! The grants page ("Apps with access to your key"): the key form, or the
//! list of one subject's grants with a form per action. Every value is
//! escaped by the template; the key itself is never among them (only its
//! masked hint).

use crate::config::Config;
use crate::grants::ledger::{GrantMode, GrantRecord};
use crate::http::Response;
use crate::pages::date::utc;
use crate::pages::template::{Page, Vars};
use crate::pages::{base_vars, secure};

pub(crate) static GRANTS_PAGE: Page = Page::new(include_str!("../../assets/grants.html"));

/// What the grants page shows.
pub enum GrantsState<'a> {
    /// No grant store is bound: nothing is tracked here.
    Untracked,
    /// Prove the key: paste it, or use the saved one (its masked hint).
    KeyForm {
        /// The remembered key's hint, if a key is saved on this browser.
        saved_hint: Option<String>,
    },
    /// The grants of the key with this hint, newest first.
    List {
        /// The key's masked hint.
        hint: String,
        /// The sealed session every action form carries.
        session: &'a str,
        /// The subject's grants, newest first.
        records: &'a [GrantRecord],
        /// When a revoked grant's access tokens stop working ("within the hour").
        access_ends: String,
    },
}

/// The grants page's content and messages.
pub struct GrantsView<'a> {
    /// The CSRF token (the cookie's value).
    pub csrf: &'a str,
    /// What is shown.
    pub state: GrantsState<'a>,
    /// A confirmation line after an action.
    pub notice: Option<&'a str>,
    /// A message in the alert area.
    pub error: Option<&'a str>,
}

/// How soon an access token with `ttl` seconds of life stops working.
pub fn within(ttl: u64) -> String {
    match ttl {
        0..=60 => "within a minute".to_string(),
        61..=3599 => format!("within {} minutes", ttl.div_ceil(60)),
        3600 => "within the hour".to_string(),
        _ => format!("within {} hours", ttl.div_ceil(3600)),
    }
}

fn row(r: &GrantRecord) -> Vars<'static> {
    let sealed = r.mode == GrantMode::Sealed;
    let refreshed = if !sealed {
        "never (it holds the key)".to_string()
    } else if r.generation == 0 {
        "not yet".to_string()
    } else {
        utc(r.last_used)
    };
    Vars::default()
        .set("id", r.id.as_str())
        .set("host", r.client_host.as_deref().unwrap_or(r.client_id.as_str()))
        .maybe("name", r.client_name.as_deref())
        .set("client_id", r.client_id.as_str())
        .maybe("resource", r.resource.as_deref())
        .maybe("scope", r.scope.as_deref())
        .set("connected", utc(r.created))
        .set("refreshed", refreshed)
        .set("mode", if sealed { "sealed token" } else { "your API key (passthrough)" })
        .maybe("passthrough", (!sealed).then_some("1"))
        .maybe("active", (sealed && !r.revoked).then_some("1"))
        .maybe("revoked", (sealed && r.revoked).then_some("1"))
}

/// The grants page.
pub fn page(config: &Config, view: GrantsView, status: u16) -> Response {
    let mut vars = base_vars(config)
        .set("action", config.endpoint_path("grants"))
        .set("csrf", view.csrf)
        .maybe("notice", view.notice)
        .maybe("error", view.error);
    vars = match view.state {
        GrantsState::Untracked => vars.set("untracked", "1"),
        GrantsState::KeyForm { saved_hint } => {
            vars.set("key_form", "1").maybe("saved", saved_hint.as_ref().map(|_| "1")).maybe("saved_hint", saved_hint)
        }
        GrantsState::List { hint, session, records, access_ends } => {
            let any_active = records.iter().any(|r| r.mode == GrantMode::Sealed && !r.revoked);
            vars.set("list", "1")
                .set("hint", hint)
                .set("session", session)
                .set("access_ends", access_ends)
                .maybe("none", records.is_empty().then_some("1"))
                .maybe("any_active", any_active.then_some("1"))
                .list("rows", records.iter().map(row).collect())
        }
    };
    secure(Response::html(status, GRANTS_PAGE.render(&vars)), "'self'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_end_is_said_in_words() {
        assert_eq!(within(3600), "within the hour");
        assert_eq!(within(600), "within 10 minutes");
        assert_eq!(within(30), "within a minute");
        assert_eq!(within(7200), "within 2 hours");
    }
}
