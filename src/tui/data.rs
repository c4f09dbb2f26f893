//! The UI's data worker: the loop's inbox requests run in order on one
//! thread, so the event loop never waits on I/O; answers come back as
//! `Event::Inbox`.
//!
//! Where the requests go is a [`Port`]: this process's inbox ([`Local`]) or
//! the owner's over the control socket (src/tui/attached.rs). The worker
//! knows no operation but the list loads and searches it coalesces.

use crate::app::event::Event;
use crate::inbox::Request;
use crate::update::Update;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use super::drafts::Unsaved;
use super::port::{serve, Port};

/// Filtered counts run at most this often while the worker is idle...
const COUNT_EVERY: Duration = Duration::from_secs(3);
/// ...and at least this often under steady traffic.
const STARVED: Duration = Duration::from_secs(15);
/// The team views' counts run once the worker has been idle this long.
const VIEW_COUNTS_IDLE: Duration = Duration::from_millis(30);

enum Idle {
    Request(Request),
    Due,
    Closed,
}

/// Wait for the next request, but no later than `due`.
fn idle_until(rx: &mut mpsc::UnboundedReceiver<Request>, due: Instant) -> Idle {
    use tokio::sync::mpsc::error::TryRecvError;
    loop {
        match rx.try_recv() {
            Ok(r) => return Idle::Request(r),
            Err(TryRecvError::Disconnected) => return Idle::Closed,
            Err(TryRecvError::Empty) if Instant::now() >= due => return Idle::Due,
            // A short poll: the UI's next request waits at most this long.
            Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(2)),
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
    /// For file sends, which stream beside the queue (src/tui/attach.rs).
    port: Arc<dyn Port>,
    events: mpsc::UnboundedSender<Event>,
    pub results: mpsc::UnboundedReceiver<Event>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DataWorker {
    /// Start the worker thread over `port`.
    pub fn start(port: Arc<dyn Port>) -> std::io::Result<DataWorker> {
        let (req_tx, mut req_rx) = mpsc::unbounded_channel::<Request>();
        let (res_tx, res_rx) = mpsc::unbounded_channel::<Event>();
        let (files_port, events) = (port.clone(), res_tx.clone());
        let thread = std::thread::Builder::new()
            .name("dmdesk-ui-data".into())
            .spawn(move || {
                // Requests run in order (a write before a read is seen by the
                // read); of list loads waiting together only the last runs.
                // Counting a filtered view reads every conversation, so a
                // list load answers its rows at once and the count follows
                // when the worker is idle, at most once per COUNT_EVERY
                // (or after STARVED under steady traffic).
                // The team views' counts (`ViewCounts`) are a scan as well:
                // they wait, the newest only, until the worker has been idle
                // VIEW_COUNTS_IDLE (or STARVED under steady traffic).
                let mut queue: VecDeque<Request> = VecDeque::new();
                let mut count_for: Option<Request> = None;
                let mut last_count = Instant::now() - COUNT_EVERY;
                let mut view_counts: Option<(Request, Instant)> = None;
                // Drafts the store refused (down), saved again while idle.
                let mut unsaved = Unsaved::default();
                loop {
                    if queue.is_empty() {
                        let due = [
                            view_counts
                                .as_ref()
                                .map(|_| Instant::now() + VIEW_COUNTS_IDLE),
                            count_for.as_ref().map(|_| last_count + COUNT_EVERY),
                            unsaved.due(),
                        ]
                        .into_iter()
                        .flatten()
                        .min();
                        if let Some(due) = due {
                            match idle_until(&mut req_rx, due) {
                                Idle::Request(r) => queue.push_back(r),
                                Idle::Due if unsaved.due().is_some_and(|d| d <= Instant::now()) => {
                                    if let Some(ev) = unsaved.retry(port.as_ref()) {
                                        let _ = res_tx.send(ev);
                                    }
                                    continue;
                                }
                                Idle::Due => {
                                    let r = match view_counts.take() {
                                        Some((r, _)) => r,
                                        None => {
                                            last_count = Instant::now();
                                            count_for.take().expect("one is deferred")
                                        }
                                    };
                                    if let Some(ev) = serve(port.as_ref(), r) {
                                        let _ = res_tx.send(ev);
                                    }
                                    continue;
                                }
                                Idle::Closed => return,
                            }
                        } else {
                            match req_rx.blocking_recv() {
                                Some(r) => queue.push_back(r),
                                None => return,
                            }
                        }
                    }
                    while let Ok(r) = req_rx.try_recv() {
                        queue.push_back(r);
                    }
                    let Some(mut r) = queue.pop_front() else {
                        continue;
                    };
                    if let Request::List { count, .. } = &r {
                        let later = queue.iter_mut().rev().find(|q| is_list(q));
                        if let Some(Request::List { count: c, .. }) = later {
                            // Superseded by a later list load, which counts
                            // if this one was asked to.
                            *c |= *count;
                            continue;
                        }
                    }
                    if matches!(r, Request::ViewCounts { .. }) {
                        let since = view_counts.take().map_or_else(Instant::now, |(_, t)| t);
                        if since.elapsed() < STARVED {
                            view_counts = Some((r, since));
                            continue;
                        }
                    }
                    if matches!(r, Request::Search { .. })
                        && queue.iter().any(|q| matches!(q, Request::Search { .. }))
                    {
                        // Typing: a later query supersedes this one (the UI
                        // would drop its answer by generation anyway).
                        continue;
                    }
                    if let Request::List { count, filter, .. } = &mut r {
                        let wanted = *count || count_for.is_some();
                        if !filter.is_empty() {
                            *count = false;
                            if wanted {
                                // Counted later over the newest window.
                                let mut later = r.clone();
                                if let Request::List { count, .. } = &mut later {
                                    *count = true;
                                }
                                count_for = Some(later);
                            }
                            if count_for.is_some() && last_count.elapsed() >= STARVED {
                                last_count = Instant::now();
                                r = count_for.take().expect("just checked");
                            }
                        }
                    }
                    let answer = match r {
                        Request::SaveDraft { conv, text } => {
                            unsaved.save(port.as_ref(), conv, text)
                        }
                        r => serve(port.as_ref(), r),
                    };
                    if let Some(ev) = answer {
                        // After the loop is gone, writes (draft saves) still run.
                        let _ = res_tx.send(ev);
                    }
                }
            })?;
        Ok(DataWorker {
            requests: Some(req_tx),
            port: files_port,
            events,
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

    /// Stream a file to the store's owner and send it, on a thread of its
    /// own so the queue's reads go on meanwhile.
    pub fn send_file(&self, f: crate::app::attach::FileSend) {
        let (port, events) = (self.port.clone(), self.events.clone());
        let spawned = std::thread::Builder::new()
            .name("dmdesk-ui-file".into())
            .spawn(move || {
                if let Some(ev) = super::attach::send(port.as_ref(), f) {
                    let _ = events.send(ev);
                }
            });
        if let Err(e) = spawned {
            let _ = self
                .events
                .send(Event::Update(Update::Error(format!("file not sent: {e}"))));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::ConvFilter;
    use crate::inbox::ListRows;
    use crate::inbox::Reply;

    /// Answers list loads with no rows, counting 7, and records them.
    struct Counting(std::sync::Mutex<Vec<bool>>);

    impl Port for Counting {
        fn call(&self, request: Request) -> Result<Reply, String> {
            let Request::List {
                count, generation, ..
            } = request
            else {
                return Ok(Reply::Done);
            };
            self.0.lock().unwrap().push(count);
            Ok(Reply::List(ListRows {
                offset: 0,
                rows: vec![],
                total: count.then_some(7),
                generation,
            }))
        }
    }

    fn list(count: bool) -> Request {
        Request::List {
            filter: ConvFilter {
                unread_only: true,
                ..ConvFilter::default()
            },
            offset: 0,
            limit: 10,
            count,
            generation: 1,
        }
    }

    fn total(ev: Event) -> Option<u64> {
        match ev {
            Event::Inbox(Reply::List(l)) => l.total,
            other => panic!("a list reply, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_filtered_count_follows_the_rows_instead_of_holding_them() {
        let port = Arc::new(Counting(Default::default()));
        let mut w = DataWorker::start(port.clone()).unwrap();
        w.send(list(true));
        let first = w.results.recv().await.expect("the rows");
        assert_eq!(total(first), None, "rows first, uncounted");
        let second = w.results.recv().await.expect("the count");
        assert_eq!(total(second), Some(7));
        assert_eq!(*port.0.lock().unwrap(), vec![false, true]);
        w.finish().await;
    }

    /// Answers list loads and view counts; records the order they ran in.
    /// Any other request holds the worker until `go` is sent.
    struct Order {
        ran: std::sync::Mutex<Vec<&'static str>>,
        go: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Port for Order {
        fn call(&self, request: Request) -> Result<Reply, String> {
            let (name, reply) = match request {
                Request::ViewCounts { .. } => (
                    "counts",
                    Reply::ViewCounts {
                        mine: 1,
                        unassigned: 2,
                        all: 3,
                    },
                ),
                Request::List { generation, .. } => (
                    "list",
                    Reply::List(ListRows {
                        offset: 0,
                        rows: vec![],
                        total: None,
                        generation,
                    }),
                ),
                _ => {
                    let _ = self.go.lock().unwrap().recv();
                    ("other", Reply::Done)
                }
            };
            self.ran.lock().unwrap().push(name);
            Ok(reply)
        }
    }

    #[tokio::test]
    async fn view_counts_wait_behind_a_list_load_and_only_the_newest_runs() {
        let (go, wait) = std::sync::mpsc::channel();
        let port = Arc::new(Order {
            ran: Default::default(),
            go: std::sync::Mutex::new(wait),
        });
        let mut w = DataWorker::start(port.clone()).unwrap();
        // The worker is busy while counts, then a reload, queue up behind.
        w.send(Request::Mailbox);
        w.send(Request::ViewCounts { me: None });
        w.send(Request::ViewCounts { me: None });
        w.send(list(false));
        go.send(()).unwrap();
        let first = w.results.recv().await.expect("the rows");
        assert!(matches!(first, Event::Inbox(Reply::List(_))), "{first:?}");
        let second = w.results.recv().await.expect("the counts");
        assert!(
            matches!(second, Event::Inbox(Reply::ViewCounts { all: 3, .. })),
            "{second:?}"
        );
        w.finish().await;
        assert_eq!(*port.ran.lock().unwrap(), vec!["other", "list", "counts"]);
    }

    /// A store that refuses draft saves while `down`; records what it took.
    struct Outage {
        down: std::sync::atomic::AtomicBool,
        saved: std::sync::Mutex<Vec<String>>,
    }

    impl Port for Outage {
        fn call(&self, request: Request) -> Result<Reply, String> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err("database unavailable (connection refused)".into());
            }
            if let Request::SaveDraft { text, .. } = request {
                self.saved.lock().unwrap().push(text);
            }
            Ok(Reply::Done)
        }
    }

    #[tokio::test]
    async fn a_draft_the_store_refused_is_kept_and_saved_when_it_is_back() {
        use crate::domain::{ConvKey, Platform};
        let port = Arc::new(Outage {
            down: true.into(),
            saved: Default::default(),
        });
        let mut w = DataWorker::start(port.clone()).unwrap();
        let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
        let save = |text: &str| Request::SaveDraft {
            conv: conv.clone(),
            text: text.into(),
        };
        w.send(save("half a rep"));
        match w.results.recv().await.expect("the refusal") {
            Event::Update(Update::Error(e)) => assert!(e.contains("draft is kept"), "{e}"),
            other => panic!("an error, not {other:?}"),
        }
        // A newer text of the same conversation replaces the kept one.
        w.send(save("half a reply"));
        let _ = w.results.recv().await.expect("the second refusal");
        port.down.store(false, std::sync::atomic::Ordering::SeqCst);
        match w.results.recv().await.expect("the notice once saved") {
            Event::Update(Update::Notice(n)) => assert!(n.contains("1 kept draft saved"), "{n}"),
            other => panic!("a notice, not {other:?}"),
        }
        assert_eq!(
            *port.saved.lock().unwrap(),
            vec!["half a reply".to_string()]
        );
        w.finish().await;
    }

    /// Answers searches, the first only once released; records the queries.
    struct Searching {
        asked: std::sync::Mutex<Vec<String>>,
        go: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Port for Searching {
        fn call(&self, request: Request) -> Result<Reply, String> {
            let Request::Search {
                query, generation, ..
            } = request
            else {
                return Ok(Reply::Done);
            };
            let first = {
                let mut asked = self.asked.lock().unwrap();
                asked.push(query.clone());
                asked.len() == 1
            };
            if first {
                self.go.lock().unwrap().recv().expect("released");
            }
            Ok(Reply::Search {
                query,
                generation,
                results: Box::default(),
            })
        }
    }

    #[tokio::test]
    async fn typing_runs_only_the_latest_of_the_waiting_searches() {
        let (release, go) = std::sync::mpsc::channel();
        let port = Arc::new(Searching {
            asked: Default::default(),
            go: std::sync::Mutex::new(go),
        });
        let mut w = DataWorker::start(port.clone()).unwrap();
        let search = |q: &str, generation| Request::Search {
            query: q.into(),
            generation,
            from: None,
        };
        w.send(search("a", 1));
        // Wait until the first one runs (and blocks), then type on.
        while port.asked.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        w.send(search("ab", 2));
        w.send(search("abc", 3));
        release.send(()).unwrap();
        let mut answered = Vec::new();
        for _ in 0..2 {
            match w.results.recv().await.expect("a search reply") {
                Event::Inbox(Reply::Search { generation, .. }) => answered.push(generation),
                other => panic!("a search reply, not {other:?}"),
            }
        }
        assert_eq!(answered, [1, 3]);
        assert_eq!(*port.asked.lock().unwrap(), ["a", "abc"]);
        w.finish().await;
    }
}
