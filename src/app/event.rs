//! Everything that can happen to the UI, in one enum: terminal input, store
//! updates, the clock, and the inbox's answers.

use crate::domain::TimestampMs;
pub use crate::request::{ListRows, Reply, ThreadData};
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
    /// An attached UI connected again to a restarted owner, as presence
    /// session `session` (its own from now on): reload what is shown.
    Reattached {
        session: u64,
    },
    /// The answer to a `Command::Inbox` (writes' `Done` is not fed back).
    Inbox(Reply),
    /// The external editor finished; `None` when it failed or was cancelled.
    EditorDone {
        text: Option<String>,
    },
    /// The picture worker's result for one attachment.
    Picture {
        key: crate::media::picture::PicKey,
        outcome: crate::media::picture::Outcome,
    },
    /// The terminal gained (true) or lost focus.
    Focus(bool),
    /// What the attach prompt's path is (`Command::LookFile`).
    FileLooked(crate::app::attach::FileLook),
}
