//! The JSON value tree: what [`super::parse`] reads and [`super::write`]
//! writes. Objects keep their members in order (a document is written back
//! member for member as it was built) and never hold a name twice: the
//! parser refuses a repeated name, and [`Object::insert`] replaces.

use std::ops::Index;

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as its JSON text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Object),
}

/// A JSON number, kept as its (valid, RFC 8259 §6) text: the crate reads
/// only non-negative integers ([`Number::as_u64`]), and a number it only
/// passes on keeps every digit it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(pub(super) String);

impl Number {
    /// The number if it is an integer in `0..=u64::MAX` written without a
    /// fraction or exponent (`1.0` and `1e3` are not).
    pub fn as_u64(&self) -> Option<u64> {
        if self.0.bytes().all(|b| b.is_ascii_digit()) {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The number's JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A JSON object: its members in order, each name once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object(Vec<(String, Value)>);

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object(Vec::new())
    }

    /// The member called `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether a member is called `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets the member `name` (replacing its value if it is there, else
    /// appending it).
    pub fn insert(&mut self, name: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// Appends `name` when `value` is `Some` (a field serde would skip
    /// when it is `None`).
    pub fn insert_some<T: Into<Value>>(&mut self, name: &str, value: Option<T>) {
        if let Some(value) = value {
            self.insert(name, value);
        }
    }

    /// The members, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no member.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends a member the caller knows is new (the parser, which has
    /// checked).
    pub(super) fn push_new(&mut self, name: String, value: Value) {
        self.0.push((name, value));
    }
}

impl<const N: usize> From<[(&str, Value); N]> for Object {
    fn from(members: [(&str, Value); N]) -> Object {
        let mut object = Object::new();
        for (name, value) in members {
            object.insert(name, value);
        }
        object
    }
}

impl Value {
    /// An object of these members, in this order.
    pub fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
        Value::Object(Object::from(members))
    }

    /// The member `name` of an object (`None` for any other value).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(name))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one in `0..=u64::MAX` ([`Number::as_u64`]).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The members, if this is an object, to change.
    pub fn as_object_mut(&mut self) -> Option<&mut Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Sets the member `name` of an object (nothing for any other value).
    pub fn insert(&mut self, name: &str, value: impl Into<Value>) {
        if let Some(o) = self.as_object_mut() {
            o.insert(name, value);
        }
    }
}

static NULL: Value = Value::Null;

/// `value["name"]`: the member, or `null` when there is none (as
/// `serde_json` reads).
impl Index<&str> for Value {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&NULL)
    }
}

/// `value[i]`: the item, or `null` when there is none.
impl Index<usize> for Value {
    type Output = Value;
    fn index(&self, i: usize) -> &Value {
        self.as_array().and_then(|a| a.get(i)).unwrap_or(&NULL)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::String(s.clone())
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Number(Number(n.to_string()))
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::from(u64::from(n))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Value {
        Value::Object(o)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

impl<const N: usize> From<[&str; N]> for Value {
    fn from(items: [&str; N]) -> Value {
        Value::Array(items.iter().map(|&s| Value::from(s)).collect())
    }
}

impl From<&[String]> for Value {
    fn from(items: &[String]) -> Value {
        Value::Array(items.iter().map(Value::from).collect())
    }
}

/// `value == "text"`, as in `serde_json`.
impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// `value == 3`, as in `serde_json`.
impl PartialEq<u64> for Value {
    fn eq(&self, other: &u64) -> bool {
        self.as_u64() == Some(*other)
    }
}

/// `value == true`, as in `serde_json`.
impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

/// Tests compare with `serde_json` values: equal when the same document.
#[cfg(test)]
impl PartialEq<serde_json::Value> for Value {
    fn eq(&self, other: &serde_json::Value) -> bool {
        serde_json::from_str::<serde_json::Value>(&self.to_string()).is_ok_and(|v| &v == other)
    }
}

/// A `serde_json` value as ours (tests).
#[cfg(test)]
pub fn from_serde(value: &serde_json::Value) -> Value {
    super::parse(value.to_string().as_bytes()).expect("serde_json writes JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_u64_only_when_plain_non_negative_integers() {
        let n = |s: &str| Number(s.into()).as_u64();
        assert_eq!(n("0"), Some(0));
        assert_eq!(n("18446744073709551615"), Some(u64::MAX));
        assert_eq!(n("18446744073709551616"), None);
        assert_eq!(n("-1"), None);
        assert_eq!(n("1.0"), None);
        assert_eq!(n("1e3"), None);
    }

    #[test]
    fn insert_replaces_a_member_in_place_and_appends_a_new_one() {
        let mut o = Object::from([("a", 1u64.into()), ("b", 2u64.into())]);
        o.insert("a", "x");
        o.insert("c", true);
        o.insert_some::<&str>("d", None);
        let names: Vec<&str> = o.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(o.get("a"), Some(&Value::from("x")));
    }

    #[test]
    fn indexing_a_missing_member_or_item_is_null() {
        let v = Value::object([("a", Value::from(["x"]))]);
        assert_eq!(v["a"][0], "x");
        assert!(v["a"][1].is_null());
        assert!(v["b"]["c"].is_null());
        assert!(Value::from(3u64)["a"].is_null());
    }
}
