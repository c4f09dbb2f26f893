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
