//! What the inbox service (src/inbox/) is asked and what it answers:
//! plain data, the same in this process and on the control socket, so the
//! pure UI can name it without standing above the service.

use crate::domain::{Contact, ConvKey, ConvStatus, Conversation, Message, TimestampMs};
use crate::filter::ConvFilter;
use crate::job::Job;
use crate::rules::window::Tag;
use crate::store::CampaignRecord;
use crate::team::{AgentName, HistoryEvent, MailItem, Note, Priority};
use serde::{Deserialize, Serialize};

pub mod campaign;
pub mod doctor;
pub mod send_now;
pub mod sync;
pub mod upload;

// The bulk preview and the campaign report are part of the vocabulary: the
// UI reads them too.
pub use campaign::{CampaignReport, Eligibility, Preview};

/// What `dmdesk export` lists (`--what`), one kind a request.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ExportWhat {
    #[default]
    Messages,
    Contacts,
    Conversations,
    Campaigns,
    Events,
    Notes,
}

/// Whom an assignment names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignTo {
    /// An agent from `[team] agents` or a Unix user.
    Agent(AgentName),
    /// The caller (its identity from the socket's peer credentials).
    Me,
    /// Nobody: unassign.
    Nobody,
}

/// How an assignment of conversation `conv` went (the answer names it:
/// answers to several requests, or to one refused, are never matched up by
/// order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assigned {
    /// It is `to`'s now (it was `from`'s; equal when nothing changed).
    Done {
        conv: ConvKey,
        from: Option<AgentName>,
        to: Option<AgentName>,
    },
    /// Someone changed it first: it is `current`'s (None: nobody's) and
    /// nothing was written.
    Taken {
        conv: ConvKey,
        current: Option<AgentName>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// `limit` list rows from `offset`; `count` asks for the total too.
    /// `generation` is the asker's and comes back unchanged.
    List {
        filter: ConvFilter,
        offset: usize,
        limit: usize,
        count: bool,
        generation: u64,
    },
    /// One conversation's summary (None: not in this store).
    Conversation {
        conv: ConvKey,
    },
    /// The newest `limit` messages of a conversation, its contact and draft.
    Thread {
        conv: ConvKey,
        limit: usize,
    },
    /// Up to `limit` messages older than `before`.
    Older {
        conv: ConvKey,
        before: Box<Message>,
        limit: usize,
    },
    /// Every conversation with unread messages; `request` comes back unchanged.
    Unread {
        request: u64,
    },
    /// The most urgent conversation, by the serving process's pages and clock.
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
    /// Keep a half-written private note (empty: forget it).
    SaveNoteDraft {
        conv: ConvKey,
        text: String,
    },
    /// The note set aside for a conversation: `Reply::NoteDraft`.
    NoteDraft {
        conv: ConvKey,
    },
    /// Assign the conversation, if its assignee is still `expect` (what the
    /// caller saw): answered with `Reply::Assigned`.
    Assign {
        conv: ConvKey,
        to: AssignTo,
        expect: Option<AgentName>,
    },
    /// Add and remove labels.
    Labels {
        conv: ConvKey,
        add: Vec<String>,
        remove: Vec<String>,
    },
    SetPriority {
        conv: ConvKey,
        priority: Priority,
    },
    /// A private note by the caller; `@agent`s in it are told. Answered
    /// with `Reply::Note`.
    Note {
        conv: ConvKey,
        text: String,
    },
    /// A conversation's notes and history (the thread loads them itself).
    History {
        conv: ConvKey,
    },
    /// The caller's unseen mentions and takeovers (on attach).
    Mailbox,
    /// The caller saw these mail items.
    MailAck {
        ids: Vec<String>,
    },
    /// A job for the background workers (reply, retry, sync, campaign);
    /// its agent becomes the caller's.
    Job {
        job: Job,
    },
    /// Which conversation the caller views, and whether it is typing.
    Presence {
        conv: Option<ConvKey>,
        typing: bool,
    },
    /// Conversations with a message containing `query` (full-text search),
    /// a page of `crate::search::PAGE` from where an earlier one stopped;
    /// `generation` is the asker's and comes back unchanged.
    Search {
        query: String,
        generation: u64,
        #[serde(default)]
        from: Option<crate::search::SearchFrom>,
    },
    /// The team report since `since_ms` before now, days cut at the
    /// caller's UTC offset (the report pane, `dmdesk report`).
    Report {
        since_ms: i64,
        utc_offset_s: i32,
    },
    /// One step of a file the caller streams to this process to send
    /// (src/send/staging.rs); answered with `Reply::Upload`.
    Upload {
        step: upload::UploadStep,
    },
    /// A piece of a picture attachment (message `key.mid`, attachment
    /// `key.index`) from `offset`, out of this process's picture cache,
    /// fetched from the stored attachment's link first if it is missing
    /// (src/pictures/chunks.rs). Answered with `Reply::Picture`.
    Picture {
        key: crate::media::picture::PicKey,
        offset: u64,
    },
    /// A page of `dmdesk export`: up to `limit` records of one kind as
    /// JSON lines, in store order, after the first `from` (the lines the
    /// caller has). Answered with `Reply::Export`.
    Export {
        what: ExportWhat,
        from: u64,
        limit: usize,
    },
    /// Who a campaign would reach and why not the others, by the
    /// campaign's own rule over the store's facts (`dmdesk bulk`).
    BulkPreview {
        audience: Audience,
        content: BulkContent,
    },
    /// Write a campaign from the preview the caller confirmed (skipped
    /// recipients keep their reason), durable before the answer: the
    /// caller is its creator. Answered with `Reply::Campaign`.
    BulkCreate {
        title: String,
        text: String,
        tag: Option<Tag>,
        preview: Box<Preview>,
    },
    /// Run (or resume) a stored campaign on this process's send worker; a
    /// stopped one is marked running first, so following it does not end
    /// before it starts. (Cancel: `Job::CancelCampaign`.)
    BulkStart {
        id: String,
    },
    /// One campaign's record (None: no such campaign).
    Campaign {
        id: String,
    },
    /// A campaign's report, from the store (the source of truth).
    CampaignReport {
        id: String,
    },
    /// How many open conversations (open, pending, and snoozes that have
    /// woken) are `me`'s, unassigned, and in all, counted in one pass: the
    /// three team views' sizes side by side. `me` None: mine is 0.
    ViewCounts {
        me: Option<AgentName>,
    },
    /// Sync every configured page, or only `account` (a page or Instagram
    /// id), to the end: answered with `Reply::Synced`. Its cancel and its
    /// progress cannot travel in a request: the process running the
    /// one-shot hands them to its inbox (`Inbox::with_sync`).
    SyncNow {
        account: Option<crate::domain::AccountId>,
    },
    /// Delete a quarantined event without applying it (`dmdesk replay
    /// --delete`). Answered with `Reply::EventDeleted`.
    DeleteEvent {
        seq: u64,
    },
    /// Apply the pending events, then the quarantined ones again
    /// (`dmdesk replay`), durable before the answer: `Reply::Replayed`.
    Replay,
    /// `dmdesk doctor`'s checks of the store (database, event log, dead
    /// tokens, standby threads): `Reply::StoreChecks`.
    StoreChecks,
    /// Send a person's message now, as the caller, and answer with Meta's
    /// mid (`dmdesk send`): a text, a file, or both as two messages (the
    /// text first), every check on the file made before either goes.
    /// Answered with `Reply::Sent`.
    Send {
        conv: ConvKey,
        text: Option<String>,
        file: Option<send_now::SendFile>,
        tag: Option<Tag>,
    },
}

/// Whom a campaign is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// These conversations (a `--users` file, the marked rows).
    Listed(Vec<ConvKey>),
    /// Every conversation in the store (`--all`).
    All,
}

/// What a campaign sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkContent {
    /// A text template, rendered per recipient.
    Text { text: String, tag: Option<Tag> },
    /// One file, named by `about` (`[image] photo.png`); `instagram`:
    /// whether Instagram customers can be sent it (the caller serves it),
    /// or why not (absent: not).
    File {
        about: String,
        #[serde(default = "not_served")]
        instagram: Result<(), String>,
    },
}

fn not_served() -> Result<(), String> {
    Err(campaign::NOT_SERVED.into())
}

impl Request {
    /// Whether this states where the caller stands (presence): a connection
    /// that drops loses it, so a reconnecting client says its latest again.
    pub fn is_standing(&self) -> bool {
        matches!(self, Request::Presence { .. })
    }

    /// The request with its page size at most `max` (the owner's bound on
    /// what one client may ask for).
    pub fn clamp(mut self, max: usize) -> Request {
        if let Request::List { limit, .. }
        | Request::Thread { limit, .. }
        | Request::Older { limit, .. }
        | Request::Export { limit, .. } = &mut self
        {
            *limit = (*limit).min(max);
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    List(ListRows),
    /// None when the conversation does not exist.
    Conversation(Option<Box<Conversation>>),
    /// None when the conversation does not exist.
    Thread(Option<Box<ThreadData>>),
    /// Older messages of `conv`, oldest first.
    Older {
        conv: ConvKey,
        messages: Vec<Message>,
        limit: usize,
    },
    Unread {
        request: u64,
        counts: Vec<(ConvKey, u32)>,
    },
    Urgent(Option<Box<Conversation>>),
    /// A write went through.
    Done,
    Assigned(Assigned),
    Note(Box<Note>),
    History {
        conv: ConvKey,
        notes: Vec<Note>,
        history: Vec<HistoryEvent>,
    },
    Mailbox(Vec<MailItem>),
    /// What a `Request::Search` found.
    Search {
        query: String,
        generation: u64,
        results: Box<crate::search::SearchResults>,
    },
    Report(Box<crate::report::Report>),
    /// The note set aside for `conv` (None: none).
    NoteDraft {
        conv: ConvKey,
        text: Option<String>,
    },
    Upload(upload::Uploaded),
    Picture(crate::media::picture::PictureChunk),
    /// A page of an export; `done`: nothing follows it.
    Export {
        lines: Vec<String>,
        done: bool,
    },
    BulkPreview(Box<Preview>),
    /// None: no such campaign.
    Campaign(Option<Box<CampaignRecord>>),
    CampaignReport(Box<CampaignReport>),
    /// What a `Request::ViewCounts` counted.
    ViewCounts {
        mine: u64,
        unassigned: u64,
        all: u64,
    },
    /// What a `Request::SyncNow` did, and the Graph calls it made.
    Synced {
        report: sync::SyncReport,
        graph_calls: u64,
    },
    /// `deleted` false: event `seq` was not quarantined; nothing changed.
    EventDeleted {
        seq: u64,
        deleted: bool,
    },
    /// What a replay applied again and left quarantined, and how many
    /// pending events it applied first.
    Replayed {
        applied: u64,
        quarantined: u64,
        pending_applied: u64,
    },
    StoreChecks(Box<doctor::StoreChecks>),
    /// What a `Request::Send` sent, and why not the rest.
    Sent(send_now::Sent),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRows {
    /// Index of `rows[0]` in the filtered list.
    pub offset: usize,
    pub rows: Vec<Conversation>,
    /// Total matching rows, when counted.
    pub total: Option<u64>,
    /// The generation of the request (filter changes bump it).
    pub generation: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadData {
    pub conv: Conversation,
    pub contact: Option<Contact>,
    /// Newest `limit` messages, oldest first.
    pub messages: Vec<Message>,
    pub limit: usize,
    pub draft: Option<String>,
    /// Every note of the conversation, oldest first (the thread
    /// interleaves them with the messages by time).
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Its history, oldest first (one dim line each in the thread).
    #[serde(default)]
    pub history: Vec<HistoryEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use serde_json::json;

    fn conv() -> ConvKey {
        ConvKey::new(Platform::Messenger, "P1", "U1")
    }

    #[test]
    fn requests_travel_as_tagged_objects_and_come_back_equal() {
        let mark = Request::MarkRead { conv: conv() };
        assert_eq!(
            serde_json::to_value(&mark).unwrap(),
            json!({"op": "mark_read", "conv": {"platform": "messenger", "account": "P1", "user": "U1"}})
        );
        let job = Request::Job {
            job: Job::CancelSync,
        };
        let counts = Request::ViewCounts {
            me: Some(AgentName::new("alice")),
        };
        assert_eq!(
            serde_json::to_value(&counts).unwrap(),
            json!({"op": "view_counts", "me": "alice"})
        );
        let send = Request::Send {
            conv: conv(),
            text: Some("hi".into()),
            file: Some(send_now::SendFile::Upload("0a".repeat(16))),
            tag: Some(Tag::HumanAgent),
        };
        for r in [mark, job, Request::Urgent, counts, send] {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r, "{text}");
        }
        let sent = Reply::Sent(send_now::Sent {
            mids: vec![crate::domain::Mid::new("m_1")],
            not_sent: Some(send_now::NotSent::Failed("HTTP 500".into())),
        });
        let text = serde_json::to_string(&sent).unwrap();
        assert_eq!(
            serde_json::from_str::<Reply>(&text).unwrap(),
            sent,
            "{text}"
        );
    }

    #[test]
    fn clamp_bounds_page_sizes_and_nothing_else() {
        let thread = Request::Thread {
            conv: conv(),
            limit: 9_000,
        };
        assert_eq!(
            thread.clamp(100),
            Request::Thread {
                conv: conv(),
                limit: 100
            }
        );
        let small = Request::Unread { request: 9_000 };
        assert_eq!(small.clone().clamp(100), small);
    }

    #[test]
    fn only_presence_is_restated_after_a_reconnect() {
        let presence = Request::Presence {
            conv: Some(conv()),
            typing: false,
        };
        assert!(presence.is_standing());
        assert!(!Request::MarkRead { conv: conv() }.is_standing());
    }
}
