//! Searching text for ASCII: the standard library's `memchr` for a first
//! byte, where `str::find` with a string sets up a two-way searcher for
//! every call and a set of characters decodes every character.

/// Where `needle` first occurs in `hay`, as `str::find`; fast when
/// `needle` starts with an ASCII character.
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    let first = match needle.as_bytes().first() {
        Some(&b) if b.is_ascii() => char::from(b),
        _ => return hay.find(needle),
    };
    let mut from = 0;
    while let Some(i) = hay[from..].find(first) {
        let at = from + i;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        // `first` is ASCII, so the next byte starts a character.
        from = at + 1;
    }
    None
}

/// Where the first of the ASCII bytes in `set` occurs in `hay` (a
/// character boundary: other bytes of `set` are never matched).
pub fn find_any(hay: &str, set: &[u8]) -> Option<usize> {
    hay.bytes().position(|b| b.is_ascii() && set.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn find_is_str_find(hay in "[a:/{}é?#]{0,24}", needle in "(://|\\{\\{|\\}\\}|\\{\\{/a|:|a|é|é:|)") {
            prop_assert_eq!(find(&hay, &needle), hay.find(needle.as_str()));
        }

        #[test]
        fn find_any_is_str_find_with_a_set(hay in "[a:/é?#€]{0,24}") {
            prop_assert_eq!(find_any(&hay, b"/?#"), hay.find(['/', '?', '#']));
            prop_assert_eq!(find_any(&hay, b"?#"), hay.find(['?', '#']));
            // A non-ASCII byte in the set never splits a character.
            prop_assert_eq!(find_any(&hay, &[0xC3, 0xA9, b'#']), hay.find('#'));
        }
    }
}
