//! Group commit for the event log: writers hand their framed record to a
//! queue and wait; ONE thread takes everything queued, writes it, calls
//! fdatasync once and then wakes every writer it covered. Never more than one
//! sync is in flight, and a writer is woken only after the sync that covers
//! its record returned.

use super::frame;
use std::io;
use std::sync::{Arc, Condvar, Mutex};
use tokio::sync::watch;

/// A segment file as the flusher uses it. The real one is a `std::fs::File`;
/// tests put a fake here that records the order of writes and syncs.
pub trait LogFile: Send {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// fdatasync.
    fn sync_data(&mut self) -> io::Result<()>;
}

/// Where new segment files come from.
pub trait SegmentFiles: Send {
    /// Create the segment whose first record is `first_seq`, durably (the
    /// directory entry included), ready for appends.
    fn create(&mut self, first_seq: u64) -> io::Result<Box<dyn LogFile>>;
}

impl LogFile for std::fs::File {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, buf)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        std::fs::File::sync_data(self)
    }
}

/// The segment being appended to.
pub struct Active {
    pub file: Box<dyn LogFile>,
    pub first_seq: u64,
    pub len: u64,
}

/// What the flusher has made durable (readers and waiters watch it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durable {
    /// Every record up to this seq is on disk.
    pub seq: u64,
    /// Set once a write or sync failed: nothing after `seq` will become
    /// durable in this process (after a failed fsync the page cache cannot
    /// be trusted, so the log stops rather than retries).
    pub failed: Option<String>,
}

/// Framed records and the (seq, end offset) of each, taken as one batch.
type Batch = (Vec<u8>, Vec<(u64, usize)>);

#[derive(Default)]
struct Queue {
    /// Framed records, in seq order.
    bytes: Vec<u8>,
    /// (seq, end offset in `bytes`) of each queued record.
    marks: Vec<(u64, usize)>,
    next_seq: u64,
    stop: bool,
}

pub struct Flusher {
    queue: Mutex<Queue>,
    kick: Condvar,
    durable: watch::Sender<Durable>,
    syncs: std::sync::atomic::AtomicU64,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Called with each new segment's first seq before anything is written to it.
pub type OnNewSegment = Box<dyn Fn(u64) + Send>;

impl Flusher {
    /// Start the flusher thread. `next_seq` is the seq the next append gets;
    /// `durable_seq` what is already on disk; `active` the segment to append
    /// to (None: the first append creates one). A segment is rolled over
    /// once it holds `segment_bytes`.
    pub fn start(
        next_seq: u64,
        durable_seq: u64,
        active: Option<Active>,
        mut files: Box<dyn SegmentFiles>,
        segment_bytes: u64,
        on_new_segment: OnNewSegment,
    ) -> Arc<Flusher> {
        let (tx, _) = watch::channel(Durable {
            seq: durable_seq,
            failed: None,
        });
        let f = Arc::new(Flusher {
            queue: Mutex::new(Queue {
                next_seq,
                ..Queue::default()
            }),
            kick: Condvar::new(),
            durable: tx,
            syncs: Default::default(),
            thread: Mutex::new(None),
        });
        let me = f.clone();
        let thread = std::thread::Builder::new()
            .name("dmdesk-eventlog".into())
            .spawn(move || {
                let mut active = active;
                let mut spare = Vec::new();
                while let Some((bytes, marks)) = me.take_batch(std::mem::take(&mut spare)) {
                    let last = marks.last().map(|m| m.0);
                    let res = write_batch(
                        &bytes,
                        &marks,
                        &mut active,
                        &mut *files,
                        segment_bytes,
                        &on_new_segment,
                    );
                    match (res, last) {
                        (Ok(()), Some(seq)) => {
                            me.syncs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            me.durable.send_modify(|d| d.seq = seq);
                        }
                        (Ok(()), None) => {}
                        (Err(e), _) => {
                            tracing::error!(error = %e, "event log write failed; no more webhooks are acknowledged until restart");
                            me.durable
                                .send_modify(|d| d.failed = Some(format!("event log write failed: {e}")));
                            return;
                        }
                    }
                    spare = bytes;
                    spare.clear();
                }
            })
            .expect("spawn event log thread");
        *f.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        f
    }

    /// Wait for queued records; None once stopped and drained.
    fn take_batch(&self, spare: Vec<u8>) -> Option<Batch> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        while q.marks.is_empty() && !q.stop {
            q = self.kick.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        if q.marks.is_empty() {
            return None;
        }
        let bytes = std::mem::replace(&mut q.bytes, spare);
        Some((bytes, std::mem::take(&mut q.marks)))
    }

    /// Queue a record; returns its seq. It is durable once [`Flusher::wait`]
    /// for that seq returns Ok.
    pub fn append(&self, received_ms: i64, body: &[u8]) -> io::Result<u64> {
        if let Some(e) = &self.durable.borrow().failed {
            return Err(io::Error::other(e.clone()));
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let seq = q.next_seq;
        self.push(&mut q, seq, received_ms, body);
        Ok(seq)
    }

    /// Queue a record with a seq chosen by the caller (importing an older
    /// log); it must be at or after the next seq.
    pub fn append_at(&self, seq: u64, received_ms: i64, body: &[u8]) -> io::Result<()> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if seq < q.next_seq {
            return Err(io::Error::other(format!(
                "seq {seq} is before the log's next seq {}",
                q.next_seq
            )));
        }
        self.push(&mut q, seq, received_ms, body);
        Ok(())
    }

    fn push(&self, q: &mut Queue, seq: u64, received_ms: i64, body: &[u8]) {
        frame::encode(&mut q.bytes, seq, received_ms, body);
        let end = q.bytes.len();
        q.marks.push((seq, end));
        q.next_seq = seq + 1;
        self.kick.notify_one();
    }

    /// Why the log stopped taking records, if it did.
    pub fn failed(&self) -> Option<String> {
        self.durable.borrow().failed.clone()
    }

    /// Resolves once `seq` is durable (Err: the log failed before it was).
    pub async fn wait(&self, seq: u64) -> io::Result<()> {
        let mut rx = self.durable.subscribe();
        let d = rx
            .wait_for(|d| d.seq >= seq || d.failed.is_some())
            .await
            .map_err(|_| io::Error::other("event log stopped"))?;
        match (&d.failed, d.seq >= seq) {
            (_, true) => Ok(()),
            (Some(e), false) => Err(io::Error::other(e.clone())),
            (None, false) => unreachable!("wait_for returned early"),
        }
    }

    /// Like [`Flusher::wait`], blocking the calling (non-async) thread.
    pub fn wait_blocking(&self, seq: u64) -> io::Result<()> {
        let mut rx = self.durable.subscribe();
        loop {
            {
                let d = rx.borrow_and_update();
                if d.seq >= seq {
                    return Ok(());
                }
                if let Some(e) = &d.failed {
                    return Err(io::Error::other(e.clone()));
                }
            }
            // A blocking wait on the watch: park on a tiny runtime-free loop.
            futures::executor::block_on(rx.changed())
                .map_err(|_| io::Error::other("event log stopped"))?;
        }
    }

    /// The highest durable seq.
    pub fn durable_seq(&self) -> u64 {
        self.durable.borrow().seq
    }

    /// The seq the next append gets.
    pub fn next_seq(&self) -> u64 {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_seq
    }

    /// fdatasync calls so far (each covered one or more records).
    pub fn sync_count(&self) -> u64 {
        self.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Flusher {
    /// Let the thread write what is queued, and wait for it to end (so a
    /// store reopened in this process never sees a write in progress).
    pub fn stop(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.kick.notify_one();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Write one batch, rolling over to a new segment where the active one is
/// full, and fdatasync every segment written to. A full segment is synced
/// before the next is created, so the log never has a hole.
fn write_batch(
    bytes: &[u8],
    marks: &[(u64, usize)],
    active: &mut Option<Active>,
    files: &mut dyn SegmentFiles,
    segment_bytes: u64,
    on_new_segment: &OnNewSegment,
) -> io::Result<()> {
    let mut written = 0usize; // bytes of the batch already in a file
    let mut rec_start = 0usize;
    for &(seq, end) in marks {
        let pending = (rec_start - written) as u64;
        let roll = match active.as_ref() {
            None => true,
            // A record alone in a segment stays there however large it is.
            Some(a) => {
                a.len + pending > 0 && a.len + pending + (end - rec_start) as u64 > segment_bytes
            }
        };
        if roll {
            if let Some(a) = active.as_mut() {
                if pending > 0 {
                    a.file.write_all(&bytes[written..rec_start])?;
                    a.len += pending;
                    a.file.sync_data()?;
                }
            }
            written = rec_start;
            on_new_segment(seq);
            *active = Some(Active {
                file: files.create(seq)?,
                first_seq: seq,
                len: 0,
            });
        }
        rec_start = end;
    }
    let a = active
        .as_mut()
        .expect("a segment exists after the first record");
    a.file.write_all(&bytes[written..])?;
    a.len += (bytes.len() - written) as u64;
    a.file.sync_data()
}
