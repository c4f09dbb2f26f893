//! sled's group commit (and the value layout of the old `events` tree,
//! read once when a store is moved to the segment log).
//!
//! sled's `flush_async` deadlocks its IO pool under concurrency (sled #1308,
//! see design.md "Durability facts"), so exactly one thread ever flushes: it
//! waits for writes, flushes once, and wakes every writer whose write came
//! before that flush began. Concurrent requests thereby share one flush.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How often writes that nobody waits for (drafts, statuses) reach disk.
const IDLE_FLUSH: Duration = Duration::from_millis(500);
/// Extra wait before a flush under concurrent load (more writers per flush).
const GATHER: Duration = Duration::from_micros(600);

pub struct GroupFlush {
    /// Held here, not by the thread, so dropping the store releases sled's lock.
    db: sled::Db,
    /// Number of writes registered so far (a write's ticket).
    written: AtomicU64,
    /// Highest ticket known durable.
    durable: watch::Sender<u64>,
    kick: Arc<(Mutex<bool>, Condvar)>,
    stop: Arc<AtomicBool>,
    flushes: AtomicU64,
    /// Writes the last flush covered (1 when load is light).
    last_batch: AtomicU64,
    /// Why the last flush failed (None once one succeeds): the store's health.
    failing: Mutex<Option<String>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl GroupFlush {
    /// Start the one flusher thread for `db`.
    pub fn start(db: sled::Db) -> Arc<GroupFlush> {
        let (tx, _) = watch::channel(0u64);
        let gf = Arc::new(GroupFlush {
            db,
            written: AtomicU64::new(0),
            durable: tx,
            kick: Arc::new((Mutex::new(false), Condvar::new())),
            stop: Arc::new(AtomicBool::new(false)),
            flushes: AtomicU64::new(0),
            last_batch: AtomicU64::new(0),
            failing: Mutex::new(None),
            thread: Mutex::new(None),
        });
        let weak = Arc::downgrade(&gf);
        let kick = gf.kick.clone();
        let stop = gf.stop.clone();
        let thread = std::thread::Builder::new()
            .name("dmdesk-flush".into())
            .spawn(move || loop {
                let kicked = {
                    let (lock, cv) = &*kick;
                    let pending = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let (mut pending, _) = cv
                        .wait_timeout_while(pending, IDLE_FLUSH, |p| {
                            !*p && !stop.load(Ordering::Acquire)
                        })
                        .unwrap_or_else(|e| e.into_inner());
                    std::mem::replace(&mut *pending, false)
                };
                let Some(gf) = weak.upgrade() else { return };
                if kicked && gf.last_batch.load(Ordering::Relaxed) > 1 {
                    // Under concurrent load, let a few more writers join this flush.
                    std::thread::sleep(GATHER);
                }
                let before = *gf.durable.borrow();
                let target = gf.written.load(Ordering::SeqCst);
                gf.last_batch
                    .store(target.saturating_sub(before), Ordering::Relaxed);
                // Without a kick this is the periodic flush of other writes
                // (sled's own background flusher is off: this thread is the
                // only one that ever flushes).
                if !kicked || target > *gf.durable.borrow() {
                    match gf.db.flush() {
                        Ok(_) => {
                            gf.flushes.fetch_add(1, Ordering::Relaxed);
                            gf.durable.send_replace(target);
                            if let Some(was) = gf.set_failing(None) {
                                tracing::info!(error = %was, "store flush works again");
                            }
                        }
                        Err(e) => {
                            // Once per failure, not per retry (a full disk
                            // would fill the log ten times a second).
                            if gf.set_failing(Some(e.to_string())).is_none() {
                                tracing::error!(error = %e, "store flush failed; retrying every second");
                            }
                            std::thread::sleep(Duration::from_secs(1));
                            gf.kick();
                        }
                    }
                }
                if stop.load(Ordering::Acquire) {
                    return;
                }
            })
            .expect("spawn flush thread");
        *gf.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        gf
    }

    /// Stop the thread and wait for it: a flush in progress holds sled
    /// (and its file lock) until it ends, so a store dropped and opened
    /// again at once would find itself still held.
    pub fn close(&self) {
        self.stop.store(true, Ordering::Release);
        self.kick();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }

    /// Why flushing fails now, if it does.
    pub fn failing(&self) -> Option<String> {
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Set the failure; the previous one.
    fn set_failing(&self, why: Option<String>) -> Option<String> {
        std::mem::replace(
            &mut *self.failing.lock().unwrap_or_else(|e| e.into_inner()),
            why,
        )
    }

    fn kick(&self) {
        let (lock, cv) = &*self.kick;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_one();
    }

    /// Call after a write; resolves once a flush that began after it is done.
    pub async fn durable(&self) {
        let ticket = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.durable.subscribe();
        self.kick();
        // The sender lives as long as `self`; an error cannot happen here.
        let _ = rx.wait_for(|d| *d >= ticket).await;
    }

    /// Register a write without waiting: its ticket is durable once
    /// [`GroupFlush::durable_ticket`] reaches it (the periodic flush
    /// covers it within `IDLE_FLUSH`).
    pub fn register(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Highest ticket known durable.
    pub fn durable_ticket(&self) -> u64 {
        *self.durable.borrow()
    }

    /// How many flushes ran (metrics; a benchmark shows requests per flush).
    pub fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

impl Drop for GroupFlush {
    fn drop(&mut self) {
        self.close();
    }
}

/// Value layout of the old `events` tree: received ms (8 bytes BE) then the raw body.
pub fn encode_event(received_ms: i64, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + body.len());
    v.extend_from_slice(&received_ms.to_be_bytes());
    v.extend_from_slice(body);
    v
}

pub fn decode_event(v: &[u8]) -> (i64, &[u8]) {
    let mut a = [0u8; 8];
    a.copy_from_slice(&v[..8]);
    (i64::from_be_bytes(a), &v[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let gf = GroupFlush::start(db.clone());
        let mut tasks = Vec::new();
        for i in 0..64u32 {
            let gf = gf.clone();
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.insert(i.to_be_bytes(), &[1u8; 100][..]).unwrap();
                gf.durable().await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let flushes = gf.flush_count();
        assert!(flushes >= 1, "at least one flush ran");
        assert!(flushes <= 64, "never more flushes than writes: {flushes}");
    }
}
