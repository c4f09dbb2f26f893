//! The control socket: the process that holds the store (`serve`, or the
//! TUI running the server) listens on a Unix socket beside the store, so
//! agents' UIs attach to it and one-shot commands run through it.
//!
//! Protocol (JSON Lines, one object a line, UTF-8, each line ≤ 1 MiB):
//! the client sends `{"id": N, "op": ..., ...}` requests (see
//! [`protocol::Request`]); the owner answers each with a `reply` or `error`
//! frame carrying the same id, and pushes `update`/`lagged` frames after a
//! `subscribe`, and `out`/`err`/`ask`/`exit` frames for a `run`. No frame
//! ever carries a secret: tokens stay in the owner's config.

pub mod client;
pub mod fanout;
pub mod oneshot;
pub mod peer;
pub mod presence;
pub mod protocol;
pub mod server;

use std::path::{Path, PathBuf};

/// The socket's file name inside the store directory, beside the holder file.
pub const SOCKET_FILE: &str = "control.sock";

pub fn socket_path(store: &Path) -> PathBuf {
    store.join(SOCKET_FILE)
}

use std::time::Duration;

/// How much of the owner one client, and one Unix user, may hold, and how
/// long an idle connection stays. Tests shorten these through
/// `Config::control.limits`; the config file does not set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlLimits {
    /// Connections at once, all users together; more are refused.
    pub max_connections: usize,
    /// Connections at once from one Unix user (well below the total, so one
    /// user cannot lock the others out).
    pub per_user: usize,
    /// A connection that sends no request within this is closed.
    pub first_request: Duration,
    /// A connection that sends nothing for this long is closed. Clients
    /// send a `ping` every [`client::PING_INTERVAL`] (attached UIs and
    /// one-shot commands alike), so only a dead or stuck client reaches it.
    pub idle: Duration,
}

impl Default for ControlLimits {
    fn default() -> Self {
        ControlLimits {
            max_connections: 256,
            per_user: 64,
            first_request: Duration::from_secs(10),
            idle: Duration::from_secs(120),
        }
    }
}

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
