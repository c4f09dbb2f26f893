//! The webhook events as the store shows them: bodies from the segment log
//! (`eventlog.rs`), the applied mark and quarantine reasons in sled.

use super::eventlog::EventLog;
use super::frame::Record;
use super::{keys, log, Result, SledStore};
use crate::domain::TimestampMs;
use crate::store::{EventRecord, EventState, Rows, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> StoreError {
        StoreError::Backend(format!("event log: {e}"))
    }
}

/// How long applied segments are kept (ms); unset (MAX): never retired.
static RETENTION_MS: AtomicU64 = AtomicU64::new(u64::MAX);

/// Retire applied event-log segments once they are older than `d`. Set by
/// the process that runs the applier (`serve`, the TUI) from `[store]
/// event_retention`; one-shot commands leave segments alone.
pub fn retain_events_for(d: Duration) {
    RETENTION_MS.store(
        d.as_millis().min(u64::MAX as u128 - 1) as u64,
        Ordering::Relaxed,
    );
}

fn retention() -> Option<Duration> {
    match RETENTION_MS.load(Ordering::Relaxed) {
        u64::MAX => None,
        ms => Some(Duration::from_millis(ms)),
    }
}

/// How often the applier looks for segments to retire.
const RETIRE_EVERY: Duration = Duration::from_secs(5);

/// Applied marks written to sled and not yet known flushed, so that a
/// segment is deleted only after the mark covering it is on disk.
#[derive(Default)]
pub(super) struct AppliedMarks {
    /// (flush ticket, applied seq), oldest first.
    pending: Vec<(u64, u64)>,
    /// Highest applied seq known durable in sled.
    durable: u64,
    last_retire: Option<Instant>,
}

impl SledStore {
    /// Move events an older dmdesk kept in sled's `events` tree into the
    /// log (once; a crash half-way repeats it without duplicates).
    pub(super) fn import_sled_events(events: &sled::Tree, log: &EventLog) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut n = 0u64;
        for r in events.iter() {
            let (k, v) = r?;
            let seq = keys::seq_from(&k);
            if seq >= log.next_seq() {
                let (received, body) = log::decode_event(&v);
                log.append_at(seq, received, body)?;
                n += 1;
            }
        }
        log.sync()?;
        events.clear()?;
        events.flush()?;
        tracing::info!(
            events = n,
            "moved the webhook events out of sled into the event log"
        );
        Ok(())
    }

    pub(super) fn append_event_nowait(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        Ok(self.log.append(received.0, body)?)
    }

    pub(super) async fn append_event(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        let seq = self.log.append(received.0, body)?;
        self.log.wait(seq).await?;
        Ok(seq)
    }

    /// Highest seq applied by ingest (events after it are pending).
    pub(super) fn applied_seq(&self) -> Result<u64> {
        Ok(self.meta_get("ingest_applied")?.unwrap_or(0))
    }

    pub(super) fn set_applied_seq(&self, seq: u64) -> Result<()> {
        self.meta_put("ingest_applied", &seq)?;
        let ticket = self.flush.register();
        let mut m = self.applied_marks.lock().unwrap_or_else(|e| e.into_inner());
        m.pending.push((ticket, seq));
        let flushed = self.flush.durable_ticket();
        let covered = m.pending.partition_point(|(t, _)| *t <= flushed);
        if let Some(&(_, s)) = m.pending[..covered].last() {
            m.durable = s;
        }
        m.pending.drain(..covered);
        if m.last_retire.is_some_and(|t| t.elapsed() < RETIRE_EVERY) {
            return Ok(());
        }
        m.last_retire = Some(Instant::now());
        let durable = m.durable;
        drop(m);
        if let Some(keep_for) = retention() {
            self.retire_segments(durable, keep_for)?;
        }
        Ok(())
    }

    /// Delete applied segments past the retention, except those holding a
    /// quarantined event (kept until it is replayed).
    fn retire_segments(&self, applied_durable: u64, keep_for: Duration) -> Result<usize> {
        let keep = |first: u64, last: u64| {
            self.quarantine
                .range(keys::seq(first)..=keys::seq(last))
                .next()
                .is_some()
        };
        Ok(self
            .log
            .retire(applied_durable, keep_for, SystemTime::now(), &keep)?)
    }

    /// Events after `after`, in order, at most `limit`.
    pub(super) fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>> {
        let applied = self.applied_seq()?;
        self.log
            .read_after(after, limit)?
            .into_iter()
            .map(|r| self.event_record(r, applied))
            .collect()
    }

    fn event_record(&self, r: Record, applied: u64) -> Result<EventRecord> {
        let mut body = r.body;
        let state = match self.quarantine.get(keys::seq(r.seq))? {
            Some(why) => EventState::Quarantined(String::from_utf8_lossy(&why).into_owned()),
            // Its bytes stay in the segment until the segment is retired.
            None if self.deleted_events.contains_key(keys::seq(r.seq))? => {
                body = Vec::new();
                EventState::Deleted
            }
            None if r.seq <= applied => EventState::Applied,
            None => EventState::Pending,
        };
        Ok(EventRecord {
            seq: r.seq,
            received_ms: r.received_ms,
            state,
            body,
        })
    }

    pub(super) fn get_event(&self, seq: u64) -> Result<Option<EventRecord>> {
        let applied = self.applied_seq()?;
        self.log
            .get(seq)?
            .map(|r| self.event_record(r, applied))
            .transpose()
    }

    pub(super) fn quarantine_event(&self, seq: u64, reason: &str) -> Result<()> {
        self.quarantine.insert(keys::seq(seq), reason.as_bytes())?;
        Ok(())
    }

    pub(super) fn release_event(&self, seq: u64) -> Result<()> {
        self.quarantine.remove(keys::seq(seq))?;
        Ok(())
    }

    /// Mark a quarantined event deleted and release its segment to the
    /// retention (which then retires it like any applied one).
    pub(super) fn delete_event(&self, seq: u64) -> Result<bool> {
        let key = keys::seq(seq);
        if !self.quarantine.contains_key(key)? {
            return Ok(false);
        }
        // Deleted first: a crash between the two leaves it deleted, never
        // shown as applied.
        self.deleted_events.insert(key, &[])?;
        self.quarantine.remove(key)?;
        self.db.flush()?;
        Ok(true)
    }

    pub(super) fn quarantined(&self) -> Result<Vec<u64>> {
        self.quarantine
            .iter()
            .keys()
            .map(|k| Ok(keys::seq_from(&k?)))
            .collect()
    }

    pub(super) fn all_events(&self) -> Rows<'_, EventRecord> {
        let applied = self.applied_seq().unwrap_or(0);
        Box::new(
            self.log
                .scan_all()
                .map(move |r| self.event_record(r?, applied)),
        )
    }
}
