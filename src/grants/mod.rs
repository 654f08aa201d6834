//! What a user granted and its lifecycle: the authorization code and the
//! single-use guard of each answer.

pub mod code;
pub(crate) mod guard;
