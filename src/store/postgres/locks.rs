//! Job locks across processes: a session-level advisory lock held by a
//! connection of its own, so it lasts exactly as long as the holder (a
//! process that dies, even by SIGKILL, loses its connection and with it the
//! lock, and a waiting process takes over).

use super::PgResult;
use crate::store::JobGuard;
use sha2::{Digest, Sha256};

/// The first half of the two-key advisory lock: job locks apart from the
/// per-conversation and log locks (which use the one-key form).
const CLASS: i32 = 0x646d_6a62; // "dmjb"

/// The connection's `application_name` (pg_stat_activity shows holders).
const APPLICATION: &str = "dmdesk-job";

struct Held {
    _client: tokio_postgres::Client,
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
    // Ends when the client is dropped (the lock goes with the session).
    tokio::spawn(async move {
        let _ = conn.await;
    });
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
    Ok(got.then(|| Box::new(Held { _client: client }) as JobGuard))
}
