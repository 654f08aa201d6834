//! Writing a [`Value`] as compact JSON, byte for byte as `serde_json`
//! writes it: members in order, no whitespace, `"` `\` and control
//! characters escaped (`\n`-style where JSON has one, else `\u00xx`), all
//! else as UTF-8, `/` included.

use super::value::Value;

/// The compact JSON text of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(n.as_str()),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            for (i, (name, value)) in object.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(name, out);
                out.push(':');
                write(value, out);
            }
            out.push('}');
        }
    }
}

/// `s` as a JSON string, quotes included.
pub fn write_str(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl std::fmt::Display for Value {
    /// The compact JSON text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_string(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_compact_json_in_member_order() {
        let v = Value::object([
            ("z", Value::from(1u64)),
            ("a", Value::Array(vec![Value::Null, true.into(), false.into()])),
            ("m", Value::object([("k", "v".into())])),
        ]);
        assert_eq!(to_string(&v), r#"{"z":1,"a":[null,true,false],"m":{"k":"v"}}"#);
        assert_eq!(v.to_string(), to_string(&v));
    }

    #[test]
    fn escapes_as_serde_json_does() {
        let s = "q\" b\\ / é 😀 \n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}";
        assert_eq!(to_string(&Value::from(s)), serde_json::to_string(s).unwrap());
        let shown = "q\" b\\ / \n\u{0}\u{1f}";
        assert_eq!(to_string(&Value::from(shown)), r#""q\" b\\ / \n\u0000\u001f""#);
    }
}
