//! Secret values in newtypes whose `Debug` never prints them.

/// The user's API key: what the consent page receives and /token hands out.
#[derive(Clone)]
pub struct ApiKey(String);

/// The longest API key we accept, in bytes.
pub const MAX_API_KEY_LEN: usize = 512;

/// Stored and sealed records hold the key as a plain string (a sealed
/// refresh token, a code's grant, the remember-me cookie).
impl crate::json::ToJson for ApiKey {
    fn to_json(&self) -> crate::json::Value {
        crate::json::Value::from(self.expose())
    }
}

impl crate::json::FromJson for ApiKey {
    fn from_json(value: &crate::json::Value) -> Result<ApiKey, crate::json::Error> {
        String::from_json(value).map(ApiKey)
    }
}

impl ApiKey {
    /// Accepts a pasted key: surrounding white space is trimmed; the rest must
    /// be 1 to 512 visible ASCII characters.
    pub fn parse(input: &str) -> Option<ApiKey> {
        let key = input.trim();
        let ok = !key.is_empty() && key.len() <= MAX_API_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| ApiKey(key.to_string()))
    }

    /// The key itself, for the token response only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short masked hint that identifies the key to its owner without
    /// revealing it: the last four characters of keys of 16 or more.
    pub fn hint(&self) -> String {
        if self.0.len() >= 16 {
            format!("••••{}", &self.0[self.0.len() - 4..])
        } else {
            "••••".to_string()
        }
    }
}

/// Gives a string newtype holding a secret a `Debug` that prints
/// `Name([redacted])` and a constant-time `PartialEq`.
macro_rules! secret_string {
    ($t:ident) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}([redacted])", stringify!($t))
            }
        }

        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), other.0.as_bytes()).into()
            }
        }

        impl Eq for $t {}
    };
}
pub(crate) use secret_string;

secret_string!(ApiKey);

/// The provider's `SECRET`, from which every key is derived.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

/// The shortest `SECRET` accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

impl Secret {
    /// Accepts a secret of at least 32 bytes; shorter ones are refused so
    /// that a weak or missing secret fails closed.
    pub fn new(value: &str) -> Result<Secret, crate::ConfigError> {
        if value.len() < MIN_SECRET_LEN {
            return Err(crate::ConfigError::WeakSecret);
        }
        Ok(Secret(value.as_bytes().to_vec()))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_is_trimmed_and_checked() {
        assert_eq!(ApiKey::parse("  sk-abc \n").unwrap().expose(), "sk-abc");
        assert!(ApiKey::parse("   ").is_none());
        assert!(ApiKey::parse("has space").is_none());
        assert!(ApiKey::parse("tab\there").is_none());
        assert!(ApiKey::parse("ключ").is_none());
        assert!(ApiKey::parse(&"k".repeat(MAX_API_KEY_LEN + 1)).is_none());
    }

    #[test]
    fn hint_shows_at_most_the_last_four() {
        assert_eq!(ApiKey::parse("sk-0123456789abcdef").unwrap().hint(), "••••cdef");
        assert_eq!(ApiKey::parse("short").unwrap().hint(), "••••");
    }

    #[test]
    fn debug_is_redacted() {
        let k = ApiKey::parse("sk-very-secret").unwrap();
        assert!(!format!("{k:?}").contains("secret"));
        let s = Secret::new(&"x".repeat(40)).unwrap();
        assert!(!format!("{s:?}").contains("xxxx"));
    }

    #[test]
    fn short_secret_fails_closed() {
        assert!(Secret::new("").is_err());
        assert!(Secret::new(&"x".repeat(31)).is_err());
        assert!(Secret::new(&"x".repeat(32)).is_ok());
    }
}
