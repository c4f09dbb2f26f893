//! Store updates to attached clients. One hub task receives each update
//! once and folds it into every client's feed (a few map inserts); a
//! client's task wakes only when it has something to send. The thread a
//! client views gets every message in full; everything else becomes a
//! digest (counts, changed conversations with their unread) at most every
//! `DIGEST_EVERY`, so twenty UIs cost little however busy the webhook is.
//! A client that cannot keep up is told (`lagged`) and reloads.

use super::protocol::Frame;
use crate::db::Db;
use crate::domain::{ConvKey, Direction};
use crate::update::{OwnerStatus, Update};
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
const BUSY_DIGEST: usize = DIGEST_KEYS;
/// Event counts alone (status bar) are sent at most this often.
const EVENTS_EVERY: Duration = Duration::from_secs(1);
/// Full updates queued for one client before it is told it lagged.
const FEED_LIMIT: usize = 1024;

/// Changed conversations a digest names; past this it says only "more"
/// (the UI reloads its rows either way), so a busy inbox costs each client
/// a small frame, not hundreds of keys.
const DIGEST_KEYS: usize = 16;

#[derive(Default)]
struct Digest {
    events: u64,
    inbound: u64,
    /// Keys shared with the hub (one allocation per update, not per client).
    changed: HashMap<Arc<ConvKey>, u32>,
    more: bool,
}

impl Digest {
    fn is_empty(&self) -> bool {
        self.events == 0 && self.inbound == 0 && self.changed.is_empty() && !self.more
    }
    /// Worth sending soon (not just a count for the status bar).
    fn urgent(&self) -> bool {
        self.inbound > 0 || self.more || !self.changed.is_empty()
    }
    fn changed(&mut self, key: &Arc<ConvKey>, unread: u32) {
        if self.more {
            return;
        }
        if self.changed.len() >= DIGEST_KEYS && !self.changed.contains_key(key) {
            self.changed.clear();
            self.more = true;
            return;
        }
        self.changed.insert(key.clone(), unread);
    }
    fn take(&mut self, unread_conversations: Option<u64>) -> Update {
        let d = std::mem::take(self);
        Update::Digest {
            events: d.events,
            inbound: d.inbound,
            changed: d
                .changed
                .into_iter()
                .map(|(k, n)| (Arc::unwrap_or_clone(k), n))
                .collect(),
            more: d.more,
            unread_conversations,
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
            Update::Digest { .. } => false,
            Update::EventReceived { .. } => {
                self.digest.events += 1;
                false
            }
            Update::Conversation(c) => {
                let first = !self.digest.urgent();
                if let Some(k) = key {
                    self.digest.changed(k, c.unread);
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
            // A thread's history and notes matter to those who view it (the
            // list learns of an assignment from the conversation's row).
            Update::History(h) => viewed(&h.conv),
            Update::Note(n) => viewed(&n.conv),
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

/// The hub: every subscribed client's feed, the unread conversations of
/// the whole store (the window title of every attached UI), and the
/// owner's status bar (what a client is told when it attaches).
pub struct Hub {
    feeds: Mutex<HashMap<u64, Arc<Feed>>>,
    unread: Mutex<Unread>,
    /// Changed only with `feeds` locked, so a new feed's first status and
    /// the digests after it count every event once.
    owner: Mutex<Owner>,
}

/// The owner's status bar as the hub keeps it from the bus.
struct Owner {
    status: OwnerStatus,
    /// The local day `status.events_today` counts.
    day: i64,
}

impl Owner {
    fn absorb(&mut self, u: &Update) {
        match u {
            Update::EventReceived { at } => {
                let day = day_key(*at);
                if day > self.day {
                    self.day = day;
                    self.status.events_today = 0;
                }
                if day == self.day {
                    self.status.events_today += 1;
                }
            }
            Update::Sync(p) => self.status.sync = Some(p.clone()),
            Update::TokenDead(d) if !self.status.dead.contains(d) => {
                self.status.dead.push(d.clone())
            }
            _ => {}
        }
    }

    /// The status as of now (a new day counts from zero).
    fn now(&self) -> OwnerStatus {
        let mut s = self.status.clone();
        if day_key(crate::domain::TimestampMs::now()) > self.day {
            s.events_today = 0;
        }
        s
    }
}

/// The owner's local day, as its own status bar counts "events today".
fn day_key(t: crate::domain::TimestampMs) -> i64 {
    crate::clock::day_key(t, crate::clock::Zone::Local)
}

/// Conversations with unread messages. Filled by one scan at start; updates
/// that arrive during the scan win over what it read.
#[derive(Default)]
struct Unread {
    counts: HashMap<ConvKey, u32>,
    /// Set once the scan is merged; until then digests carry no total.
    known: bool,
    touched: std::collections::HashSet<ConvKey>,
}

impl Unread {
    fn set(&mut self, key: &ConvKey, n: u32) {
        if n > 0 {
            self.counts.insert(key.clone(), n);
        } else {
            self.counts.remove(key);
        }
        if !self.known {
            self.touched.insert(key.clone());
        }
    }
    fn total(&self) -> Option<u64> {
        self.known.then_some(self.counts.len() as u64)
    }
}

impl Hub {
    /// Start the hub task on `store`'s updates; `owner` gives the owner's
    /// status bar as it starts (its pid, address and dead tokens), read
    /// after subscribing so a token that dies meanwhile is not lost.
    pub fn start(
        store: &Db,
        owner: impl FnOnce() -> OwnerStatus,
        stop: CancellationToken,
    ) -> Arc<Hub> {
        let mut rx = store.subscribe();
        let hub = Arc::new(Hub {
            feeds: Mutex::new(HashMap::new()),
            unread: Mutex::new(Unread::default()),
            owner: Mutex::new(Owner {
                status: owner(),
                day: day_key(crate::domain::TimestampMs::now()),
            }),
        });
        {
            let (h, store) = (hub.clone(), store.clone());
            tokio::task::spawn_blocking(move || match store.unread_counts() {
                Ok(scan) => {
                    let mut u = h.unread_lock();
                    for (k, n) in scan {
                        if !u.touched.contains(&k) && n > 0 {
                            u.counts.insert(k, n);
                        }
                    }
                    u.known = true;
                    u.touched = Default::default();
                }
                Err(e) => tracing::warn!(error = %e, "unread scan for attached UIs failed"),
            });
        }
        let h = hub.clone();
        tokio::spawn(async move {
            use crate::bus::RecvError;
            loop {
                let r = tokio::select! {
                    r = rx.recv() => r,
                    _ = stop.cancelled() => return,
                };
                let feeds = h.lock();
                match r {
                    Ok(p) => {
                        let u = &*p.update;
                        h.owner_lock().absorb(u);
                        let key = match u {
                            Update::Conversation(c) => {
                                h.unread_lock().set(&c.key, c.unread);
                                Some(Arc::new(c.key.clone()))
                            }
                            _ => None,
                        };
                        for f in feeds.values() {
                            if f.lock().absorb(u, key.as_ref()) {
                                f.wake.notify_one();
                            }
                        }
                    }
                    Err(RecvError::Missed(m)) => {
                        for f in feeds.values() {
                            f.lock().missed += m.missed;
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

    fn unread_lock(&self) -> std::sync::MutexGuard<'_, Unread> {
        self.unread.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn owner_lock(&self) -> std::sync::MutexGuard<'_, Owner> {
        self.owner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Feed `session`'s client through `tx` until `gone`.
    pub fn subscribe(
        self: &Arc<Hub>,
        session: u64,
        viewing: Option<ConvKey>,
        tx: mpsc::Sender<Frame>,
        gone: CancellationToken,
    ) {
        let mut feeds = self.lock();
        // The owner's status bar first: later digests add to its counts.
        let first = Update::OwnerStatus(self.owner_lock().now());
        let feed = Arc::new(Feed {
            state: Mutex::new(FeedState {
                viewing,
                full: VecDeque::from([first]),
                ..FeedState::default()
            }),
            wake: Notify::new(),
        });
        feed.wake.notify_one();
        feeds.insert(session, feed.clone());
        drop(feeds);
        let hub = self.clone();
        tokio::spawn(async move {
            send_feed(&hub, &feed, &tx, &gone).await;
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

async fn send_feed(hub: &Hub, feed: &Feed, tx: &mpsc::Sender<Frame>, gone: &CancellationToken) {
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
                // The dropped digests held events: the owner's count again.
                frames.push(Frame::Update {
                    update: Box::new(Update::OwnerStatus(hub.owner_lock().now())),
                });
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
                    last_size = if st.digest.more {
                        usize::MAX
                    } else {
                        st.digest.changed.len()
                    };
                    let total = hub.unread_lock().total();
                    frames.push(Frame::Update {
                        update: Box::new(st.digest.take(total)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    fn key(u: &str) -> Arc<ConvKey> {
        Arc::new(ConvKey::new(Platform::Messenger, "P", u))
    }

    #[test]
    fn a_busy_digest_says_more_instead_of_naming_everything() {
        let mut d = Digest::default();
        d.changed(&key("a"), 1);
        d.changed(&key("a"), 2);
        let Update::Digest { changed, more, .. } = d.take(Some(3)) else {
            panic!()
        };
        assert_eq!((changed.len(), changed[0].1, more), (1, 2, false));
        for i in 0..DIGEST_KEYS + 5 {
            d.changed(&key(&format!("u{i}")), 1);
        }
        assert!(d.urgent());
        let Update::Digest {
            changed,
            more,
            unread_conversations,
            ..
        } = d.take(Some(9))
        else {
            panic!()
        };
        assert!(changed.is_empty() && more);
        assert_eq!(unread_conversations, Some(9));
        assert!(d.is_empty(), "taken");
    }

    #[test]
    fn updates_during_the_unread_scan_win() {
        let mut u = Unread::default();
        assert_eq!(u.total(), None, "unknown until the scan is merged");
        u.set(&ConvKey::new(Platform::Messenger, "P", "read-now"), 0);
        u.set(&ConvKey::new(Platform::Messenger, "P", "new"), 1);
        // The scan read the first before it was read.
        for (k, n) in [
            (ConvKey::new(Platform::Messenger, "P", "read-now"), 4),
            (ConvKey::new(Platform::Messenger, "P", "old"), 2),
        ] {
            if !u.touched.contains(&k) && n > 0 {
                u.counts.insert(k, n);
            }
        }
        u.known = true;
        assert_eq!(u.total(), Some(2), "new + old, not read-now");
    }
}
