//! Store updates to attached clients. One hub task receives each update
//! once and folds it into every client's feed (a few map inserts); a
//! client's task wakes only when it has something to send. The thread a
//! client views gets every message in full; everything else becomes a
//! digest (counts, changed conversations with their unread) at most every
//! `DIGEST_EVERY`, so twenty UIs cost little however busy the webhook is.
//! A client that cannot keep up is told (`lagged`) and reloads.

use super::protocol::Frame;
use crate::domain::{ConvKey, Direction};
use crate::store::{Store, Update};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Changed conversations reach a client within this (the first change
/// after a quiet spell goes out at once).
pub const DIGEST_EVERY: Duration = Duration::from_millis(25);
/// Under sustained load (the last digest was large) digests slow to this,
/// so each carries more and twenty clients parse less.
pub const DIGEST_EVERY_BUSY: Duration = Duration::from_millis(100);
/// A digest with more changed conversations than this means "busy".
const BUSY_DIGEST: usize = 64;
/// Event counts alone (status bar) are sent at most this often.
const EVENTS_EVERY: Duration = Duration::from_secs(1);
/// Full updates queued for one client before it is told it lagged.
const FEED_LIMIT: usize = 1024;

#[derive(Default)]
struct Digest {
    events: u64,
    inbound: u64,
    /// Keys shared with the hub (one allocation per update, not per client).
    changed: HashMap<Arc<ConvKey>, u32>,
}

impl Digest {
    fn is_empty(&self) -> bool {
        self.events == 0 && self.inbound == 0 && self.changed.is_empty()
    }
    /// Worth sending soon (not just a count for the status bar).
    fn urgent(&self) -> bool {
        self.inbound > 0 || !self.changed.is_empty()
    }
    fn take(&mut self) -> Update {
        let d = std::mem::take(self);
        Update::Digest {
            events: d.events,
            inbound: d.inbound,
            changed: d
                .changed
                .into_iter()
                .map(|(k, n)| (Arc::unwrap_or_clone(k), n))
                .collect(),
        }
    }
}

#[derive(Default)]
struct FeedState {
    viewing: Option<ConvKey>,
    full: VecDeque<Update>,
    digest: Digest,
    missed: u64,
}

impl FeedState {
    /// Fold one update in; true when the client should wake now. `key` is
    /// the update's conversation, allocated once for all clients.
    fn absorb(&mut self, u: &Update, key: Option<&Arc<ConvKey>>) -> bool {
        let viewed = |k: &ConvKey| self.viewing.as_ref() == Some(k);
        let full = match u {
            // The owner's own UI asked for that; clients ask for theirs.
            Update::Unread { .. } | Update::Digest { .. } => false,
            Update::EventReceived { .. } => {
                self.digest.events += 1;
                false
            }
            Update::Conversation(c) => {
                let first = !self.digest.urgent();
                if let Some(k) = key {
                    self.digest.changed.insert(k.clone(), c.unread);
                }
                if !viewed(&c.key) {
                    return first;
                }
                true
            }
            Update::Message(m) => {
                let first = !self.digest.urgent();
                if m.direction == Direction::In {
                    self.digest.inbound += 1;
                }
                if !viewed(&m.conv) {
                    return first;
                }
                true
            }
            Update::Contact(c) => viewed(&c.conv),
            _ => true,
        };
        if full {
            if self.full.len() >= FEED_LIMIT {
                self.full.clear();
                self.missed += FEED_LIMIT as u64;
            }
            self.full.push_back(u.clone());
        }
        full
    }
}

struct Feed {
    state: Mutex<FeedState>,
    wake: Notify,
}

impl Feed {
    fn lock(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The hub: every subscribed client's feed.
pub struct Hub {
    feeds: Mutex<HashMap<u64, Arc<Feed>>>,
}

impl Hub {
    /// Start the hub task on `store`'s updates.
    pub fn start(store: &Store, stop: CancellationToken) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            feeds: Mutex::new(HashMap::new()),
        });
        let mut rx = store.subscribe();
        let h = hub.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let r = tokio::select! {
                    r = rx.recv() => r,
                    _ = stop.cancelled() => return,
                };
                let feeds = h.lock();
                match r {
                    Ok(u) => {
                        let key = match &u {
                            Update::Conversation(c) => Some(Arc::new(c.key.clone())),
                            _ => None,
                        };
                        for f in feeds.values() {
                            if f.lock().absorb(&u, key.as_ref()) {
                                f.wake.notify_one();
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        for f in feeds.values() {
                            f.lock().missed += n;
                            f.wake.notify_one();
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Feed>>> {
        self.feeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Feed `session`'s client through `tx` until `gone`.
    pub fn subscribe(
        self: &Arc<Hub>,
        session: u64,
        viewing: Option<ConvKey>,
        tx: mpsc::Sender<Frame>,
        gone: CancellationToken,
    ) {
        let feed = Arc::new(Feed {
            state: Mutex::new(FeedState {
                viewing,
                ..FeedState::default()
            }),
            wake: Notify::new(),
        });
        self.lock().insert(session, feed.clone());
        let hub = self.clone();
        tokio::spawn(async move {
            send_feed(&feed, &tx, &gone).await;
            hub.lock().remove(&session);
        });
    }

    /// The conversation `session`'s UI shows (from its presence reports).
    pub fn set_viewing(&self, session: u64, conv: Option<ConvKey>) {
        if let Some(f) = self.lock().get(&session) {
            f.lock().viewing = conv;
        }
    }
}

async fn send_feed(feed: &Feed, tx: &mpsc::Sender<Frame>, gone: &CancellationToken) {
    use tokio::sync::mpsc::error::TrySendError;
    let mut last_digest = Instant::now() - EVENTS_EVERY;
    let mut last_size = 0usize;
    let mut due: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = gone.cancelled() => return,
            _ = feed.wake.notified() => {}
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
        }
        due = None;
        let mut frames = Vec::new();
        {
            let mut st = feed.lock();
            if st.missed > 0 {
                // A reload covers everything queued.
                frames.push(Frame::Lagged { missed: st.missed });
                st.missed = 0;
                st.full.clear();
                st.digest = Digest::default();
            }
            frames.extend(st.full.drain(..).map(|u| Frame::Update {
                update: Box::new(u),
            }));
            if !st.digest.is_empty() {
                let every = if !st.digest.urgent() {
                    EVENTS_EVERY
                } else if last_size > BUSY_DIGEST {
                    DIGEST_EVERY_BUSY
                } else {
                    DIGEST_EVERY
                };
                if last_digest.elapsed() >= every {
                    last_size = st.digest.changed.len();
                    frames.push(Frame::Update {
                        update: Box::new(st.digest.take()),
                    });
                    last_digest = Instant::now();
                } else {
                    due = Some(last_digest + every);
                }
            }
        }
        for f in frames {
            match tx.try_send(f) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    // The socket is not draining: drop, and tell it once it does.
                    feed.lock().missed += 1;
                    due = Some(Instant::now() + DIGEST_EVERY);
                }
                Err(TrySendError::Closed(_)) => return,
            }
        }
    }
}
