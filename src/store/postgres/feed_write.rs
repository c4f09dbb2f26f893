//! Writing the change feed (read by src/store/postgres/feed.rs): a row of
//! what a transaction publishes, and the NOTIFY that wakes the followers.

use super::{encode, PgResult};
use crate::update::Update;
use tokio_postgres::Transaction;

/// The NOTIFY channel.
pub(super) const CHANNEL: &str = "dmdesk_changes";
/// Serialises feed appends so seqs become visible in order across processes
/// (a reader that saw seq n never later finds a committed row below it).
const FEED_LOCK: i64 = 0x646d_6465_736b_0004;

/// Record what this apply publishes, at the end of its transaction (the
/// lock is held only from here to the commit).
pub(super) async fn record(tx: &Transaction<'_>, origin: &str, updates: &[Update]) -> PgResult<()> {
    if updates.is_empty() {
        return Ok(());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK])
        .await?;
    tx.execute(
        "WITH n AS (INSERT INTO change_feed (seq, origin, updates) \
             SELECT COALESCE(max(seq), 0) + 1, $1, $2 FROM change_feed RETURNING seq) \
         SELECT pg_notify($3, seq::text) FROM n",
        &[&origin, &encode(&updates), &CHANNEL],
    )
    .await?;
    Ok(())
}
