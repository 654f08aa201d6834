//! What a user granted and its lifecycle: the validated request, the
//! authorization code, the single-use guard of each answer, and whether
//! the platform accepts the key granted.

pub mod access_token;
pub mod code;
pub mod device;
pub(crate) mod guard;
pub mod key_check;
pub mod ledger;
pub mod refresh;
pub mod request;
pub mod token_keys;
