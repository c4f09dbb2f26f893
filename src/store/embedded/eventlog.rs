//! The webhook event log: raw bodies in append-only segment files beside
//! sled, made durable with fdatasync by one flusher (see `flusher.rs`)
//! before the webhook answers. The applier reads them back in seq order.

use super::flusher::{Active, Flusher, LogFile, SegmentFiles};
use super::frame::Record;
use super::segment::{self, Damage, Reader, Segment};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Roll over to a new segment file past this size.
pub const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

pub struct EventLog {
    dir: PathBuf,
    flusher: Arc<Flusher>,
    /// Segment files, oldest first (the flusher adds, retirement removes).
    segments: Arc<Mutex<Vec<Segment>>>,
    /// Where the last read stopped, so the applier's next read starts there.
    cursor: Mutex<Option<Cursor>>,
    /// What the start-up check cut off.
    damage: Vec<Damage>,
}

#[derive(Clone, Copy)]
struct Cursor {
    next_seq: u64,
    seg_first: u64,
    offset: u64,
}

/// Creates segment files in the log directory with the store's file mode.
struct FsSegments {
    dir: PathBuf,
    mode: u32,
}

impl SegmentFiles for FsSegments {
    fn create(&mut self, first_seq: u64) -> io::Result<Box<dyn LogFile>> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(self.mode)
            .open(self.dir.join(segment::file_name(first_seq)))?;
        // The new name must survive a power cut too.
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(Box::new(f))
    }
}

impl EventLog {
    /// Open the log in `dir` (created if missing): check every segment, cut
    /// off what is not a complete record, and start the flusher. The next
    /// seq is at least `min_next_seq`.
    pub fn open(
        dir: &Path,
        file_mode: u32,
        segment_bytes: u64,
        min_next_seq: u64,
    ) -> io::Result<EventLog> {
        super::private_dir_all(dir)?;
        let mut segs = segment::list(dir)?;
        let mut damage = Vec::new();
        let mut last_seq = 0;
        let mut tail = None; // (segment, its checked state) of the newest
        for s in &segs {
            let c = segment::check_and_repair(s)?;
            if let Some(d) = &c.damage {
                tracing::warn!(damage = %d, "event log damaged; cut off at the last complete record");
                damage.push(d.clone());
            }
            if let Some(l) = c.last_seq {
                last_seq = last_seq.max(l);
            }
            tail = Some((s.clone(), c));
        }
        let next_seq = min_next_seq.max(last_seq + 1).max(1);
        // Append to the newest segment only where the next record follows
        // on from what it holds; otherwise start a new one.
        let active = match tail {
            Some((s, c)) if c.last_seq.map_or(s.first_seq, |l| l + 1) == next_seq => {
                let mut f = std::fs::OpenOptions::new().append(true).open(&s.path)?;
                // What a killed process wrote may still be only in the page cache.
                LogFile::sync_data(&mut f)?;
                Some(Active {
                    file: Box::new(f),
                    first_seq: s.first_seq,
                    len: c.len,
                })
            }
            Some((s, c)) if c.last_seq.is_none() => {
                std::fs::remove_file(&s.path)?;
                segs.pop();
                None
            }
            _ => None,
        };
        let segments = Arc::new(Mutex::new(segs));
        let on_new = {
            let segments = segments.clone();
            let dir = dir.to_path_buf();
            Box::new(move |first_seq| {
                lock(&segments).push(Segment {
                    first_seq,
                    path: dir.join(segment::file_name(first_seq)),
                })
            })
        };
        let flusher = Flusher::start(
            next_seq,
            next_seq - 1,
            active,
            Box::new(FsSegments {
                dir: dir.to_path_buf(),
                mode: file_mode,
            }),
            segment_bytes,
            on_new,
        );
        Ok(EventLog {
            dir: dir.to_path_buf(),
            flusher,
            segments,
            cursor: Mutex::new(None),
            damage,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queue a body; its seq. Durable once [`EventLog::wait`] returns.
    pub fn append(&self, received_ms: i64, body: &[u8]) -> io::Result<u64> {
        self.flusher.append(received_ms, body)
    }

    /// Queue a record under a given seq (importing the old sled log).
    pub fn append_at(&self, seq: u64, received_ms: i64, body: &[u8]) -> io::Result<()> {
        self.flusher.append_at(seq, received_ms, body)
    }

    pub async fn wait(&self, seq: u64) -> io::Result<()> {
        self.flusher.wait(seq).await
    }

    /// Block until everything queued so far is durable.
    /// Why the log stopped taking records (a failed write or fdatasync),
    /// if it did: nothing more is acknowledged until a restart.
    pub fn failed(&self) -> Option<String> {
        self.flusher.failed()
    }

    pub fn sync(&self) -> io::Result<()> {
        self.flusher.wait_blocking(self.flusher.next_seq() - 1)
    }

    pub fn durable_seq(&self) -> u64 {
        self.flusher.durable_seq()
    }

    pub fn next_seq(&self) -> u64 {
        self.flusher.next_seq()
    }

    pub fn sync_count(&self) -> u64 {
        self.flusher.sync_count()
    }

    /// What the start-up check cut off (empty when the log was whole).
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    pub fn segments(&self) -> Vec<Segment> {
        lock(&self.segments).clone()
    }

    /// Durable records after `after`, in order, at most `limit`.
    pub fn read_after(&self, after: u64, limit: usize) -> io::Result<Vec<Record>> {
        let segs = self.segments();
        let start = segs
            .iter()
            .rposition(|s| s.first_seq <= after + 1)
            .unwrap_or(0);
        let offset = match *lock(&self.cursor) {
            Some(c)
                if c.next_seq == after + 1
                    && segs.get(start).is_some_and(|s| s.first_seq == c.seg_first) =>
            {
                c.offset
            }
            _ => 0,
        };
        let mut scan = Scan::new(segs, start, offset, self.durable_seq());
        let mut out = Vec::new();
        while out.len() < limit {
            match scan.next() {
                Some(Ok(r)) if r.seq <= after => {}
                Some(Ok(r)) => out.push(r),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        if let (Some(r), Some((seg_first, offset))) = (out.last(), scan.position()) {
            *lock(&self.cursor) = Some(Cursor {
                next_seq: r.seq + 1,
                seg_first,
                offset,
            });
        }
        Ok(out)
    }

    /// One durable record by seq.
    pub fn get(&self, seq: u64) -> io::Result<Option<Record>> {
        let segs = self.segments();
        let Some(start) = segs.iter().rposition(|s| s.first_seq <= seq) else {
            return Ok(None);
        };
        let mut scan = Scan::new(segs, start, 0, self.durable_seq());
        for r in scan.by_ref() {
            let r = r?;
            if r.seq == seq {
                return Ok(Some(r));
            }
            if r.seq > seq {
                break;
            }
        }
        Ok(None)
    }

    /// Every durable record, oldest first.
    pub fn scan_all(&self) -> impl Iterator<Item = io::Result<Record>> + Send + 'static {
        Scan::new(self.segments(), 0, 0, self.durable_seq())
    }

    /// Delete segments whose records are all at or below `applied` (which
    /// must already be durable in sled), untouched for `retention`, and for
    /// which `keep(first, last)` is false (a quarantined body inside). The
    /// segment being appended to is always kept. Returns how many went.
    pub fn retire(
        &self,
        applied: u64,
        retention: Duration,
        now: SystemTime,
        keep: &dyn Fn(u64, u64) -> bool,
    ) -> io::Result<usize> {
        let segs = self.segments();
        let mut gone = Vec::new();
        for pair in segs.windows(2) {
            let (s, last) = (&pair[0], pair[1].first_seq - 1);
            if last > applied || keep(s.first_seq, last) {
                continue;
            }
            let modified = std::fs::metadata(&s.path)?.modified()?;
            if now.duration_since(modified).unwrap_or_default() < retention {
                continue;
            }
            std::fs::remove_file(&s.path)?;
            tracing::info!(segment = %s.path.display(), "event log segment retired");
            gone.push(s.first_seq);
        }
        lock(&self.segments).retain(|s| !gone.contains(&s.first_seq));
        Ok(gone.len())
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        // The flusher thread holds the flusher; this lets it end.
        self.flusher.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records of a list of segments in order, up to a durable seq.
struct Scan {
    segs: Vec<Segment>,
    idx: usize,
    offset: u64,
    reader: Option<Reader>,
    durable: u64,
    /// (segment, offset) just past the last record returned.
    last_end: Option<(u64, u64)>,
}

impl Scan {
    fn new(segs: Vec<Segment>, idx: usize, offset: u64, durable: u64) -> Scan {
        Scan {
            segs,
            idx,
            offset,
            reader: None,
            durable,
            last_end: None,
        }
    }

    /// The segment and byte offset just past the last record returned.
    fn position(&self) -> Option<(u64, u64)> {
        self.last_end
    }
}

impl Iterator for Scan {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<io::Result<Record>> {
        loop {
            let seg_first = self.segs.get(self.idx)?.first_seq;
            if self.reader.is_none() {
                let path = &self.segs[self.idx].path;
                match Reader::open(path, std::mem::take(&mut self.offset)) {
                    Ok(r) => self.reader = Some(r),
                    // Retired while we were reading: its records were applied.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        self.idx += 1;
                        continue;
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            let reader = self.reader.as_mut()?;
            match reader.next_record() {
                Ok(Some(r)) if r.seq > self.durable => {
                    self.idx = self.segs.len();
                    return None;
                }
                Ok(Some(r)) => {
                    self.last_end = Some((seg_first, reader.offset));
                    return Some(Ok(r));
                }
                Ok(None) if self.idx + 1 < self.segs.len() => {
                    self.reader = None;
                    self.idx += 1;
                }
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
