//! JSON for everything the crate reads and writes: requests and documents
//! from clients, our responses, and our own records (sealed or stored).
//!
//! Our own small reader and writer instead of serde: with serde every
//! type's derive is a parser of its own, and serde and `serde_json` were
//! about a fifth of the Worker's WASM. Here there is one strict reader
//! ([`parse`], RFC 8259), one writer ([`to_string`], byte for byte as
//! `serde_json` writes) and a [`Value`] tree; a type reads itself from a
//! [`Value`] with [`Fields`] ([`FromJson`]) and writes itself as one
//! ([`ToJson`]). The tests check the reader and writer against
//! `serde_json` on arbitrary documents.

mod fields;
mod parse;
mod value;
mod write;

pub use fields::Fields;
pub use parse::{parse, MAX_DEPTH};
#[cfg(test)]
pub use value::from_serde;
pub use value::{Number, Object, Value};
pub use write::{to_string, write_str};

/// Why a JSON text or value did not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error saying `what`.
    pub fn new(what: &str) -> Error {
        Error(what.to_string())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A type that reads itself from a JSON value.
pub trait FromJson: Sized {
    /// Reads `value`.
    fn from_json(value: &Value) -> Result<Self, Error>;
}

/// A type that writes itself as a JSON value.
pub trait ToJson {
    /// The value.
    fn to_json(&self) -> Value;
}

/// Reads a `T` from JSON text.
pub fn from_slice<T: FromJson>(bytes: &[u8]) -> Result<T, Error> {
    T::from_json(&parse(bytes)?)
}

/// The compact JSON text of a `T`.
pub fn encode<T: ToJson + ?Sized>(value: &T) -> String {
    to_string(&value.to_json())
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value) -> Result<Vec<T>, Error> {
        value.as_array().ok_or_else(|| Error::new("expected an array"))?.iter().map(T::from_json).collect()
    }
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
}

impl FromJson for String {
    fn from_json(value: &Value) -> Result<String, Error> {
        value.as_str().map(str::to_string).ok_or_else(|| Error::new("expected a string"))
    }
}
