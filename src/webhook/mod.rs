//! The embedded webhook server.

pub mod signature;
