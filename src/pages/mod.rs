//! The HTML pages (templates in `assets/`: consent, grants, error), with the headers that keep
//! them from being framed, cached, sniffed or leaking a referrer, and
//! the cookies the pages set.

pub mod cookie;
pub mod date;
pub mod grants;
pub mod template;

pub use grants::{GrantsState, GrantsView};

use crate::config::Config;
use crate::http::Response;
use crate::pages::template::{Page, Vars};
use crate::protocol::error::ErrorCode;

static CONSENT_PAGE: Page = Page::new(include_str!("../../assets/consent.html"));
static ERROR_PAGE: Page = Page::new(include_str!("../../assets/error.html"));
static DEVICE_PAGE: Page = Page::new(include_str!("../../assets/device.html"));

/// What the /device page shows: the code entry, or (`step`) the consent
/// step for a found request.
#[derive(Default)]
pub struct DeviceView<'a> {
    /// The CSRF token.
    pub csrf: &'a str,
    /// The code as typed or from `?user_code=` (entry).
    pub user_code: Option<&'a str>,
    /// A message to show above the form.
    pub error: Option<&'a str>,
    /// Show the consent step instead of the code entry.
    pub step: bool,
    /// The sealed step state.
    pub form: Option<&'a str>,
    /// The requesting client's id.
    pub client_id: Option<&'a str>,
    /// Its unverified name.
    pub client_name: Option<&'a str>,
    /// The requested scope.
    pub scope: Option<&'a str>,
    /// The resource.
    pub resource: Option<&'a str>,
    /// The device's IP address.
    pub ip: Option<&'a str>,
    /// The device's user agent.
    pub user_agent: Option<&'a str>,
    /// When the device asked.
    pub when: Option<&'a str>,
    /// A masked hint of the remembered key.
    pub saved_hint: Option<String>,
    /// For a sealed grant: the MCP server's `host[:port]` and the idle
    /// lifetime in days (as [`ConsentView::sealed_for`]).
    pub sealed_for: Option<(String, u64)>,
}

/// The /device page (code entry or consent step).
pub fn device(config: &Config, view: DeviceView, status: u16) -> Response {
    let vars = base_vars(config)
        .set("action", config.endpoint_path("device"))
        .set("csrf", view.csrf)
        .maybe("user_code", view.user_code)
        .maybe("error", view.error)
        .maybe("step", view.step.then_some("1"))
        .maybe("form", view.form)
        .maybe("client_id", view.client_id)
        .maybe("client_name", view.client_name)
        .maybe("scope", view.scope)
        .maybe("resource", view.resource)
        .maybe("ip", view.ip)
        .maybe("user_agent", view.user_agent)
        .maybe("when", view.when)
        .maybe("saved", view.saved_hint.as_ref().map(|_| "1"))
        .maybe("saved_hint", view.saved_hint.clone())
        .maybe("sealed_host", view.sealed_for.as_ref().map(|(h, _)| h.clone()))
        .maybe("idle_days", view.sealed_for.as_ref().map(|(_, d)| d.to_string()));
    secure(Response::html(status, DEVICE_PAGE.render(&vars)), "'self'")
}

/// What the consent page shows and carries.
pub struct ConsentView<'a> {
    /// Who receives the key (`RedirectUri::receiver`).
    pub host: &'a str,
    /// The full redirect URI.
    pub redirect_uri: &'a str,
    /// The client's unverified name.
    pub client_name: Option<&'a str>,
    /// The requested scope.
    pub scope: Option<&'a str>,
    /// The resource the key is for.
    pub resource: Option<&'a str>,
    /// The sealed consent form state.
    pub request: &'a str,
    /// The CSRF token.
    pub csrf: &'a str,
    /// A masked hint of the remembered key, if there is one.
    pub saved_hint: Option<String>,
    /// A message to show above the form.
    pub error: Option<&'a str>,
    /// The CSP `form-action` source of the redirect target.
    pub form_target: &'a str,
    /// Tick "Remember this key" (the page shown again as posted).
    pub remember: bool,
    /// Preselect "Use a different key" over the saved one.
    pub new_key: bool,
    /// For a sealed grant: the host of the MCP server that will use the key
    /// (the app itself gets only a token it cannot open), and how many days
    /// an unused connection lasts.
    pub sealed_for: Option<(String, u64)>,
}

pub(crate) fn base_vars(config: &Config) -> Vars<'_> {
    let grants_url = config.endpoint_path("grants");
    Vars::default()
        .set("product_name", config.branding.product_name.as_str())
        .set("logo_url", config.branding.logo_url.as_str())
        .set("assets", config.assets_prefix.as_str())
        .set("key_url", config.branding.key_url.as_str())
        .set("grants_url", grants_url)
}

/// The consent page.
pub fn consent(config: &Config, view: ConsentView, status: u16) -> Response {
    let vars = base_vars(config)
        .set("host", view.host)
        .set("redirect_uri", view.redirect_uri)
        .maybe("client_name", view.client_name)
        .maybe("scope", view.scope)
        .maybe("resource", view.resource)
        .set("action", config.endpoint_path("authorize"))
        .set("request", view.request)
        .set("csrf", view.csrf)
        .maybe("saved", view.saved_hint.as_ref().map(|_| "1"))
        .maybe("saved_hint", view.saved_hint.clone())
        .maybe("error", view.error)
        .maybe("remember", view.remember.then_some("1"))
        .maybe("new_key", view.new_key.then_some("1"))
        .maybe("sealed_host", view.sealed_for.as_ref().map(|(h, _)| h.clone()))
        .maybe("idle_days", view.sealed_for.as_ref().map(|(_, d)| d.to_string()));
    secure(Response::html(status, CONSENT_PAGE.render(&vars)), &format!("'self' {}", view.form_target))
}

/// An error page (never a redirect).
pub fn error(config: &Config, status: u16, title: &str, message: &str, code: Option<ErrorCode>) -> Response {
    let vars = base_vars(config).set("title", title).set("message", message).maybe("code", code.map(ErrorCode::as_str));
    secure(Response::html(status, ERROR_PAGE.render(&vars)), "'none'")
}

/// Adds the page security headers. `form_action` is the CSP source list
/// of where forms may go: for the consent form, also where its 303 goes
/// (browsers check redirects after a form post against `form-action`).
pub(crate) fn secure(response: Response, form_action: &str) -> Response {
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    response
        .with_header("content-security-policy", &csp)
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-content-type-options", "nosniff")
        .no_store()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_escapes_and_has_security_headers() {
        let r = error(
            &Config::default(),
            400,
            "Bad <request>",
            "\"><svg onload=alert(1)>",
            Some(ErrorCode::InvalidRequest),
        );
        let body = r.text();
        assert!(body.contains("Bad &lt;request&gt;"));
        assert!(!body.contains("<svg"));
        assert!(body.contains("invalid_request"));
        assert!(r.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }

    #[test]
    fn templates_have_no_inline_script_or_style() {
        for t in [&CONSENT_PAGE, &ERROR_PAGE, &DEVICE_PAGE, &grants::GRANTS_PAGE].map(Page::text) {
            assert!(!t.contains("<script"), "no script at all on these pages");
            assert!(!t.contains("<style") && !t.contains("style="));
            assert!(!t.contains(" on") || !t.contains("onclick"));
        }
    }
}
