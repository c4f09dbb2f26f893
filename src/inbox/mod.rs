//! The inbox service: every read and write the TUI, an attached UI and the
//! control socket make, as one serializable [`Request`]/[`Reply`] pair and
//! one [`Inbox::handle`] over the store boundary, the job queue and the
//! presence table.
//!
//! A new store operation is one `Request` variant (with its `Reply`, if it
//! answers with data) and one match arm in `handle`; the local data worker,
//! the owner's socket server and the attached client carry it unchanged.

pub mod export;
pub mod presence;
pub mod report;
mod request;
mod service;

pub use request::{
    AssignTo, Assigned, Audience, BulkContent, ListRows, Reply, Request, ThreadData,
};
pub use service::{human_agent_accounts, Caller, Inbox};
