//! Live updates across processes: every apply writes what it published to
//! `change_feed` in its own transaction and NOTIFYs the new seq; each
//! process follows the feed on a connection of its own and publishes on its
//! local bus what other processes committed.
//!
//! The notification is only a wake-up: the follower re-reads everything
//! after the last seq it saw, so a notification lost while its connection
//! was down loses nothing (it catches up when it is back). Its own rows are
//! skipped: `Db::apply` already published them. A presence row is not
//! published as written: the follower re-reads the list (see `presence`).

use super::decode;
use super::feed_write::CHANNEL;
use super::presence::{self, Table as PresenceTable};
use crate::bus::Bus;
use crate::update::Update;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::{AsyncMessage, Client};

/// The follower connection's `application_name`.
pub const APPLICATION: &str = "dmdesk-feed";
/// Rows read per query while catching up.
const PAGE: i64 = 500;
/// Re-read even without a notification this often (a safety net) ...
const POLL: Duration = Duration::from_secs(5);
/// ... and drop rows older than this (a follower further behind reloads).
const KEEP: &str = "1 hour";
/// Waits between reconnect attempts, doubling up to the last.
const BACKOFF: [Duration; 4] = [
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

/// Follow the feed until the store's runtime stops: connect, LISTEN, catch
/// up, wait for a wake-up (or the poll), catch up again; reconnect by
/// itself when the connection fails.
pub(super) async fn follow(
    mut pg: tokio_postgres::Config,
    origin: String,
    bus: Arc<Bus>,
    down: Down,
    start: Option<Cursor>,
    presence: Arc<PresenceTable>,
) {
    // Named, so an operator (or a test) can tell it in pg_stat_activity.
    pg.application_name(APPLICATION);
    let mut last: Option<Cursor> = start;
    let mut failures = 0usize;
    loop {
        let e = match listen(
            &pg,
            &origin,
            &bus,
            &mut last,
            &mut failures,
            &down,
            &presence,
        )
        .await
        {
            Ok(never) => match never {},
            Err(e) => e,
        };
        // The feed's connection alone ending says little (an operator or a
        // pooler may end it while the database writes): the database
        // counts as down once reconnecting fails too.
        if failures > 0 {
            down.set(Some(e.clone()));
        }
        let wait = BACKOFF[failures.min(BACKOFF.len() - 1)];
        if failures == 0 {
            tracing::warn!("change feed connection lost ({e}); reconnecting");
        }
        failures += 1;
        tokio::time::sleep(wait).await;
    }
}

/// One connection's life: returns why it ended.
async fn listen(
    pg: &tokio_postgres::Config,
    origin: &str,
    bus: &Bus,
    last: &mut Option<Cursor>,
    failures: &mut usize,
    down: &Down,
    presence: &PresenceTable,
) -> Result<std::convert::Infallible, String> {
    let db = |e: tokio_postgres::Error| super::db_message(&e);
    let (client, mut conn) = pg.connect(tokio_postgres::NoTls).await.map_err(db)?;
    // The connection's driver: Ok for each notification, then the error
    // (or nothing: closed) that ended it.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(m) = futures::future::poll_fn(|cx| conn.poll_message(cx)).await {
            match m {
                Ok(AsyncMessage::Notification(_)) => {
                    let _ = tx.send(Ok(()));
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    let _stop = AbortOnDrop(driver);
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(db)?;
    // Listening before reading: a commit after this read wakes us.
    if last.is_none() {
        *last = Some(Cursor::newest(&client).await.map_err(db)?);
    }
    if *failures > 0 {
        tracing::info!("change feed connection is back; catching up");
    }
    *failures = 0;
    down.set(None);
    catch_up(&client, origin, bus, last, presence)
        .await
        .map_err(db)?;
    let mut poll = tokio::time::interval(POLL);
    poll.tick().await;
    let mut polls = 0u32;
    loop {
        tokio::select! {
            w = rx.recv() => match w {
                Some(Ok(())) => while let Ok(Ok(())) = rx.try_recv() {},
                Some(Err(e)) => return Err(db(e)),
                None => return Err("connection closed".into()),
            },
            _ = poll.tick() => {
                polls += 1;
                if polls.is_multiple_of(12) {
                    prune(&client).await.map_err(db)?;
                }
            }
        }
        catch_up(&client, origin, bus, last, presence)
            .await
            .map_err(db)?;
    }
}

/// Whether the database answers, as the follower last found it.
#[derive(Clone, Default)]
pub(super) struct Down(Arc<Mutex<Option<String>>>);

impl Down {
    pub(super) fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn set(&self, why: Option<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = why;
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where a follower stands: the last feed row and the last webhook event
/// it has seen.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cursor {
    feed: i64,
    events: i64,
}

impl Cursor {
    /// Now: everything committed so far counts as seen.
    pub(super) async fn newest(client: &Client) -> Result<Cursor, tokio_postgres::Error> {
        let r = client
            .query_one(
                "SELECT (SELECT COALESCE(max(seq), 0) FROM change_feed), \
                        (SELECT COALESCE(max(seq), 0) FROM events)",
                &[],
            )
            .await?;
        Ok(Cursor {
            feed: r.get(0),
            events: r.get(1),
        })
    }
}

/// Publish every other process's feed rows after `last`, in order (a
/// presence change as the list, read once after them), then the webhook
/// events they received. Events come second: a feed row committed after
/// an append, once seen, means that append is counted in the same pass.
async fn catch_up(
    client: &Client,
    origin: &str,
    bus: &Bus,
    last: &mut Option<Cursor>,
    presence: &PresenceTable,
) -> Result<(), tokio_postgres::Error> {
    let Some(Cursor { feed: mut seen, .. }) = *last else {
        return Ok(());
    };
    let mut viewers_changed = false;
    loop {
        let rows = client
            .query(
                "SELECT seq, origin, updates FROM change_feed \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&seen, &PAGE],
            )
            .await?;
        for r in &rows {
            let seq: i64 = r.get(0);
            if seq > seen + 1 {
                // Pruned before we read it: what is shown must reload.
                tracing::info!(
                    missed = seq - seen - 1,
                    "change feed rows expired; reloading"
                );
                bus.publish(reload());
            }
            seen = seq;
            if let Some(c) = last.as_mut() {
                c.feed = seen;
            }
            if r.get::<_, &str>(1) == origin {
                continue;
            }
            match decode::<Vec<Update>>(r.get(2)) {
                Ok(updates) => bus.publish_all(updates.into_iter().filter(|u| {
                    let p = matches!(u, Update::Presence(_));
                    viewers_changed |= p;
                    !p
                })),
                Err(_) => {
                    // A row from a newer build this one cannot read.
                    tracing::warn!(seq, "change feed row not understood; reloading");
                    bus.publish(reload());
                }
            }
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    if viewers_changed {
        bus.publish(Update::Presence(presence::list_on(client, presence).await?));
    }
    if let Some(c) = last.as_mut() {
        events_received(client, origin, bus, &mut c.events).await?;
    }
    Ok(())
}

/// Say on the bus which webhook events the other processes received after
/// `seen` (the status bar's "events today"; this process's own appends
/// were published as they were committed).
async fn events_received(
    client: &Client,
    origin: &str,
    bus: &Bus,
    seen: &mut i64,
) -> Result<(), tokio_postgres::Error> {
    loop {
        let rows = client
            .query(
                "SELECT seq, received_ms, origin IS DISTINCT FROM $2 FROM events \
                 WHERE seq > $1 ORDER BY seq LIMIT $3",
                &[&*seen, &origin, &PAGE],
            )
            .await?;
        for r in &rows {
            *seen = r.get(0);
            if r.get::<_, bool>(2) {
                bus.publish(Update::EventReceived {
                    at: crate::domain::TimestampMs(r.get(1)),
                });
            }
        }
        if (rows.len() as i64) < PAGE {
            return Ok(());
        }
    }
}

/// "Reload what is shown" (the UI reloads its list on a digest with more).
fn reload() -> Update {
    Update::Digest {
        events: 0,
        inbound: 0,
        changed: Vec::new(),
        more: true,
        unread_conversations: None,
    }
}

async fn prune(client: &Client) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            &format!("DELETE FROM change_feed WHERE created < now() - interval '{KEEP}'"),
            &[],
        )
        .await?;
    Ok(())
}

/// A name for one open store, unique across processes (its feed rows).
pub(super) fn origin_id() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}
