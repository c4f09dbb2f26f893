//! Presence across processes: who views (or types in) which conversation,
//! on every process of the cluster.
//!
//! Each store keeps its own UI sessions in memory (the truth for them: a
//! change is seen by this process at once, database or not) and mirrors
//! them to the `presence` table from a task of its own: at each change, and
//! on a heartbeat that refreshes `updated_at`. A row not refreshed for
//! `STALE_AFTER` belongs to a process that died; the first process to sweep
//! deletes it. A write that changed the cluster's list adds a change-feed
//! row, so the other processes re-read the list and publish it; a close
//! removes this store's rows the same way.
//!
//! Session numbers are per process (every owner's own UI is 0), so the
//! other processes' sessions are shown under numbers of their own (high
//! bit set) that cannot be taken for one of this process's.

use super::{decode, encode, feed_write, PgResult};
use crate::bus::Bus;
use crate::update::{Update, Viewer};
use deadpool_postgres::Pool;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::Client;

/// How often a process refreshes its rows (and sweeps the dead's) ...
pub(super) const HEARTBEAT: Duration = Duration::from_secs(5);
/// ... and how old a row may get before it counts as a dead process's.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(20);
/// A close waits this long at most for its rows to go (database down: they
/// expire instead).
pub(super) const CLOSE_WITHIN: Duration = Duration::from_secs(2);

/// This store's sessions and the mirror task's wake-up.
pub(super) struct Table {
    origin: String,
    mine: Mutex<BTreeMap<u64, Viewer>>,
    /// A change not yet written to the database.
    dirty: AtomicBool,
    changed: Notify,
    /// The mirror task runs (started by the first `put` or `follow`).
    started: AtomicBool,
    /// Rows of this store may be in the table (a close removes them).
    wrote: AtomicBool,
    /// The local bus, once the store follows the feed: a sweep that removed
    /// a dead process's viewers publishes the new list on it.
    bus: OnceLock<Arc<Bus>>,
}

impl Table {
    pub(super) fn new(origin: String) -> Arc<Table> {
        Arc::new(Table {
            origin,
            mine: Mutex::default(),
            dirty: AtomicBool::new(false),
            changed: Notify::new(),
            started: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            bus: OnceLock::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Viewer>> {
        self.mine.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn get(&self, session: u64) -> Option<Viewer> {
        self.lock().get(&session).cloned()
    }

    /// Set or clear a session here; the mirror task writes it.
    pub(super) fn put(&self, session: u64, viewer: Option<Viewer>) {
        let mut m = self.lock();
        match viewer {
            Some(v) => {
                m.insert(session, v);
                self.wrote.store(true, Ordering::SeqCst);
            }
            None => {
                m.remove(&session);
            }
        }
        drop(m);
        self.dirty.store(true, Ordering::SeqCst);
        self.changed.notify_one();
    }

    pub(super) fn mine(&self) -> Vec<Viewer> {
        self.lock().values().cloned().collect()
    }

    pub(super) fn set_bus(&self, bus: Arc<Bus>) {
        let _ = self.bus.set(bus);
    }

    /// Whether the caller should start the mirror task (true once).
    pub(super) fn start(&self) -> bool {
        !self.started.swap(true, Ordering::SeqCst)
    }

    pub(super) fn wrote(&self) -> bool {
        self.wrote.load(Ordering::SeqCst)
    }
}

/// Another process's session under a number that no session of this
/// process has (those count up from 0).
fn shown_session(origin: &str, session: u64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (origin, session).hash(&mut h);
    h.finish() | 1 << 63
}

fn stale_secs() -> f64 {
    STALE_AFTER.as_secs_f64()
}

/// The other processes' live viewers, under the numbers this process shows.
async fn others(client: &Client, origin: &str) -> Result<Vec<Viewer>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT origin, viewer FROM presence WHERE origin <> $1 \
             AND updated_at > now() - make_interval(secs => $2) ORDER BY origin, session",
            &[&origin, &stale_secs()],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let mut v: Viewer = decode(r.get(1)).ok()?;
            v.session = shown_session(r.get(0), v.session);
            Some(v)
        })
        .collect())
}

/// The cluster's viewers: this process's (from memory), then the others'.
pub(super) async fn list_on(
    client: &Client,
    table: &Table,
) -> Result<Vec<Viewer>, tokio_postgres::Error> {
    let mut all = table.mine();
    all.extend(others(client, &table.origin).await?);
    Ok(all)
}

pub(super) async fn list(pool: &Pool, table: &Table) -> PgResult<Vec<Viewer>> {
    let client = pool.get().await?;
    Ok(list_on(&client, table).await?)
}

/// Mirror this store's sessions to the table until the store's runtime
/// stops: after each change, and on every heartbeat.
pub(super) async fn keep(pool: Pool, table: Arc<Table>) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = beat.tick() => {}
            _ = table.changed.notified() => {}
        }
        let dirty = table.dirty.swap(false, Ordering::SeqCst);
        match write(&pool, &table, dirty).await {
            Ok(swept) => {
                if failing {
                    tracing::info!("presence is shared again");
                }
                failing = false;
                if swept {
                    publish_local(&pool, &table).await;
                }
            }
            Err(e) => {
                // Written at the next beat; until then others see our old rows.
                if dirty {
                    table.dirty.store(true, Ordering::SeqCst);
                }
                if !failing {
                    tracing::warn!(
                        "cannot share presence: {}",
                        crate::store::StoreError::from(e)
                    );
                }
                failing = true;
            }
        }
    }
}

/// After a sweep, this process's UIs get the list without the dead.
async fn publish_local(pool: &Pool, table: &Table) {
    let Some(bus) = table.bus.get() else { return };
    if let Ok(list) = list(pool, table).await {
        bus.publish(Update::Presence(list));
    }
}

/// One mirror pass in one transaction: this store's rows as they are now
/// (refreshed), the dead's swept; a feed row if the cluster's list changed.
/// Returns whether other processes' rows were swept.
async fn write(pool: &Pool, table: &Table, dirty: bool) -> PgResult<bool> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let mine: BTreeMap<u64, Viewer> = table.lock().clone();
    let sessions: Vec<i64> = mine.keys().map(|s| super::to_i64(*s)).collect();
    let docs: Vec<serde_json::Value> = mine.values().map(encode).collect();
    let gone = tx
        .execute(
            "DELETE FROM presence WHERE origin = $1 AND NOT (session = ANY($2))",
            &[&table.origin, &sessions],
        )
        .await?;
    // `xmax = 0`: the row was inserted (ours had been swept, or is new).
    let inserted = tx
        .query(
            "INSERT INTO presence (origin, session, viewer, updated_at) \
             SELECT $1, s, v, now() FROM unnest($2::int8[], $3::jsonb[]) AS t(s, v) \
             ON CONFLICT (origin, session) DO UPDATE \
             SET viewer = EXCLUDED.viewer, updated_at = now() \
             RETURNING (xmax = 0)",
            &[&table.origin, &sessions, &docs],
        )
        .await?
        .iter()
        .any(|r| r.get::<_, bool>(0));
    // Rows another process is sweeping now are its to delete (two sweeps
    // locking the same rows in different orders would deadlock).
    let swept = tx
        .execute(
            "DELETE FROM presence WHERE (origin, session) IN (\
                 SELECT origin, session FROM presence \
                 WHERE updated_at <= now() - make_interval(secs => $1) \
                 FOR UPDATE SKIP LOCKED)",
            &[&stale_secs()],
        )
        .await?;
    if dirty || gone > 0 || inserted || swept > 0 {
        announce(&tx, &table.origin).await?;
    }
    tx.commit().await?;
    Ok(swept > 0)
}

/// A feed row saying the list changed: the followers re-read it themselves
/// (each shows its own sessions under its own numbers); the row carries the
/// whole cluster's list as of this commit, every session renumbered.
async fn announce(tx: &tokio_postgres::Transaction<'_>, origin: &str) -> PgResult<()> {
    let rows = tx
        .query(
            "SELECT origin, viewer FROM presence \
             WHERE updated_at > now() - make_interval(secs => $1) ORDER BY origin, session",
            &[&stale_secs()],
        )
        .await?;
    let mut all = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut v: Viewer = decode(r.get(1))?;
        v.session = shown_session(r.get(0), v.session);
        all.push(v);
    }
    feed_write::record(tx, origin, &[Update::Presence(all)]).await
}

/// Remove this store's rows (it closes), telling the others.
pub(super) async fn close(pool: Pool, table: Arc<Table>) -> PgResult<()> {
    // A mirror pass after this one finds nothing of ours to write back.
    table.lock().clear();
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let gone = tx
        .execute("DELETE FROM presence WHERE origin = $1", &[&table.origin])
        .await?;
    if gone > 0 {
        announce(&tx, &table.origin).await?;
    }
    tx.commit().await?;
    Ok(())
}
