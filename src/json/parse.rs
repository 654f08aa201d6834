//! A strict RFC 8259 JSON reader. It reads untrusted input (registration
//! bodies, client metadata documents, JOSE headers and claims) as well as
//! our own records, so it takes the narrow reading everywhere the RFC
//! leaves room: UTF-8 only, no byte-order mark, no lone surrogate, no
//! repeated member name (RFC 7515 §4 lets a JOSE parser refuse those, and
//! a name read two ways by two parsers is how confusion attacks start), no
//! trailing content, at most [`MAX_DEPTH`] nested arrays and objects.

use super::value::{Number, Object, Value};
use super::Error;

/// The deepest nesting of arrays and objects read (as `serde_json`).
pub const MAX_DEPTH: usize = 128;

/// Reads one JSON value from `bytes` (surrounding whitespace allowed).
pub fn parse(bytes: &[u8]) -> Result<Value, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::new("JSON must be UTF-8"))?;
    let mut reader = Reader { text, bytes: text.as_bytes(), at: 0, depth: 0 };
    let value = reader.value()?;
    reader.whitespace();
    if reader.at != reader.bytes.len() {
        return Err(reader.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> Error {
        Error::new(&format!("{what} at byte {}", self.at))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, literal: &str, value: Value) -> Result<Value, Error> {
        if self.bytes[self.at..].starts_with(literal.as_bytes()) {
            self.at += literal.len();
            Ok(value)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn value(&mut self) -> Result<Value, Error> {
        self.whitespace();
        match self.peek() {
            Some(b'{') => self.nested(Reader::object),
            Some(b'[') => self.nested(Reader::array),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.eat("true", Value::Bool(true)),
            Some(b'f') => self.eat("false", Value::Bool(false)),
            Some(b'n') => self.eat("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
            None => Err(self.error("unexpected end of JSON")),
        }
    }

    fn nested(&mut self, read: fn(&mut Self) -> Result<Value, Error>) -> Result<Value, Error> {
        if self.depth == MAX_DEPTH {
            return Err(self.error("JSON nested too deeply"));
        }
        self.depth += 1;
        self.at += 1; // the opening bracket
        let value = read(self);
        self.depth -= 1;
        value
    }

    /// After `[`: items, then `]`.
    fn array(&mut self) -> Result<Value, Error> {
        let mut items = Vec::new();
        self.whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected , or ] in an array")),
            }
        }
    }

    /// After `{`: members, then `}`.
    fn object(&mut self) -> Result<Value, Error> {
        let mut object = Object::new();
        self.whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(object));
        }
        loop {
            self.whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let name = self.string()?;
            if object.contains_key(&name) {
                return Err(self.error("a member name is repeated"));
            }
            self.whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected : after a member name"));
            }
            self.at += 1;
            let value = self.value()?;
            object.push_new(name, value);
            self.whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(object));
                }
                _ => return Err(self.error("expected , or } in an object")),
            }
        }
    }

    /// At `"`: the string's text, escapes resolved.
    fn string(&mut self) -> Result<String, Error> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            // `start..at` ends before an ASCII byte (or at the end), so it
            // is on character boundaries of the UTF-8 text.
            out.push_str(&self.text[start..self.at]);
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.error("a control character in a string")),
                None => return Err(self.error("unexpected end of a string")),
            }
        }
    }

    /// After `\`: one escape.
    fn escape(&mut self, out: &mut String) -> Result<(), Error> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.at += 1;
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        if !self.bytes[self.at..].starts_with(b"\\u") {
                            return Err(self.error("a lone surrogate in a string"));
                        }
                        self.at += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.error("a lone surrogate in a string"));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(self.error("a lone surrogate in a string")),
                    unit => unit,
                };
                out.push(char::from_u32(code).ok_or_else(|| self.error("an invalid escape"))?);
                return Ok(());
            }
            _ => return Err(self.error("an invalid escape in a string")),
        };
        self.at += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or_else(|| self.error("an invalid \\u escape"))?;
        let mut unit = 0;
        for &d in digits {
            let v = (d as char).to_digit(16).ok_or_else(|| self.error("an invalid \\u escape"))?;
            unit = unit * 16 + v;
        }
        self.at += 4;
        Ok(unit)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<Value, Error> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("an invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.one_or_more_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.one_or_more_digits()?;
        }
        Ok(Value::Number(Number(self.text[start..self.at].to_string())))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Result<(), Error> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error("an invalid number"));
        }
        self.digits();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::write::to_string;

    fn ok(s: &str) -> Value {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn reads_every_kind_of_value() {
        let v = ok(r#" {"a": [1, -0.5e+3, true, false, null], "b": {"c": "d"}, "e": ""} "#);
        assert_eq!(v["a"][0], 1);
        assert_eq!(v["a"][1], Value::Number(Number("-0.5e+3".into())));
        assert_eq!(v["a"][2], true);
        assert_eq!(v["a"][3], false);
        assert!(v["a"][4].is_null());
        assert_eq!(v["b"]["c"], "d");
        assert_eq!(v["e"], "");
        assert_eq!(ok("[]"), Value::Array(vec![]));
        assert_eq!(ok("{}"), Value::Object(Object::new()));
    }

    #[test]
    fn escapes_resolve_including_surrogate_pairs() {
        assert_eq!(ok(r#""\"\\\/\b\f\n\r\t""#), "\"\\/\u{8}\u{c}\n\r\t");
        assert_eq!(ok(r#""\u00e9\u20AC\ud83d\ude00""#), "é€😀");
        assert_eq!(ok("\"é😀\""), "é😀");
    }

    #[test]
    fn refuses_what_rfc_8259_does_not_allow() {
        for bad in [
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "{'a':1}",
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "-",
            "NaN",
            "Infinity",
            "tru",
            "nul",
            "\"a",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"a\nb\"",
            "\"\t\"",
            "1 2",
            "{} x",
            "\u{feff}{}",
            "[1 2]",
            "{\"a\" 1}",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "accepted {bad:?}");
        }
        assert!(parse(b"\"\xff\"").is_err());
        assert!(parse(b"{\"a\":\"\xc3\"}").is_err());
    }

    #[test]
    fn a_repeated_member_name_is_refused() {
        assert!(parse(br#"{"alg":"none","alg":"ES256"}"#).is_err());
        assert!(parse(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse(br#"{"a":1,"b":{"a":1}}"#).is_ok());
    }

    #[test]
    fn nesting_is_limited_without_overflowing_the_stack() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert!(parse(deep(MAX_DEPTH + 1).as_bytes()).is_err());
        assert!(parse("[".repeat(100_000).as_bytes()).is_err());
        assert!(parse("{\"a\":".repeat(100_000).as_bytes()).is_err());
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(parse(b"[1,]").unwrap_err().to_string(), "expected a JSON value at byte 3");
    }

    /// Any JSON value serde_json can hold (objects with unique names).
    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e300f64..1e300).prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Anything: no panic, and whatever reads writes back to text that
        /// reads as the same value.
        #[test]
        fn any_bytes_never_panic_and_what_reads_round_trips(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(v) = parse(&bytes) {
                proptest::prop_assert_eq!(parse(to_string(&v).as_bytes()).unwrap(), v);
            }
        }

        /// JSON-ish text: we accept exactly what serde_json accepts (but
        /// a repeated name, which it reads as the last) and read the same.
        #[test]
        fn accepts_what_serde_json_accepts(text in r#"[\[\]{}",:0-9.eE+\- tfrunlsa\\/bu"é\x00-\x1f]{0,24}"#) {
            let ours = parse(text.as_bytes());
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            match (&ours, &theirs) {
                (Ok(v), Ok(t)) => proptest::prop_assert_eq!(&serde_json::from_str::<serde_json::Value>(&to_string(v)).unwrap(), t),
                (Err(e), Ok(_)) => proptest::prop_assert!(e.to_string().starts_with("a member name is repeated"), "refused {:?}: {}", text, e),
                (Ok(_), Err(e)) => proptest::prop_assert!(false, "accepted {:?} ({})", text, e),
                (Err(_), Err(_)) => {}
            }
        }

        /// Any document serde_json writes reads as the same value, and we
        /// write it back byte for byte as serde_json does.
        #[test]
        fn reads_and_writes_what_serde_json_writes(value in arbitrary_json()) {
            let text = serde_json::to_string(&value).unwrap();
            let ours = parse(text.as_bytes()).unwrap();
            proptest::prop_assert_eq!(to_string(&ours), text);
        }
    }
}
