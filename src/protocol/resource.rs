//! RFC 8707 resource indicators: which resource a code (and so the key) is
//! meant for. `https://h` and `https://h/` are the same resource.

use crate::Url;

use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::redirect::is_loopback;

/// Which resources codes may be bound to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourcePolicy {
    /// Allowed resources, normalized; empty means any https resource.
    pub allowed: Vec<String>,
    /// Also allow http resources on loopback (local development).
    pub allow_loopback_http: bool,
}

const INVALID: OAuthError = OAuthError::new(
    ErrorCode::InvalidTarget,
    "resource must be an absolute https URI without a fragment, served by this provider's resource servers",
);

impl ResourcePolicy {
    /// A policy from a list of resources (invalid entries are ignored).
    pub fn new(allowed: &[&str], allow_loopback_http: bool) -> Self {
        let allowed = allowed.iter().filter_map(|r| normalize(r)).collect();
        ResourcePolicy { allowed, allow_loopback_http }
    }

    /// Checks a `resource` parameter and returns its normalized form.
    pub fn check(&self, resource: &str) -> Result<String, OAuthError> {
        let normalized = normalize(resource).ok_or(INVALID)?;
        let url = Url::parse(&normalized).map_err(|_| INVALID)?;
        let scheme_ok =
            url.scheme() == "https" || (self.allow_loopback_http && url.scheme() == "http" && is_loopback(&url));
        if !scheme_ok {
            return Err(INVALID);
        }
        if !self.allowed.is_empty() && !self.allowed.contains(&normalized) {
            return Err(OAuthError::new(ErrorCode::InvalidTarget, "this resource is not served by this provider"));
        }
        Ok(normalized)
    }
}

/// The canonical form of a resource URI, or `None` if it is not one.
pub fn normalize(resource: &str) -> Option<String> {
    if resource.len() > 2048 || resource.contains('#') || resource.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\')
    {
        return None;
    }
    if crate::protocol::redirect::has_non_ascii_host(resource) {
        return None;
    }
    let url = Url::parse(resource).ok()?;
    if url.cannot_be_a_base() || url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    Some(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bare_origin_with_and_without_slash_are_alike() {
        let p = ResourcePolicy::new(&["https://mcp.example"], false);
        assert_eq!(p.check("https://mcp.example").unwrap(), "https://mcp.example/");
        assert_eq!(p.check("https://mcp.example/").unwrap(), "https://mcp.example/");
        assert_eq!(p.check("https://MCP.example:443/").unwrap(), "https://mcp.example/");
    }

    #[test]
    fn allow_list_refuses_others() {
        let p = ResourcePolicy::new(&["https://mcp.example/mcp"], false);
        assert!(p.check("https://mcp.example/mcp").is_ok());
        assert_eq!(p.check("https://other.example/mcp").unwrap_err().code, ErrorCode::InvalidTarget);
    }

    #[test]
    fn any_https_when_the_list_is_empty_and_loopback_http_only_in_dev() {
        let prod = ResourcePolicy::default();
        assert!(prod.check("https://anything.example/mcp").is_ok());
        assert!(prod.check("http://localhost:8788/mcp").is_err());
        let dev = ResourcePolicy::new(&[], true);
        assert!(dev.check("http://localhost:8788/mcp").is_ok());
        assert!(dev.check("http://evil.example/mcp").is_err());
    }

    #[test]
    fn malformed_resources_are_invalid_target() {
        for r in [
            "mcp",
            "/mcp",
            "https://a.example/#x",
            "javascript:alert(1)",
            "https://u@a.example/",
            "https://a.example/\n",
            "urn:x:y",
        ] {
            assert_eq!(ResourcePolicy::default().check(r).unwrap_err().code, ErrorCode::InvalidTarget, "{r}");
        }
    }

    proptest! {
        #[test]
        fn check_never_panics(s in ".{0,100}") {
            let _ = ResourcePolicy::default().check(&s);
        }
    }
}
