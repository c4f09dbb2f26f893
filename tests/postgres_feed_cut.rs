//! The change feed's own connection ended by an operator (the database
//! still writing) is not the database being down: the feed reconnects and
//! the store never reports itself unavailable (found in the team trial,
//! where the status bar said "store unavailable" and webhooks were still
//! stored). Skipped without `DMDESK_TEST_PG_URL` (see tests/common/pg.rs).

#[path = "common/pg.rs"]
mod pg;

use dmdesk::bus::Bus;
use dmdesk::db::Db;
use dmdesk::store::postgres::PgStore;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_feed_connection_is_not_a_database_down() {
    let Some(db) = pg::TempDb::create("feed_cut") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = PgStore::open(&db.url, dir.path(), "test").expect("open");
    let bus = Bus::new();
    store.follow(bus.clone());
    let store = Db::new(store, bus);
    let (client, conn) = tokio_postgres::connect(db.url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let feed_pid = || async {
        let rows = client
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
                 AND datname = current_database()",
                &[&"dmdesk-feed"],
            )
            .await
            .unwrap();
        rows.first().map(|r| r.get::<_, i32>(0))
    };
    // Wait for the feed to be connected, then end its connection.
    let limit = Instant::now() + Duration::from_secs(10);
    let first = loop {
        if let Some(pid) = feed_pid().await {
            break pid;
        }
        assert!(Instant::now() < limit, "the feed never connected in 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    client
        .execute("SELECT pg_terminate_backend($1)", &[&first])
        .await
        .unwrap();
    // Until its new connection shows, the store is never reported down.
    let limit = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(
            store.health(),
            Ok(()),
            "reported down while the database writes"
        );
        match feed_pid().await {
            Some(pid) if pid != first => break,
            _ => {}
        }
        assert!(Instant::now() < limit, "the feed did not reconnect in 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.health(), Ok(()));
}
