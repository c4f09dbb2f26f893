//! A campaign cancelled by another process while its runner waits out the
//! grace period of a recipient an earlier run left mid-send: the runner
//! settles that recipient (Meta's thread shows no message) but does not
//! send it again. Each `Db` here is what one process opens. Skipped
//! without `DMDESK_TEST_PG_URL`.

mod common;
#[path = "common/pg.rs"]
mod pg;

use common::send::*;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::TimestampMs;
use dmdesk::send::campaign::{self, Tuning};
use dmdesk::send::reply::SendCtx;
use dmdesk::store::{CampaignStatus, RecipientState};
use dmdesk::update::Update;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, query_param};
use wiremock::{Mock, MockServer};

/// The runner waits this long for the interrupted send's echo: the other
/// process cancels well within it.
const GRACE: Duration = Duration::from_secs(5);

fn open(db: &pg::TempDb, dir: &Path) -> Db {
    let text =
        format!("[store]\npath = {dir:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n");
    let url = db.url.expose().to_string();
    let cfg = Config::from_toml(&text, &|k| (k == "DMDESK_PG").then(|| url.clone())).unwrap();
    Db::open_config(&cfg.store, "test").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_from_another_process_stops_the_resend_of_an_interrupted_recipient() {
    let Some(db) = pg::TempDb::create("campaign_resend::remote_cancel") else {
        return;
    };
    let server = MockServer::start().await;
    let fake = MetaFake::default();
    Mock::given(method("GET"))
        .and(query_param("user_id", "u0"))
        .respond_with(ThreadFake(fake.clone()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&server.uri(), 10, 1);
    let a = open(&db, &dir.path().join("a"));
    let b = open(&db, &dir.path().join("b"));
    let conv = messenger("u0");
    let now = TimestampMs::now();

    // A campaign of one recipient, which an earlier run left in_flight:
    // its outbox record written, the Send API call never answered.
    let id = {
        let (a2, cfg, conv) = (a.clone(), cfg.clone(), conv.clone());
        let p = tokio::task::spawn_blocking(move || {
            customer_wrote(&a2, &conv, 60_000);
            campaign::preview_from_store(&a2, &cfg, &[conv], "Spring sale", None, now)
        })
        .await
        .unwrap()
        .unwrap();
        campaign::create(&a, "resend", "Spring sale", None, None, &p, now)
            .await
            .unwrap()
            .id
    };
    {
        let (a2, id, conv) = (a.clone(), id.clone(), conv.clone());
        tokio::task::spawn_blocking(move || {
            let o = a2
                .create_outbound(&conv, "Spring sale", None, None, Some(&id), now)
                .unwrap();
            let mut r = a2.campaign_recipient(&id, 0).unwrap().unwrap();
            r.state = RecipientState::InFlight;
            r.outbox_id = Some(o.id);
            r.updated_at = TimestampMs::now();
            a2.put_recipient(&r).unwrap();
        })
        .await
        .unwrap();
    }

    // A resumes it: the recipient waits out the grace period for its echo.
    let mut at_a = a.subscribe();
    let runner = {
        let ctx = SendCtx::new(
            a.clone(),
            Arc::new(cfg.clone()),
            dmdesk::meta::graph::GraphClient::new(&cfg.graph),
        );
        let mut tuning = Tuning::from_config(&cfg);
        tuning.unknown_grace = GRACE;
        let id = id.clone();
        tokio::spawn(async move {
            let never = CancellationToken::new();
            campaign::run(&ctx, &id, &tuning, &never, &never).await
        })
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let p = at_a.recv().await.expect("A's bus open");
            if matches!(&*p.update, Update::Campaign(c) if c.id == id && c.running) {
                return;
            }
        }
    })
    .await
    .expect("A's runner started within 10 s");

    // B (another process) cancels the campaign meanwhile.
    campaign::cancel_idle(&b, &id).await.unwrap();

    let ended = tokio::time::timeout(GRACE + Duration::from_secs(20), runner)
        .await
        .expect("A's runner ended after the grace period")
        .unwrap();
    assert!(ended.is_ok(), "{:?}", ended.err());
    assert_eq!(
        fake.count_for("u0"),
        0,
        "the interrupted recipient was not sent again after the cancel"
    );
    let (b2, id2) = (b.clone(), id.clone());
    let (camp, r) = tokio::task::spawn_blocking(move || {
        (
            b2.campaign(&id2).unwrap().unwrap(),
            b2.campaign_recipient(&id2, 0).unwrap().unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(camp.status, CampaignStatus::Cancelled);
    assert_eq!(
        r.state,
        RecipientState::Skipped,
        "found unsent, then skipped as cancelled: {r:?}"
    );
}
