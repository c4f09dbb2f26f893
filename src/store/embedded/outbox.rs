//! Outbox queries. The outbox is written only by `apply` (see `outbound`).

use super::{decode, Result, SledStore};
use crate::store::{OutboxRecord, OutboxState};

impl SledStore {
    pub(super) fn outbox_record(&self, id: &str) -> Result<Option<OutboxRecord>> {
        self.outbox
            .get(id.as_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Every record, or only the pending ones.
    pub(super) fn outbox_records(&self, pending_only: bool) -> Result<Vec<OutboxRecord>> {
        let mut v = Vec::new();
        for r in self.outbox.iter().values() {
            let rec: OutboxRecord = decode(&r?)?;
            if !pending_only || rec.state == OutboxState::Pending {
                v.push(rec);
            }
        }
        Ok(v)
    }
}
