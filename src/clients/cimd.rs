//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
//! MCP 2025-11-25): a `client_id` that is an https URL with a path names a
//! JSON document describing the client. The provider fetches it (through a
//! [`Fetch`] the platform supplies: size, time and redirect limits live
//! there), validates it, caches it per `Cache-Control`, and uses it like a
//! registration.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use crate::Url;

use crate::clients::client::{is_displayable_name, Client};
use crate::protocol::redirect::{is_loopback, RedirectUri, Refusal};

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT: usize = 5 * 1024;
/// How long a fetch may take, in milliseconds.
pub const FETCH_TIMEOUT_MS: u64 = 10_000;
/// The longest a document is cached, in seconds.
pub const MAX_CACHE: u64 = 24 * 3600;
/// How long a document without cache headers is cached, in seconds.
pub const DEFAULT_CACHE: u64 = 300;
const MAX_ENTRIES: usize = 256;

/// A fetched document.
pub struct Fetched {
    /// HTTP status.
    pub status: u16,
    /// The `Cache-Control` header, if any.
    pub cache_control: Option<String>,
    /// The body (the fetcher stops reading past [`MAX_DOCUMENT`] + 1 bytes).
    pub body: Vec<u8>,
}

/// Fetches documents over HTTP for the provider. Implementations must not
/// follow redirects to non-https URLs, must give up after
/// [`FETCH_TIMEOUT_MS`], and must only reach public addresses in production.
pub trait Fetch {
    /// GETs `url` (`Accept: application/json`).
    fn fetch<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Fetched, String>> + 'a>>;
}

/// Whether `client_id` names a metadata document: an https URL with a
/// path (or, in development, an http URL on loopback).
pub fn is_document_url(client_id: &str, allow_loopback_http: bool) -> bool {
    if !(client_id.starts_with("https://") || client_id.starts_with("http://")) || client_id.contains('#') {
        return false;
    }
    let Ok(url) = Url::parse(client_id) else { return false };
    let scheme_ok = url.scheme() == "https" || (allow_loopback_http && url.scheme() == "http" && is_loopback(&url));
    scheme_ok && url.as_str() == client_id && url.path() != "/" && url.username().is_empty() && url.password().is_none()
}

struct Document {
    client_id: String,
    redirect_uris: Vec<String>,
    client_name: String,
}

impl crate::json::FromJson for Document {
    fn from_json(value: &crate::json::Value) -> Result<Document, crate::json::Error> {
        let f = crate::json::Fields::of(value)?;
        Ok(Document {
            client_id: f.str("client_id")?,
            redirect_uris: f.read("redirect_uris")?,
            client_name: f.str("client_name")?,
        })
    }
}

/// Validates a fetched document for `client_id`.
pub fn parse_document(client_id: &str, fetched: &Fetched) -> Result<Client, Refusal> {
    if fetched.status != 200 {
        return Err("the client metadata document could not be fetched");
    }
    if fetched.body.len() > MAX_DOCUMENT {
        return Err("the client metadata document is larger than 5 KB");
    }
    let doc: Document = crate::json::from_slice(&fetched.body)
        .map_err(|_| "the client metadata document is not valid JSON with client_id, redirect_uris and client_name")?;
    if doc.client_id != client_id {
        return Err("the client metadata document's client_id is not its own URL");
    }
    let name = doc.client_name.trim();
    if !is_displayable_name(name) {
        return Err("the client metadata document's client_name is missing or invalid");
    }
    if doc.redirect_uris.is_empty() || doc.redirect_uris.len() > crate::clients::register::MAX_REDIRECT_URIS {
        return Err("the client metadata document must list 1 to 10 redirect_uris");
    }
    let redirect_uris = doc.redirect_uris.iter().map(|u| RedirectUri::parse(u)).collect::<Result<Vec<_>, _>>()?;
    Ok(Client::Registered { redirect_uris, name: Some(name.to_string()), grant_types: None })
}

/// How long to cache a document, from its `Cache-Control`.
pub fn cache_lifetime(cache_control: Option<&str>) -> u64 {
    let Some(cc) = cache_control else { return DEFAULT_CACHE };
    let mut max_age = None;
    for directive in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" || directive == "private" {
            return 0;
        }
        if let Some(v) = directive.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age.unwrap_or(DEFAULT_CACHE).min(MAX_CACHE)
}

/// Validated documents of this instance, bounded.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, (Client, u64)>>,
}

impl Cache {
    /// A cached, unexpired client for `url`.
    pub fn get(&self, url: &str, now: u64) -> Option<Client> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(url).filter(|(_, until)| *until > now).map(|(c, _)| c.clone())
    }

    /// Caches `client` for `lifetime` seconds (0: not at all).
    pub fn put(&self, url: &str, client: Client, now: u64, lifetime: u64) {
        if lifetime == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(url.to_string(), (client, now + lifetime));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "https://claude.ai/oauth/claude-code-client-metadata";

    fn fetched(body: &str) -> Fetched {
        Fetched { status: 200, cache_control: None, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn document_urls() {
        assert!(is_document_url(ID, false));
        assert!(is_document_url("https://vscode.dev/oauth/client-metadata.json", false));
        for not in [
            "https://claude.ai",
            "https://claude.ai/",
            "claude.ai",
            "http://claude.ai/x",
            "https://u@a.example/x",
            "https://a.example/x#f",
            "HTTPS://a.example/x",
        ] {
            assert!(!is_document_url(not, false), "{not}");
        }
        assert!(!is_document_url("http://127.0.0.1:9/doc.json", false));
        assert!(is_document_url("http://127.0.0.1:9/doc.json", true));
        assert!(!is_document_url("http://evil.example/doc.json", true));
    }

    #[test]
    fn valid_document_becomes_a_client() {
        let body = format!(
            r#"{{"client_id":"{ID}","client_name":"Claude Code","redirect_uris":["http://localhost/callback","http://127.0.0.1/callback"],"token_endpoint_auth_method":"none","extra":1}}"#
        );
        let client = parse_document(ID, &fetched(&body)).unwrap();
        assert_eq!(client.name(), Some("Claude Code"));
        assert!(client.allows(&RedirectUri::parse("http://localhost:51234/callback").unwrap()).is_ok());
        assert!(client.allows(&RedirectUri::parse("https://evil.example/callback").unwrap()).is_err());
    }

    #[test]
    fn invalid_documents_are_refused() {
        let ok = format!(r#"{{"client_id":"{ID}","client_name":"C","redirect_uris":["https://a.example/cb"]}}"#);
        assert!(parse_document(ID, &fetched(&ok)).is_ok());
        for bad in [
            ok.replace(ID, "https://other.example/doc"),
            ok.replace(r#""client_name":"C","#, ""),
            ok.replace(r#""client_name":"C""#, r#""client_name":"""#),
            ok.replace("https://a.example/cb", "javascript:alert(1)"),
            ok.replace(r#"["https://a.example/cb"]"#, "[]"),
            "not json".to_string(),
            format!("{}{}", ok, " ".repeat(MAX_DOCUMENT)),
        ] {
            assert!(parse_document(ID, &fetched(&bad)).is_err(), "{bad}");
        }
        assert!(parse_document(ID, &Fetched { status: 404, cache_control: None, body: ok.into_bytes() }).is_err());
    }

    #[test]
    fn cache_control_sets_the_lifetime() {
        assert_eq!(cache_lifetime(None), DEFAULT_CACHE);
        assert_eq!(cache_lifetime(Some("public, max-age=60")), 60);
        assert_eq!(cache_lifetime(Some("max-age=999999999")), MAX_CACHE);
        assert_eq!(cache_lifetime(Some("no-store")), 0);
        assert_eq!(cache_lifetime(Some("max-age=60, no-cache")), 0);
        assert_eq!(cache_lifetime(Some("max-age=abc")), DEFAULT_CACHE);
    }

    #[test]
    fn cache_expires_and_is_bounded() {
        let c = Cache::default();
        let client = Client::Host("a.example".into());
        c.put("u", client.clone(), 0, 10);
        assert_eq!(c.get("u", 9), Some(client.clone()));
        assert_eq!(c.get("u", 10), None);
        c.put("v", client.clone(), 0, 0);
        assert_eq!(c.get("v", 0), None);
        for i in 0..(MAX_ENTRIES * 2) {
            c.put(&i.to_string(), client.clone(), 0, 100);
        }
        assert!(c.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
