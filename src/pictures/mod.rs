//! Keeping the pictures customers send: Meta's CDN links expire, so the
//! process that holds the store (`serve`, or the TUI that owns it) fetches
//! each picture attachment soon after it is applied and keeps the bytes in
//! a bounded on-disk cache. Its own UI reads them there; attached UIs get
//! them through the inbox service in chunks. Decoding for a terminal is
//! the TUI's part (src/tui/media/).

pub mod cache;
pub mod chunks;
pub mod fetch;
pub mod keeper;
pub mod source;

pub use source::Source;
