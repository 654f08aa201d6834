//! What a user granted and its lifecycle: the validated request, the
//! authorization code and the single-use guard of each answer.

pub mod access_token;
pub mod code;
pub(crate) mod guard;
pub mod ledger;
pub mod refresh;
pub mod request;
pub mod token_keys;
