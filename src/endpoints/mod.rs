//! The web layer: one file per endpoint, each turning a parsed request into
//! a response with the pieces below it (grants, clients, pages, crypto,
//! protocol, store). `Context` is what every endpoint shares.

pub mod authorize;
pub mod consent;
pub(crate) mod cors;
pub(crate) mod device;
pub(crate) mod form_check;
pub(crate) mod grants_page;
pub(crate) mod introspect;
mod issue;
pub mod metadata;
mod refresh;
pub(crate) mod revoke;
pub mod token;
pub(crate) mod userinfo;

use crate::clients::cimd::{self, Fetch};
use crate::clients::client::Client;
use crate::config::Config;
use crate::crypto::seal::Keys;
use crate::crypto::secret::{ApiKey, Secret};
use crate::grants::guard::Claims;
use crate::grants::key_check::{self, KeyChecker, KeyVerdict, NoVerdict, Verdicts};
use crate::grants::token_keys::TokenKeys;
use crate::http::Response;
use crate::pages;
use crate::protocol::error::{json_error, ErrorCode};
use crate::protocol::redirect::Refusal;

/// The provider's state that every endpoint reads: configuration, keys
/// derived once from the secret, and this instance's single-use claims and
/// caches.
pub(crate) struct Context {
    pub config: Config,
    pub keys: Keys,
    pub tokens: TokenKeys,
    pub claims: Claims,
    pub fetcher: Option<Box<dyn Fetch>>,
    pub documents: cimd::Cache,
    pub key_checker: Option<Box<dyn KeyChecker>>,
    pub verdicts: Verdicts,
    pub log: fn(&str),
}

impl Context {
    /// A context for `config` with the keys of the current and, while
    /// rotating, the previous secret; no fetcher, no key checker, no log.
    pub fn new(config: Config, current: &Secret, previous: Option<&Secret>) -> Context {
        Context {
            config: config.normalized(),
            keys: Keys::derive(current, previous),
            tokens: TokenKeys::new(current, previous),
            claims: Claims::default(),
            fetcher: None,
            documents: cimd::Cache::default(),
            key_checker: None,
            verdicts: Verdicts::default(),
            log: |_| {},
        }
    }

    /// An HTML page for an error the user must see.
    pub fn page(&self, status: u16, title: &str, message: &str, code: Option<ErrorCode>) -> Response {
        pages::error(&self.config, status, title, message, code)
    }

    /// Resolves a `client_id`: a metadata document URL (fetched, validated,
    /// cached) or one of our own ids.
    pub async fn client(&self, client_id: &str, now: u64) -> Result<Client, Refusal> {
        if !cimd::is_document_url(client_id, self.config.dev) {
            return Client::resolve(client_id, &self.keys);
        }
        if let Some(client) = self.documents.get(client_id, now) {
            return Ok(client);
        }
        let fetcher = self.fetcher.as_ref().ok_or("client metadata documents are not supported here")?;
        let fetched = fetcher.fetch(client_id).await.map_err(|e| {
            (self.log)(&format!("client metadata document fetch failed: {e}"));
            "the client metadata document could not be fetched"
        })?;
        let client = cimd::parse_document(client_id, &fetched)?;
        self.documents.put(client_id, client.clone(), now, cimd::cache_lifetime(fetched.cache_control.as_deref()));
        Ok(client)
    }
}

impl Context {
    /// Whether the platform accepts `key` (`KEY_CHECK_URL`), asked before
    /// anything is issued for it: by the consent page, and by any other
    /// page where a person hands over a key. A verdict is kept for 60 s in
    /// this isolate under a keyed hash of the key, so a retried consent
    /// asks once. No verdict (timeout, network error, another status) is
    /// logged, without the key, and not kept. Without `KEY_CHECK_URL`:
    /// `Unknown(NotConfigured)`, and nothing is sent or logged.
    pub async fn check_key(&self, key: &ApiKey, now: u64) -> KeyVerdict {
        let Some(check) = &self.config.key_check else {
            return KeyVerdict::Unknown(NoVerdict::NotConfigured);
        };
        let tag = self.keys.cache_tag(key.expose().as_bytes());
        if let Some(verdict) = self.verdicts.get(&tag, now) {
            return verdict;
        }
        let verdict = match &self.key_checker {
            Some(checker) => key_check::check(check, checker.as_ref(), key).await,
            None => KeyVerdict::Unknown(NoVerdict::NoChecker),
        };
        match &verdict {
            KeyVerdict::Unknown(why) => (self.log)(&key_check::log_line(check, key, why)),
            known => self.verdicts.put(tag, known, now),
        }
        verdict
    }
}

/// A redirect that is never cached and sends no referrer.
pub(crate) fn redirect(status: u16, location: &str) -> Response {
    Response::empty(status).with_header("location", location).with_header("referrer-policy", "no-referrer").no_store()
}

/// 405 with the methods the endpoint answers.
pub(crate) fn method_not_allowed(allow: &str) -> Response {
    json_error(405, "invalid_request", "method not allowed").with_header("allow", allow)
}
