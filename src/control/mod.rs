//! The control socket: the process that holds the store (`serve`, or the
//! TUI running the server) listens on a Unix socket beside the store, so
//! agents' UIs attach to it and one-shot commands run through it.
//!
//! Protocol (JSON Lines, one object a line, UTF-8, each line ≤ 1 MiB):
//! the client sends `{"id": N, "op": ..., ...}` requests (see
//! [`protocol::Request`]; the inbox's own requests travel inside `inbox`,
//! see src/inbox/); the owner answers each with a `reply` or `error`
//! frame carrying the same id, and pushes `update`/`lagged` frames after a
//! `subscribe`, and `out`/`err`/`ask`/`exit` frames for a `run`. No frame
//! ever carries a secret: tokens stay in the owner's config.

pub mod auto_assign;
pub mod client;
pub mod fanout;
pub mod peer;
pub mod protocol;
pub mod server;
pub mod upload;

use std::path::{Path, PathBuf};

/// Longest request line the owner reads; longer ones end the connection
/// with an error (the rest of the stream cannot be framed).
pub const MAX_LINE: usize = 1024 * 1024;
// A `bulk --users` file travels in one request line, with room for the rest.
const _: () = assert!(crate::oneshot::MAX_USERS_FILE + 64 * 1024 <= MAX_LINE);
/// The socket's file name inside the store directory, beside the holder file.
pub const SOCKET_FILE: &str = "control.sock";

pub fn socket_path(store: &Path) -> PathBuf {
    store.join(SOCKET_FILE)
}

use std::time::Duration;

pub use crate::config::ControlLimits;

/// How long a client waits on the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// A `ping` goes out this often while connected.
    pub ping: Duration,
    /// No frame at all from the owner for this long (pings are answered,
    /// so this is more than a ping's round trip): it is not answering.
    pub read: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        ClientTimeouts {
            ping: client::PING_INTERVAL,
            read: Duration::from_secs(90),
        }
    }
}
