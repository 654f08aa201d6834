//! base64url without padding, the only encoding tokens and cookies use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Encodes bytes as base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` on any malformed input.
pub fn from_b64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_padding() {
        assert_eq!(from_b64url(&b64url(b"\xff\x00hi")).unwrap(), b"\xff\x00hi");
        assert!(from_b64url("aGk=").is_none());
        assert!(from_b64url("a+b/").is_none());
    }
}
