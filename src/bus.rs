//! The update bus: what the store's callers (ingest, sync, send, the owner's
//! socket) publish after each commit, numbered in publication order.
//!
//! A consumer that falls behind (a slow attached client now, a database
//! notification lost during a reconnect later) asks for what came after the
//! last number it saw; the bus keeps the most recent updates for that, and
//! says so plainly when the gap is older than what it kept (reload).

use crate::update::Update;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Updates queued per subscriber before it lags.
const QUEUE: usize = 1024;
/// Updates kept for catch-up: a subscriber that lags by less loses nothing.
const KEEP: usize = 4096;

/// One published update and its number (1, 2, 3, ... per bus).
#[derive(Debug, Clone)]
pub struct Published {
    pub seq: u64,
    pub update: Arc<Update>,
}

/// The consumer missed updates older than what the bus keeps: reload state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("missed {missed} updates")]
pub struct Missed {
    pub missed: u64,
}

pub struct Bus {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Published>,
}

struct Inner {
    last: u64,
    recent: VecDeque<Published>,
}

impl Bus {
    pub fn new() -> Arc<Bus> {
        let (tx, _) = broadcast::channel(QUEUE);
        Arc::new(Bus {
            inner: Mutex::new(Inner {
                last: 0,
                recent: VecDeque::with_capacity(KEEP),
            }),
            tx,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publish one update; returns its number.
    pub fn publish(&self, update: Update) -> u64 {
        let mut inner = self.lock();
        inner.last += 1;
        let p = Published {
            seq: inner.last,
            update: Arc::new(update),
        };
        if inner.recent.len() == KEEP {
            inner.recent.pop_front();
        }
        inner.recent.push_back(p.clone());
        // Sent under the lock so subscribers see numbers in order.
        let _ = self.tx.send(p);
        inner.last
    }

    pub fn publish_all(&self, updates: impl IntoIterator<Item = Update>) {
        for u in updates {
            self.publish(u);
        }
    }

    /// The number of the last update published (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.lock().last
    }

    /// Everything published after `seq`, or how much was lost if the bus
    /// no longer keeps all of it.
    pub fn since(&self, seq: u64) -> Result<Vec<Published>, Missed> {
        let inner = self.lock();
        let oldest = inner.recent.front().map_or(inner.last + 1, |p| p.seq);
        if seq + 1 < oldest {
            return Err(Missed {
                missed: oldest - seq - 1,
            });
        }
        Ok(inner
            .recent
            .iter()
            .filter(|p| p.seq > seq)
            .cloned()
            .collect())
    }

    /// Updates from now on.
    pub fn subscribe(self: &Arc<Self>) -> Subscription {
        let inner = self.lock();
        Subscription {
            rx: self.tx.subscribe(),
            last: inner.last,
            backlog: VecDeque::new(),
            bus: self.clone(),
        }
    }
}

/// A consumer's place on the bus: a lag within what the bus keeps is caught
/// up from it, so only a longer one surfaces as `Missed`.
pub struct Subscription {
    bus: Arc<Bus>,
    rx: broadcast::Receiver<Published>,
    last: u64,
    backlog: VecDeque<Published>,
}

/// Why `recv` returned no update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    Missed(Missed),
    Closed,
}

impl Subscription {
    /// The number of the last update this consumer received.
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    pub async fn recv(&mut self) -> Result<Published, RecvError> {
        loop {
            if let Some(p) = self.take_backlog() {
                return Ok(p);
            }
            let r = self.rx.recv().await;
            if let Some(p) = self.handle(r.map_err(|e| match e {
                broadcast::error::RecvError::Lagged(_) => Lag::Lagged,
                broadcast::error::RecvError::Closed => Lag::Closed,
            }))? {
                return Ok(p);
            }
        }
    }

    /// An update already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Result<Published, RecvError>> {
        loop {
            if let Some(p) = self.take_backlog() {
                return Some(Ok(p));
            }
            let r = match self.rx.try_recv() {
                Ok(p) => Ok(p),
                Err(broadcast::error::TryRecvError::Empty) => return None,
                Err(broadcast::error::TryRecvError::Lagged(_)) => Err(Lag::Lagged),
                Err(broadcast::error::TryRecvError::Closed) => Err(Lag::Closed),
            };
            match self.handle(r) {
                Ok(Some(p)) => return Some(Ok(p)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn take_backlog(&mut self) -> Option<Published> {
        let p = self.backlog.pop_front()?;
        self.last = p.seq;
        Some(p)
    }

    fn handle(&mut self, r: Result<Published, Lag>) -> Result<Option<Published>, RecvError> {
        match r {
            // Already delivered from the backlog after a lag.
            Ok(p) if p.seq <= self.last => Ok(None),
            Ok(p) => {
                self.last = p.seq;
                Ok(Some(p))
            }
            Err(Lag::Lagged) => match self.bus.since(self.last) {
                Ok(v) => {
                    self.backlog = v.into();
                    Ok(None)
                }
                Err(m) => {
                    self.last = self.bus.last_seq();
                    Err(RecvError::Missed(m))
                }
            },
            Err(Lag::Closed) => Err(RecvError::Closed),
        }
    }
}

enum Lag {
    Lagged,
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(i: u64) -> Update {
        Update::Notice(format!("n{i}"))
    }

    #[test]
    fn numbers_rise_and_since_returns_what_followed() {
        let bus = Bus::new();
        for i in 1..=5 {
            assert_eq!(bus.publish(note(i)), i);
        }
        let after: Vec<u64> = bus.since(2).unwrap().iter().map(|p| p.seq).collect();
        assert_eq!(after, vec![3, 4, 5]);
        assert!(bus.since(5).unwrap().is_empty());
    }

    #[test]
    fn since_reports_a_gap_older_than_what_is_kept() {
        let bus = Bus::new();
        for i in 1..=(KEEP as u64 + 10) {
            bus.publish(note(i));
        }
        assert_eq!(bus.since(0).unwrap_err(), Missed { missed: 10 });
        assert_eq!(bus.since(10).unwrap().len(), KEEP);
    }

    #[tokio::test]
    async fn a_lag_beyond_the_ring_is_reported_once_then_delivery_resumes() {
        let bus = Bus::new();
        let mut sub = bus.subscribe();
        let n = KEEP as u64 + 3;
        for i in 1..=n {
            bus.publish(note(i));
        }
        assert_eq!(
            sub.try_recv().map(|r| r.map(|p| p.seq)),
            Some(Err(RecvError::Missed(Missed { missed: 3 })))
        );
        // What the channel still holds is older than the reload point.
        assert!(sub.try_recv().is_none());
        bus.publish(note(n + 1));
        assert_eq!(sub.recv().await.unwrap().seq, n + 1);
    }

    #[tokio::test]
    async fn a_lag_within_the_ring_is_caught_up() {
        let bus = Bus::new();
        let mut sub = bus.subscribe();
        bus.publish(note(0)); // seq 1, received normally
        assert_eq!(sub.recv().await.unwrap().seq, 1);
        // Lag the channel (it queues QUEUE) while the ring still holds
        // everything after the last seen.
        for i in 0..(QUEUE as u64 + 10) {
            bus.publish(note(i));
        }
        let mut seqs = Vec::new();
        loop {
            match sub.try_recv() {
                Some(Ok(p)) => seqs.push(p.seq),
                Some(Err(e)) => panic!("unexpected {e:?}"),
                None => break,
            }
        }
        let want: Vec<u64> = (2..=(QUEUE as u64 + 11)).collect();
        assert_eq!(
            seqs, want,
            "every update after the last seen, once, in order"
        );
    }
}
