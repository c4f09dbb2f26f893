//! The UI's data worker: the loop's inbox requests run in order on one
//! thread, so the event loop never waits on I/O; answers come back as
//! `Event::Inbox`.
//!
//! Where the requests go is a [`Port`]: this process's inbox ([`Local`]) or
//! the owner's over the control socket (src/tui/attached.rs). The worker
//! knows no operation but the list load it coalesces.

use crate::app::event::Event;
use crate::db::Db;
use crate::inbox::{Caller, Inbox, Reply, Request};
use crate::update::Update;
use crate::workers::JobSender;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Where inbox requests are answered. May block (it runs on the data
/// worker thread, never on the event loop).
pub trait Port: Send + Sync + 'static {
    fn call(&self, request: Request) -> Result<Reply, String>;
}

/// This process's inbox, asked as `caller` (session 0: the owner's own UI).
pub struct Local {
    pub inbox: Inbox,
    pub caller: Caller,
}

impl Local {
    /// This process's inbox over `store` and `jobs`, as a UI with no
    /// presence table (tests, benchmarks).
    pub fn new(store: Db, jobs: JobSender) -> Local {
        Local {
            inbox: Inbox::new(store, jobs),
            caller: Caller {
                session: 0,
                agent: None,
            },
        }
    }
}

impl Port for Local {
    fn call(&self, request: Request) -> Result<Reply, String> {
        self.inbox.handle(&self.caller, request)
    }
}

/// Run one request; the event to feed back, if any. `Done` carries nothing
/// the UI needs; errors become the status bar's error.
pub fn serve(port: &dyn Port, request: Request) -> Option<Event> {
    match port.call(request) {
        Ok(Reply::Done) => None,
        Ok(reply) => Some(Event::Inbox(reply)),
        Err(e) => {
            tracing::warn!(error = %e, "inbox request failed");
            Some(Event::Update(Update::Error(e)))
        }
    }
}

fn is_list(r: &Request) -> bool {
    matches!(r, Request::List { .. })
}

/// The loop's end of the data worker: requests go in, in order; results
/// come back as events, in the same order.
pub struct DataWorker {
    requests: Option<mpsc::UnboundedSender<Request>>,
    pub results: mpsc::UnboundedReceiver<Event>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DataWorker {
    /// Start the worker thread over `port`.
    pub fn start(port: Arc<dyn Port>) -> std::io::Result<DataWorker> {
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
                    if let Request::List { count, .. } = &r {
                        let later = queue.iter_mut().rev().find(|q| is_list(q));
                        if let Some(Request::List { count: c, .. }) = later {
                            // Superseded by a later list load, which counts
                            // if this one was asked to.
                            *c |= *count;
                            continue;
                        }
                    }
                    if let Some(ev) = serve(port.as_ref(), r) {
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
