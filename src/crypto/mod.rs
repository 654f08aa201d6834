//! Secrets, randomness and sealing: the only place keys are derived or used.

pub mod entropy;
pub mod jose;
pub mod p256;
pub mod seal;
pub mod secret;
