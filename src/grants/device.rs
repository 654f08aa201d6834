//! The device authorization grant (RFC 8628), as pure functions: the
//! device code and the user code, the device record kept in the strongly
//! consistent grant store, the poll decision and the guessing limit. Time
//! is always a parameter; randomness comes in as bytes.
//!
//! The device code (256 random bits) is never stored: the record is kept
//! under a hash of it. The user code is 8 letters from 20 consonants
//! (about 34.6 bits; RFC 8628 §6.1), shown as `XXXX-XXXX`, stored as a
//! keyed hash; wrong entries are limited per browser and per IP
//! ([`Guesses`]), so a guesser gets a handful of tries per 10 minutes
//! against codes that live for 10.

use sha2::{Digest, Sha256};

use crate::protocol::encoding::{b64url, from_b64url};

/// How long a device code and its user code live, in seconds (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_LIFETIME: u64 = 600;
/// The polling interval first given to the device, in seconds.
pub const INTERVAL: u64 = 5;
/// How much the interval grows at each `slow_down` (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: u64 = 5;
/// The longest interval a device is told to wait.
pub const MAX_INTERVAL: u64 = 60;
/// The user code alphabet: 20 consonants, no vowels (no words), no Y.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code.
pub const USER_CODE_LEN: usize = 8;
/// Wrong user-code entries allowed per browser and per IP in one window.
pub const GUESS_LIMIT: u32 = 5;
/// The guessing window, in seconds.
pub const GUESS_WINDOW: u64 = 600;
/// The grant store subject that holds every device record.
pub const DEVICE_SUBJECT: &str = "device:v1";

/// A device code as handed to the device.
pub struct DeviceCode(String);

impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCode([redacted])")
    }
}

impl DeviceCode {
    /// A new device code from 32 random bytes.
    pub fn new(random: [u8; 32]) -> DeviceCode {
        DeviceCode(b64url(&random))
    }

    /// A device code presented at /token; `None` if it cannot be one of ours.
    pub fn parse(text: &str) -> Option<DeviceCode> {
        (text.len() == 43 && from_b64url(text).is_some_and(|b| b.len() == 32)).then(|| DeviceCode(text.to_string()))
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The record's id: a hash of the code, so the store cannot yield codes.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"parallel-oauth-provider device code id v1");
        h.update(self.0.as_bytes());
        format!("dev:{}", b64url(&h.finalize()))
    }
}

/// A user code from random bytes, by rejection sampling onto [`ALPHABET`]
/// (a byte below 240 is kept, modulo 20: no letter is more likely than
/// another). `None` if the bytes did not yield 8 letters (the caller draws
/// more); 32 bytes fail with probability about 1e-18.
pub fn user_code(random: &[u8]) -> Option<String> {
    let code: String =
        random.iter().filter(|&&b| b < 240).take(USER_CODE_LEN).map(|&b| ALPHABET[(b % 20) as usize] as char).collect();
    (code.len() == USER_CODE_LEN).then_some(code)
}

/// How a user code is shown: `XXXX-XXXX`.
pub fn format_user_code(code: &str) -> String {
    if code.len() == USER_CODE_LEN && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// A typed user code, normalized: case, spaces and dashes ignored. `None`
/// if what remains is not 8 letters of the alphabet.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '\u{2010}' && *c != '\u{2013}')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// Where a device flow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Waiting for the person.
    Pending,
    /// Allowed: the record's `sealed` holds the key, sealed.
    Approved,
    /// Denied by the person.
    Denied,
    /// The tokens were handed out; the device code never works again.
    Redeemed,
}

/// One device authorization, as the grant store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The hash of the device code ([`DeviceCode::id`]).
    pub id: String,
    /// The keyed hash of the user code.
    pub user: String,
    /// The client that asked.
    pub client_id: String,
    /// Its name as it gave it (unverified).
    pub client_name: Option<String>,
    /// The requested scope.
    pub scope: Option<String>,
    /// The RFC 8707 resource, normalized.
    pub resource: Option<String>,
    /// Unix time of the device authorization request.
    pub requested_at: u64,
    /// The device's IP address, if known.
    pub ip: Option<String>,
    /// The device's user agent, if sent.
    pub user_agent: Option<String>,
    /// Unix time after which the codes are dead.
    pub expires_at: u64,
    /// The current polling interval, in seconds.
    pub interval: u64,
    /// Unix time of the last poll.
    pub last_poll: Option<u64>,
    /// Where it stands.
    pub state: DeviceState,
    /// Once approved (until redeemed): the key, sealed (never in clear in storage).
    pub sealed: Option<String>,
    /// Once approved for a sealed grant: the grant's pseudonymous subject,
    /// kept after the redemption so that a second one revokes the grant.
    pub subject: Option<String>,
}

impl DeviceRecord {
    /// Whether the person may still answer it at `now`.
    pub fn answerable(&self, now: u64) -> bool {
        self.state == DeviceState::Pending && now <= self.expires_at
    }
}

/// What a poll gets (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// No such device code: `invalid_grant`.
    Unknown,
    /// Another client's device code: `invalid_grant`, nothing changed.
    WrongClient,
    /// `authorization_pending`.
    Pending,
    /// `slow_down`; the device must now wait `interval` seconds.
    SlowDown {
        /// The new interval.
        interval: u64,
    },
    /// `access_denied`.
    Denied,
    /// `expired_token`.
    Expired,
    /// Already redeemed: `invalid_grant`, and the sealed grant it made, if
    /// any (its subject here), is revoked (as for a code, RFC 6749 §4.1.2).
    Redeemed {
        /// The subject of the sealed grant the redemption made.
        subject: Option<String>,
    },
    /// The tokens, this once: the record as approved, with the sealed key.
    Tokens {
        /// The record before it was marked redeemed.
        device: Box<DeviceRecord>,
    },
}

/// The interval after a poll at `now`, given the last one: the same when
/// the device waited long enough, [`SLOW_DOWN_STEP`] more (up to
/// [`MAX_INTERVAL`]) when it polled too soon. `Err` carries the new interval.
pub fn next_interval(interval: u64, last_poll: Option<u64>, now: u64) -> Result<u64, u64> {
    match last_poll {
        Some(last) if now < last.saturating_add(interval) => {
            Err(interval.saturating_add(SLOW_DOWN_STEP).min(MAX_INTERVAL))
        }
        _ => Ok(interval),
    }
}

/// The poll decision on a record, which it updates: expired, denied and
/// redeemed records answer so; an approved one hands out its key once and
/// is marked redeemed; a pending one is `authorization_pending`, or
/// `slow_down` with a longer interval when polled too soon.
pub fn poll(record: &mut DeviceRecord, client_id: &str, now: u64) -> Poll {
    if record.client_id != client_id {
        return Poll::WrongClient;
    }
    if record.state == DeviceState::Redeemed {
        return Poll::Redeemed { subject: record.subject.clone() };
    }
    if now > record.expires_at {
        return Poll::Expired;
    }
    match record.state {
        DeviceState::Denied => Poll::Denied,
        DeviceState::Approved => {
            let approved = record.clone();
            record.state = DeviceState::Redeemed;
            record.sealed = None;
            record.last_poll = Some(now);
            Poll::Tokens { device: Box::new(approved) }
        }
        _ => {
            let outcome = match next_interval(record.interval, record.last_poll, now) {
                Ok(_) => Poll::Pending,
                Err(interval) => {
                    record.interval = interval;
                    Poll::SlowDown { interval }
                }
            };
            record.last_poll = Some(now);
            outcome
        }
    }
}

/// Wrong user-code entries of one browser or IP in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guesses {
    /// Wrong entries in the window.
    pub count: u32,
    /// Unix time the window started.
    pub since: u64,
}

impl Guesses {
    /// The stored form, `count since` (plain text: no serde, for size).
    pub fn to_text(self) -> String {
        format!("{} {}", self.count, self.since)
    }

    /// Reads [`Guesses::to_text`].
    pub fn parse(text: &str) -> Option<Guesses> {
        let (count, since) = text.split_once(' ')?;
        Some(Guesses { count: count.parse().ok()?, since: since.parse().ok()? })
    }

    /// The counter as it stands at `now` (a past window counts nothing).
    pub fn at(self, now: u64) -> Guesses {
        if now >= self.since.saturating_add(GUESS_WINDOW) {
            Guesses { count: 0, since: now }
        } else {
            self
        }
    }

    /// Seconds until more entries are allowed, if the limit is reached.
    pub fn wait(self, now: u64) -> Option<u64> {
        let g = self.at(now);
        (g.count >= GUESS_LIMIT).then(|| g.since.saturating_add(GUESS_WINDOW).saturating_sub(now).max(1))
    }

    /// One more wrong entry at `now`.
    pub fn wrong(self, now: u64) -> Guesses {
        let g = self.at(now);
        Guesses { count: g.count.saturating_add(1), since: g.since }
    }
}

/// What a user-code entry found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A pending, unexpired request.
    Found {
        /// Its record.
        device: Box<DeviceRecord>,
    },
    /// No such code (wrong, expired or already answered); counted.
    Wrong,
    /// Too many wrong entries: wait this many seconds (nothing was looked up).
    Limited {
        /// Seconds to wait.
        wait: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> DeviceRecord {
        DeviceRecord {
            id: "dev:x".into(),
            user: "u".into(),
            client_id: "c".into(),
            client_name: None,
            scope: None,
            resource: None,
            requested_at: 1000,
            ip: None,
            user_agent: None,
            expires_at: 1000 + DEVICE_LIFETIME,
            interval: INTERVAL,
            last_poll: None,
            state: DeviceState::Pending,
            sealed: None,
            subject: None,
        }
    }

    #[test]
    fn user_codes_use_only_the_alphabet_uniformly() {
        assert_eq!(ALPHABET.len(), 20);
        assert!(ALPHABET.iter().all(|c| !b"AEIOUY".contains(c)));
        let all: Vec<u8> = (0..=255).collect();
        let code = user_code(&all).unwrap();
        assert_eq!(code, "BCDFGHJK");
        // Bytes >= 240 are rejected, not folded onto the first letters.
        assert_eq!(user_code(&[240, 255, 250, 0, 1, 2, 3, 4, 5, 6, 7]).unwrap(), "BCDFGHJK");
        assert_eq!(user_code(&[255; 32]), None);
        let mut counts = [0u32; 20];
        for b in 0u8..240 {
            counts[(b % 20) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c == 12));
    }

    #[test]
    fn user_codes_format_and_normalize() {
        assert_eq!(format_user_code("BCDFGHJK"), "BCDF-GHJK");
        for typed in ["BCDF-GHJK", "bcdf-ghjk", " bcdf ghjk ", "b-c-d-f-g-h-j-k", "BcDfGhJk", "bcdf\u{2013}ghjk"] {
            assert_eq!(normalize_user_code(typed).as_deref(), Some("BCDFGHJK"), "{typed}");
        }
        for bad in ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "ßCDF-GHJK", &"B".repeat(100)] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn device_codes_parse_and_hash() {
        let code = DeviceCode::new([7; 32]);
        assert_eq!(code.as_str().len(), 43);
        assert!(DeviceCode::parse(code.as_str()).is_some());
        assert!(DeviceCode::parse("short").is_none());
        assert!(!code.id().contains(code.as_str()));
        assert_eq!(format!("{code:?}"), "DeviceCode([redacted])");
    }

    #[test]
    fn interval_arithmetic() {
        assert_eq!(next_interval(5, None, 100), Ok(5));
        assert_eq!(next_interval(5, Some(100), 105), Ok(5));
        assert_eq!(next_interval(5, Some(100), 104), Err(10));
        assert_eq!(next_interval(10, Some(100), 109), Err(15));
        assert_eq!(next_interval(MAX_INTERVAL, Some(100), 100), Err(MAX_INTERVAL));
        assert_eq!(next_interval(u64::MAX, Some(10), 11), Err(MAX_INTERVAL));
    }

    #[test]
    fn polls_go_pending_slow_down_tokens_once() {
        let mut r = record();
        assert_eq!(poll(&mut r, "c", 1000), Poll::Pending);
        assert_eq!(poll(&mut r, "c", 1001), Poll::SlowDown { interval: 10 });
        assert_eq!(poll(&mut r, "c", 1005), Poll::SlowDown { interval: 15 });
        assert_eq!(poll(&mut r, "c", 1020), Poll::Pending);
        assert_eq!(poll(&mut r, "other", 1021), Poll::WrongClient);
        assert_eq!(r.last_poll, Some(1020), "a wrong client changes nothing");
        r.state = DeviceState::Approved;
        r.sealed = Some("s".into());
        assert!(matches!(poll(&mut r, "c", 1040), Poll::Tokens { .. }));
        assert_eq!(r.sealed, None, "the sealed key is gone once handed out");
        assert_eq!(poll(&mut r, "c", 1060), Poll::Redeemed { subject: None });
        assert_eq!(poll(&mut r, "c", 5000), Poll::Redeemed { subject: None });
    }

    #[test]
    fn expiry_is_after_600_seconds_and_deny_is_final() {
        let mut r = record();
        assert_eq!(poll(&mut r, "c", 1600), Poll::Pending);
        assert_eq!(poll(&mut r, "c", 1601), Poll::Expired);
        let mut r = record();
        r.state = DeviceState::Denied;
        assert_eq!(poll(&mut r, "c", 1010), Poll::Denied);
        assert!(!r.answerable(1010));
        assert!(record().answerable(1600) && !record().answerable(1601));
    }

    #[test]
    fn guesses_are_limited_per_window() {
        let mut g = Guesses { count: 0, since: 100 }.at(100);
        for _ in 0..GUESS_LIMIT {
            assert_eq!(g.wait(100), None);
            g = g.wrong(100);
        }
        assert_eq!(g.wait(100), Some(GUESS_WINDOW));
        assert_eq!(g.wait(100 + GUESS_WINDOW - 1), Some(1));
        assert_eq!(g.wait(100 + GUESS_WINDOW), None);
        assert_eq!(g.wrong(100 + GUESS_WINDOW).count, 1);
        assert_eq!(Guesses::parse(&g.to_text()), Some(g));
        assert_eq!(Guesses::parse("x 1"), None);
    }
}
