//! The webhook event log: raw bodies by seq, the applied mark, quarantine.

use super::{keys, log, Result, SledStore};
use crate::domain::TimestampMs;
use crate::store::{EventRecord, EventState, Rows};

impl SledStore {
    pub(super) fn append_event_nowait(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        let mut next = self.append_lock.lock().unwrap_or_else(|e| e.into_inner());
        let seq = *next;
        self.events
            .insert(keys::seq(seq), log::encode_event(received.0, body))?;
        *next += 1;
        Ok(seq)
    }

    /// Highest seq applied by ingest (events after it are pending).
    pub(super) fn applied_seq(&self) -> Result<u64> {
        Ok(self.meta_get("ingest_applied")?.unwrap_or(0))
    }

    pub(super) fn set_applied_seq(&self, seq: u64) -> Result<()> {
        self.meta_put("ingest_applied", &seq)
    }

    /// Events after `after`, in order, at most `limit`.
    pub(super) fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>> {
        let applied = self.applied_seq()?;
        self.events
            .range(keys::seq(after + 1)..)
            .take(limit)
            .map(|r| {
                let (k, v) = r?;
                self.event_record(keys::seq_from(&k), &v, applied)
            })
            .collect()
    }

    fn event_record(&self, seq: u64, v: &[u8], applied: u64) -> Result<EventRecord> {
        let (received_ms, body) = log::decode_event(v);
        let state = match self.quarantine.get(keys::seq(seq))? {
            Some(r) => EventState::Quarantined(String::from_utf8_lossy(&r).into_owned()),
            None if seq <= applied => EventState::Applied,
            None => EventState::Pending,
        };
        Ok(EventRecord {
            seq,
            received_ms,
            state,
            body: body.to_vec(),
        })
    }

    pub(super) fn get_event(&self, seq: u64) -> Result<Option<EventRecord>> {
        let applied = self.applied_seq()?;
        self.events
            .get(keys::seq(seq))?
            .map(|v| self.event_record(seq, &v, applied))
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

    pub(super) fn quarantined(&self) -> Result<Vec<u64>> {
        self.quarantine
            .iter()
            .keys()
            .map(|k| Ok(keys::seq_from(&k?)))
            .collect()
    }

    pub(super) fn all_events(&self) -> Rows<'_, EventRecord> {
        let applied = self.applied_seq().unwrap_or(0);
        Box::new(self.events.iter().map(move |r| {
            let (k, v) = r?;
            self.event_record(keys::seq_from(&k), &v, applied)
        }))
    }
}
