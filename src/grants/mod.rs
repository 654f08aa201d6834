//! What a user granted and its lifecycle: the validated request, the
//! authorization code, the single-use guard of each answer, and whether
//! the platform accepts the key granted.

pub mod code;
pub(crate) mod guard;
pub mod key_check;
pub mod request;
