//! Several dmdesk processes on one PostgreSQL database: what one commits
//! reaches the others' update buses (and so their UIs and attached
//! clients) through the change feed. Skipped without `DMDESK_TEST_PG_URL`
//! (see tests/common/pg.rs); CI starts a server.

mod common;
#[path = "common/pg.rs"]
mod pg;

use dmdesk::bus::{Published, Subscription};
use dmdesk::config::Config;
use dmdesk::control::client::{Pushed, Remote};
use dmdesk::db::Db;
use dmdesk::domain::{Contact, ConvKey, Platform};
use dmdesk::inbox::Request as Inbox;
use dmdesk::store::postgres::FEED_APPLICATION;
use dmdesk::update::Update;
use dmdesk::webhook::signature::sign;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SECRET: &str = "cluster-secret";

/// A config for one process on `db`, its local directory under `dir`.
fn config(db: &pg::TempDb, dir: &Path) -> Config {
    let text = format!(
        "[store]\npath = {:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n",
        dir
    );
    let url = db.url.expose().to_string();
    Config::from_toml(&text, &|k| (k == "DMDESK_PG").then(|| url.clone())).expect("config")
}

/// The next update on `sub` that `f` accepts, waiting at most 10 s.
async fn next_matching(
    sub: &mut Subscription,
    what: &str,
    f: impl Fn(&Update) -> bool,
) -> Published {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let p = sub.recv().await.expect("bus open");
            if f(&p.update) {
                return p;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after 10 s waiting for {what}"))
}

fn is_contact(u: &Update, user: &str) -> bool {
    matches!(u, Update::Contact(c) if c.conv.user.as_str() == user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_in_one_process_reaches_the_other_bus_once() {
    let Some(db) = pg::TempDb::create("a_commit_in_one_process_reaches_the_other_bus_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = Db::open_config(&config(&db, &dir.path().join("a")).store, "test").unwrap();
    let b = Db::open_config(&config(&db, &dir.path().join("b")).store, "test").unwrap();
    let (mut at_a, mut at_b) = (a.subscribe(), b.subscribe());

    for user in ["U1", "U2", "U3"] {
        let conv = ConvKey::new(Platform::Messenger, "P1", user);
        let a2 = a.clone();
        tokio::task::spawn_blocking(move || a2.put_contact(&Contact::new(conv, "test")))
            .await
            .unwrap()
            .unwrap();
    }
    // B hears each of A's commits, in commit order...
    for user in ["U1", "U2", "U3"] {
        next_matching(&mut at_b, &format!("contact {user} at B"), |u| {
            is_contact(u, user)
        })
        .await;
    }
    // ...and A, which published them itself, does not hear them again
    // from the feed: a commit by B, followed on A's bus, comes after
    // exactly one copy of each of A's own.
    let conv = ConvKey::new(Platform::Messenger, "P1", "FROM_B");
    let b2 = b.clone();
    tokio::task::spawn_blocking(move || b2.put_contact(&Contact::new(conv, "test")))
        .await
        .unwrap()
        .unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let p = at_a.recv().await.expect("bus open");
            if let Update::Contact(c) = &*p.update {
                seen.push(c.conv.user.as_str().to_string());
                if c.conv.user.as_str() == "FROM_B" {
                    break;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for B's contact at A; saw {seen:?}"));
    assert_eq!(seen, ["U1", "U2", "U3", "FROM_B"], "A's own commits once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_lost_while_disconnected_loses_nothing() {
    let Some(db) = pg::TempDb::create("a_notification_lost_while_disconnected_loses_nothing")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = Db::open_config(&config(&db, &dir.path().join("a")).store, "test").unwrap();
    let b = Db::open_config(&config(&db, &dir.path().join("b")).store, "test").unwrap();
    let mut at_b = b.subscribe();
    let put = |db: &Db, user: &'static str| {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            db.put_contact(&Contact::new(
                ConvKey::new(Platform::Messenger, "P1", user),
                "test",
            ))
        })
    };
    put(&a, "BEFORE").await.unwrap().unwrap();
    next_matching(&mut at_b, "BEFORE at B", |u| is_contact(u, "BEFORE")).await;

    // Cut the followers' connections and keep them from reconnecting
    // (connections already in the pools stay), then commit: its NOTIFY
    // finds no listener at all.
    db.allow_connections(false);
    let cut = db.terminate(FEED_APPLICATION);
    assert_eq!(cut, 2, "both processes' followers were listening");
    put(&a, "DURING").await.unwrap().unwrap();
    // Back: B's follower reconnects by itself and re-reads what it missed.
    db.allow_connections(true);
    next_matching(&mut at_b, "DURING at B after B's reconnect", |u| {
        is_contact(u, "DURING")
    })
    .await;
}

#[test]
fn an_attached_ui_of_process_b_sees_a_webhook_received_by_process_a() {
    let Some(db) =
        pg::TempDb::create("an_attached_ui_of_process_b_sees_a_webhook_received_by_process_a")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let serve = |name: &str| {
        let cfg = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n\
                 [store]\npath = {:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n[sync]\ninterval = \"off\"\n",
                dir.path().join(name)
            ),
        )
        .unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        c.arg("--config")
            .arg(&cfg)
            .arg("serve")
            .env("DMDESK_PG", db.url.expose());
        common::serve::spawn(c)
    };
    let mut a = serve("a");
    let mut b = serve("b");
    let socket_b = dmdesk::control::socket_path(&dir.path().join("b"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // B opens its control socket just after it logs its address.
        common::wait::until("B's control socket", Duration::from_secs(10), || async {
            socket_b.exists()
        })
        .await;
        let (remote, _, mut rx) = Remote::attach(&socket_b).await.expect("attach to B");
        // The agent on B has U1's thread open (so B pushes the message
        // itself, not only a digest).
        let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
        remote
            .inbox(Inbox::Presence {
                conv: Some(conv),
                typing: false,
            })
            .await
            .expect("presence");

        let body = serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
            {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":1_700_000_000_000i64,
             "message":{"mid":"m_cluster_1","text":"received by A"}}]}]})
        .to_string();
        let sig = sign(SECRET.as_bytes(), body.as_bytes());
        let status = reqwest::Client::new()
            .post(format!("http://{}/webhook", a.addr))
            .header("x-hub-signature-256", sig)
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200);

        let found = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(p) = rx.recv().await {
                if matches!(&p, Pushed::Update(u) if matches!(&**u,
                    Update::Message(m) if m.mid.as_str() == "m_cluster_1"
                        && m.text.as_deref() == Some("received by A")))
                {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(
            found,
            Ok(true),
            "waiting for A's message on the client attached to B"
        );
        remote.detach().await;
    });
    for s in [&mut a, &mut b] {
        let _ = Command::new("kill").arg(s.child.id().to_string()).status();
        assert!(s.child.wait().unwrap().success(), "serve stops on SIGTERM");
    }
}
