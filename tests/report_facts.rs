//! The report from the store's report facts (recorded by apply, with their
//! durations) against the report from the whole history: the same
//! figures, with status changes applied out of time order, resolutions
//! opened long before the period, and a store built before facts existed.

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/raw_sled.rs"]
mod raw_sled;

use dmdesk::bus::Bus;
use dmdesk::change::Change;
use dmdesk::clock::Zone;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, ConvStatus, Message, Mid, Platform, TimestampMs};
use dmdesk::inbox::report::from_store;
use dmdesk::report::{Builder, Params, Report, DEFAULT_SINCE_MS};
use dmdesk::store::postgres::PgStore;
use dmdesk::store::Store;
use std::time::Duration;

const MIN: i64 = 60_000;
const DAY: i64 = TimestampMs::DAY;

fn inbound(conv: &ConvKey, mid: &str, at: TimestampMs) -> Change {
    let mut m = Message::inbound(conv.clone(), Mid::new(mid), at);
    m.text = Some("hello".into());
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: false,
    }
}

fn reply(conv: &ConvKey, id: &str, by: &str, at: TimestampMs) -> Change {
    Change::OutboundQueued {
        id: id.into(),
        conv: conv.clone(),
        text: "on it".into(),
        tag: None,
        agent: Some(by.into()),
        campaign: None,
        at,
    }
}

/// Meta accepted the reply: only then does it answer the customer.
fn sent(id: &str) -> Change {
    Change::OutboundSent {
        id: id.into(),
        mid: Mid::new(format!("m_{id}")),
    }
}

fn status(conv: &ConvKey, s: ConvStatus, by: &str, at: TimestampMs) -> Change {
    Change::Status {
        conv: conv.clone(),
        status: s,
        snooze_until: None,
        by: Some(by.into()),
        at,
    }
}

/// A history over the last 50 days, one change per apply (as webhooks and
/// agents make them); some status changes carry a time before what was
/// already recorded.
fn fill(store: &Db, now: TimestampMs) {
    let t = |d: i64, m: i64| now.plus_ms(-d * DAY + m * MIN);
    let a = ConvKey::new(Platform::Messenger, "P1", "A");
    let b = ConvKey::new(Platform::Messenger, "P1", "B");
    let c = ConvKey::new(Platform::Instagram, "IG1", "C");
    let d = ConvKey::new(Platform::Instagram, "IG1", "D");
    let changes = vec![
        // A: opened 45 days ago, resolved 2 days ago: older than the old
        // way's 30-day context, timed now.
        inbound(&a, "a1", t(45, 0)),
        reply(&a, "oa1", "alice", t(45, 20)),
        sent("oa1"),
        status(&a, ConvStatus::Resolved, "alice", t(2, 0)),
        // B: opened 3 days ago, resolved 60 min later; then a reopen that
        // happened 30 min after the opening arrives late: in time order
        // the resolution took 30 min.
        inbound(&b, "b1", t(3, 0)),
        reply(&b, "ob1", "bob", t(3, 10)),
        sent("ob1"),
        status(&b, ConvStatus::Resolved, "bob", t(3, 60)),
        status(&b, ConvStatus::Open, "bob", t(3, 30)),
        // C: opened, answered, resolved, opened again by the customer,
        // answered outside the window, resolved (two resolution times).
        inbound(&c, "c1", t(10, 0)),
        reply(&c, "oc1", "carol", t(10, 5)),
        sent("oc1"),
        status(&c, ConvStatus::Resolved, "carol", t(10, 90)),
        inbound(&c, "c2", t(5, 0)),
        reply(&c, "oc2", "alice", t(3, 0)),
        sent("oc2"),
        status(&c, ConvStatus::Resolved, "alice", t(1, 0)),
        // D: still waiting today.
        inbound(&d, "d1", t(0, -30)),
    ];
    for ch in changes {
        store.apply(&[ch]).unwrap();
    }
}

/// The report from every history event from the first on (the old way
/// with no context limit): what the facts must give.
fn from_whole_history(store: &dyn Store, since_ms: i64, now: TimestampMs) -> Report {
    let history_start = store
        .history_since(TimestampMs(i64::MIN))
        .next()
        .transpose()
        .unwrap()
        .map(|e| e.at);
    let mut b = Builder::new(Params {
        now,
        since_ms,
        zone: Zone::Fixed(3600),
        history_start,
    });
    for c in store.all_conversations() {
        b.add_conversation(&c.unwrap());
    }
    for e in store.history_since(TimestampMs(i64::MIN)) {
        b.add(&e.unwrap());
    }
    b.finish()
}

/// Everything but the notes' wording of the context.
fn figures(mut r: Report) -> Report {
    r.notes.clear();
    r
}

fn check_figures(store: &Db, now: TimestampMs) {
    assert!(
        store.report_facts(TimestampMs(0)).unwrap().is_some(),
        "the store reads report facts"
    );
    for since in [DEFAULT_SINCE_MS, 30 * DAY, 60 * DAY] {
        let r = from_store(&**store, since, now, Zone::Fixed(3600)).unwrap();
        assert_eq!(
            figures(r.clone()),
            figures(from_whole_history(&**store, since, now)),
            "since {since}"
        );
        if since == DEFAULT_SINCE_MS {
            // A (45 days), B (30 min, not 60), C's second (4 days).
            let mut took: Vec<i64> = vec![43 * DAY, 30 * MIN, 4 * DAY];
            took.sort();
            assert_eq!(r.totals.resolved, 3);
            assert_eq!(r.totals.resolution.count, 3);
            assert_eq!(r.totals.resolution.median_ms, Some(took[1]));
            assert_eq!(r.totals.resolution.p90_ms, Some(took[2]));
            assert_eq!(r.coverage.resolved_without_opening, 0);
            assert!(r.notes.iter().all(|n| !n.contains("30 days before")));
        }
    }
}

#[test]
fn sled_facts_give_the_whole_historys_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 16, "test").unwrap();
    let now = TimestampMs::now();
    fill(&store, now);
    check_figures(&store, now);
}

#[test]
fn a_store_from_before_the_facts_builds_them_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let now = TimestampMs::now();
    {
        let store = Db::open(dir.path(), 16, "test").unwrap();
        fill(&store, now);
    }
    {
        // As an older dmdesk left it: history, no facts.
        let raw = raw_sled::open_raw(dir.path());
        assert!(raw.drop_tree("report_facts").unwrap());
        raw.open_tree("meta")
            .unwrap()
            .remove("report_facts_built")
            .unwrap();
        raw.flush().unwrap();
    }
    let store = Db::open(dir.path(), 16, "test").unwrap();
    // Meanwhile the report reads the history the old way.
    let r = from_store(&*store, DEFAULT_SINCE_MS, now, Zone::Fixed(3600)).unwrap();
    assert_eq!(r.totals.resolved, 3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(common::wait::until(
        "the report facts built at open",
        Duration::from_secs(30),
        || {
            let ready = store.report_facts(TimestampMs(0)).unwrap().is_some();
            async move { ready }
        },
    ));
    check_figures(&store, now);
}

#[test]
fn postgres_facts_give_the_whole_historys_figures() {
    let Some(db) = pg::TempDb::create("report_facts::postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Db::new(
        PgStore::open(&db.url, dir.path(), "test").unwrap(),
        Bus::new(),
    );
    let now = TimestampMs::now();
    fill(&store, now);
    check_figures(&store, now);
    // The SQL that fills an older database's facts (and `dmdesk migrate`'s
    // copy) gives the facts apply recorded.
    let count = |q: &str| -> i64 {
        let (url, q) = (db.url.clone(), q.to_string());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client.batch_execute(&q).await.unwrap();
                let n: i64 = client
                    .query_one("SELECT count(*) FROM report_facts", &[])
                    .await
                    .unwrap()
                    .get(0);
                n
            })
        })
        .join()
        .unwrap()
    };
    let recorded = count("SELECT 1");
    assert!(recorded > 10, "{recorded} facts recorded");
    assert_eq!(count("DELETE FROM report_facts"), 0);
    store.rebuild_report_facts().unwrap();
    assert_eq!(count("SELECT 1"), recorded);
    check_figures(&store, now);
    drop(store);
}

#[test]
fn migrate_to_postgres_brings_the_facts_with_the_history() {
    let Some(db) = pg::TempDb::create("report_facts::migrate") else {
        return;
    };
    let (sled_dir, pg_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sled = Db::open(sled_dir.path(), 16, "test").unwrap();
    let now = TimestampMs::now();
    fill(&sled, now);
    let pg = PgStore::open(&db.url, pg_dir.path(), "test").unwrap();
    dmdesk::migrate::to_postgres(&*sled, &pg).unwrap();
    let pg = Db::new(pg, Bus::new());
    check_figures(&pg, now);
    for since in [DEFAULT_SINCE_MS, 30 * DAY] {
        assert_eq!(
            figures(from_store(&*pg, since, now, Zone::Fixed(3600)).unwrap()),
            figures(from_store(&*sled, since, now, Zone::Fixed(3600)).unwrap()),
            "since {since}"
        );
    }
    drop(pg);
}
