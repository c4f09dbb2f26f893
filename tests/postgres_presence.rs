//! Presence across processes on PostgreSQL: a viewer set through one store
//! shows in another's list and reaches its bus as `Update::Presence`; it
//! goes when its store closes, and when its process dies without closing
//! (its rows go stale and the others sweep them). Skipped without
//! `DMDESK_TEST_PG_URL` (see tests/common/pg.rs).

mod common;
#[path = "common/pg.rs"]
mod pg;

use dmdesk::bus::{Bus, Subscription};
use dmdesk::control::client::Remote;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Platform, TimestampMs};
use dmdesk::inbox::presence::Presence;
use dmdesk::inbox::Request as Inbox;
use dmdesk::store::postgres::PgStore;
use dmdesk::update::{others_in, Update, Viewer};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn open(db: &pg::TempDb, dir: &Path) -> Db {
    let store = PgStore::open(&db.url, dir, "test").expect("open");
    let bus = Bus::new();
    store.follow(bus.clone());
    Db::new(store, bus)
}

/// The next `Update::Presence` on `sub` whose list `f` accepts.
async fn next_list(
    sub: &mut Subscription,
    limit: Duration,
    what: &str,
    f: impl Fn(&[Viewer]) -> bool,
) -> Vec<Viewer> {
    tokio::time::timeout(limit, async {
        loop {
            let p = sub.recv().await.expect("bus open");
            if let Update::Presence(v) = &*p.update {
                if f(v) {
                    return v.clone();
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for {what}"))
}

fn has(v: &[Viewer], agent: &str) -> bool {
    v.iter().any(|x| x.agent == agent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_on_store_a_shows_on_store_b_and_goes_when_a_closes() {
    let Some(pgdb) = pg::TempDb::create("presence::shows_on_b") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = open(&pgdb, &dir.path().join("a"));
    let b = open(&pgdb, &dir.path().join("b"));
    let (mut at_a, mut at_b) = (a.subscribe(), b.subscribe());
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    // Each process's own UI is session 0: they must not hide each other.
    let (pa, pb) = (Presence::new(a.clone()), Presence::new(b.clone()));
    let set_a = {
        let (pa, conv) = (pa.clone(), conv.clone());
        tokio::task::spawn_blocking(move || pa.set(0, "alice", Some(conv), true))
    };
    set_a.await.unwrap();

    let seen = next_list(
        &mut at_b,
        Duration::from_secs(10),
        "alice on B's bus",
        |v| has(v, "alice"),
    )
    .await;
    let alice = seen.iter().find(|x| x.agent == "alice").unwrap();
    assert_eq!(alice.conv, conv);
    assert!(alice.typing_at.is_some(), "typing travels: {alice:?}");
    assert_ne!(alice.session, 0, "A's session 0 is not B's own UI");
    let now = TimestampMs::now();
    assert_eq!(
        others_in(&seen, &conv, 0, now),
        vec![("alice".to_string(), true)],
        "B's own UI (session 0) shows alice typing"
    );
    let listed = {
        let b = b.clone();
        tokio::task::spawn_blocking(move || b.presence_list())
            .await
            .unwrap()
    };
    assert!(has(&listed, "alice"), "B's list: {listed:?}");

    // And the other way round, with both in the list each side shows.
    let set_b = {
        let (pb, conv) = (pb.clone(), conv.clone());
        tokio::task::spawn_blocking(move || pb.set(0, "bob", Some(conv), false))
    };
    set_b.await.unwrap();
    let at_a_list = next_list(&mut at_a, Duration::from_secs(10), "bob on A's bus", |v| {
        has(v, "bob") && has(v, "alice")
    })
    .await;
    assert_eq!(
        others_in(&at_a_list, &conv, 0, TimestampMs::now()),
        vec![("bob".to_string(), false)],
        "A's own UI sees bob, not itself: {at_a_list:?}"
    );

    // A closes: its viewer leaves B's list (no waiting for it to go stale).
    drop((pa, a, at_a));
    let after = next_list(
        &mut at_b,
        Duration::from_secs(10),
        "a list without alice on B's bus after A closed",
        |v| !has(v, "alice"),
    )
    .await;
    assert!(has(&after, "bob"), "B's own viewer stays: {after:?}");
    drop((pb, b));
}

#[test]
fn a_killed_process_viewers_expire_on_the_others() {
    let Some(pgdb) = pg::TempDb::create("presence::killed_process_expires") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("a.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"v\"\n\
             [store]\npath = {:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n[sync]\ninterval = \"off\"\n",
            dir.path().join("a")
        ),
    )
    .unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_dmdesk"));
    c.arg("--config")
        .arg(&cfg)
        .arg("serve")
        .env("DMDESK_PG", pgdb.url.expose());
    let mut a = common::serve::spawn(c);
    let socket_a = dmdesk::control::socket_path(&dir.path().join("a"));
    let conv = ConvKey::new(Platform::Messenger, "P1", "U7");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let b = open(&pgdb, &dir.path().join("b"));
        let mut at_b = b.subscribe();
        common::wait::until("A's control socket", Duration::from_secs(10), || async {
            socket_a.exists()
        })
        .await;
        let (remote, _, _rx) = Remote::attach(&socket_a).await.expect("attach to A");
        remote
            .inbox(Inbox::Presence {
                conv: Some(conv.clone()),
                typing: true,
            })
            .await
            .expect("presence");
        let on_conv = |v: &[Viewer]| v.iter().any(|x| x.conv == conv);
        next_list(
            &mut at_b,
            Duration::from_secs(10),
            "A's agent on B's bus",
            on_conv,
        )
        .await;

        // SIGKILL: A closes nothing; its rows stop being refreshed.
        a.child.kill().unwrap();
        a.child.wait().unwrap();
        drop(remote);
        let gone = next_list(
            &mut at_b,
            Duration::from_secs(40),
            "a list without A's agent on B's bus after A was killed",
            |v| !on_conv(v),
        )
        .await;
        assert!(gone.is_empty(), "{gone:?}");
        let listed = {
            let b = b.clone();
            tokio::task::spawn_blocking(move || b.presence_list())
                .await
                .unwrap()
        };
        assert!(listed.is_empty(), "B's list after the sweep: {listed:?}");
    });
}
