//! Attached UIs' status bars agree with the owner's (issue 12): when a UI
//! attaches (again) the owner sends its own status bar — its pid and
//! address, the events it received today, its last sync, its dead page
//! tokens — and digests then add to those counts. The owner runs in this
//! process (the real runtime).

mod common;

use dmdesk::config::Config;
use dmdesk::control::client::{Pushed, Remote};
use dmdesk::db::Db;
use dmdesk::secret::Secret;
use dmdesk::update::{OwnerStatus, Update};
use dmdesk::webhook::signature;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const SECRET: &str = "owner-status-secret";
const TOKEN: &str = "owner-status-token";

fn config(dir: &Path) -> Config {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"{SECRET}\"\nverify_token = \"vt\"\n\
         [store]\npath = \"{}\"\ncache_mb = 8\n[graph]\nbase_url = \"http://127.0.0.1:9\"\ntimeout = \"2s\"\n\
         [sync]\ninterval = \"off\"\n[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"{TOKEN}\"\n",
        dir.join("store").display()
    );
    Config::from_toml(&text, &|_| None).unwrap()
}

async fn start(dir: &Path, store: Db) -> (dmdesk::runtime::Running, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(config(dir)), store, Some(listener))
        .await
        .unwrap();
    (running, addr)
}

async fn customer_writes(addr: std::net::SocketAddr, mid: &str) {
    let ts = dmdesk::domain::TimestampMs::now().0;
    let b = serde_json::json!({"object":"page","entry":[{"id":"P1","time":ts,"messaging":[
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":ts,"message":{"mid":mid,"text":"hi"}}]}]})
    .to_string();
    let status = reqwest::Client::new()
        .post(format!("http://{addr}/webhook"))
        .header(
            "x-hub-signature-256",
            signature::sign(SECRET.as_bytes(), b.as_bytes()),
        )
        .body(b)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

/// The next owner status pushed to this client (other frames skipped).
async fn owner_status(rx: &mut UnboundedReceiver<Pushed>, what: &str) -> OwnerStatus {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(p) = rx.recv().await {
            if let Pushed::Update(u) = p {
                if let Update::OwnerStatus(o) = *u {
                    return Some(o);
                }
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(o)) => o,
        _ => panic!("timed out waiting for the owner's status ({what})"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_ui_gets_the_owners_status_bar_and_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    // Meta rejected this token in an earlier run: the owner knows it from the store.
    store
        .mark_token_dead(
            "P1",
            &dmdesk::meta::graph::token_fingerprint(&Secret::new(TOKEN)),
            "Invalid OAuth access token.",
            dmdesk::domain::TimestampMs::now(),
        )
        .unwrap();
    let (owner, addr) = start(dir.path(), store).await;
    // Three events before the agent attaches: its own count would say 0.
    for i in 0..3 {
        customer_writes(addr, &format!("m_before_{i}")).await;
    }
    let socket = dmdesk::control::socket_path(&dir.path().join("store"));
    // The owner's ingest may still be publishing: wait until its count is 3.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (_remote, mut rx, first) = loop {
        let (remote, _, mut rx) = Remote::attach(&socket).await.unwrap();
        let first = owner_status(&mut rx, "on attach").await;
        if first.events_today == 3 || std::time::Instant::now() > deadline {
            break (remote, rx, first);
        }
        remote.detach().await;
    };
    assert_eq!(first.events_today, 3, "{first:?}");
    assert_eq!(first.pid, std::process::id());
    assert!(first.listen.is_some(), "{first:?}");
    assert_eq!(first.dead.len(), 1, "{first:?}");
    assert!(
        first.dead[0].text.contains("token of Shop (P1) is invalid"),
        "{first:?}"
    );
    assert!(
        !format!("{first:?}").contains(TOKEN),
        "no secret: {first:?}"
    );

    // The owner restarts: after reconnecting, the client is told again.
    owner.shutdown().await;
    let mut owner = None;
    for _ in 0..100 {
        if let Ok(store) = Db::open(&cfg.store.path, 8, "serve") {
            owner = Some(start(dir.path(), store).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (owner, _addr) = owner.expect("a new owner opened the store");
    let again = owner_status(&mut rx, "after the restart").await;
    assert_eq!(again.events_today, 0, "a new owner counts anew: {again:?}");
    assert_eq!(again.dead.len(), 1, "still dead: {again:?}");
    owner.shutdown().await;
}
