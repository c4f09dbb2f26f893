//! Job locks across processes: a session-level advisory lock held by a
//! connection of its own, so it lasts exactly as long as the holder (a
//! process that dies, even by SIGKILL, loses its connection and with it the
//! lock, and a waiting process takes over).
//!
//! The other way round, a holder that lives on while its lock connection is
//! cut (the server restarted, the backend was terminated, the network went)
//! has lost the lock, and another process may hold it already: a watcher
//! notices (the connection ends, or a periodic check fails) and tells the
//! holder through [`JobGuard::lost`], so it stops its job instead of going on
//! unguarded.

use super::PgResult;
use crate::store::JobGuard;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::Client;
use tokio_util::sync::{CancellationToken, DropGuard};

/// The first half of the two-key advisory lock: job locks apart from the
/// per-conversation and log locks (which use the one-key form).
const CLASS: i32 = 0x646d_6a62; // "dmjb"

/// The connection's `application_name` (pg_stat_activity shows holders).
const APPLICATION: &str = "dmdesk-job";

/// How often a held lock is checked on its connection (a cut that closes
/// the connection is noticed at once; one that leaves it silent, here) ...
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// ... and how long a check may take before the lock counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the guard keeps: the connection (the lock's session), and the
/// watcher's stop, fired first when the guard drops (fields drop in order).
struct Held {
    _stop: DropGuard,
    _client: Arc<Client>,
}

fn key(name: &str) -> i32 {
    let h = Sha256::digest(name.as_bytes());
    i32::from_be_bytes(h[..4].try_into().expect("4 bytes"))
}

pub(super) async fn take(
    mut pg: tokio_postgres::Config,
    name: String,
    wait: bool,
) -> PgResult<Option<JobGuard>> {
    pg.application_name(APPLICATION);
    let (client, conn) = pg.connect(tokio_postgres::NoTls).await?;
    // Ends when the client is dropped (the lock goes with the session), or
    // when the connection fails (the lock is lost).
    let ended = tokio::spawn(conn);
    let k = key(&name);
    let got = if wait {
        client
            .execute("SELECT pg_advisory_lock($1, $2)", &[&CLASS, &k])
            .await?;
        true
    } else {
        client
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&CLASS, &k])
            .await?
            .get(0)
    };
    tracing::debug!(name, got, "job lock");
    if !got {
        return Ok(None);
    }
    let client = Arc::new(client);
    let stop = CancellationToken::new();
    let (tx, rx) = watch::channel(None);
    tokio::spawn(watch(
        name,
        k,
        Arc::downgrade(&client),
        ended,
        stop.clone(),
        tx,
    ));
    let held = Held {
        _stop: stop.drop_guard(),
        _client: client,
    };
    Ok(Some(JobGuard::new(held, rx)))
}

/// Watch a held lock until its guard drops; say on `lost` why it went
/// away if it does first.
async fn watch(
    name: String,
    k: i32,
    client: Weak<Client>,
    mut ended: JoinHandle<Result<(), tokio_postgres::Error>>,
    stop: CancellationToken,
    lost: watch::Sender<Option<String>>,
) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is now: just taken
    let why = loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => return, // released by its holder
            r = &mut ended => break match r {
                Ok(Ok(())) => "its database connection was closed".to_string(),
                Ok(Err(e)) => format!("its database connection failed ({})", super::db_message(&e)),
                Err(_) => "its database connection's task ended".to_string(),
            },
            _ = tick.tick() => {
                let Some(c) = client.upgrade() else { return };
                let check = tokio::time::timeout(CHECK_TIMEOUT, still_held(&c, k));
                let r = tokio::select! {
                    _ = stop.cancelled() => return,
                    r = check => r,
                };
                match r {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => break "the database no longer shows it held".to_string(),
                    Ok(Err(e)) => break format!("its database connection failed ({})", super::db_message(&e)),
                    Err(_) => break format!(
                        "its database connection did not answer within {} s",
                        CHECK_TIMEOUT.as_secs()
                    ),
                }
            }
        }
    };
    let why = format!("the job lock {name:?} was lost: {why}");
    tracing::warn!(lock = %name, "{why}");
    let _ = lost.send(Some(why));
}

/// Whether this session holds the lock (pg_locks shows a two-key advisory
/// lock as classid = first key, objid = second, objsubid = 2).
async fn still_held(c: &Client, k: i32) -> Result<bool, tokio_postgres::Error> {
    let (class, obj) = (i64::from(CLASS as u32), i64::from(k as u32));
    c.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
         AND pid = pg_backend_pid() AND granted AND objsubid = 2 \
         AND classid::int8 = $1 AND objid::int8 = $2)",
        &[&class, &obj],
    )
    .await
    .map(|r| r.get(0))
}
