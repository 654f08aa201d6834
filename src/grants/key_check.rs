//! Whether the platform accepts a key, asked before anything is issued for
//! it: a GET of `KEY_CHECK_URL` with the key in one header
//! ([`KeyCheck`]). The host sends it (a [`KeyChecker`], like
//! [`Fetch`](crate::clients::cimd::Fetch) for metadata documents); here
//! are the request, the verdict read from the status, the time limit and
//! the isolate's cache of verdicts.
//!
//! Only 401 and 403 say the key is bad. Anything else (a timeout, a network
//! error, 429, a 5xx, a redirect) says nothing about the key, so the
//! provider goes on without a verdict: the API stays the judge of the key,
//! and an outage of the platform never blocks sign-in.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Poll;

use crate::config::{KeyCheck, KeyHeader};
use crate::crypto::secret::{secret_string, ApiKey};

/// How long a verdict is kept in the isolate's memory, in seconds.
pub const CACHE_FOR: u64 = 60;
const MAX_ENTRIES: usize = 1024;

/// The value of the header that carries the key: the key itself, or
/// `Bearer <key>`. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct HeaderValue(String);

secret_string!(HeaderValue);

impl HeaderValue {
    /// The value, for the one header of the request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// One check: GET `url` with `header: value`, and nothing else.
#[derive(Debug)]
pub struct Probe<'a> {
    /// `KEY_CHECK_URL`.
    pub url: &'a str,
    /// The header's name, in lower case.
    pub header: &'a str,
    /// The header's value (holds the key).
    pub value: HeaderValue,
}

impl<'a> Probe<'a> {
    /// The request that checks `key` as `check` says.
    pub fn new(check: &'a KeyCheck, key: &ApiKey) -> Probe<'a> {
        let value = match check.header {
            KeyHeader::Authorization => format!("Bearer {}", key.expose()),
            KeyHeader::XApiKey | KeyHeader::Other(_) => key.expose().to_string(),
        };
        Probe { url: &check.url, header: check.header.name(), value: HeaderValue(value) }
    }
}

/// A boxed future, as [`KeyChecker`] returns them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Sends key checks over HTTP for the provider (the Workers adapter does
/// with the global `fetch`).
pub trait KeyChecker {
    /// Sends `probe` and resolves to the response's status, or to why
    /// there was none (a text for the log: never the key or the header).
    ///
    /// The request is a GET of `probe.url` with the one header
    /// `probe.header: probe.value` and nothing else that can be left out:
    /// no body, no cookies or credentials, no redirect followed (a 3xx is
    /// the answer). The response's body is not read (or at most a few KB).
    /// Dropping the future cancels the request.
    fn send<'a>(&'a self, probe: &'a Probe<'a>) -> BoxFuture<'a, Result<u16, String>>;

    /// Resolves after `ms` milliseconds: the provider stops waiting for
    /// [`send`](KeyChecker::send) then and drops its future.
    fn sleep(&self, ms: u64) -> BoxFuture<'static, ()>;
}

/// What the platform said about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyVerdict {
    /// A 2xx: the key works.
    Accepted,
    /// A 401 or 403: the platform refuses the key.
    Refused,
    /// No verdict: go on as if the key had not been checked.
    Unknown(NoVerdict),
}

/// Why there is no verdict (what the log line says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoVerdict {
    /// `KEY_CHECK_URL` is not set: keys are not checked.
    NotConfigured,
    /// `KEY_CHECK_URL` is set, but the host gave the provider no checker.
    NoChecker,
    /// No status within `KEY_CHECK_TIMEOUT_MS` (the value here).
    Timeout(u64),
    /// The request failed without a status.
    Network(String),
    /// A status that says nothing about the key (429, 5xx, 3xx, 404…).
    Status(u16),
}

impl std::fmt::Display for NoVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoVerdict::NotConfigured => f.write_str("KEY_CHECK_URL is not set"),
            NoVerdict::NoChecker => f.write_str("KEY_CHECK_URL is set but the host gave the provider no key checker"),
            NoVerdict::Timeout(ms) => write!(f, "timeout: no status within {ms} ms"),
            NoVerdict::Network(why) => write!(f, "network error: {why}"),
            NoVerdict::Status(status) => write!(f, "status {status}"),
        }
    }
}

impl KeyVerdict {
    /// The verdict of a response's status: 2xx accepted, 401 and 403
    /// refused, anything else none.
    pub fn from_status(status: u16) -> KeyVerdict {
        match status {
            200..=299 => KeyVerdict::Accepted,
            401 | 403 => KeyVerdict::Refused,
            _ => KeyVerdict::Unknown(NoVerdict::Status(status)),
        }
    }
}

/// Checks `key` once with `checker`, giving up after `check.timeout_ms`
/// (the request is then dropped, which cancels it). Not cached: see
/// [`Verdicts`].
pub async fn check(check: &KeyCheck, checker: &dyn KeyChecker, key: &ApiKey) -> KeyVerdict {
    let probe = Probe::new(check, key);
    let mut send = checker.send(&probe);
    let mut sleep = checker.sleep(check.timeout_ms);
    let first = std::future::poll_fn(|cx| {
        if let Poll::Ready(status) = send.as_mut().poll(cx) {
            return Poll::Ready(Some(status));
        }
        sleep.as_mut().poll(cx).map(|()| None)
    });
    let verdict = match first.await {
        Some(Ok(status)) => KeyVerdict::from_status(status),
        Some(Err(why)) => KeyVerdict::Unknown(NoVerdict::Network(why)),
        None => KeyVerdict::Unknown(NoVerdict::Timeout(check.timeout_ms)),
    };
    drop(send);
    verdict
}

/// `url` as a log line may name it: scheme, host, port and path, never the
/// query (nor user info or fragment, which `KEY_CHECK_URL` cannot have).
pub fn loggable_url(url: &str) -> String {
    match crate::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{}{port}{}", u.scheme(), u.host_str().unwrap_or(""), u.path())
        }
        Err(_) => "KEY_CHECK_URL".to_string(),
    }
}

/// The log line for a check without a verdict: the URL without its query,
/// the reason, never the key (a transport error that quotes the key, the
/// header or the full URL is cut down to what is safe).
pub fn log_line(check: &KeyCheck, key: &ApiKey, why: &NoVerdict) -> String {
    let at = loggable_url(&check.url);
    let why = match why {
        NoVerdict::Network(text) => {
            let text = text.replace(check.url.as_str(), &at);
            let safe = !text.contains(key.expose()) && !text.contains(check.header.name());
            let text = if safe { text } else { "[details withheld: they quoted the request]".to_string() };
            let cut: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            format!("network error: {cut}")
        }
        other => other.to_string(),
    };
    format!("key check at {at} gave no verdict ({why}); continuing without it")
}

/// Verdicts of this isolate, by [`Keys::cache_tag`](crate::crypto::seal::Keys::cache_tag)
/// of the key (never the key), each for [`CACHE_FOR`] seconds, bounded.
/// Only verdicts are kept (accepted, refused); no verdict is never cached,
/// so the next consent asks again.
#[derive(Default)]
pub struct Verdicts {
    /// Tag -> expiry (Unix seconds) × 2, + 1 when accepted: the same map
    /// type as the single-use claims', so the WASM holds one copy of it.
    entries: Mutex<HashMap<[u8; 32], u64>>,
}

impl Verdicts {
    /// The verdict for `tag`, if one was put less than [`CACHE_FOR`]
    /// seconds before `now`.
    pub fn get(&self, tag: &[u8; 32], now: u64) -> Option<KeyVerdict> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let &entry = entries.get(tag)?;
        (now < entry / 2).then_some(if entry % 2 == 1 { KeyVerdict::Accepted } else { KeyVerdict::Refused })
    }

    /// Keeps `verdict` for `tag` until `now` + [`CACHE_FOR`] (no verdict is
    /// not kept).
    pub fn put(&self, tag: [u8; 32], verdict: &KeyVerdict, now: u64) {
        let accepted = match verdict {
            KeyVerdict::Accepted => true,
            KeyVerdict::Refused => false,
            KeyVerdict::Unknown(_) => return,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| *entry / 2 > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(tag, (now.saturating_add(CACHE_FOR) << 1) | accepted as u64);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::block_on;
    use std::cell::RefCell;
    use std::time::{Duration, Instant};

    const KEY: &str = "sk-live-0123456789abcdef";

    fn key() -> ApiKey {
        ApiKey::parse(KEY).unwrap()
    }

    /// Answers `status` after `delay` (real time; `block_on` polls until
    /// then), recording what it was sent.
    struct Fake {
        answer: Result<u16, String>,
        delay: Duration,
        sent: RefCell<Vec<(String, String, String)>>,
        slept: RefCell<Vec<u64>>,
    }

    fn fake(answer: Result<u16, String>, delay: Duration) -> Fake {
        Fake { answer, delay, sent: RefCell::default(), slept: RefCell::default() }
    }

    fn after(delay: Duration) -> impl Future<Output = ()> {
        let until = Instant::now() + delay;
        std::future::poll_fn(move |_| if Instant::now() >= until { Poll::Ready(()) } else { Poll::Pending })
    }

    impl KeyChecker for Fake {
        fn send<'a>(&'a self, probe: &'a Probe<'a>) -> BoxFuture<'a, Result<u16, String>> {
            self.sent.borrow_mut().push((probe.url.into(), probe.header.into(), probe.value.expose().into()));
            Box::pin(async move {
                after(self.delay).await;
                self.answer.clone()
            })
        }
        fn sleep(&self, ms: u64) -> BoxFuture<'static, ()> {
            self.slept.borrow_mut().push(ms);
            Box::pin(after(Duration::from_millis(ms)))
        }
    }

    fn config(header: KeyHeader, timeout_ms: u64) -> KeyCheck {
        KeyCheck { url: "https://api.example/v1/me?probe=1".into(), header, timeout_ms }
    }

    #[test]
    fn status_gives_the_verdict() {
        for s in [200, 204, 299] {
            assert_eq!(KeyVerdict::from_status(s), KeyVerdict::Accepted, "{s}");
        }
        for s in [401, 403] {
            assert_eq!(KeyVerdict::from_status(s), KeyVerdict::Refused, "{s}");
        }
        for s in [0, 199, 301, 302, 400, 404, 407, 429, 500, 502, 503] {
            assert_eq!(KeyVerdict::from_status(s), KeyVerdict::Unknown(NoVerdict::Status(s)), "{s}");
        }
    }

    #[test]
    fn the_key_goes_in_the_configured_header() {
        let key = key();
        let c = config(KeyHeader::XApiKey, 1);
        let p = Probe::new(&c, &key);
        assert_eq!((p.header, p.value.expose()), ("x-api-key", KEY));
        let c = config(KeyHeader::Authorization, 1);
        let p = Probe::new(&c, &key);
        assert_eq!((p.header, p.value.expose()), ("authorization", format!("Bearer {KEY}").as_str()));
        let c = config(KeyHeader::Other("x-parallel-key".into()), 1);
        let p = Probe::new(&c, &key);
        assert_eq!((p.url, p.header, p.value.expose()), ("https://api.example/v1/me?probe=1", "x-parallel-key", KEY));
        assert!(!format!("{p:?}").contains(KEY), "Debug is redacted: {p:?}");
    }

    #[test]
    fn check_reads_the_answer() {
        let c = config(KeyHeader::XApiKey, 1000);
        for (answer, verdict) in [
            (Ok(200), KeyVerdict::Accepted),
            (Ok(401), KeyVerdict::Refused),
            (Ok(503), KeyVerdict::Unknown(NoVerdict::Status(503))),
            (
                Err("connection refused".to_string()),
                KeyVerdict::Unknown(NoVerdict::Network("connection refused".into())),
            ),
        ] {
            let f = fake(answer, Duration::ZERO);
            assert_eq!(block_on(check(&c, &f, &key())), verdict);
            assert_eq!(f.sent.borrow().len(), 1);
            assert_eq!(*f.slept.borrow(), [1000]);
        }
    }

    #[test]
    fn a_slow_checker_is_cut_at_the_timeout() {
        let c = config(KeyHeader::XApiKey, 50);
        let f = fake(Ok(200), Duration::from_secs(5));
        let t = Instant::now();
        assert_eq!(block_on(check(&c, &f, &key())), KeyVerdict::Unknown(NoVerdict::Timeout(50)));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(*f.slept.borrow(), [50]);
    }

    #[test]
    fn log_lines_never_hold_the_key_or_the_query() {
        let c = config(KeyHeader::XApiKey, 50);
        let key = key();
        for why in [
            NoVerdict::Timeout(50),
            NoVerdict::Status(503),
            NoVerdict::Network("connection refused".into()),
            NoVerdict::Network(format!("bad header value {KEY}")),
            NoVerdict::Network("x-api-key: [the value]".into()),
            NoVerdict::Network("fetch https://api.example/v1/me?probe=1 failed\r\nforged: line".into()),
        ] {
            let line = log_line(&c, &key, &why);
            assert!(line.contains("https://api.example/v1/me"), "{line}");
            assert!(!line.contains(KEY) && !line.contains("probe=1") && !line.contains('\n'), "{line}");
        }
        assert!(log_line(&c, &key, &NoVerdict::Timeout(50)).contains("timeout"));
        assert_eq!(loggable_url("http://127.0.0.1:9/check?k=v"), "http://127.0.0.1:9/check");
    }

    #[test]
    fn verdicts_are_kept_for_a_minute_and_bounded() {
        let v = Verdicts::default();
        v.put([1; 32], &KeyVerdict::Accepted, 100);
        v.put([2; 32], &KeyVerdict::Refused, 100);
        v.put([3; 32], &KeyVerdict::Unknown(NoVerdict::Timeout(1)), 100);
        assert_eq!(v.get(&[1; 32], 100 + CACHE_FOR - 1), Some(KeyVerdict::Accepted));
        assert_eq!(v.get(&[2; 32], 100), Some(KeyVerdict::Refused));
        assert_eq!(v.get(&[3; 32], 100), None, "no verdict is not kept");
        assert_eq!(v.get(&[1; 32], 100 + CACHE_FOR), None);
        for i in 0..(MAX_ENTRIES * 3) {
            let mut tag = [0u8; 32];
            tag[..8].copy_from_slice(&(i as u64).to_le_bytes());
            v.put(tag, &KeyVerdict::Accepted, 200);
        }
        assert!(v.len() <= MAX_ENTRIES);
    }
}
