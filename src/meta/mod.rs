//! Meta's side: webhook payloads, the Graph/Send API client and its errors.

pub mod error;
pub mod graph;
pub mod lenient;
pub mod throttle;
pub mod usage;
pub mod webhook;
