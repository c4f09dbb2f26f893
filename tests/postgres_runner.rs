//! One runner per job across processes sharing a PostgreSQL database: the
//! job lock is held by one store at a time and passes on when its holder's
//! connection dies; two runners started on the same campaign send each
//! recipient once, one at a time, so the page's rate holds at the fake.
//! Each `Db` here is what one process opens (its own pool, runtime and
//! lock connections). Skipped without `DMDESK_TEST_PG_URL`.

mod common;
#[path = "common/pg.rs"]
mod pg;

use common::send::*;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, TimestampMs};
use dmdesk::send::campaign::{self, Tuning};
use dmdesk::store::CampaignStatus;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

fn open(db: &pg::TempDb, dir: &Path) -> Db {
    let text =
        format!("[store]\npath = {dir:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n");
    let url = db.url.expose().to_string();
    let cfg = Config::from_toml(&text, &|k| (k == "DMDESK_PG").then(|| url.clone())).unwrap();
    Db::open_config(&cfg.store, "test").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_lock_is_held_once_and_passes_on_when_its_holder_dies() {
    let Some(db) = pg::TempDb::create("a_job_lock_is_held_once_and_passes_on") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = open(&db, &dir.path().join("a"));
    let b = open(&db, &dir.path().join("b"));
    let name = "campaign-page:p1";

    let held = a.job_lock(name, false).await.unwrap();
    assert!(held.is_some(), "A takes the free lock");
    assert!(
        b.job_lock(name, false).await.unwrap().is_none(),
        "B cannot take it while A holds it"
    );
    assert!(
        b.job_lock("campaign-page:other", false)
            .await
            .unwrap()
            .is_some(),
        "another page's lock is free"
    );
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.job_lock(name, true).await.map(|g| g.is_some()) })
    };
    // A "dies": its guard is never dropped, its process state goes away
    // (the store's runtime stops, closing its connections), as a SIGKILL
    // would leave it from the server's point of view.
    std::mem::forget(held);
    drop(a);
    let got = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("B waited more than 10 s for the lock A's death released")
        .unwrap()
        .unwrap();
    assert!(got, "B holds the lock once A is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runners_on_one_campaign_send_each_recipient_once_within_the_rate() {
    const N: usize = 24;
    const RATE: u32 = 8;
    let Some(db) = pg::TempDb::create("two_runners_on_one_campaign") else {
        return;
    };
    let server = MockServer::start().await;
    let fake = MetaFake {
        delay: Duration::from_millis(20),
        ..MetaFake::default()
    };
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&server.uri(), RATE, 4);
    let ctx_for = |store: Db| {
        dmdesk::send::reply::SendCtx::new(
            store,
            Arc::new(cfg.clone()),
            dmdesk::meta::graph::GraphClient::new(&cfg.graph),
        )
    };
    let a = open(&db, &dir.path().join("a"));
    let b = open(&db, &dir.path().join("b"));
    let users: Vec<String> = (0..N).map(|i| format!("r{i}")).collect();
    let recipients: Vec<ConvKey> = users.iter().map(|u| messenger(u)).collect();
    {
        let (a, recipients) = (a.clone(), recipients.clone());
        tokio::task::spawn_blocking(move || {
            for r in &recipients {
                customer_wrote(&a, r, 60_000);
            }
        })
        .await
        .unwrap();
    }
    let now = TimestampMs::now();
    let (ca, cb) = (ctx_for(a.clone()), ctx_for(b.clone()));
    let camp = {
        let (a2, cfg, recipients) = (a.clone(), cfg.clone(), recipients.clone());
        let p = tokio::task::spawn_blocking(move || {
            campaign::preview_from_store(&a2, &cfg, &recipients, "Spring sale", None, now)
        })
        .await
        .unwrap()
        .unwrap();
        campaign::create(&a, "two runners", "Spring sale", None, None, &p, now)
            .await
            .unwrap()
    };
    let tuning = Tuning::from_config(&cfg);
    let never = CancellationToken::new();
    // Both processes start the campaign at once (as both would resume a
    // running campaign at start).
    let (ra, rb) = tokio::join!(
        campaign::run(&ca, &camp.id, &tuning, &never, &never),
        campaign::run(&cb, &camp.id, &tuning, &never, &never),
    );
    ra.unwrap();
    rb.unwrap();

    for u in &users {
        assert_eq!(fake.count_for(u), 1, "{u} got exactly one message");
    }
    let max = max_per_trailing_second(&fake.times());
    assert!(
        max <= RATE as usize,
        "at most {RATE} sends in any second at the fake, saw {max}"
    );
    let done = b.campaign(&camp.id).unwrap().unwrap();
    assert_eq!(done.status, CampaignStatus::Done);
}

const KILL_N: usize = 30;
const KILL_RATE: u32 = 10;

/// Tuning with a short echo grace (the resume looks in-flight recipients
/// up at the fake's thread endpoint after it).
fn kill_tuning(cfg: &Config) -> Tuning {
    Tuning {
        unknown_grace: Duration::from_millis(500),
        ..Tuning::from_config(cfg)
    }
}

/// Runs only as the child of `a_campaign_runner_killed_mid_way_is_resumed_by_the_other_process`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of a_campaign_runner_killed_mid_way_is_resumed_by_the_other_process"]
async fn runner_child() {
    let (Ok(url), Ok(base), Ok(dir), Ok(id)) = (
        std::env::var("DMDESK_RUNNER_PG"),
        std::env::var("DMDESK_RUNNER_FAKE"),
        std::env::var("DMDESK_RUNNER_DIR"),
        std::env::var("DMDESK_RUNNER_CAMPAIGN"),
    ) else {
        return;
    };
    let text =
        format!("[store]\npath = {dir:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n");
    let store_cfg = Config::from_toml(&text, &|k| (k == "DMDESK_PG").then(|| url.clone()))
        .unwrap()
        .store;
    let store = Db::open_config(&store_cfg, "test-child").unwrap();
    let cfg = config(&base, KILL_RATE, 4);
    let ctx = dmdesk::send::reply::SendCtx::new(
        store,
        Arc::new(cfg.clone()),
        dmdesk::meta::graph::GraphClient::new(&cfg.graph),
    );
    let never = CancellationToken::new();
    // Runs until the parent kills this process.
    let _ = campaign::run(&ctx, &id, &kill_tuning(&cfg), &never, &never).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_runner_killed_mid_way_is_resumed_by_the_other_process() {
    let Some(db) = pg::TempDb::create("a_campaign_runner_killed_mid_way") else {
        return;
    };
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
        .and(wiremock::matchers::path(format!(
            "/v25.0/{PAGE}/conversations"
        )))
        .respond_with(ThreadFake(fake.clone()))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&server.uri(), KILL_RATE, 4);
    let b = open(&db, &dir.path().join("b"));
    let users: Vec<String> = (0..KILL_N).map(|i| format!("k{i}")).collect();
    let recipients: Vec<ConvKey> = users.iter().map(|u| messenger(u)).collect();
    let now = TimestampMs::now();
    let camp = {
        let (b2, cfg, recipients) = (b.clone(), cfg.clone(), recipients.clone());
        let p = tokio::task::spawn_blocking(move || {
            for r in &recipients {
                customer_wrote(&b2, r, 60_000);
            }
            campaign::preview_from_store(&b2, &cfg, &recipients, "Last day", None, now)
        })
        .await
        .unwrap()
        .unwrap();
        campaign::create(&b, "killed", "Last day", None, None, &p, now)
            .await
            .unwrap()
    };

    // Process A runs the campaign...
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["runner_child", "--exact", "--ignored", "--test-threads=1"])
        .env("DMDESK_RUNNER_PG", db.url.expose())
        .env("DMDESK_RUNNER_FAKE", server.uri())
        .env("DMDESK_RUNNER_DIR", dir.path().join("a"))
        .env("DMDESK_RUNNER_CAMPAIGN", &camp.id)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let calls = |n: usize, what: &str| {
        let fake = fake.clone();
        let what = what.to_string();
        async move {
            common::wait::until(&what, Duration::from_secs(30), || {
                let fake = fake.clone();
                async move { fake.calls.lock().unwrap().len() >= n }
            })
            .await
        }
    };
    calls(1, "A's first send").await;
    // ...and process B starts it too (as at its start): it waits for A.
    let cb = dmdesk::send::reply::SendCtx::new(
        b.clone(),
        Arc::new(cfg.clone()),
        dmdesk::meta::graph::GraphClient::new(&cfg.graph),
    );
    let tuning = kill_tuning(&cfg);
    let id = camp.id.clone();
    let runner_b = tokio::spawn(async move {
        let never = CancellationToken::new();
        campaign::run(&cb, &id, &tuning, &never, &never).await
    });
    calls(KILL_N / 3, "a third of the campaign sent by A").await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = fake.calls.lock().unwrap().len();
    assert!(at_kill < KILL_N, "A was killed mid-way ({at_kill} sends)");

    tokio::time::timeout(Duration::from_secs(60), runner_b)
        .await
        .expect("B finished the campaign within 60 s")
        .unwrap()
        .unwrap();
    for u in &users {
        assert_eq!(fake.count_for(u), 1, "{u} got exactly one message");
    }
    let max = max_per_trailing_second(&fake.times());
    assert!(
        max <= KILL_RATE as usize,
        "at most {KILL_RATE} sends in any second at the fake, saw {max}"
    );
    let done = b.campaign(&camp.id).unwrap().unwrap();
    assert_eq!(done.status, CampaignStatus::Done);
}
