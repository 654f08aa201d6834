//! Text shown to a person that a client or a device wrote: the characters
//! that would hide text or reorder it on the page (controls, Unicode's
//! format characters, its default-ignorable code points, line and
//! paragraph separators, invisible fillers).

use std::borrow::Cow;

/// Unicode 14's general category Cf and Default_Ignorable_Code_Point
/// together, with U+2028–2029 and U+2800 (Braille blank), as inclusive
/// ranges in order.
const HIDDEN: [(u32, u32); 26] = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `c` is a control or would be invisible or reorder text.
pub fn is_hidden(c: char) -> bool {
    let c32 = u32::from(c);
    c.is_control() || (c32 >= 0xAD && HIDDEN.iter().any(|&(lo, hi)| (lo..=hi).contains(&c32)))
}

/// `text` with each hidden character replaced by U+FFFD, so that what the
/// page shows is what was sent, visibly.
pub fn shown(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_hidden) {
        Cow::Owned(text.chars().map(|c| if is_hidden(c) { '\u{FFFD}' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_every_format_and_ignorable_one() {
        for c in ['\u{0}', '\n', '\u{7F}', '\u{AD}', '\u{180E}', '\u{200B}', '\u{202E}', '\u{2066}', '\u{206A}']
            .into_iter()
            .chain(['\u{2028}', '\u{3164}', '\u{FE0F}', '\u{FEFF}', '\u{FFF9}', '\u{E0001}', '\u{E0041}', '\u{E007F}'])
        {
            assert!(is_hidden(c), "{:04X}", u32::from(c));
        }
        for c in ['a', ' ', 'é', '–', '“', '中', '\u{FFFD}', '😀', '\u{E1000}'] {
            assert!(!is_hidden(c), "{:04X}", u32::from(c));
        }
    }

    #[test]
    fn the_ranges_are_in_order_and_apart() {
        for pair in HIDDEN.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 + 1 < pair[1].0, "{pair:X?}");
        }
    }

    #[test]
    fn shown_replaces_hidden_characters_and_borrows_otherwise() {
        assert!(matches!(shown("curl/8.5.0"), Cow::Borrowed("curl/8.5.0")));
        assert_eq!(shown("Mozilla \u{202E}evil\u{202C} x\u{E0041}"), "Mozilla \u{FFFD}evil\u{FFFD} x\u{FFFD}");
    }
}
