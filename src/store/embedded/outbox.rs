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

    pub(super) fn outbox_pending_records(&self) -> Result<Vec<OutboxRecord>> {
        let mut v = Vec::new();
        for r in self.outbox.iter().values() {
            let rec: OutboxRecord = decode(&r?)?;
            if rec.state == OutboxState::Pending {
                v.push(rec);
            }
        }
        Ok(v)
    }
}
