//! The sled backend's webhook event log: framing on disk (torn tail, bad
//! checksum, segment rollover), fdatasync before acknowledgement through a
//! recording file, restart, retirement, and the import of an older store.

mod common;

use common::{text_body, Harness};
use dmdesk::store::embedded::eventlog::EventLog;
use dmdesk::store::embedded::flusher::{Flusher, LogFile, SegmentFiles};
use dmdesk::store::embedded::frame::{self, Decoded};
use dmdesk::store::embedded::segment;
use dmdesk::store::EventState;
use std::io;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime};

fn open(dir: &Path, segment_bytes: u64) -> EventLog {
    EventLog::open(dir, 0o600, segment_bytes, 1).expect("open log")
}

fn body(i: u64) -> Vec<u8> {
    format!(
        "{{\"object\":\"page\",\"n\":{i},\"pad\":\"{}\"}}",
        "x".repeat((i % 7) as usize * 10)
    )
    .into_bytes()
}

/// Append `n` bodies and wait until they are durable.
fn fill(log: &EventLog, n: u64) -> Vec<u64> {
    let seqs: Vec<u64> = (0..n)
        .map(|_| {
            let i = log.next_seq();
            log.append(i as i64, &body(i)).expect("append")
        })
        .collect();
    log.sync().expect("sync");
    seqs
}

fn all_seqs(log: &EventLog) -> Vec<u64> {
    log.scan_all().map(|r| r.expect("read").seq).collect()
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    segment::list(dir)
        .unwrap()
        .last()
        .expect("a segment")
        .path
        .clone()
}

#[test]
fn a_torn_tail_is_cut_reported_and_the_log_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = open(&dir, 1 << 20);
    assert_eq!(fill(&log, 5), vec![1, 2, 3, 4, 5]);
    drop(log);
    // A power cut in the middle of the sixth record's write.
    let mut rec = Vec::new();
    frame::encode(&mut rec, 6, 6, &body(6));
    let path = last_segment(&dir);
    let whole = std::fs::metadata(&path).unwrap().len();
    let mut data = std::fs::read(&path).unwrap();
    data.extend_from_slice(&rec[..rec.len() / 2]);
    std::fs::write(&path, &data).unwrap();

    let log = open(&dir, 1 << 20);
    let d = log.damage();
    assert_eq!(d.len(), 1, "one damaged segment reported: {d:?}");
    assert_eq!(d[0].offset, whole);
    assert_eq!(d[0].cut_bytes, (rec.len() / 2) as u64);
    assert!(d[0].what.contains("torn"), "{}", d[0]);
    assert_eq!(std::fs::read(&d[0].kept_in).unwrap(), &rec[..rec.len() / 2]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
    assert_eq!(all_seqs(&log), vec![1, 2, 3, 4, 5]);
    // The next record follows the last complete one and reads back.
    assert_eq!(fill(&log, 1), vec![6]);
    assert_eq!(log.get(6).unwrap().unwrap().body, body(6));
    drop(log);
    let log = open(&dir, 1 << 20);
    assert!(
        log.damage().is_empty(),
        "clean after the cut: {:?}",
        log.damage()
    );
    assert_eq!(all_seqs(&log), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_bad_checksum_cuts_from_that_record_and_keeps_the_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = open(&dir, 1 << 20);
    fill(&log, 4);
    drop(log);
    let path = last_segment(&dir);
    let mut data = std::fs::read(&path).unwrap();
    let len = data.len();
    // Flip one byte of the last record's body.
    data[len - 2] ^= 0x20;
    std::fs::write(&path, &data).unwrap();

    let log = open(&dir, 1 << 20);
    let d = log.damage();
    assert_eq!(d.len(), 1);
    assert!(d[0].what.contains("checksum"), "{}", d[0]);
    assert_eq!(all_seqs(&log), vec![1, 2, 3]);
    assert_eq!(
        std::fs::read(&d[0].kept_in).unwrap().len() as u64,
        d[0].cut_bytes
    );
    // The cut record's seq is handed out again: it was never complete.
    assert_eq!(fill(&log, 1), vec![4]);
}

#[test]
fn corruption_in_an_older_segment_keeps_the_segments_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = open(&dir, 200);
    fill(&log, 12);
    drop(log);
    let segs = segment::list(&dir).unwrap();
    assert!(segs.len() >= 3, "small segments roll over: {segs:?}");
    // Overwrite the first segment's second record header with junk.
    let mut data = std::fs::read(&segs[0].path).unwrap();
    let Decoded::Record(_, n) = frame::decode(&data) else {
        panic!("first record readable")
    };
    data[n] = 0xff;
    data[n + 1] = 0xff;
    std::fs::write(&segs[0].path, &data).unwrap();

    let log = open(&dir, 200);
    assert_eq!(log.damage().len(), 1);
    let seqs = all_seqs(&log);
    assert_eq!(seqs[0], 1);
    let lost: Vec<u64> = (2..segs[1].first_seq).collect();
    let want: Vec<u64> = (1..=12).filter(|s| !lost.contains(s)).collect();
    assert_eq!(seqs, want, "only the damaged segment's tail is gone");
    assert_eq!(fill(&log, 1), vec![13]);
}

#[test]
fn records_roll_over_segments_and_read_back_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = open(&dir, 300);
    let mut want = Vec::new();
    for i in 1..=40u64 {
        // Every tenth record is larger than a whole segment.
        let b = if i % 10 == 0 {
            vec![b'z'; 700]
        } else {
            body(i)
        };
        assert_eq!(log.append(i as i64, &b).unwrap(), i);
        want.push(b);
    }
    log.sync().unwrap();
    let segs = segment::list(&dir).unwrap();
    assert!(segs.len() > 5, "rolled over: {} segments", segs.len());
    for s in &segs {
        let size = std::fs::metadata(&s.path).unwrap().len();
        let Decoded::Record(first, n) = frame::decode(&std::fs::read(&s.path).unwrap()) else {
            panic!("{} starts with a record", s.path.display())
        };
        assert_eq!(
            first.seq, s.first_seq,
            "a segment is named for its first seq"
        );
        assert!(
            size <= 300 || size == n as u64,
            "only a lone oversized record exceeds a segment"
        );
    }
    // The applier's reads in small batches cross every boundary.
    let mut after = 0;
    let mut got = Vec::new();
    loop {
        let batch = log.read_after(after, 3).unwrap();
        let Some(last) = batch.last() else { break };
        after = last.seq;
        got.extend(batch);
    }
    assert_eq!(
        got.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    assert_eq!(got.into_iter().map(|r| r.body).collect::<Vec<_>>(), want);
    // A read from the middle (no cursor) finds its segment.
    assert_eq!(
        log.read_after(21, 2)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        vec![22, 23]
    );
    drop(log);
    let log = open(&dir, 300);
    assert!(log.damage().is_empty());
    assert_eq!(fill(&log, 1), vec![41]);
    assert_eq!(all_seqs(&log), (1..=41).collect::<Vec<_>>());
}

#[test]
fn retirement_keeps_the_unapplied_the_recent_the_kept_and_the_active() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = open(&dir, 200);
    fill(&log, 20);
    let segs = segment::list(&dir).unwrap();
    assert!(segs.len() >= 4);
    let now = SystemTime::now();
    // Within the retention nothing goes.
    assert_eq!(
        log.retire(20, Duration::from_secs(3600), now, &|_, _| false)
            .unwrap(),
        0
    );
    // Past it: the segments wholly applied, except one kept (quarantine).
    let applied = segs[2].first_seq - 1; // the end of the second segment
    let kept = segs[1].first_seq;
    let gone = log
        .retire(
            applied,
            Duration::ZERO,
            now + Duration::from_secs(1),
            &|first, _| first == kept,
        )
        .unwrap();
    assert_eq!(
        gone, 1,
        "only the first segment is applied, old and not kept"
    );
    let left: Vec<u64> = segment::list(&dir)
        .unwrap()
        .iter()
        .map(|s| s.first_seq)
        .collect();
    assert_eq!(left[0], kept);
    assert_eq!(all_seqs(&log)[0], kept);
    assert!(log.get(1).unwrap().is_none());
    // Everything applied: all but the active segment go.
    log.retire(20, Duration::ZERO, now + Duration::from_secs(1), &|_, _| {
        false
    })
    .unwrap();
    assert_eq!(segment::list(&dir).unwrap().len(), 1);
    drop(log);
    // Reopened with the applied mark, seqs continue (never reused).
    let log = EventLog::open(&dir, 0o600, 200, 21).unwrap();
    assert_eq!(fill(&log, 1), vec![21]);
}

// ---- fdatasync before acknowledgement, through a recording file ----------

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Create(u64),
    /// Seqs of the complete records in one write.
    Write(Vec<u64>),
    Sync,
    Ack(u64),
}

type Ops = Arc<Mutex<Vec<Op>>>;

struct RecFile {
    ops: Ops,
    /// The first sync blocks here until the test lets it go.
    gate: Option<mpsc::Receiver<()>>,
    started: mpsc::Sender<()>,
    fail_sync: bool,
}

impl LogFile for RecFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut seqs = Vec::new();
        let mut rest = buf;
        while let Decoded::Record(r, n) = frame::decode(rest) {
            seqs.push(r.seq);
            rest = &rest[n..];
        }
        assert!(rest.is_empty(), "writes hold whole records");
        self.ops.lock().unwrap().push(Op::Write(seqs));
        Ok(())
    }
    fn sync_data(&mut self) -> io::Result<()> {
        let _ = self.started.send(());
        if let Some(g) = self.gate.take() {
            g.recv().expect("gate");
        }
        if self.fail_sync {
            return Err(io::Error::other("EIO (simulated)"));
        }
        self.ops.lock().unwrap().push(Op::Sync);
        Ok(())
    }
}

struct RecFiles(Option<RecFile>);

impl SegmentFiles for RecFiles {
    fn create(&mut self, first_seq: u64) -> io::Result<Box<dyn LogFile>> {
        let f = self.0.take().expect("one segment in this test");
        f.ops.lock().unwrap().push(Op::Create(first_seq));
        Ok(Box::new(f))
    }
}

fn recording(fail_sync: bool) -> (Arc<Flusher>, Ops, mpsc::Sender<()>, mpsc::Receiver<()>) {
    let ops: Ops = Arc::default();
    let (open_gate, gate) = mpsc::channel();
    let (started_tx, started) = mpsc::channel();
    let file = RecFile {
        ops: ops.clone(),
        gate: Some(gate),
        started: started_tx,
        fail_sync,
    };
    let f = Flusher::start(
        1,
        0,
        None,
        Box::new(RecFiles(Some(file))),
        1 << 30,
        Box::new(|_| {}),
    );
    (f, ops, open_gate, started)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ack_follows_the_fdatasync_that_covers_it_and_writers_share_syncs() {
    let (f, ops, open_gate, started) = recording(false);
    let ack = |f: Arc<Flusher>, ops: Ops, seq: u64| async move {
        f.wait(seq).await.expect("durable");
        ops.lock().unwrap().push(Op::Ack(seq));
    };
    let first = f.append(0, b"first").unwrap();
    let mut tasks = vec![tokio::spawn(ack(f.clone(), ops.clone(), first))];
    // The first sync is in flight (and held): everything now queued must
    // wait for a second one, which starts only after the first returns.
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("awaited: the first sync to start");
    for i in 0..63 {
        let seq = f.append(i, format!("body {i}").as_bytes()).unwrap();
        tasks.push(tokio::spawn(ack(f.clone(), ops.clone(), seq)));
    }
    assert!(
        !ops.lock().unwrap().iter().any(|o| matches!(o, Op::Ack(_))),
        "nothing acknowledged while its sync is held"
    );
    open_gate.send(()).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let ops = ops.lock().unwrap().clone();
    assert_eq!(ops[0], Op::Create(1));
    assert_eq!(
        ops.iter().filter(|o| **o == Op::Sync).count(),
        2,
        "64 writers, two syncs: {ops:?}"
    );
    for (i, op) in ops.iter().enumerate() {
        let Op::Ack(seq) = op else { continue };
        let w = ops[..i]
            .iter()
            .position(|o| matches!(o, Op::Write(s) if s.contains(seq)))
            .unwrap_or_else(|| panic!("seq {seq} acknowledged before it was written: {ops:?}"));
        assert!(
            ops[w..i].contains(&Op::Sync),
            "seq {seq} acknowledged before a sync after its write: {ops:?}"
        );
    }
    assert_eq!(ops.iter().filter(|o| matches!(o, Op::Ack(_))).count(), 64);
}

#[tokio::test]
async fn a_failed_fdatasync_acknowledges_nothing_and_stops_the_log() {
    let (f, ops, open_gate, _started) = recording(true);
    let seq = f.append(0, b"x").unwrap();
    open_gate.send(()).unwrap();
    let err = f.wait(seq).await.expect_err("not durable");
    assert!(err.to_string().contains("EIO"), "{err}");
    assert!(f.append(0, b"y").is_err(), "no appends after a failed sync");
    assert!(!ops.lock().unwrap().contains(&Op::Sync));
}

// ---- through the store ------------------------------------------------------

#[tokio::test]
async fn a_restart_applies_what_was_logged_and_not_applied() {
    let h = Harness::new();
    for i in 0..3 {
        let b = text_body("P1", "U1", &format!("m_{i}"), 1_700_000_000_000 + i, "hi");
        assert_eq!(h.post(&b).await, 200);
    }
    assert_eq!(h.store.applied_seq().unwrap(), 0);
    let Harness {
        dir,
        config,
        store,
        app,
        ingest,
        ..
    } = h;
    // Every holder of the store goes, as when the process ends.
    drop((store, app, ingest));
    let store = dmdesk::db::Db::open(&config.store.path, 16, "test").unwrap();
    let h = Harness::with(dir, config, store);
    assert_eq!(h.apply().applied, 3);
    assert_eq!(h.store.applied_seq().unwrap(), 3);
    for i in 0..3 {
        assert!(h
            .store
            .message(&dmdesk::domain::Mid::from(format!("m_{i}").as_str()))
            .unwrap()
            .is_some());
    }
    let states: Vec<EventState> = h.store.all_events().map(|e| e.unwrap().state).collect();
    assert_eq!(states, vec![EventState::Applied; 3]);
    // And the next body gets the next seq.
    assert_eq!(h.post(&text_body("P1", "U1", "m_3", 1, "x")).await, 200);
    assert_eq!(h.store.all_events().last().unwrap().unwrap().seq, 4);
}

#[tokio::test]
async fn events_an_older_store_kept_in_sled_move_into_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store");
    {
        let db = sled::open(&path).unwrap();
        let events = db.open_tree("events").unwrap();
        for seq in [3u64, 4, 7] {
            let body = text_body("P1", "U1", &format!("m_{seq}"), 1_700_000_000_000, "old");
            events
                .insert(
                    seq.to_be_bytes(),
                    dmdesk::store::embedded::log::encode_event(seq as i64 * 10, &body),
                )
                .unwrap();
        }
        db.flush().unwrap();
    }
    let store = dmdesk::db::Db::open(&path, 16, "test").unwrap();
    let evs: Vec<_> = store.all_events().map(|e| e.unwrap()).collect();
    assert_eq!(evs.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 7]);
    assert_eq!(evs[2].received_ms, 70);
    assert!(String::from_utf8_lossy(&evs[0].body).contains("m_3"));
    let n = store
        .append_event(b"{}", dmdesk::domain::TimestampMs(1))
        .await
        .unwrap();
    assert_eq!(n, 8, "new events follow the imported ones");
    drop(store);
    let again = dmdesk::db::Db::open(&path, 16, "test").unwrap();
    assert_eq!(again.all_events().count(), 4, "imported once, not twice");
}

#[tokio::test]
async fn doctor_reports_a_cut_tail_and_quarantined_events() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store");
    let store = dmdesk::db::Db::open(&path, 16, "test").unwrap();
    assert!(
        dmdesk::inbox::doctor::check_event_log(&store).is_empty(),
        "clean store"
    );
    for i in 0..3 {
        let b = text_body("P1", "U1", &format!("m_{i}"), 1_700_000_000_000 + i, "hi");
        store
            .append_event(&b, dmdesk::domain::TimestampMs(i))
            .await
            .unwrap();
    }
    store.quarantine_event(2, "test: cannot apply").unwrap();
    drop(store);
    // A torn write at the end of the log, as a power cut leaves it.
    let seg = last_segment(&path.join(dmdesk::store::embedded::EVENT_LOG_DIR));
    let mut data = std::fs::read(&seg).unwrap();
    let mut rec = Vec::new();
    frame::encode(&mut rec, 4, 4, &body(4));
    data.extend_from_slice(&rec[..rec.len() / 2]);
    std::fs::write(&seg, &data).unwrap();

    let store = dmdesk::db::Db::open(&path, 16, "test").unwrap();
    let found: Vec<String> = dmdesk::inbox::doctor::check_event_log(&store)
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("fix: event log: a damaged tail")
            && found[0].contains(&format!("({} bytes)", rec.len() / 2))
            && found[0].contains(".damaged-at-"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("note: 1 quarantined event(s) (seq 2)"),
        "{}",
        found[1]
    );
}
