//! base64 (RFC 4648): base64url without padding, the encoding tokens,
//! cookies and keys use, and the standard alphabet with padding that HTTP
//! Basic credentials use. Decoding is strict, as the `base64` crate's
//! general-purpose engines are (the tests check ours against them): the
//! alphabet only, no line breaks, unused trailing bits zero, padding exactly
//! as required.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The value of each byte in `alphabet`, 0xff for bytes outside it.
const fn reverse(alphabet: &[u8; 64]) -> [u8; 256] {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}

const STANDARD_VALUES: [u8; 256] = reverse(STANDARD);
const URL_SAFE_VALUES: [u8; 256] = reverse(URL_SAFE);

fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let at = |n: u32, shift: u32| alphabet[(n >> shift & 63) as usize];
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.extend_from_slice(&[at(n, 18), at(n, 12), at(n, 6), at(n, 0)]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[at(n, 18), at(n, 12)]);
            if pad {
                out.extend_from_slice(b"==");
            }
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[at(n, 18), at(n, 12), at(n, 6)]);
            if pad {
                out.push(b'=');
            }
        }
        _ => {}
    }
    // Only alphabet bytes and `=`: ASCII.
    String::from_utf8(out).unwrap_or_default()
}

fn decode(text: &str, values: &[u8; 256], pad: bool) -> Option<Vec<u8>> {
    let mut body = text.as_bytes();
    if pad {
        if body.len() % 4 != 0 {
            return None;
        }
        let padding = body.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 {
            return None;
        }
        body = &body[..body.len() - padding];
    }
    let sextet = |c: u8| match values[usize::from(c)] {
        0xff => None,
        v => Some(u32::from(v)),
    };
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut chunks = body.chunks_exact(4);
    for c in &mut chunks {
        let n = sextet(c[0])? << 18 | sextet(c[1])? << 12 | sextet(c[2])? << 6 | sextet(c[3])?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    // A short final chunk: 2 or 3 characters, the bits they do not fill zero.
    match *chunks.remainder() {
        [a, b] => {
            let n = sextet(a)? << 18 | sextet(b)? << 12;
            if n & 0xffff != 0 {
                return None;
            }
            out.push((n >> 16) as u8);
        }
        [a, b, c] => {
            let n = sextet(a)? << 18 | sextet(b)? << 12 | sextet(c)? << 6;
            if n & 0xff != 0 {
                return None;
            }
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        [] => {}
        _ => return None,
    }
    Some(out)
}

/// Encodes bytes as base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    encode(bytes, URL_SAFE, false)
}

/// Decodes base64url without padding; `None` on any malformed input.
pub fn from_b64url(text: &str) -> Option<Vec<u8>> {
    decode(text, &URL_SAFE_VALUES, false)
}

/// Encodes bytes as standard base64 with padding.
pub fn b64(bytes: &[u8]) -> String {
    encode(bytes, STANDARD, true)
}

/// Decodes standard base64 with its padding; `None` on any malformed input.
pub fn from_b64(text: &str) -> Option<Vec<u8>> {
    decode(text, &STANDARD_VALUES, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD as THEIR_STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_rejects_padding() {
        assert_eq!(from_b64url(&b64url(b"\xff\x00hi")).unwrap(), b"\xff\x00hi");
        assert!(from_b64url("aGk=").is_none());
        assert!(from_b64url("a+b/").is_none());
    }

    #[test]
    fn rfc_4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64(plain.as_bytes()), encoded);
            assert_eq!(from_b64(encoded).unwrap(), plain.as_bytes());
            assert_eq!(b64url(plain.as_bytes()), encoded.trim_end_matches('='));
        }
    }

    #[test]
    fn non_canonical_input_is_refused() {
        // Unused trailing bits set, a lone character, padding in the middle
        // or missing, white space.
        for bad in ["Zh", "Zm9=", "Z", "Zm9vY", "Zg", "Zg=", "Z===", "Zg==Zg==", "Zm 9v", "Zm9v\n"] {
            assert!(from_b64(bad).is_none(), "{bad}");
        }
        for bad in ["Zh", "Zm9", "Z", "Zg==", "Zm+v", "Zm/v"] {
            assert_eq!(from_b64url(bad).is_none(), URL_SAFE_NO_PAD.decode(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn encodes_as_the_base64_crate(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(b64url(&bytes), URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(b64(&bytes), THEIR_STANDARD.encode(&bytes));
        }

        #[test]
        fn decodes_exactly_what_the_base64_crate_decodes(text in "[A-Za-z0-9+/=_-]{0,16}") {
            prop_assert_eq!(from_b64url(&text), URL_SAFE_NO_PAD.decode(&text).ok());
            prop_assert_eq!(from_b64(&text), THEIR_STANDARD.decode(&text).ok());
        }
    }
}
