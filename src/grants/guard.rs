//! Single use within one isolate: a code being redeemed, or a consent form
//! already answered, is claimed here before any `await`, so two concurrent
//! requests in the same location cannot both pass. (Workers KV has no
//! atomic read-and-delete; see SECURITY.md for what this means across
//! locations.)

use std::collections::HashMap;
use std::sync::Mutex;

/// The most claims kept; beyond it the oldest-expiring are dropped.
const MAX_CLAIMS: usize = 50_000;

/// Claimed ids with the time until which they stay claimed.
#[derive(Default)]
pub struct Claims {
    claims: Mutex<HashMap<[u8; 32], u64>>,
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
