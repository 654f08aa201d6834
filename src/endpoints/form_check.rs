//! What every form on our pages (consent, grants, device) passes before it is
//! read: it was posted from our own page, and its CSRF token is the one
//! the browser's cookie holds and the one sealed into the form.

use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::endpoints::Context;
use crate::http::{Request, Response};
use crate::pages::cookie;

/// The checks every POST of our pages passes before its body is read: from
/// our own page (else a 403 page saying `forged`), and form-encoded (else
/// 400).
pub(crate) fn page_post(ctx: &Context, request: &Request, forged: &str) -> Result<(), Response> {
    if !from_our_page(&ctx.config, request) {
        return Err(ctx.page(403, "Invalid form", forged, None));
    }
    if request.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(ctx.page(400, "Invalid form", "The form must be posted as a form.", None));
    }
    Ok(())
}

/// Whether `posted` is `expected`, a well-formed CSRF token, compared in
/// constant time.
pub(crate) fn same_token(posted: &str, expected: &str) -> bool {
    cookie::is_csrf_token(expected) & bool::from(posted.as_bytes().ct_eq(expected.as_bytes()))
}

/// Whether a POST comes from our own page: a foreign `Origin` or a
/// cross-site fetch is refused. (`Origin: null` is what browsers send from
/// a page with `Referrer-Policy: no-referrer`, so it falls to the CSRF check.)
pub(crate) fn from_our_page(config: &Config, request: &Request) -> bool {
    let own = request.origin();
    let issuer_origin = config.issuer.as_deref().and_then(|i| crate::Url::parse(i).ok()).map(|u| u.origin());
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
    same_token(posted, expected) & same_token(cookie, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    /// One rule for every page's CSRF comparison: the device page used to
    /// compare with its own code, which took any non-empty cookie as a token.
    #[test]
    fn same_token_needs_a_well_formed_token_on_both_sides() {
        assert!(same_token(TOKEN, TOKEN));
        assert!(!same_token("", TOKEN));
        assert!(!same_token(&TOKEN.replace('A', "B"), TOKEN));
        for bad in ["", "x", "not-a-token", &TOKEN[..42]] {
            assert!(!same_token(bad, bad), "{bad:?} is not a CSRF token");
        }
    }
}
