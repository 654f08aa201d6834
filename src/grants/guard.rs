//! Single use within one isolate: a code being redeemed, or a consent form
//! already answered, is claimed here before any `await`, so two concurrent
//! requests in the same location cannot both pass. (Workers KV has no
//! atomic read-and-delete; see SECURITY.md for what this means across
//! locations.)

use std::collections::HashMap;
use std::sync::Mutex;

/// The most claims kept; beyond it the oldest-expiring are dropped.
const MAX_CLAIMS: usize = 50_000;

/// The most answers kept for a repeated submission ([`Claims::keep_answer`]).
const MAX_ANSWERS: usize = 64;

/// How long an answer is given again to the same form (a double click on
/// a slow connection), in seconds.
pub const REPEAT_WINDOW: u64 = 10;

/// A kept answer: the claim, the choice it answered, until when, the answer.
type Kept = ([u8; 32], &'static str, u64, String);

/// Claimed ids with the time until which they stay claimed, and the few
/// answers kept for a second submission of the same form.
#[derive(Default)]
pub struct Claims {
    claims: Mutex<HashMap<[u8; 32], u64>>,
    answers: Mutex<Vec<Kept>>,
}

impl Claims {
    /// Claims `id` until `until`; `false` if it is already claimed.
    pub fn claim(&self, id: [u8; 32], until: u64, now: u64) -> bool {
        let mut claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        if claims.get(&id).is_some_and(|&t| t >= now) {
            return false;
        }
        if claims.len() >= MAX_CLAIMS {
            evict(&mut claims, now);
        }
        claims.insert(id, until);
        true
    }

    /// Releases a claim (the work it guarded failed and may be retried).
    pub fn release(&self, id: &[u8; 32]) {
        self.claims.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Keeps the answer to the choice `choice` on claim `id` until `until`,
    /// for a second submission of the same form with the same choice (a
    /// double click whose first answer the browser dropped); the oldest
    /// goes when [`MAX_ANSWERS`] are kept.
    pub fn keep_answer(&self, id: [u8; 32], choice: &'static str, answer: String, until: u64, now: u64) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.retain(|(_, _, t, _)| *t >= now);
        if answers.len() >= MAX_ANSWERS {
            answers.remove(0);
        }
        answers.push((id, choice, until, answer));
    }

    /// The answer kept for `choice` on claim `id`, if still kept at `now`.
    pub fn answer(&self, id: &[u8; 32], choice: &str, now: u64) -> Option<String> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.iter().find(|(i, c, t, _)| i == id && *c == choice && *t >= now).map(|(_, _, _, a)| a.clone())
    }
}

/// Makes room in one pass: drops expired claims and, if that is not enough,
/// the tenth that expires soonest (so a full map costs one scan per 5,000
/// claims, not one per claim).
fn evict(claims: &mut HashMap<[u8; 32], u64>, now: u64) {
    claims.retain(|_, &mut t| t >= now);
    if claims.len() < MAX_CLAIMS * 9 / 10 {
        return;
    }
    let mut expiries: Vec<u64> = claims.values().copied().collect();
    let cut = MAX_CLAIMS / 10;
    let (_, &mut threshold, _) = expiries.select_nth_unstable(cut);
    claims.retain(|_, &mut t| t > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_claim_fails_until_expiry_or_release() {
        let c = Claims::default();
        assert!(c.claim([1; 32], 100, 0));
        assert!(!c.claim([1; 32], 100, 50));
        assert!(c.claim([1; 32], 200, 101));
        c.release(&[1; 32]);
        assert!(c.claim([1; 32], 300, 150));
        assert!(c.claim([2; 32], 300, 150));
    }

    #[test]
    fn answers_are_kept_until_their_time_and_at_most_64() {
        let c = Claims::default();
        c.keep_answer([1; 32], "a", "first".into(), 110, 100);
        assert_eq!(c.answer(&[1; 32], "a", 110).as_deref(), Some("first"));
        assert_eq!(c.answer(&[1; 32], "b", 110), None, "another choice");
        assert_eq!(c.answer(&[1; 32], "a", 111), None);
        assert_eq!(c.answer(&[2; 32], "a", 100), None);
        for i in 0..=MAX_ANSWERS as u8 {
            c.keep_answer([i + 2; 32], "a", format!("{i}"), 200, 100);
        }
        assert_eq!(c.answers.lock().unwrap().len(), MAX_ANSWERS);
        assert_eq!(c.answer(&[2; 32], "a", 100), None, "the oldest went first");
        assert_eq!(c.answer(&[3; 32], "a", 100).as_deref(), Some("1"));
    }

    #[test]
    fn bounded() {
        let c = Claims::default();
        for i in 0..(MAX_CLAIMS + 10) {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(i as u64).to_le_bytes());
            assert!(c.claim(id, 10, 0));
        }
        assert!(c.claims.lock().unwrap().len() <= MAX_CLAIMS);
    }

    #[test]
    fn eviction_keeps_the_latest_claims() {
        let c = Claims::default();
        for i in 0..(MAX_CLAIMS as u64 + 1) {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&i.to_le_bytes());
            assert!(c.claim(id, 1_000 + i, 0));
        }
        let claims = c.claims.lock().unwrap();
        assert!(claims.len() <= MAX_CLAIMS * 9 / 10 + 1);
        let mut newest = [0u8; 32];
        newest[..8].copy_from_slice(&(MAX_CLAIMS as u64).to_le_bytes());
        assert!(claims.contains_key(&newest));
        assert!(!claims.contains_key(&[0u8; 32]), "the soonest-expiring claim went first");
    }
}
