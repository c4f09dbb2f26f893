//! The frames on the control socket. Both ends are this crate, so the
//! types are shared; the field names are the documented protocol.

use crate::oneshot::OneShot;
use crate::update::Update;
use serde::{Deserialize, Serialize};

pub use super::MAX_LINE;
/// Protocol version, checked in `hello` (4: the team's requests, replies,
/// updates and thread fields; 5: the one-shot commands' inbox requests:
/// a conversation's summary, export pages, and a campaign's preview,
/// record, start and report; 6: pictures for attached UIs, a piece at a
/// time from the owner's cache; 7: a private note set aside, kept by the
/// store: `save_note_draft`, `note_draft`; 8: `send`, `sync`, `replay`
/// and `doctor` as inbox requests: `send`, `sync_now`, `replay`,
/// `delete_event`, `store_checks`).
pub const VERSION: u32 = 8;

/// Client → owner: `{"id": 3, "op": "ping"}`, or for the inbox
/// `{"id": 4, "op": "inbox", "request": {"op": "mark_read", "conv": {...}}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Who am I to the owner, and who is the owner.
    Hello { version: u32 },
    /// A read or write of the inbox (src/inbox/), answered with
    /// `Reply::Inbox`.
    Inbox { request: crate::inbox::Request },
    /// Start receiving `update` frames.
    Subscribe,
    /// Run a one-shot command; frames `out`/`err`/`ask`, then `exit`.
    Run { command: OneShot, stdin_tty: bool },
    /// The answer to an `ask` frame.
    Answer { yes: bool },
    /// Keep-alive: answered with `done`. Clients send one every 30 s; the
    /// owner closes connections that send nothing for longer than its
    /// idle bound.
    Ping,
}

/// Owner → client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Reply {
        id: u64,
        result: Box<Reply>,
    },
    /// A request failed; `id` is absent when the line could not be parsed.
    Error {
        id: Option<u64>,
        message: String,
    },
    Update {
        update: Box<Update>,
    },
    /// This client fell behind and missed updates: reload what is shown.
    Lagged {
        missed: u64,
    },
    Out {
        text: String,
    },
    Err {
        text: String,
    },
    Ask {
        question: String,
    },
    /// A one-shot command ended with this exit code (and message, if failed).
    Exit {
        code: u8,
        message: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Hello {
        agent: String,
        /// This connection's presence session.
        session: u64,
        owner_pid: u32,
        owner_mode: String,
        listen: Option<String>,
        demo: bool,
        /// What an attached UI needs of the owner's config (never a secret).
        pages: Vec<PageInfo>,
        canned: Vec<crate::rules::template::CannedReply>,
    },
    Inbox(crate::inbox::Reply),
    Done,
}

pub use crate::domain::PageInfo;
