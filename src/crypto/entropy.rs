//! Randomness as an input: the adapter supplies a 32-byte seed per request;
//! the core expands it into as many independent values as it needs.

use sha2::{Digest, Sha256};

/// A per-request source of random bytes, expanded from one seed with SHA-256
/// in counter mode (the seed comes from the platform's CSPRNG).
pub struct Entropy {
    seed: [u8; 32],
    counter: u64,
}

impl Entropy {
    /// Wraps a seed from a CSPRNG (tests pass a fixed one).
    pub fn new(seed: [u8; 32]) -> Self {
        Entropy { seed, counter: 0 }
    }

    /// A seed from the operating system / `crypto.getRandomValues`.
    pub fn from_os() -> Self {
        let mut seed = [0u8; 32];
        // A platform without a CSPRNG cannot run the provider safely.
        getrandom::getrandom(&mut seed).expect("no CSPRNG available");
        Entropy::new(seed)
    }

    /// The next 32 random bytes.
    pub fn next32(&mut self) -> [u8; 32] {
        self.counter += 1;
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(self.counter.to_le_bytes());
        h.finalize().into()
    }

    /// The next 12 random bytes (an AES-GCM nonce).
    pub fn nonce(&mut self) -> [u8; 12] {
        let mut n = [0u8; 12];
        n.copy_from_slice(&self.next32()[..12]);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_differ_and_repeat_for_the_same_seed() {
        let mut a = Entropy::new([7; 32]);
        let mut b = Entropy::new([7; 32]);
        let (a1, a2) = (a.next32(), a.next32());
        assert_ne!(a1, a2);
        assert_eq!(a1, b.next32());
        assert_ne!(Entropy::from_os().next32(), Entropy::from_os().next32());
    }
}
