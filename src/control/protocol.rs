//! The frames on the control socket. Both ends are this crate, so the
//! types are shared; the field names are the documented protocol.

use crate::control::oneshot::OneShot;
use crate::domain::{Contact, ConvKey, ConvStatus, Conversation, Message, TimestampMs};
use crate::filter::ConvFilter;
use crate::update::Update;
use crate::workers::Job;
use serde::{Deserialize, Serialize};

/// Longest request line the owner reads; longer ones end the connection
/// with an error (the rest of the stream cannot be framed).
pub const MAX_LINE: usize = 1024 * 1024;
/// Protocol version, checked in `hello`.
pub const VERSION: u32 = 2;

/// Client → owner: `{"id": 3, "op": "list", ...}`.
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
    Hello {
        version: u32,
    },
    /// Rows of the conversation list.
    List {
        filter: ConvFilter,
        offset: usize,
        limit: usize,
        count: bool,
    },
    /// The newest `limit` messages of a conversation, with contact and draft.
    Thread {
        conv: ConvKey,
        limit: usize,
    },
    /// Messages older than `before`.
    Older {
        conv: ConvKey,
        before: Box<Message>,
        limit: usize,
    },
    /// Conversations with unread messages and their counts.
    Unread,
    /// The most urgent conversation.
    Urgent,
    MarkRead {
        conv: ConvKey,
    },
    MarkUnread {
        conv: ConvKey,
    },
    SetStatus {
        conv: ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    },
    SaveDraft {
        conv: ConvKey,
        text: String,
    },
    /// A job for the owner's workers; its `agent` is replaced by the peer's.
    Job {
        job: Job,
    },
    /// Where this client is (for collision notices).
    Presence {
        conv: Option<ConvKey>,
        typing: bool,
    },
    /// Start receiving `update` frames.
    Subscribe,
    /// Run a one-shot command; frames `out`/`err`/`ask`, then `exit`.
    Run {
        command: OneShot,
        stdin_tty: bool,
    },
    /// The answer to an `ask` frame.
    Answer {
        yes: bool,
    },
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
        canned: Vec<crate::config::CannedReply>,
    },
    List {
        rows: Vec<Conversation>,
        total: Option<u64>,
    },
    Thread(Option<Box<ThreadReply>>),
    Messages(Vec<Message>),
    Unread(Vec<(ConvKey, u32)>),
    Urgent(Option<Box<Conversation>>),
    Done,
}

pub use crate::domain::PageInfo;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ThreadReply {
    pub conv: Conversation,
    pub contact: Option<Contact>,
    pub messages: Vec<Message>,
    pub draft: Option<String>,
}
