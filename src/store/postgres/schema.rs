//! The schema: versioned migrations (refinery, embedded from `migrations/`)
//! applied at open, and what `dmdesk doctor` reports about the database.

use super::{PgError, PgResult};
use deadpool_postgres::Pool;

mod embedded {
    refinery::embed_migrations!("src/store/postgres/migrations");
}

/// Any fixed number: the lock that keeps two processes from migrating at once.
const MIGRATION_LOCK: i64 = 0x646d_6465_736b_0001;

/// Bring the schema up to date on a connection of its own, under a
/// session-level advisory lock so concurrent starts migrate once.
pub(super) async fn migrate(pg: &tokio_postgres::Config) -> PgResult<()> {
    migrate_to(pg, None).await
}

/// Up to `target` (None: the newest); tests build an older schema with it.
pub(super) async fn migrate_to(pg: &tokio_postgres::Config, target: Option<u32>) -> PgResult<()> {
    let (mut client, conn) = pg.connect(tokio_postgres::NoTls).await?;
    let conn = tokio::spawn(conn);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let target = target.map_or(refinery::Target::Latest, refinery::Target::Version);
    let run = embedded::migrations::runner()
        .set_target(target)
        .set_abort_divergent(true)
        .run_async(&mut client)
        .await;
    drop(client);
    let _ = conn.await;
    run.map(|_| ()).map_err(|e| {
        PgError::Store(crate::store::StoreError::Backend(format!(
            "database schema migration failed: {e}"
        )))
    })
}

/// The newest migration this build carries.
fn latest_version() -> u32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version())
        .max()
        .unwrap_or(0)
}

/// What `dmdesk doctor` shows about the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// The server's `server_version` (e.g. "15.4").
    pub server_version: String,
    pub database: String,
    /// The newest migration applied to this database.
    pub schema_version: u32,
    /// The newest migration this build knows.
    pub schema_latest: u32,
}

pub(super) async fn describe(pool: &Pool) -> PgResult<DatabaseInfo> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_database(), \
             (SELECT COALESCE(max(version), 0) FROM refinery_schema_history)",
            &[],
        )
        .await?;
    Ok(DatabaseInfo {
        server_version: row.get(0),
        database: row.get(1),
        schema_version: row.get::<_, i32>(2) as u32,
        schema_latest: latest_version(),
    })
}
