//! Everything that can happen to the UI, in one enum: terminal input, store
//! updates, the clock, and the results of loads the edge performed.

use crate::domain::{Contact, ConvKey, Conversation, Message, TimestampMs};
use crate::update::Update;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};

#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// Bracketed paste.
    Paste(String),
    Resize {
        width: u16,
        height: u16,
    },
    /// The clock; the only way time enters `update`.
    Tick {
        now: TimestampMs,
    },
    /// Something changed in the store.
    Update(Update),
    /// The broadcast channel dropped updates: reload what is shown.
    Lagged,
    /// Rows for the list pane.
    ListLoaded(ListRows),
    /// The tail of a thread, with its contact and draft.
    ThreadLoaded(Box<ThreadData>),
    /// Older messages of the open thread (oldest first).
    OlderLoaded {
        conv: ConvKey,
        messages: Vec<Message>,
        limit: usize,
    },
    /// The external editor finished; `None` when it failed or was cancelled.
    EditorDone {
        text: Option<String>,
    },
    /// Answer to `Command::FindUrgent`.
    UrgentFound(Option<Conversation>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListRows {
    /// Index of `rows[0]` in the filtered list.
    pub offset: usize,
    pub rows: Vec<Conversation>,
    /// Total matching rows, when the edge counted them.
    pub total: Option<u64>,
    /// The generation of the request (filter changes bump it).
    pub generation: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThreadData {
    pub conv: Conversation,
    pub contact: Option<Contact>,
    /// Newest `limit` messages, oldest first.
    pub messages: Vec<Message>,
    pub limit: usize,
    pub draft: Option<String>,
}
