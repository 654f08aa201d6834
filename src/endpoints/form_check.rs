//! What every form on our pages (consent, grants) passes before it is
//! read: it was posted from our own page, and its CSRF token is the one
//! the browser's cookie holds and the one sealed into the form.

use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::http::Request;
use crate::pages::cookie;

/// Whether a POST comes from our own page: a foreign `Origin` or a
/// cross-site fetch is refused. (`Origin: null` is what browsers send from
/// a page with `Referrer-Policy: no-referrer`, so it falls to the CSRF check.)
pub(crate) fn from_our_page(config: &Config, request: &Request) -> bool {
    let own = request.origin();
    let issuer_origin =
        config.issuer.as_deref().and_then(|i| url::Url::parse(i).ok()).map(|u| u.origin().ascii_serialization());
    if let Some(origin) = request.header("origin") {
        if origin != "null" && origin != own && Some(origin) != issuer_origin.as_deref() {
            return false;
        }
    }
    match request.header("sec-fetch-site") {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// Whether the posted CSRF token and the browser's CSRF cookie are both
/// `expected` (the token sealed into the form, or for a form with nothing
/// sealed, the cookie itself), compared in constant time.
pub(crate) fn csrf_matches(request: &Request, posted: &str, expected: &str) -> bool {
    let cookie = request.cookie(cookie::CSRF).unwrap_or("");
    cookie::is_csrf_token(expected)
        & bool::from(posted.as_bytes().ct_eq(expected.as_bytes()))
        & bool::from(cookie.as_bytes().ct_eq(expected.as_bytes()))
}
