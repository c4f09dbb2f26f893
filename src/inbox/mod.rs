//! The inbox service: every read and write the TUI, an attached UI, the
//! control socket and the one-shot commands make, as one serializable
//! [`Request`]/[`Reply`] pair and one [`Inbox::handle`] over the store
//! boundary, the job queue and the presence table.
//!
//! A new store operation is one `Request` variant in src/request/mod.rs
//! (with its `Reply`, if it answers with data) and one match arm in
//! `handle` (its body in a file of this folder when it is more than a
//! call); the local data worker
//! (src/tui/data.rs), the owner's socket server (src/control/server.rs),
//! the attached client (src/tui/attached.rs) and the one-shot runner
//! (src/oneshot/) carry it unchanged. The UI gives a reply it asks for an
//! arm in `app::update` (one it never asks for joins the arm that ignores
//! the one-shots' replies); a new variant is a new socket protocol version
//! (`control::protocol::VERSION`, README's protocol section).
//!
//! Work beyond a store read or write (a send, a sync) is a `Job` for the
//! workers when the UI asks, since the UI hears of its end on the update
//! bus; a one-shot command waits for its end, so its form is a request
//! whose reply carries the result (`Send`, `SyncNow`, `Replay`), driven on
//! the blocking thread `handle` runs on. What cannot travel in a request,
//! the one-shot's cancel and progress, is handed to its inbox
//! (`Inbox::with_sync`).

pub mod doctor;
pub mod export;
pub mod presence;
mod replay;
pub mod report;
mod send;
mod service;
mod sync;

// The request/reply types are plain and live in src/request/ (the UI
// names them without standing above the service); re-exported here for
// the service's other callers (and as `super::request` for the service).
use crate::request;
pub use crate::request::{
    AssignTo, Assigned, Audience, BulkContent, ListRows, Reply, Request, ThreadData,
};
pub use service::{human_agent_accounts, Caller, Inbox};
