//! The attached UI's side of the data seam: every read and write goes to
//! the owning process over the control socket, and its pushed frames
//! become the loop's events.

use super::data::{DataResult, UiData};
use crate::app::event::{Event, ThreadData};
use crate::control::client::{Pushed, Remote};
use crate::control::protocol::{Reply, Request};
use crate::domain::{AccountId, ConvKey, ConvStatus, Conversation, Message, TimestampMs};
use crate::filter::ConvFilter;
use crate::update::Update;
use crate::workers::Job;
use std::collections::HashSet;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// [`UiData`] through the owner. Runs on the data worker thread, so it
/// may wait for each answer.
pub struct RemoteData {
    pub remote: Remote,
    pub handle: Handle,
}

impl RemoteData {
    fn ask(&self, r: Request) -> DataResult<Reply> {
        self.handle.block_on(self.remote.request(r))
    }
    fn done(&self, r: Request) -> DataResult<()> {
        self.ask(r).map(|_| ())
    }
}

fn unexpected(r: Reply) -> String {
    format!("unexpected answer from the owner: {r:?}")
}

impl UiData for RemoteData {
    fn load_list(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
        count: bool,
    ) -> DataResult<(Vec<Conversation>, Option<u64>)> {
        match self.ask(Request::List {
            filter: filter.clone(),
            offset,
            limit,
            count,
        })? {
            Reply::List { rows, total } => Ok((rows, total)),
            r => Err(unexpected(r)),
        }
    }

    fn load_thread(&self, conv: &ConvKey, limit: usize) -> DataResult<Option<ThreadData>> {
        match self.ask(Request::Thread {
            conv: conv.clone(),
            limit,
        })? {
            Reply::Thread(t) => Ok(t.map(|t| ThreadData {
                conv: t.conv,
                contact: t.contact,
                messages: t.messages,
                limit,
                draft: t.draft,
            })),
            r => Err(unexpected(r)),
        }
    }

    fn load_older(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> DataResult<Vec<Message>> {
        match self.ask(Request::Older {
            conv: conv.clone(),
            before: Box::new(before.clone()),
            limit,
        })? {
            Reply::Messages(m) => Ok(m),
            r => Err(unexpected(r)),
        }
    }

    /// The owner decides with its own pages' permissions and clock.
    fn find_urgent(
        &self,
        _human_agent: &HashSet<AccountId>,
        _now: TimestampMs,
    ) -> DataResult<Option<Conversation>> {
        match self.ask(Request::Urgent)? {
            Reply::Urgent(c) => Ok(c.map(|c| *c)),
            r => Err(unexpected(r)),
        }
    }

    fn mark_read(&self, conv: &ConvKey) -> DataResult<()> {
        self.done(Request::MarkRead { conv: conv.clone() })
    }

    fn mark_unread(&self, conv: &ConvKey) -> DataResult<()> {
        self.done(Request::MarkUnread { conv: conv.clone() })
    }

    fn set_status(
        &self,
        conv: &ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    ) -> DataResult<()> {
        self.done(Request::SetStatus {
            conv: conv.clone(),
            status,
            snooze_until,
        })
    }

    fn save_draft(&self, conv: &ConvKey, text: &str) -> DataResult<()> {
        self.done(Request::SaveDraft {
            conv: conv.clone(),
            text: text.to_string(),
        })
    }

    fn job(&self, job: Job) -> DataResult<()> {
        self.done(Request::Job { job })
    }

    fn load_unread(&self) -> DataResult<Vec<(ConvKey, u32)>> {
        match self.ask(Request::Unread)? {
            Reply::Unread(v) => Ok(v),
            r => Err(unexpected(r)),
        }
    }

    fn presence(&self, conv: Option<ConvKey>, typing: bool) -> DataResult<()> {
        self.done(Request::Presence { conv, typing })
    }
}

/// The owner's pushed frames as the loop's events; a lost owner shows on
/// the status bar, and coming back reloads everything shown.
pub fn pump(mut pushed: mpsc::UnboundedReceiver<Pushed>) -> mpsc::UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(p) = pushed.recv().await {
            let evs = match p {
                Pushed::Update(u) => vec![Event::Update(*u)],
                Pushed::Lagged => vec![Event::Lagged],
                Pushed::Lost => vec![Event::Update(Update::Error(
                    "owner stopped; reconnecting…".into(),
                ))],
                Pushed::Back { .. } => vec![
                    Event::Update(Update::Notice("reconnected to the owner".into())),
                    Event::Lagged,
                ],
            };
            for ev in evs {
                if tx.send(ev).is_err() {
                    return;
                }
            }
        }
    });
    rx
}
