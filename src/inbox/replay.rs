//! `Request::DeleteEvent` and `Request::Replay`: `dmdesk replay`'s work on
//! the event log, where the store is.

use crate::config::Config;
use crate::db::Db;
use crate::ingest::Ingest;
use crate::request::Reply;
use std::sync::Arc;

/// Delete event `seq` unapplied, if it is quarantined (else nothing changes
/// and the reply says so: the caller's mistake, not a failure).
pub fn delete(store: &Db, seq: u64) -> Result<Reply, String> {
    let deleted = store.delete_event(seq).map_err(|e| e.to_string())?;
    Ok(Reply::EventDeleted { seq, deleted })
}

/// Apply what is pending first (the quarantined events came before it),
/// then each quarantined event again; durable before the answer.
pub fn replay(store: &Db, config: &Config) -> Result<Reply, String> {
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let ingest = Ingest::new(store.clone(), config, metrics, None);
    let run = || {
        let pending = ingest.apply_pending()?;
        let again = ingest.replay()?;
        store.flush()?;
        Ok::<_, crate::store::StoreError>(Reply::Replayed {
            applied: again.applied,
            quarantined: again.quarantined,
            pending_applied: pending.applied,
        })
    };
    run().map_err(|e| e.to_string())
}
