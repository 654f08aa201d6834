//! The P-256 arithmetic behind ES256, behind a trait: which implementation
//! runs is the platform's choice, the JOSE rules around it are
//! [`super::jose`]'s.
//!
//! - Natively (tests, benches, a resource server on a server): RustCrypto's
//!   `p256` (`RustCrypto`, natively only), deterministic signatures (RFC 6979).
//! - On Workers: the runtime's own BoringSSL through `node:crypto`
//!   (`crate::workers::RuntimeP256`, installed by the adapter), so the
//!   WASM carries no curve code (9.8 KB gzipped less) and signs in tens of
//!   microseconds instead of a millisecond of WASM. Its signatures are
//!   randomized, which ES256 allows; nothing depends on determinism.
//!
//! Points are `x ‖ y` (64 bytes, big-endian), signatures `r ‖ s` (64
//! bytes), private scalars 32 bytes big-endian with 1 ≤ d < n
//! ([`is_scalar`]), as JOSE writes them.

use std::sync::OnceLock;

/// A public key: `x ‖ y`, 32 bytes each, big-endian.
pub type Point = [u8; 64];

/// An ECDSA P-256 implementation with SHA-256 (ES256, RFC 7518 §3.4).
pub trait P256: Sync {
    /// The public point `d·G` of a private scalar (valid: [`is_scalar`]);
    /// `None` if the implementation cannot compute it.
    fn public_key(&self, d: &[u8; 32]) -> Option<Point>;
    /// The signature `r ‖ s` of SHA-256(`message`) under `d`; `None` if
    /// the implementation cannot sign.
    fn sign(&self, d: &[u8; 32], message: &[u8]) -> Option<[u8; 64]>;
    /// Whether `point` is a point of the curve (not the identity).
    fn is_point(&self, point: &Point) -> bool;
    /// Whether `signature` (`r ‖ s`) signs SHA-256(`message`) under
    /// `point`. A high `s` verifies (RFC 7518 does not require low `s`).
    fn verify(&self, point: &Point, message: &[u8], signature: &[u8; 64]) -> bool;
}

static INSTALLED: OnceLock<&'static dyn P256> = OnceLock::new();

/// Makes `p256` the implementation every ES256 operation of this process
/// (or isolate) uses, unless one is already installed (the first wins).
/// The Workers adapter installs the runtime's; natively, `RustCrypto` is
/// the default.
pub fn install(p256: &'static dyn P256) {
    let _ = INSTALLED.set(p256);
}

/// The installed implementation: natively `RustCrypto` unless another
/// was installed; on wasm32 only what was installed (`None` before that).
pub fn installed() -> Option<&'static dyn P256> {
    #[cfg(not(target_arch = "wasm32"))]
    return Some(*INSTALLED.get_or_init(|| &RustCrypto));
    #[cfg(target_arch = "wasm32")]
    INSTALLED.get().copied()
}

/// The group order n of P-256, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// Whether `d` (big-endian) is a valid private scalar: 1 ≤ d < n.
pub fn is_scalar(d: &[u8; 32]) -> bool {
    // Big-endian byte arrays of equal length compare as the numbers do.
    d.iter().any(|&b| b != 0) && *d < ORDER
}

#[cfg(not(target_arch = "wasm32"))]
pub use rust_crypto::RustCrypto;

#[cfg(not(target_arch = "wasm32"))]
mod rust_crypto {
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
    use p256::EncodedPoint;

    use super::{Point, P256};

    /// RustCrypto's `p256`: deterministic signatures (RFC 6979).
    pub struct RustCrypto;

    fn verifying_key(point: &Point) -> Option<VerifyingKey> {
        let (x, y) = point.split_at(32);
        let encoded = EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
        VerifyingKey::from_encoded_point(&encoded).ok()
    }

    impl P256 for RustCrypto {
        fn public_key(&self, d: &[u8; 32]) -> Option<Point> {
            let key = SigningKey::from_bytes(d.into()).ok()?;
            let encoded = key.verifying_key().to_encoded_point(false);
            let mut point = [0u8; 64];
            point[..32].copy_from_slice(encoded.x()?);
            point[32..].copy_from_slice(encoded.y()?);
            Some(point)
        }

        fn sign(&self, d: &[u8; 32], message: &[u8]) -> Option<[u8; 64]> {
            let signature: Signature = SigningKey::from_bytes(d.into()).ok()?.sign(message);
            Some(signature.to_bytes().into())
        }

        fn is_point(&self, point: &Point) -> bool {
            verifying_key(point).is_some()
        }

        fn verify(&self, point: &Point, message: &[u8], signature: &[u8; 64]) -> bool {
            let (Some(key), Ok(signature)) = (verifying_key(point), Signature::from_slice(signature)) else {
                return false;
            };
            key.verify(message, &signature).is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_one_to_n_minus_one() {
        assert!(!is_scalar(&[0; 32]));
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(is_scalar(&one));
        assert!(!is_scalar(&ORDER));
        let mut below = ORDER;
        below[31] -= 1;
        assert!(is_scalar(&below));
        assert!(!is_scalar(&[0xff; 32]));
    }

    #[test]
    fn rust_crypto_signs_what_it_verifies_and_refuses_off_curve_points() {
        let p = installed().unwrap();
        let d = [7u8; 32];
        let point = p.public_key(&d).unwrap();
        assert!(p.is_point(&point));
        let sig = p.sign(&d, b"message").unwrap();
        assert!(p.verify(&point, b"message", &sig));
        assert!(!p.verify(&point, b"messagf", &sig));
        let mut off = point;
        off[63] ^= 1;
        assert!(!p.is_point(&off) && !p.verify(&off, b"message", &sig));
        assert_eq!(p.public_key(&[0; 32]), None);
    }
}
