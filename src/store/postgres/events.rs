//! The webhook event log: raw bodies by seq, the applied mark, quarantine.
//!
//! Appends take a transaction-level advisory lock before picking the next
//! seq, so seqs become visible in order across processes: a reader that has
//! seen seq n never later finds a committed event below it.
//!
//! Appends are group-committed: one task per store writes whatever bodies
//! are waiting in one transaction, so concurrent webhooks share a commit
//! (and its WAL flush) instead of queueing one by one on the lock.

use super::{rows, to_i64, PgError, PgResult, PgStore};
use crate::domain::TimestampMs;
use crate::store::{EventRecord, EventState, Rows, StoreError};
use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

const APPEND_LOCK: i64 = 0x646d_6465_736b_0002;

/// Bounds on one group commit: enough to absorb a burst, small enough that
/// one transaction stays short.
const BATCH_BODIES: usize = 512;
const BATCH_BYTES: usize = 8 << 20;
/// Appends waiting for the appender; a sender past this waits its turn.
const QUEUE: usize = 4 * BATCH_BODIES;

struct Pending {
    body: Vec<u8>,
    received: TimestampMs,
    reply: oneshot::Sender<PgResult<u64>>,
}

/// The way into this store's appender task.
pub(super) struct Appender(mpsc::Sender<Pending>);

impl Appender {
    /// Start the appender on `runtime`; it stops when the runtime does.
    /// `origin` names the store in the rows it writes.
    pub(super) fn start(runtime: &tokio::runtime::Handle, pool: Pool, origin: String) -> Appender {
        let (tx, rx) = mpsc::channel(QUEUE);
        runtime.spawn(run(pool, rx, origin));
        Appender(tx)
    }

    /// The body's seq, once it is committed.
    pub(super) async fn append(&self, body: Vec<u8>, received: TimestampMs) -> PgResult<u64> {
        let (reply, answer) = oneshot::channel();
        let stopped = || PgError::Store(StoreError::Backend("the event appender stopped".into()));
        self.0
            .send(Pending {
                body,
                received,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<Pending>, origin: String) {
    while let Some(first) = rx.recv().await {
        let mut bytes = first.body.len();
        let mut batch = vec![first];
        while batch.len() < BATCH_BODIES && bytes < BATCH_BYTES {
            match rx.try_recv() {
                Ok(p) => {
                    bytes += p.body.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        match write(&pool, &batch, &origin).await {
            Ok(first_seq) => {
                for (p, seq) in batch.into_iter().zip(first_seq..) {
                    let _ = p.reply.send(Ok(seq));
                }
            }
            Err(e) => {
                // Nothing of the batch was committed: every waiter hears why.
                let why = StoreError::from(e).to_string();
                for p in batch {
                    let _ = p
                        .reply
                        .send(Err(PgError::Store(StoreError::Backend(why.clone()))));
                }
            }
        }
    }
}

/// Insert `batch` in one transaction at consecutive seqs, in batch order;
/// the first seq.
async fn write(pool: &Pool, batch: &[Pending], origin: &str) -> PgResult<u64> {
    let received: Vec<i64> = batch.iter().map(|p| p.received.0).collect();
    let bodies: Vec<&[u8]> = batch.iter().map(|p| p.body.as_slice()).collect();
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
        .await?;
    let last: i64 = tx
        .query_one("SELECT COALESCE(max(seq), 0) FROM events", &[])
        .await?
        .get(0);
    // Seqs are last + ordinality, so each body's seq is fixed by its place
    // in the arrays (RETURNING's order is not promised).
    let inserted = tx
        .execute(
            "INSERT INTO events (seq, received_ms, body, origin) \
             SELECT $1::bigint + u.n, u.r, u.b, $4 \
             FROM unnest($2::bigint[], $3::bytea[]) WITH ORDINALITY AS u(r, b, n)",
            &[&last, &received, &bodies, &origin],
        )
        .await?;
    if inserted != batch.len() as u64 {
        return Err(PgError::Store(StoreError::Backend(format!(
            "event append wrote {inserted} of {} rows",
            batch.len()
        ))));
    }
    tx.commit().await?;
    Ok(last as u64 + 1)
}

pub(super) async fn applied_seq(pool: &Pool) -> PgResult<u64> {
    Ok(super::query::meta_get(pool, "ingest_applied")
        .await?
        .unwrap_or(0))
}

const SELECT: &str = "SELECT e.seq, e.received_ms, e.body, q.reason \
     FROM events e LEFT JOIN quarantine q ON q.seq = e.seq";

fn record(r: &tokio_postgres::Row, applied: u64) -> EventRecord {
    let seq = r.get::<_, i64>(0) as u64;
    let state = match r.get::<_, Option<String>>(3) {
        Some(reason) => EventState::Quarantined(reason),
        // Only `delete` empties a body (Meta never sends an empty one).
        None if seq <= applied && r.get::<_, &[u8]>(2).is_empty() => EventState::Deleted,
        None if seq <= applied => EventState::Applied,
        None => EventState::Pending,
    };
    EventRecord {
        seq,
        received_ms: r.get(1),
        state,
        body: r.get(2),
    }
}

/// Events after `after`, in order, at most `limit`.
pub(super) async fn after(pool: &Pool, after: u64, limit: usize) -> PgResult<Vec<EventRecord>> {
    let applied = applied_seq(pool).await?;
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!("{SELECT} WHERE e.seq > $1 ORDER BY e.seq LIMIT $2"),
            &[&to_i64(after), &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(|r| record(r, applied)).collect())
}

pub(super) async fn get(pool: &Pool, seq: u64) -> PgResult<Option<EventRecord>> {
    let applied = applied_seq(pool).await?;
    let client = pool.get().await?;
    let row = client
        .query_opt(&format!("{SELECT} WHERE e.seq = $1"), &[&to_i64(seq)])
        .await?;
    Ok(row.map(|r| record(&r, applied)))
}

pub(super) async fn quarantine(pool: &Pool, seq: u64, reason: &str) -> PgResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO quarantine (seq, reason) VALUES ($1, $2) \
             ON CONFLICT (seq) DO UPDATE SET reason = EXCLUDED.reason",
            &[&to_i64(seq), &reason],
        )
        .await?;
    Ok(())
}

pub(super) async fn release(pool: &Pool, seq: u64) -> PgResult<()> {
    let client = pool.get().await?;
    client
        .execute("DELETE FROM quarantine WHERE seq = $1", &[&to_i64(seq)])
        .await?;
    Ok(())
}

/// Empty a quarantined event's body and release it; the row stays, so its
/// seq is never handed out again.
pub(super) async fn delete(pool: &Pool, seq: u64) -> PgResult<bool> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let released = tx
        .execute("DELETE FROM quarantine WHERE seq = $1", &[&to_i64(seq)])
        .await?;
    if released == 0 {
        return Ok(false);
    }
    tx.execute(
        "UPDATE events SET body = ''::bytea WHERE seq = $1",
        &[&to_i64(seq)],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn quarantined(pool: &Pool) -> PgResult<Vec<u64>> {
    let client = pool.get().await?;
    let rows = client
        .query("SELECT seq FROM quarantine ORDER BY seq", &[])
        .await?;
    Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
}

/// Every event in seq order, a page at a time.
pub(super) fn all(store: &PgStore) -> Rows<'_, EventRecord> {
    let applied = match store.run(|p| async move { applied_seq(&p).await }) {
        Ok(a) => a,
        Err(e) => return Box::new(std::iter::once(Err(e))),
    };
    rows::pages(store, 0i64, move |pool, after| async move {
        let client = pool.get().await?;
        let rows = client
            .query(
                &format!("{SELECT} WHERE e.seq > $1 ORDER BY e.seq LIMIT $2"),
                &[&after, &rows::PAGE],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0), record(r, applied)))
            .collect())
    })
}
