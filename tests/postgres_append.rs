//! Group-committed appends: two stores (two pools, two appender tasks, as
//! two processes would have) on one database append at once; every append
//! gets its own seq, the seqs have no gap, and each body is at its seq.
//! Skipped without `DMDESK_TEST_PG_URL`.

#[path = "common/pg.rs"]
mod pg;

use dmdesk::domain::TimestampMs;
use dmdesk::store::postgres::PgStore;
use dmdesk::store::Store;
use std::collections::BTreeMap;

const PER_STORE: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_two_stores_get_distinct_gap_free_seqs() {
    let Some(db) = pg::TempDb::create("concurrent_appends_from_two_stores") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = PgStore::open(&db.url, &dir.path().join("a"), "test").unwrap();
    let b = PgStore::open(&db.url, &dir.path().join("b"), "test").unwrap();

    let bodies: Vec<(String, i64)> = (0..2 * PER_STORE)
        .map(|i| (format!("{{\"append\":{i}}}"), 1_000 + i as i64))
        .collect();
    let appends = bodies.iter().enumerate().map(|(i, (body, at))| {
        let store = if i % 2 == 0 { &a } else { &b };
        store.append_event(body.as_bytes(), TimestampMs(*at))
    });
    let seqs: Vec<u64> = futures::future::join_all(appends)
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every append commits");

    let by_seq: BTreeMap<u64, usize> = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    assert_eq!(
        by_seq.len(),
        2 * PER_STORE,
        "seqs handed out twice: {seqs:?}"
    );
    let expected: Vec<u64> = (1..=2 * PER_STORE as u64).collect();
    assert_eq!(
        by_seq.keys().copied().collect::<Vec<_>>(),
        expected,
        "seqs are not 1..=400 without gaps"
    );

    let stored: Vec<_> = a.all_events().collect::<Result<_, _>>().unwrap();
    assert_eq!(stored.len(), 2 * PER_STORE, "rows in the event log");
    for rec in &stored {
        let i = by_seq[&rec.seq];
        let (body, at) = &bodies[i];
        assert_eq!(rec.body, body.as_bytes(), "body at seq {}", rec.seq);
        assert_eq!(rec.received_ms, *at, "received_ms at seq {}", rec.seq);
    }
    drop((a, b));
}
