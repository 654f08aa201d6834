//! Reading a record's fields from a JSON object with serde's derive
//! semantics: a member that is absent or `null` is `None` (and an error
//! if the field is required), a member of the wrong type is an error,
//! members the record does not know are ignored.

use super::value::{Object, Value};
use super::{Error, FromJson};

/// The members of a JSON object, read field by field.
#[derive(Clone, Copy)]
pub struct Fields<'a>(&'a Object);

fn wrong(name: &str, expected: &str) -> Error {
    Error::new(&format!("`{name}` must be {expected}"))
}

impl<'a> Fields<'a> {
    /// The members of `value`, which must be an object.
    pub fn of(value: &'a Value) -> Result<Fields<'a>, Error> {
        value.as_object().map(Fields).ok_or_else(|| Error::new("expected a JSON object"))
    }

    /// The member `name`, unless it is absent or `null`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// The member `name`, which must be there.
    pub fn value(&self, name: &str) -> Result<&'a Value, Error> {
        self.get(name).ok_or_else(|| Error::new(&format!("missing field `{name}`")))
    }

    /// A string member that may be absent.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, Error> {
        self.get(name).map(|v| v.as_str().map(str::to_string).ok_or_else(|| wrong(name, "a string"))).transpose()
    }

    /// A string member.
    pub fn str(&self, name: &str) -> Result<String, Error> {
        self.opt_str(name)?.ok_or_else(|| Error::new(&format!("missing field `{name}`")))
    }

    /// A non-negative integer member that may be absent.
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, Error> {
        self.get(name).map(|v| v.as_u64().ok_or_else(|| wrong(name, "a non-negative integer"))).transpose()
    }

    /// A non-negative integer member.
    pub fn u64(&self, name: &str) -> Result<u64, Error> {
        self.opt_u64(name)?.ok_or_else(|| Error::new(&format!("missing field `{name}`")))
    }

    /// A boolean member that may be absent.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, Error> {
        self.get(name).map(|v| v.as_bool().ok_or_else(|| wrong(name, "a boolean"))).transpose()
    }

    /// A boolean member.
    pub fn bool(&self, name: &str) -> Result<bool, Error> {
        self.opt_bool(name)?.ok_or_else(|| Error::new(&format!("missing field `{name}`")))
    }

    /// A member of a type that reads itself, which may be absent.
    pub fn opt<T: FromJson>(&self, name: &str) -> Result<Option<T>, Error> {
        self.get(name).map(T::from_json).transpose()
    }

    /// A member of a type that reads itself.
    pub fn read<T: FromJson>(&self, name: &str) -> Result<T, Error> {
        T::from_json(self.value(name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn fields_read_with_serde_derive_semantics() {
        let v = parse(br#"{"s":"x","n":7,"b":true,"z":null,"list":["a"],"extra":{}}"#).unwrap();
        let f = Fields::of(&v).unwrap();
        assert_eq!(f.str("s").unwrap(), "x");
        assert_eq!(f.u64("n").unwrap(), 7);
        assert!(f.bool("b").unwrap());
        assert_eq!(f.opt_str("z").unwrap(), None);
        assert_eq!(f.opt_str("absent").unwrap(), None);
        assert_eq!(f.read::<Vec<String>>("list").unwrap(), ["a"]);
        assert_eq!(f.str("z").unwrap_err().to_string(), "missing field `z`");
        assert_eq!(f.u64("s").unwrap_err().to_string(), "`s` must be a non-negative integer");
        assert!(f.opt_str("n").is_err());
        assert!(f.opt_bool("s").is_err());
        assert!(Fields::of(&parse(b"[]").unwrap()).is_err());
    }
}
