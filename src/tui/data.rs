//! The UI's data seam: every store read and write the UI asks for, one
//! method per `Command` kind, run on one worker thread so the event loop
//! never waits on I/O. Results come back as `Event`s.
//!
//! The embedded inbox uses [`StoreData`]; another source (an attached client
//! talking to a running process) implements [`UiData`] and nothing else in
//! the UI changes.

use crate::app::command::Command;
use crate::app::event::{Event, ListRows, ThreadData};
use crate::control::presence::Presence;
use crate::db::Db;
use crate::domain::{AccountId, ConvKey, ConvStatus, Conversation, Message, TimestampMs};
use crate::filter::ConvFilter;
use crate::update::Update;
use crate::workers::{Job, JobSender};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A failed data operation, as the agent reads it in the status bar.
pub type DataResult<T> = Result<T, String>;

/// What the UI reads and writes. Methods may block (they run on the data
/// worker thread, never on the event loop).
pub trait UiData: Send + Sync + 'static {
    /// `limit` list rows from `offset`, and the total when `count` asks for it
    /// (or when it is cheap).
    fn load_list(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
        count: bool,
    ) -> DataResult<(Vec<Conversation>, Option<u64>)>;
    /// The newest `limit` messages with contact and draft; None when the
    /// conversation does not exist.
    fn load_thread(&self, conv: &ConvKey, limit: usize) -> DataResult<Option<ThreadData>>;
    fn load_older(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> DataResult<Vec<Message>>;
    fn find_urgent(
        &self,
        human_agent: &HashSet<AccountId>,
        now: TimestampMs,
    ) -> DataResult<Option<Conversation>>;
    fn mark_read(&self, conv: &ConvKey) -> DataResult<()>;
    fn mark_unread(&self, conv: &ConvKey) -> DataResult<()>;
    fn set_status(
        &self,
        conv: &ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    ) -> DataResult<()>;
    fn save_draft(&self, conv: &ConvKey, text: &str) -> DataResult<()>;
    fn job(&self, job: Job) -> DataResult<()>;
    /// Every conversation with unread messages, and its count.
    fn load_unread(&self) -> DataResult<Vec<(ConvKey, u32)>>;
    /// Tell the owner which conversation this agent views (collision notices).
    fn presence(&self, conv: Option<ConvKey>, typing: bool) -> DataResult<()>;
}

/// [`UiData`] over the process's own store and workers.
pub struct StoreData {
    pub store: Db,
    pub jobs: JobSender,
    /// The presence table attached UIs share, and this agent's name in it.
    pub presence: Option<(Arc<Presence>, String)>,
}

impl StoreData {
    pub fn new(store: Db, jobs: JobSender) -> StoreData {
        StoreData {
            store,
            jobs,
            presence: None,
        }
    }
}

fn err(e: crate::store::StoreError) -> String {
    e.to_string()
}

impl UiData for StoreData {
    fn load_list(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
        count: bool,
    ) -> DataResult<(Vec<Conversation>, Option<u64>)> {
        let st = &self.store;
        let rows = st.conversations(filter, offset, limit).map_err(err)?;
        let total = if filter.is_empty() {
            Some(st.conversation_count().map_err(err)?)
        } else if count {
            Some(st.count_matching(filter).map_err(err)?)
        } else {
            None
        };
        Ok((rows, total))
    }

    fn load_thread(&self, conv: &ConvKey, limit: usize) -> DataResult<Option<ThreadData>> {
        let st = &self.store;
        let Some(c) = st.conversation(conv).map_err(err)? else {
            return Ok(None);
        };
        Ok(Some(ThreadData {
            contact: st.contact(conv).map_err(err)?,
            messages: st.messages_latest(conv, limit).map_err(err)?,
            draft: st.draft(conv).map_err(err)?,
            conv: c,
            limit,
        }))
    }

    fn load_older(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> DataResult<Vec<Message>> {
        self.store.messages_before(conv, before, limit).map_err(err)
    }

    fn find_urgent(
        &self,
        human_agent: &HashSet<AccountId>,
        now: TimestampMs,
    ) -> DataResult<Option<Conversation>> {
        Ok(crate::app::urgent::pick(
            self.store.all_conversations().filter_map(|c| c.ok()),
            |c| human_agent.contains(&c.key.account),
            now,
        ))
    }

    fn mark_read(&self, conv: &ConvKey) -> DataResult<()> {
        self.store.mark_read(conv).map_err(err)
    }

    fn mark_unread(&self, conv: &ConvKey) -> DataResult<()> {
        self.store.mark_unread(conv).map_err(err)
    }

    fn set_status(
        &self,
        conv: &ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    ) -> DataResult<()> {
        self.store
            .set_status(conv, status, snooze_until)
            .map_err(err)
    }

    fn save_draft(&self, conv: &ConvKey, text: &str) -> DataResult<()> {
        self.store.set_draft(conv, text).map_err(err)
    }

    fn job(&self, job: Job) -> DataResult<()> {
        self.jobs
            .send(job)
            .map_err(|_| "the background workers have stopped; restart dmdesk".to_string())
    }

    fn load_unread(&self) -> DataResult<Vec<(ConvKey, u32)>> {
        self.store.unread_counts().map_err(err)
    }

    fn presence(&self, conv: Option<ConvKey>, typing: bool) -> DataResult<()> {
        if let Some((p, me)) = &self.presence {
            // The owner's own UI is session 0.
            p.set(0, me, conv, typing);
        }
        Ok(())
    }
}

/// A `Command` that the data worker runs (everything touching data).
#[derive(Debug)]
pub enum Request {
    /// A data command, with what `FindUrgent` needs from the state.
    Command(Command),
    FindUrgent {
        human_agent: HashSet<AccountId>,
        now: TimestampMs,
    },
}

impl Request {
    fn is_list(&self) -> bool {
        matches!(self, Request::Command(Command::LoadList { .. }))
    }
}

/// Whether the data worker runs `c` (true) or the terminal side does.
pub fn is_data(c: &Command) -> bool {
    matches!(
        c,
        Command::LoadList { .. }
            | Command::LoadThread { .. }
            | Command::LoadOlder { .. }
            | Command::MarkRead(_)
            | Command::MarkUnread(_)
            | Command::SetStatus { .. }
            | Command::SaveDraft { .. }
            | Command::Job(_)
            | Command::FindUrgent
            | Command::LoadUnread { .. }
            | Command::Presence { .. }
    )
}

/// Run one request; the event to feed back, if any. Errors come back as
/// the status bar's error.
pub fn serve(data: &dyn UiData, r: Request) -> Option<Event> {
    let result: DataResult<Option<Event>> = match r {
        Request::FindUrgent { human_agent, now } => data
            .find_urgent(&human_agent, now)
            .map(|c| Some(Event::UrgentFound(c))),
        Request::Command(c) => match c {
            Command::LoadList {
                filter,
                offset,
                limit,
                count,
                generation,
            } => data
                .load_list(&filter, offset, limit, count)
                .map(|(rows, total)| {
                    Some(Event::ListLoaded(ListRows {
                        offset,
                        rows,
                        total,
                        generation,
                    }))
                }),
            Command::LoadThread { conv, limit } => data
                .load_thread(&conv, limit)
                .map(|d| d.map(|d| Event::ThreadLoaded(Box::new(d)))),
            Command::LoadOlder {
                conv,
                before,
                limit,
            } => data.load_older(&conv, &before, limit).map(|messages| {
                Some(Event::OlderLoaded {
                    conv,
                    messages,
                    limit,
                })
            }),
            Command::MarkRead(k) => data.mark_read(&k).map(|_| None),
            Command::MarkUnread(k) => data.mark_unread(&k).map(|_| None),
            Command::SetStatus {
                conv,
                status,
                snooze_until,
            } => data.set_status(&conv, status, snooze_until).map(|_| None),
            Command::SaveDraft { conv, text } => data.save_draft(&conv, &text).map(|_| None),
            Command::Job(j) => data.job(j).map(|_| None),
            Command::LoadUnread { request } => data
                .load_unread()
                .map(|counts| Some(Event::Update(Update::Unread { request, counts }))),
            Command::Presence { conv, typing } => data.presence(conv, typing).map(|_| None),
            other => Err(format!("not a data command: {other:?}")),
        },
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "UI data command failed");
        Some(Event::Update(Update::Error(e)))
    })
}

/// The loop's end of the data worker: requests go in, in order; results
/// come back as events, in the same order.
pub struct DataWorker {
    requests: Option<mpsc::UnboundedSender<Request>>,
    pub results: mpsc::UnboundedReceiver<Event>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DataWorker {
    /// Start the worker thread over `data`.
    pub fn start(data: Arc<dyn UiData>) -> std::io::Result<DataWorker> {
        let (req_tx, mut req_rx) = mpsc::unbounded_channel::<Request>();
        let (res_tx, res_rx) = mpsc::unbounded_channel::<Event>();
        let thread = std::thread::Builder::new()
            .name("dmdesk-ui-data".into())
            .spawn(move || {
                // Requests run in order (a write before a read is seen by the
                // read); of list loads waiting together only the last runs.
                let mut queue: VecDeque<Request> = VecDeque::new();
                loop {
                    if queue.is_empty() {
                        match req_rx.blocking_recv() {
                            Some(r) => queue.push_back(r),
                            None => return,
                        }
                    }
                    while let Ok(r) = req_rx.try_recv() {
                        queue.push_back(r);
                    }
                    let Some(r) = queue.pop_front() else { continue };
                    if let Request::Command(Command::LoadList { count, .. }) = &r {
                        let later = queue.iter_mut().rev().find(|q| q.is_list());
                        if let Some(Request::Command(Command::LoadList { count: c, .. })) = later {
                            // Superseded by a later list load, which counts
                            // if this one was asked to.
                            *c |= *count;
                            continue;
                        }
                    }
                    if let Some(ev) = serve(data.as_ref(), r) {
                        // After the loop is gone, writes (draft saves) still run.
                        let _ = res_tx.send(ev);
                    }
                }
            })?;
        Ok(DataWorker {
            requests: Some(req_tx),
            results: res_rx,
            thread: Some(thread),
        })
    }

    /// Queue a request; never blocks.
    pub fn send(&self, r: Request) {
        if let Some(tx) = &self.requests {
            if tx.send(r).is_err() {
                tracing::error!("UI data worker stopped");
            }
        }
    }

    /// Stop taking requests and wait until the queued ones (draft saves)
    /// have run.
    pub async fn finish(mut self) {
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}
