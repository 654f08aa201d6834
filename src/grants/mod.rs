//! What a user granted and its lifecycle: the validated request, the
//! authorization code and the single-use guard of each answer.

pub mod code;
pub(crate) mod guard;
pub mod ledger;
pub mod request;
