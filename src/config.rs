//! Provider configuration: where it is mounted, how it looks, which
//! resources it serves.

use crate::protocol::resource::ResourcePolicy;

/// How the consent page presents the API platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// The platform's name, e.g. "Parallel.ai".
    pub product_name: String,
    /// The logo's URL (same origin: the page loads nothing from elsewhere).
    pub logo_url: String,
    /// Where users get their API key.
    pub key_url: String,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            product_name: "Parallel.ai".into(),
            logo_url: "/assets/oauth/logo.svg".into(),
            key_url: "https://platform.parallel.ai/settings?tab=api-keys".into(),
        }
    }
}

/// The provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Prefix of /authorize, /token and /register, e.g. "/oauth" ("" = root).
    pub path_prefix: String,
    /// Prefix of the static assets (CSS, logo, fonts), e.g. "/assets/oauth".
    pub assets_prefix: String,
    /// The issuer, if not the request's origin plus the path prefix.
    pub issuer: Option<String>,
    /// Look of the consent page.
    pub branding: Branding,
    /// Which resources codes may be bound to.
    pub resources: ResourcePolicy,
    /// Scopes listed in the metadata (any scope is accepted).
    pub scopes_supported: Vec<String>,
    /// Local development: client metadata documents may be http on loopback.
    pub dev: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path_prefix: String::new(),
            assets_prefix: "/assets/oauth".into(),
            issuer: None,
            branding: Branding::default(),
            resources: ResourcePolicy::default(),
            scopes_supported: vec!["api".into()],
            dev: false,
        }
    }
}

impl Config {
    /// Normalizes prefixes: a leading slash, no trailing one.
    pub fn normalized(mut self) -> Self {
        self.path_prefix = normalize_prefix(&self.path_prefix);
        self.assets_prefix = normalize_prefix(&self.assets_prefix);
        self.issuer = self.issuer.filter(|i| !i.trim().is_empty()).map(|i| i.trim().trim_end_matches('/').to_string());
        self
    }

    /// The issuer for a request arriving at `origin`: no trailing slash.
    pub fn issuer_for(&self, origin: &str) -> String {
        match &self.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("{origin}{}", self.path_prefix),
        }
    }

    /// The URL path of one of the provider's endpoints.
    pub fn endpoint_path(&self, name: &str) -> String {
        format!("{}/{name}", self.path_prefix)
    }
}

fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// A configuration the provider refuses to run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `SECRET` is missing or shorter than 32 bytes.
    WeakSecret,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::WeakSecret => f.write_str(
                "SECRET is missing or shorter than 32 bytes: refusing to issue codes (set it with `wrangler secret put SECRET`)",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_issuer_are_normalized() {
        let c = Config {
            path_prefix: "oauth/".into(),
            issuer: Some("https://oauth.parallel.ai/".into()),
            ..Config::default()
        }
        .normalized();
        assert_eq!(c.path_prefix, "/oauth");
        assert_eq!(c.endpoint_path("token"), "/oauth/token");
        assert_eq!(c.issuer_for("http://x"), "https://oauth.parallel.ai");
        let d = Config::default().normalized();
        assert_eq!(d.issuer_for("http://127.0.0.1:8787"), "http://127.0.0.1:8787");
        assert_eq!(d.endpoint_path("authorize"), "/authorize");
    }
}
