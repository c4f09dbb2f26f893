//! Media in the terminal (issue 17), as plain values and pure rules:
//! pictures of attachments (what to fetch, the protocol detected, what came
//! of it), links (the opener), desktop notifications, and the cache's
//! bounds. Fetching and the on-disk cache are the store owner's
//! (src/pictures/); decoding runs at the terminal's edge (src/tui/media/).

pub mod cache;
pub mod notify;
pub mod open;
pub mod picture;
pub mod protocol;
