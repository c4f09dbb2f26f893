//! What `update` asks the edge (src/tui.rs) to do. Store reads come back as
//! events; jobs go to the background workers.

use crate::domain::{ConvKey, ConvStatus, Message, TimestampMs};
use crate::filter::ConvFilter;
use crate::job::Job;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Read `limit` list rows from `offset`; `count` asks for the total too.
    LoadList {
        filter: ConvFilter,
        offset: usize,
        limit: usize,
        count: bool,
        generation: u64,
    },
    /// Read the newest `limit` messages of a conversation, its contact and draft.
    LoadThread {
        conv: ConvKey,
        limit: usize,
    },
    /// Read up to `limit` messages older than `before`.
    LoadOlder {
        conv: ConvKey,
        before: Box<Message>,
        limit: usize,
    },
    MarkRead(ConvKey),
    MarkUnread(ConvKey),
    SetStatus {
        conv: ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    },
    SaveDraft {
        conv: ConvKey,
        text: String,
    },
    /// A job for the background workers.
    Job(Job),
    /// Suspend the terminal and edit `text` in $EDITOR.
    OpenEditor {
        text: String,
    },
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Scan the store for every unread conversation, off the UI loop; the
    /// answer comes back as `Update::Unread { request, .. }`.
    LoadUnread {
        request: u64,
    },
    /// Find the most urgent conversation (answered by `Event::UrgentFound`).
    FindUrgent,
    /// Tell the owner which conversation this agent views (and whether typing).
    Presence {
        conv: Option<ConvKey>,
        typing: bool,
    },
    Bell,
    SetTitle(String),
    Quit,
}
