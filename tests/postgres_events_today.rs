//! "events today" on PostgreSQL: each process's status bar counts the
//! webhooks every process received (its own as it appends them, the
//! others' from the shared event log as its follower reads it), each once,
//! so two processes' UIs agree. Skipped without `DMDESK_TEST_PG_URL`.

#[path = "common/pg.rs"]
mod pg;

use dmdesk::app::event::Event;
use dmdesk::app::fixtures as fx;
use dmdesk::app::{update, State};
use dmdesk::bus::{Bus, Subscription};
use dmdesk::db::Db;
use dmdesk::domain::{Contact, ConvKey, Platform, TimestampMs};
use dmdesk::store::postgres::PgStore;
use dmdesk::update::Update;
use std::path::Path;
use std::time::Duration;

fn open(db: &pg::TempDb, dir: &Path) -> Db {
    let store = PgStore::open(&db.url, dir, "test").expect("open");
    let bus = Bus::new();
    store.follow(bus.clone());
    Db::new(store, bus)
}

async fn append(db: &Db, n: usize) {
    for i in 0..n {
        db.append_event(format!("{{\"n\":{i}}}").as_bytes(), TimestampMs::now())
            .await
            .expect("append");
    }
}

async fn put_contact(db: &Db, user: &'static str) {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        db.put_contact(&Contact::new(
            ConvKey::new(Platform::Messenger, "P1", user),
            "test",
        ))
    })
    .await
    .unwrap()
    .unwrap();
}

/// Feed `s` (a status bar) every update on `sub` until contact `user`.
async fn feed_until(sub: &mut Subscription, s: &mut State, user: &str) {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let p = sub.recv().await.expect("bus open");
            let done = matches!(&*p.update, Update::Contact(c) if c.conv.user.as_str() == user);
            update(s, Event::Update((*p.update).clone()));
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after 15 s waiting for contact {user}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_processes_count_every_webhook_once() {
    let Some(pgdb) = pg::TempDb::create("events_today::both_count") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = open(&pgdb, &dir.path().join("a"));
    let b = open(&pgdb, &dir.path().join("b"));
    let (mut at_a, mut at_b) = (a.subscribe(), b.subscribe());
    let bar = || State::new(fx::options(), TimestampMs::now(), (100, 30));
    let (mut bar_a, mut bar_b) = (bar(), bar());

    append(&a, 3).await;
    append(&b, 2).await;
    // A follower pass that reads a feed row committed after the appends
    // reads those appends in the same pass ...
    put_contact(&a, "A1").await;
    put_contact(&b, "B1").await;
    feed_until(&mut at_b, &mut bar_b, "A1").await;
    feed_until(&mut at_a, &mut bar_a, "B1").await;
    // ... and a row seen in a later pass comes after all it published.
    put_contact(&a, "A2").await;
    put_contact(&b, "B2").await;
    feed_until(&mut at_b, &mut bar_b, "A2").await;
    feed_until(&mut at_a, &mut bar_a, "B2").await;

    assert_eq!(
        bar_b.status.events_today.1, 5,
        "B counts A's 3 webhooks and its own 2"
    );
    assert_eq!(
        bar_a.status.events_today.1, 5,
        "A counts B's 2 webhooks and its own 3, each once"
    );
}
