//! Provider configuration: where it is mounted, how it looks, which
//! resources it serves, which tokens it issues, where a typed key is
//! checked. [`Config::from_vars`] reads
//! it from named variables (a Worker's `[vars]`), failing closed on a value
//! it does not understand.

use crate::protocol::redirect::is_loopback;
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
    /// Which access tokens are issued, and their lifetimes.
    pub tokens: TokenPolicy,
    /// Where the consent page checks a key with the platform before
    /// issuing anything (`None`: keys are not checked).
    pub key_check: Option<KeyCheck>,
}

/// `KEY_CHECK_URL`, `KEY_CHECK_HEADER`, `KEY_CHECK_TIMEOUT_MS`: a URL of the
/// platform's API that answers 2xx for a valid key, the header that
/// carries the key, and how long to wait for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCheck {
    /// The URL GET is sent to: https (http only on loopback with `DEV`).
    pub url: String,
    /// The header that carries the key.
    pub header: KeyHeader,
    /// How long to wait for the status, in milliseconds.
    pub timeout_ms: u64,
}

/// The default `KEY_CHECK_TIMEOUT_MS`.
pub const DEFAULT_KEY_CHECK_TIMEOUT_MS: u64 = 3000;
/// The longest `KEY_CHECK_TIMEOUT_MS`: a person is waiting on the page.
pub const MAX_KEY_CHECK_TIMEOUT_MS: u64 = 10_000;

impl KeyCheck {
    /// A check of `url` with the default header (`x-api-key`) and timeout.
    pub fn new(url: impl Into<String>) -> KeyCheck {
        KeyCheck { url: url.into(), header: KeyHeader::XApiKey, timeout_ms: DEFAULT_KEY_CHECK_TIMEOUT_MS }
    }
}

/// The header that carries the key to `KEY_CHECK_URL`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KeyHeader {
    /// `x-api-key: <key>` (the default).
    #[default]
    XApiKey,
    /// `authorization: Bearer <key>`.
    Authorization,
    /// `<name>: <key>`, the name in lower case.
    Other(String),
}

impl KeyHeader {
    /// Reads a header name (any case). `None` for what is not an HTTP token
    /// or is a header the runtime sets itself (`host`, `content-length`,
    /// `cookie`, hop-by-hop headers…).
    pub fn parse(name: &str) -> Option<KeyHeader> {
        let name = name.trim().to_ascii_lowercase();
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        const RESERVED: &[&str] = &[
            "host",
            "content-length",
            "content-type",
            "transfer-encoding",
            "connection",
            "keep-alive",
            "upgrade",
            "te",
            "trailer",
            "cookie",
            "proxy-authorization",
        ];
        if name.is_empty() || name.len() > 64 || !name.bytes().all(token) || RESERVED.contains(&name.as_str()) {
            return None;
        }
        Some(match name.as_str() {
            "x-api-key" => KeyHeader::XApiKey,
            "authorization" => KeyHeader::Authorization,
            _ => KeyHeader::Other(name),
        })
    }

    /// The header's name, in lower case.
    pub fn name(&self) -> &str {
        match self {
            KeyHeader::XApiKey => "x-api-key",
            KeyHeader::Authorization => "authorization",
            KeyHeader::Other(name) => name,
        }
    }
}

/// What an access token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenMode {
    /// The access token is the user's API key (the original's behaviour).
    #[default]
    Passthrough,
    /// Every access token is sealed for one resource, with a rotating
    /// refresh token.
    Sealed,
}

/// How a sealed access token is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// A compact JWE (`dir`, `A256GCM`) under the resource's key.
    #[default]
    Jwe,
    /// An ES256-signed JWT (RFC 9068) whose key travels in `sealed_api_key`.
    Jwt,
}

/// Which tokens are issued, for which resources, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// `TOKEN_MODE`.
    pub mode: TokenMode,
    /// `SEALED_RESOURCES`: normalized resources sealed even in passthrough mode.
    pub sealed_resources: Vec<String>,
    /// `TOKEN_FORMAT`.
    pub format: TokenFormat,
    /// `DEFAULT_RESOURCE`: in sealed mode, the resource of a request without one.
    pub default_resource: Option<String>,
    /// `ACCESS_TOKEN_TTL`, seconds.
    pub access_ttl: u64,
    /// `REFRESH_TOKEN_TTL`: a refresh token's idle lifetime, renewed by each refresh.
    pub refresh_ttl: u64,
    /// `REFRESH_GRACE`: how long a just-rotated refresh token still gets its successor.
    pub refresh_grace: u64,
}

/// The longest `REFRESH_GRACE`, in seconds.
pub const MAX_REFRESH_GRACE: u64 = 300;
/// The longest `ACCESS_TOKEN_TTL`: a day (a typo in milliseconds must not
/// make a token that never expires).
pub const MAX_ACCESS_TOKEN_TTL: u64 = 86_400;
/// The longest `REFRESH_TOKEN_TTL`: a year.
pub const MAX_REFRESH_TOKEN_TTL: u64 = 365 * 86_400;

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            mode: TokenMode::Passthrough,
            sealed_resources: Vec::new(),
            format: TokenFormat::Jwe,
            default_resource: None,
            access_ttl: 3600,
            refresh_ttl: 30 * 24 * 3600,
            refresh_grace: 60,
        }
    }
}

impl TokenPolicy {
    /// Whether a grant bound to `resource` gets sealed tokens.
    pub fn seals(&self, resource: Option<&str>) -> bool {
        self.mode == TokenMode::Sealed || resource.is_some_and(|r| self.sealed_resources.iter().any(|s| s == r))
    }

    /// Whether any grant can get sealed tokens (refresh, revocation and
    /// introspection are then offered).
    pub fn any_sealed(&self) -> bool {
        self.mode == TokenMode::Sealed || !self.sealed_resources.is_empty()
    }
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
            tokens: TokenPolicy::default(),
            key_check: None,
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

    /// Reads the configuration from named variables (a Worker's `[vars]`):
    /// `ISSUER`, `PATH_PREFIX`, `ASSETS_PREFIX`, `PRODUCT_NAME`, `LOGO_URL`,
    /// `KEY_URL`, `ALLOWED_RESOURCES`, `DEV`, `TOKEN_MODE`,
    /// `SEALED_RESOURCES`, `TOKEN_FORMAT`, `DEFAULT_RESOURCE`,
    /// `ACCESS_TOKEN_TTL`, `REFRESH_TOKEN_TTL`, `REFRESH_GRACE`,
    /// `KEY_CHECK_URL`, `KEY_CHECK_HEADER`, `KEY_CHECK_TIMEOUT_MS`. Unset or
    /// empty means the default; a value that cannot be understood is an
    /// error, never a silent default.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let defaults = Config::default();
        let invalid = |name: &'static str, reason: &'static str| ConfigError::InvalidVar { name, reason };
        let branding = Branding {
            product_name: var("PRODUCT_NAME").unwrap_or(defaults.branding.product_name),
            logo_url: match var("LOGO_URL") {
                None => defaults.branding.logo_url,
                Some(u) if is_same_origin_path(&u) || u.starts_with("data:image/") => u,
                Some(_) => return Err(invalid("LOGO_URL", "a path on this origin (/...) or a data:image/ URI")),
            },
            key_url: match var("KEY_URL") {
                None => defaults.branding.key_url,
                Some(u) if crate::Url::parse(&u).is_ok_and(|u| matches!(u.scheme(), "https" | "http")) => u,
                Some(_) => return Err(invalid("KEY_URL", "an https URL")),
            },
        };
        let dev = match var("DEV").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(_) => return Err(invalid("DEV", "1 or true, 0 or false")),
        };
        // Each entry checked: one the provider cannot read must not widen the
        // list to "any https resource" (the meaning of an empty one).
        let any = ResourcePolicy::new(&[], dev);
        let allowed = list(&var("ALLOWED_RESOURCES").unwrap_or_default())
            .into_iter()
            .map(|r| {
                any.check(r).map_err(|_| {
                    invalid("ALLOWED_RESOURCES", "absolute https resource URIs (http only on loopback with DEV=1)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let resources = ResourcePolicy::new(&allowed.iter().map(String::as_str).collect::<Vec<_>>(), dev);
        let seconds = |name: &'static str, default: u64, max: u64, reason: &'static str| match var(name) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| (1..=max).contains(n)).ok_or(invalid(name, reason)),
        };
        let mode = match var("TOKEN_MODE").as_deref() {
            None | Some("passthrough") => TokenMode::Passthrough,
            Some("sealed") => TokenMode::Sealed,
            Some(_) => return Err(invalid("TOKEN_MODE", "passthrough or sealed")),
        };
        let format = match var("TOKEN_FORMAT").as_deref() {
            None | Some("jwe") => TokenFormat::Jwe,
            Some("jwt") => TokenFormat::Jwt,
            Some(_) => return Err(invalid("TOKEN_FORMAT", "jwe or jwt")),
        };
        let resource =
            |r: &str| resources.check(r).map_err(|_| invalid("SEALED_RESOURCES", "resources this provider accepts"));
        let sealed_resources =
            list(&var("SEALED_RESOURCES").unwrap_or_default()).into_iter().map(resource).collect::<Result<_, _>>()?;
        let default_resource = match var("DEFAULT_RESOURCE") {
            None => None,
            Some(r) => {
                Some(resources.check(&r).map_err(|_| invalid("DEFAULT_RESOURCE", "a resource this provider accepts"))?)
            }
        };
        let refresh_grace =
            seconds("REFRESH_GRACE", defaults.tokens.refresh_grace, MAX_REFRESH_GRACE, "1 to 300 seconds")?;
        let tokens = TokenPolicy {
            mode,
            sealed_resources,
            format,
            default_resource,
            access_ttl: seconds(
                "ACCESS_TOKEN_TTL",
                defaults.tokens.access_ttl,
                MAX_ACCESS_TOKEN_TTL,
                "1 to 86400 seconds (a day)",
            )?,
            refresh_ttl: seconds(
                "REFRESH_TOKEN_TTL",
                defaults.tokens.refresh_ttl,
                MAX_REFRESH_TOKEN_TTL,
                "1 to 31536000 seconds (a year)",
            )?,
            refresh_grace,
        };
        let key_check = key_check(&var, dev)?;
        Ok(Config {
            path_prefix: var("PATH_PREFIX").unwrap_or_default(),
            assets_prefix: var("ASSETS_PREFIX").unwrap_or(defaults.assets_prefix),
            issuer: match var("ISSUER") {
                None => None,
                Some(i) if is_issuer(&i, dev) => Some(i),
                Some(_) => {
                    return Err(invalid(
                        "ISSUER",
                        "an https URL without query, fragment or user info (http only on loopback with DEV=1)",
                    ))
                }
            },
            branding,
            resources,
            dev,
            tokens,
            key_check,
            ..defaults
        })
    }

    /// The URL path of one of the provider's endpoints.
    pub fn endpoint_path(&self, name: &str) -> String {
        format!("{}/{name}", self.path_prefix)
    }
}

/// `KEY_CHECK_*`: `None` without `KEY_CHECK_URL`. The header and the
/// timeout are checked even then, so a typo fails closed either way.
fn key_check(var: &impl Fn(&str) -> Option<String>, dev: bool) -> Result<Option<KeyCheck>, ConfigError> {
    let invalid = |name: &'static str, reason: &'static str| ConfigError::InvalidVar { name, reason };
    let header = match var("KEY_CHECK_HEADER") {
        None => KeyHeader::XApiKey,
        Some(h) => KeyHeader::parse(&h).ok_or(invalid("KEY_CHECK_HEADER", "a header name such as x-api-key"))?,
    };
    let timeout_ms = match var("KEY_CHECK_TIMEOUT_MS") {
        None => DEFAULT_KEY_CHECK_TIMEOUT_MS,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|ms| (1..=MAX_KEY_CHECK_TIMEOUT_MS).contains(ms))
            .ok_or(invalid("KEY_CHECK_TIMEOUT_MS", "a whole number of milliseconds from 1 to 10000"))?,
    };
    let Some(raw) = var("KEY_CHECK_URL") else { return Ok(None) };
    let url = crate::Url::parse(&raw).ok().filter(|u| is_server_url(u, dev)).ok_or(invalid(
        "KEY_CHECK_URL",
        "an https URL without user info or fragment (http only on loopback with DEV=1)",
    ))?;
    Ok(Some(KeyCheck { url: url.into(), header, timeout_ms }))
}

/// A server's URL the provider is configured with: https (http on loopback
/// with `DEV`), a host, no user info, no fragment.
fn is_server_url(u: &crate::Url, dev: bool) -> bool {
    (u.scheme() == "https" || (dev && u.scheme() == "http" && is_loopback(u)))
        && u.host_str().is_some_and(|h| !h.is_empty())
        && u.username().is_empty()
        && u.password().is_none()
        && u.fragment().is_none()
}

/// An issuer as RFC 8414 §2 has it: a server URL without a query.
fn is_issuer(raw: &str, dev: bool) -> bool {
    crate::Url::parse(raw).is_ok_and(|u| is_server_url(&u, dev) && u.query().is_none())
}

/// `/path` on this origin: not `//host` (another origin) nor `/\host`.
fn is_same_origin_path(raw: &str) -> bool {
    raw.starts_with('/') && !raw.starts_with("//") && !raw.contains('\\') && !raw.chars().any(char::is_control)
}

/// A comma- or space-separated list.
fn list(value: &str) -> Vec<&str> {
    value.split([',', ' ']).filter(|s| !s.is_empty()).collect()
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
    /// A configuration variable has a value the provider does not understand.
    InvalidVar {
        /// The variable.
        name: &'static str,
        /// What it must be.
        reason: &'static str,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::WeakSecret => f.write_str(
                "SECRET is missing or shorter than 32 bytes: refusing to issue codes (set it with `wrangler secret put SECRET`)",
            ),
            ConfigError::InvalidVar { name, reason } => {
                write!(f, "{name} is not valid (it must be {reason}): refusing to issue codes")
            }
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

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    /// Asserts that `pairs` are refused, the error (and its message) naming `name`.
    fn assert_refused(pairs: &[(&str, &str)], name: &str) {
        let e = Config::from_vars(vars(pairs)).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidVar { name: n, .. } if n == name), "{pairs:?}: {e}");
        assert!(e.to_string().contains(name), "{e}");
    }

    #[test]
    fn from_vars_defaults_to_passthrough() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.tokens, TokenPolicy::default());
        assert!(!c.tokens.seals(Some("https://mcp.example/mcp")));
        assert_eq!(Config::from_vars(vars(&[("TOKEN_MODE", " ")])).unwrap().tokens.mode, TokenMode::Passthrough);
    }

    #[test]
    fn from_vars_reads_the_token_policy() {
        let c = Config::from_vars(vars(&[
            ("TOKEN_MODE", "sealed"),
            ("TOKEN_FORMAT", "jwt"),
            ("DEFAULT_RESOURCE", "https://mcp.example/"),
            ("SEALED_RESOURCES", "https://a.example/mcp, https://b.example"),
            ("ACCESS_TOKEN_TTL", "600"),
            ("REFRESH_TOKEN_TTL", "86400"),
            ("REFRESH_GRACE", "300"),
        ]))
        .unwrap();
        let t = &c.tokens;
        assert_eq!((t.mode, t.format), (TokenMode::Sealed, TokenFormat::Jwt));
        assert_eq!(t.default_resource.as_deref(), Some("https://mcp.example/"));
        assert_eq!(t.sealed_resources, ["https://a.example/mcp", "https://b.example/"]);
        assert_eq!((t.access_ttl, t.refresh_ttl, t.refresh_grace), (600, 86400, 300));
        let mixed = Config::from_vars(vars(&[("SEALED_RESOURCES", "https://a.example/mcp")])).unwrap();
        assert!(mixed.tokens.seals(Some("https://a.example/mcp")));
        assert!(!mixed.tokens.seals(Some("https://yourapp.com")) && !mixed.tokens.seals(None));
        assert!(mixed.tokens.any_sealed());
    }

    #[test]
    fn from_vars_refuses_what_it_does_not_understand() {
        for (name, value) in [
            ("TOKEN_MODE", "Sealed!"),
            ("TOKEN_FORMAT", "paseto"),
            ("ACCESS_TOKEN_TTL", "-1"),
            ("ACCESS_TOKEN_TTL", "0"),
            ("REFRESH_TOKEN_TTL", "1h"),
            ("REFRESH_GRACE", "301"),
            ("DEFAULT_RESOURCE", "javascript:alert(1)"),
            ("SEALED_RESOURCES", "https://ok.example,ftp://x"),
        ] {
            assert_refused(&[(name, value)], name);
        }
    }

    #[test]
    fn a_malformed_allowed_resources_allowed_any_resource() {
        for bad in ["mcp.example.com/mcp", "https://mcp.example/mcp,bad", "http://mcp.example/mcp", "https://a#f"] {
            assert_refused(&[("ALLOWED_RESOURCES", bad)], "ALLOWED_RESOURCES");
        }
        let c = Config::from_vars(vars(&[("ALLOWED_RESOURCES", "https://a.example/mcp, https://B.example")])).unwrap();
        assert_eq!(c.resources.allowed, ["https://a.example/mcp", "https://b.example/"]);
        assert!(c.resources.check("https://evil.example/mcp").is_err());
        let dev = Config::from_vars(vars(&[("DEV", "1"), ("ALLOWED_RESOURCES", "http://127.0.0.1:9/mcp")])).unwrap();
        assert_eq!(dev.resources.allowed, ["http://127.0.0.1:9/mcp"]);
    }

    #[test]
    fn an_issuer_that_is_no_issuer_was_published() {
        for bad in [
            "not-a-url",
            "http://evil.example/x",
            "https://a.example/x?y=1",
            "https://a.example/#f",
            "https://u@a.example",
        ] {
            assert_refused(&[("ISSUER", bad)], "ISSUER");
        }
        assert!(Config::from_vars(vars(&[("ISSUER", "http://127.0.0.1:8787")])).is_err(), "http needs DEV");
        let ok = |v: &[(&str, &str)]| Config::from_vars(vars(v)).unwrap().normalized().issuer;
        assert_eq!(ok(&[("ISSUER", "https://oauth.example/x/")]).as_deref(), Some("https://oauth.example/x"));
        assert_eq!(ok(&[("DEV", "1"), ("ISSUER", "http://127.0.0.1:8787")]).as_deref(), Some("http://127.0.0.1:8787"));
    }

    #[test]
    fn a_token_lifetime_past_its_bound_wrapped_or_never_ended() {
        for (name, value) in [
            ("ACCESS_TOKEN_TTL", "18446744073709551615"),
            ("ACCESS_TOKEN_TTL", "86401"),
            ("REFRESH_TOKEN_TTL", "1000000000000"),
            ("REFRESH_TOKEN_TTL", "31536001"),
        ] {
            assert_refused(&[(name, value)], name);
        }
        let c = Config::from_vars(vars(&[("ACCESS_TOKEN_TTL", "86400"), ("REFRESH_TOKEN_TTL", "31536000")])).unwrap();
        assert_eq!((c.tokens.access_ttl, c.tokens.refresh_ttl), (86_400, 31_536_000));
    }

    #[test]
    fn dev_logo_and_key_urls_are_read_or_refused() {
        let c = |v: &[(&str, &str)]| Config::from_vars(vars(v));
        assert!(c(&[("DEV", "TRUE")]).unwrap().dev);
        assert!(!c(&[("DEV", "0")]).unwrap().dev);
        assert!(!c(&[("DEV", "false")]).unwrap().dev);
        for (name, value) in [
            ("DEV", "yes"),
            ("LOGO_URL", "https://evil.example/logo.png"),
            ("LOGO_URL", "//evil.example/logo.png"),
            ("LOGO_URL", "javascript:alert(1)"),
            ("KEY_URL", "javascript:alert(2)"),
            ("KEY_URL", "platform.example/keys"),
        ] {
            assert_refused(&[(name, value)], name);
        }
        let ok = c(&[("LOGO_URL", "/static/logo.svg"), ("KEY_URL", "https://platform.example/keys")]).unwrap();
        assert_eq!(ok.branding.logo_url, "/static/logo.svg");
        assert!(c(&[("LOGO_URL", "data:image/svg+xml;base64,PHN2Zy8+")]).is_ok());
    }

    #[test]
    fn from_vars_reads_the_key_check() {
        assert_eq!(Config::from_vars(vars(&[])).unwrap().key_check, None, "no KEY_CHECK_URL: nothing checked");
        let c = Config::from_vars(vars(&[("KEY_CHECK_URL", "https://api.parallel.ai/v1/me?cheap=1")])).unwrap();
        assert_eq!(c.key_check, Some(KeyCheck::new("https://api.parallel.ai/v1/me?cheap=1")));
        assert_eq!(c.key_check.unwrap().timeout_ms, 3000);
        let c = Config::from_vars(vars(&[
            ("KEY_CHECK_URL", "https://api.example/check"),
            ("KEY_CHECK_HEADER", "Authorization"),
            ("KEY_CHECK_TIMEOUT_MS", "500"),
        ]))
        .unwrap();
        let k = c.key_check.unwrap();
        assert_eq!((k.header, k.timeout_ms), (KeyHeader::Authorization, 500));
        let k = Config::from_vars(vars(&[("KEY_CHECK_URL", "https://a.example/"), ("KEY_CHECK_HEADER", "X-Key")]))
            .unwrap()
            .key_check
            .unwrap();
        assert_eq!((k.header.name(), &k.header), ("x-key", &KeyHeader::Other("x-key".into())));
        let dev = |url: &str| Config::from_vars(vars(&[("DEV", "1"), ("KEY_CHECK_URL", url)]));
        assert!(dev("http://127.0.0.1:9999/check").unwrap().key_check.is_some());
        assert!(dev("http://localhost:9999/check").unwrap().key_check.is_some());
        assert!(dev("http://api.example/check").is_err(), "http only on loopback");
    }

    #[test]
    fn from_vars_refuses_a_key_check_it_does_not_understand() {
        for (name, value) in [
            ("KEY_CHECK_URL", "http://127.0.0.1:9/check"),
            ("KEY_CHECK_URL", "http://api.example/check"),
            ("KEY_CHECK_URL", "api.example/check"),
            ("KEY_CHECK_URL", "https://user:pw@api.example/check"),
            ("KEY_CHECK_URL", "https://api.example/check#x"),
            ("KEY_CHECK_URL", "ftp://api.example/check"),
            ("KEY_CHECK_HEADER", "x api key"),
            ("KEY_CHECK_HEADER", "x-api-key:"),
            ("KEY_CHECK_HEADER", "host"),
            ("KEY_CHECK_HEADER", "Cookie"),
            ("KEY_CHECK_TIMEOUT_MS", "0"),
            ("KEY_CHECK_TIMEOUT_MS", "3s"),
            ("KEY_CHECK_TIMEOUT_MS", "10001"),
        ] {
            let with_url = [("KEY_CHECK_URL", "https://api.example/check"), (name, value)];
            assert_refused(if name == "KEY_CHECK_URL" { &with_url[1..] } else { &with_url }, name);
        }
        let e = Config::from_vars(vars(&[("KEY_CHECK_HEADER", "bad header")])).unwrap_err();
        assert!(e.to_string().contains("KEY_CHECK_HEADER"), "checked even without KEY_CHECK_URL");
    }
}
