//! Who is asking: clients identified by hostname, by a signed id carrying
//! their registration, or by a Client ID Metadata Document.

pub mod cimd;
pub mod client;
pub mod register;
