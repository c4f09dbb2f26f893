//! Crash safety with a real process kill: the campaign runs in a child
//! process (this test binary, re-run on the ignored `crash_child` test),
//! which is SIGKILLed mid-campaign while sends wait at the fake. The parent
//! then plays Meta's late echoes (every call the fake received is echoed
//! with its metadata, as Meta would over the webhook, except one whose echo
//! is "lost"), resumes the campaign, and checks that every recipient got
//! exactly one message: in-flight recipients are resolved from their echo,
//! or else from their thread at Meta (found: sent; absent: sent now), and
//! none is left `unknown` while Graph answers.

mod common;

use common::send::*;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, TimestampMs};
use dmdesk::send::campaign::{self, Tuning};
use dmdesk::store::{CampaignStatus, RecipientState};
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const N: usize = 40;

fn user(i: usize) -> String {
    format!("k{i}")
}

/// Runs only as the child of `a_killed_campaign_resumes_without_sending_twice`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of a_killed_campaign_resumes_without_sending_twice"]
async fn crash_child() {
    let (Ok(dir), Ok(base)) = (
        std::env::var("DMDESK_CRASH_STORE"),
        std::env::var("DMDESK_CRASH_FAKE"),
    ) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = Db::open(&dir.join("store"), 16, "test-child").unwrap();
    let cfg = config(&base, 50, 4);
    let ctx = dmdesk::send::reply::SendCtx::new(
        store.clone(),
        std::sync::Arc::new(cfg.clone()),
        dmdesk::meta::graph::GraphClient::new(&cfg.graph),
    );
    let recipients: Vec<ConvKey> = (0..N).map(|i| messenger(&user(i))).collect();
    for r in &recipients {
        customer_wrote(&store, r, 60_000);
    }
    let now = TimestampMs::now();
    let p = campaign::preview_from_store(&store, &cfg, &recipients, "Sale ends today", None, now)
        .unwrap();
    let c = campaign::create(&store, "crash", "Sale ends today", None, None, &p, now)
        .await
        .unwrap();
    std::fs::write(dir.join("campaign_id"), &c.id).unwrap();
    let tuning = Tuning::from_config(&cfg);
    // Runs until the parent kills this process.
    let _ = campaign::run(
        &ctx,
        &c.id,
        &tuning,
        &CancellationToken::new(),
        &CancellationToken::new(),
    )
    .await;
    std::fs::write(dir.join("finished"), "yes").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_campaign_resumes_without_sending_twice() {
    let server = MockServer::start().await;
    let fake = MetaFake {
        delay: Duration::from_millis(150),
        ..MetaFake::default()
    };
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PAGE}/conversations")))
        .respond_with(ThreadFake(fake.clone()))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DMDESK_CRASH_STORE", dir.path())
        .env("DMDESK_CRASH_FAKE", server.uri())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once about a third of the recipients reached the fake.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fake.calls.lock().unwrap().len() < N / 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "child made no progress"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL: no cleanup, no flush
    child.wait().unwrap();
    assert!(
        !dir.path().join("finished").exists(),
        "the child was killed mid-campaign"
    );
    let calls_before = fake.calls.lock().unwrap().len();
    assert!(calls_before < N);

    let store = open_retrying(&dir.path().join("store")).await;
    let id = std::fs::read_to_string(dir.path().join("campaign_id")).unwrap();
    assert_eq!(
        store.campaign(&id).unwrap().unwrap().status,
        CampaignStatus::Running
    );
    let before = store.campaign_recipients(&id).unwrap();
    let in_flight = before
        .iter()
        .filter(|r| r.state == RecipientState::InFlight)
        .count();
    eprintln!("killed after {calls_before} calls; {in_flight} recipient(s) in flight");
    assert!(in_flight >= 1, "the kill should catch sends in flight");

    // Meta's echoes of what it received arrive (late) through the webhook,
    // except one in-flight recipient's: its echo is lost.
    // (One whose call reached the fake: Meta has that message.)
    let lost_echo = before
        .iter()
        .find(|r| r.state == RecipientState::InFlight && fake.count_for(r.conv.user.as_str()) == 1)
        .map(|r| r.conv.user.as_str().to_string())
        .expect(
            "a recipient in flight at the kill whose call Meta received (the fake waits 150 ms)",
        );
    let received: Vec<serde_json::Value> = fake
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b.clone())
        .collect();
    for b in &received {
        let u = b["recipient"]["id"].as_str().unwrap();
        if u == lost_echo {
            continue;
        }
        echo(
            &store,
            &messenger(u),
            &mid_for(u),
            b["message"]["metadata"].as_str().unwrap(),
        );
    }

    // Resume (as `dmdesk bulk --resume ID` does).
    let cfg = config(&server.uri(), 50, 4);
    let ctx = dmdesk::send::reply::SendCtx::new(
        store.clone(),
        std::sync::Arc::new(cfg.clone()),
        dmdesk::meta::graph::GraphClient::new(&cfg.graph),
    );
    let mut tuning = Tuning::from_config(&cfg);
    tuning.unknown_grace = Duration::ZERO;
    let rep = campaign::run(
        &ctx,
        &id,
        &tuning,
        &CancellationToken::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.status, CampaignStatus::Done, "{rep}");

    for r in store.campaign_recipients(&id).unwrap() {
        let u = r.conv.user.as_str();
        assert_eq!(r.state, RecipientState::Sent, "{u}: {:?}", r.reason);
        assert_eq!(fake.count_for(u), 1, "{u} got exactly one call");
        assert_eq!(
            r.mid.as_ref().map(|m| m.as_str().to_string()),
            Some(mid_for(u))
        );
    }
    eprintln!("resumed: {} sent", rep.counts.sent);
    // The lost echo was found in the customer's thread at Meta, not re-sent.
    let lost = store
        .campaign_recipients(&id)
        .unwrap()
        .into_iter()
        .find(|r| r.conv.user.as_str() == lost_echo)
        .unwrap();
    assert_eq!(lost.state, RecipientState::Sent);
    assert_eq!(lost.attempts, 1, "found through Graph, not called again");
    assert_eq!(rep.counts.sent as usize, N);
    // One message per sent recipient in its thread, with Meta's mid.
    for i in 0..N {
        let conv = messenger(&user(i));
        let out: Vec<_> = store
            .messages_latest(&conv, 10)
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == dmdesk::domain::Direction::Out)
            .collect();
        assert_eq!(out.len(), 1, "{conv}: {out:?}");
    }
}

async fn open_retrying(path: &std::path::Path) -> dmdesk::db::Db {
    for _ in 0..100 {
        match Db::open(path, 16, "test") {
            Ok(s) => return s,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("store still held after the child died");
}
