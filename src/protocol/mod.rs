//! Protocol values parsed and validated at the edge (form bodies, PKCE,
//! redirect URIs, resources, encodings) and the RFC error codes with their
//! one mapping to HTTP.

pub mod basic;
pub mod encoding;
pub mod error;
pub mod form;
pub mod pkce;
pub mod redirect;
pub mod resource;
pub mod shown;
pub mod text;
pub mod url;
