//! The web layer: one file per endpoint, each turning a parsed request into
//! a response with the pieces below it (grants, clients, pages, crypto,
//! protocol, store).

pub mod authorize;
pub mod consent;
pub(crate) mod cors;
pub mod metadata;
pub mod token;
