//! Media in the terminal (issue 17): pictures of attachments (protocol
//! detection, fetching, the on-disk cache, decoding off the event loop),
//! links (the opener) and desktop notifications.

pub mod cache;
pub mod fetch;
pub mod notify;
pub mod open;
pub mod picture;
pub mod protocol;
pub mod worker;
