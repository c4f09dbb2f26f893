//! What changed, as the front ends see it: the items of the update bus
//! (`crate::bus`). Plain types, so the pure UI can use them without the store.

use crate::domain::{Contact, ConvKey, Conversation, Message, TimestampMs};
use serde::{Deserialize, Serialize};

/// Something changed; the UI and attached clients redraw from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Update {
    Conversation(Box<Conversation>),
    Message(Box<Message>),
    Contact(Box<Contact>),
    /// A webhook body was logged (status bar's "events today").
    EventReceived {
        at: TimestampMs,
    },
    /// For the operator: policy enforcement, a dead token, a failed sync.
    Notice(String),
    /// The last error, for the status bar.
    Error(String),
    /// Tokens the operator must renew soon (or whose life dmdesk cannot
    /// tell), one sentence each; the whole list each time (status bar).
    TokenWarnings(Vec<String>),
    /// Progress of a running sync.
    Sync(SyncProgress),
    /// Progress of a campaign.
    Campaign(CampaignProgress),
    /// Who is viewing or typing where (teams); the whole list each time.
    Presence(Vec<Viewer>),
    /// A change recorded in a conversation's history: assignment (from, to,
    /// by), labels, priority, status, opened, replied.
    History(Box<crate::team::HistoryEvent>),
    /// A private note was added.
    Note(Box<crate::team::Note>),
    /// Mail for one agent (a mention, a takeover, an assignment): the UI of
    /// `item.agent` shows it and acknowledges it (`Request::MailAck`).
    Mail(Box<crate::team::MailItem>),
    /// What an attached UI gets instead of every conversation and event
    /// while traffic is heavy: counts and the conversations that changed
    /// (with their unread counts); it reloads the rows it shows.
    Digest {
        events: u64,
        inbound: u64,
        /// Up to a few changed conversations with their unread counts...
        changed: Vec<(ConvKey, u32)>,
        /// ...or, when more changed, just that: reload what is shown.
        #[serde(default)]
        more: bool,
        /// Conversations with unread messages, all of them (window title).
        #[serde(default)]
        unread_conversations: Option<u64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncProgress {
    pub running: bool,
    pub pages: u32,
    pub conversations: u64,
    pub messages: u64,
    pub errors: u32,
    pub finished_at: Option<TimestampMs>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CampaignProgress {
    pub id: String,
    pub title: String,
    pub total: u64,
    pub done: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub running: bool,
    /// The agent who started it (teams).
    #[serde(default)]
    pub created_by: Option<String>,
}

/// One agent's UI looking at (or typing in) a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub agent: String,
    /// Which UI (one agent may have two): shown only to tell them apart.
    pub session: u64,
    pub conv: ConvKey,
    /// When the agent last typed in this conversation's composer.
    pub typing_at: Option<TimestampMs>,
}

/// How long a keystroke counts as "typing".
pub const TYPING_FOR_MS: i64 = 8_000;

impl Viewer {
    pub fn typing(&self, now: TimestampMs) -> bool {
        self.typing_at.is_some_and(|t| now.0 - t.0 < TYPING_FOR_MS)
    }
}

/// Others (not `me_session`) in `conv`, for the thread header: "alice viewing, bob typing".
pub fn others_in(
    viewers: &[Viewer],
    conv: &ConvKey,
    me_session: u64,
    now: TimestampMs,
) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for v in viewers
        .iter()
        .filter(|v| &v.conv == conv && v.session != me_session)
    {
        let typing = v.typing(now);
        match out.iter_mut().find(|(a, _)| *a == v.agent) {
            Some(e) => e.1 |= typing,
            None => out.push((v.agent.clone(), typing)),
        }
    }
    out
}
