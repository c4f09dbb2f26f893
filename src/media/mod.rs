//! Media in the terminal (issue 17), as plain values and pure rules:
//! pictures of attachments (what to fetch, the protocol detected, what came
//! of it), links (the opener), desktop notifications, the cache's
//! bounds, and the files agents send (`outgoing`: Meta's kinds, sizes and
//! types, checked before any call). Fetching and the on-disk cache are the store owner's
//! (src/pictures/); decoding runs at the terminal's edge (src/tui/media/).

pub mod cache;
pub mod notify;
pub mod open;
pub mod outgoing;
pub mod picture;
pub mod protocol;
