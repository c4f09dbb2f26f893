//! A sync on PostgreSQL whose account lock is cut under it stops before
//! its next page, says why, waits for the lock, and then resumes (or finds
//! that another process finished the account meanwhile). Each `Db` here is
//! what one process opens. Skipped without `DMDESK_TEST_PG_URL`.

mod common;
#[path = "common/pg.rs"]
mod pg;

use dmdesk::bus::Subscription;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::TimestampMs;
use dmdesk::meta::graph::GraphClient;
use dmdesk::request::sync::SyncReport;
use dmdesk::store::JobGuard;
use dmdesk::sync::Syncer;
use dmdesk::update::Update;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Job locks (first key "dmjb", shown as classid) in this test's database.
const HERE: &str = "locktype = 'advisory' AND objsubid = 2 AND classid::int8 = 1684892258 \
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
/// How long the fake takes to answer the first page: the lock is cut while
/// it is in flight (the sync notices the loss at once, on the connection's
/// end, and checks it after the page).
const FIRST_PAGE_TAKES: Duration = Duration::from_secs(3);

fn open(db: &pg::TempDb, dir: &Path) -> Db {
    let text =
        format!("[store]\npath = {dir:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n");
    let url = db.url.expose().to_string();
    let cfg = Config::from_toml(&text, &|k| (k == "DMDESK_PG").then(|| url.clone())).unwrap();
    Db::open_config(&cfg.store, "test").unwrap()
}

async fn sql(db: &pg::TempDb) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(db.url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

async fn count(c: &tokio_postgres::Client, q: &str) -> i64 {
    c.query_one(q, &[]).await.unwrap().get(0)
}

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string()
}

fn thread(user: &str, updated: i64) -> serde_json::Value {
    json!({
        "id": format!("t_{user}"),
        "updated_time": iso(updated),
        "participants": {"data": [{"id": "P", "name": "Page"}, {"id": user, "name": user}]},
        "messages": {"data": [{"id": format!("m_{user}"), "created_time": iso(updated),
            "from": {"id": user, "name": user}, "message": "hi"}]}
    })
}

/// A fake Graph API with two pages of conversations for page P, the first
/// slow; profiles come back empty.
async fn graph() -> MockServer {
    let server = MockServer::start().await;
    let base = server.uri();
    let now = chrono::Utc::now().timestamp();
    Mock::given(method("GET"))
        .and(path("/v25.0/P/conversations"))
        .and(query_param_is_missing("after"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "data": [thread("U1", now - 10)],
                    "paging": {"next": format!("{base}/v25.0/P/conversations?after=c2")}
                }))
                .set_delay(FIRST_PAGE_TAKES),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/P/conversations"))
        .and(query_param("after", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [thread("U2", now - 20)]
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer, page: &str) -> usize {
    let second = page == "second";
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/v25.0/P/conversations")
        .filter(|r| r.url.query().is_some_and(|q| q.contains("after=c2")) == second)
        .count()
}

struct Setup {
    db: pg::TempDb,
    _dir: tempfile::TempDir,
    server: MockServer,
    a: Db,
    b: Db,
    said: Subscription,
    run: tokio::task::JoinHandle<SyncReport>,
    /// B's lock on the account, taken the moment A's was cut.
    b_guard: JobGuard,
}

/// A syncs page P; while its first page is in flight, B queues for the
/// account's lock and A's lock connection is terminated, so B holds it.
async fn cut_mid_sync(test: &str) -> Option<Setup> {
    let db = pg::TempDb::create(test)?;
    let server = graph().await;
    let dir = tempfile::tempdir().unwrap();
    let a = open(&db, &dir.path().join("a"));
    let b = open(&db, &dir.path().join("b"));
    let cfg = Config::from_toml(
        &format!(
            "[graph]\nbase_url = \"{}\"\nconversations_per_second = 1000\n\
             [sync]\nconversations_per_page = 1\n\
             [[pages]]\nid = \"P\"\nname = \"Shop\"\naccess_token = \"tok-P\"\n",
            server.uri()
        ),
        &|_| None,
    )
    .unwrap();
    let said = a.subscribe();
    let run = {
        let syncer = Syncer::new(
            a.clone(),
            Arc::new(cfg.clone()),
            GraphClient::new(&cfg.graph),
        );
        tokio::spawn(async move { syncer.run(None, &CancellationToken::new()).await })
    };
    common::wait::until(
        "A's request for the first page",
        Duration::from_secs(10),
        || async { requests(&server, "first").await == 1 },
    )
    .await;
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.job_lock("sync:P", true).await })
    };
    let c = sql(&db).await;
    let waiting = format!("SELECT count(*) FROM pg_locks WHERE {HERE} AND NOT granted");
    common::wait::until(
        "B waiting for the account's lock",
        Duration::from_secs(10),
        || {
            let (c, q) = (&c, waiting.clone());
            async move { count(c, &q).await == 1 }
        },
    )
    .await;
    let cut = count(
        &c,
        &format!("SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE {HERE} AND granted"),
    )
    .await;
    assert_eq!(cut, 1, "one lock holder (A's) was terminated");
    let b_guard = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("B got the lock within 10 s of A's lock connection ending")
        .unwrap()
        .unwrap()
        .expect("B holds the lock");
    Some(Setup {
        db,
        _dir: dir,
        server,
        a,
        b,
        said,
        run,
        b_guard,
    })
}

/// The next status text (error or notice) on `sub` containing `word`.
async fn said(sub: &mut Subscription, word: &str) -> String {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let p = sub.recv().await.expect("A's bus open");
            if let Update::Error(t) | Update::Notice(t) = &*p.update {
                if t.contains(word) {
                    return t.clone();
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after 15 s waiting for A to say {word:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_whose_lock_is_cut_stops_before_its_next_page_and_resumes_with_the_lock() {
    let Some(mut s) = cut_mid_sync("sync_lock::stops_and_resumes").await else {
        return;
    };
    let paused = said(&mut s.said, "paused").await;
    assert!(
        paused.contains("sync of messenger P (Shop) paused") && paused.contains("lost"),
        "the status names the account and the lost lock: {paused}"
    );
    // A stopped before the second page and applied the first one whole.
    assert_eq!(
        requests(&s.server, "second").await,
        0,
        "no page after the loss"
    );
    assert!(!s.run.is_finished(), "A waits for the lock");
    let a = s.a.clone();
    let u1 = tokio::task::spawn_blocking(move || {
        a.conversation(&dmdesk::domain::ConvKey::new(
            dmdesk::domain::Platform::Messenger,
            "P",
            "U1",
        ))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(u1.is_some(), "the first page was applied");

    // B lets go without syncing: A takes the lock again and finishes.
    drop(s.b_guard);
    said(&mut s.said, "resumed").await;
    let report = tokio::time::timeout(Duration::from_secs(30), s.run)
        .await
        .expect("A finished within 30 s of getting the lock back")
        .unwrap();
    assert!(!report.cancelled);
    assert_eq!(report.accounts.len(), 1);
    assert_eq!(report.accounts[0].error, None, "{report:?}");
    assert_eq!(requests(&s.server, "second").await, 1, "the rest, once");
    let b = s.b.clone();
    let last = tokio::task::spawn_blocking(move || b.last_sync("P"))
        .await
        .unwrap()
        .unwrap();
    assert!(last.is_some(), "the account's sync was recorded");
    drop(s.db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_whose_lock_is_cut_leaves_the_account_to_the_process_that_finished_it() {
    let Some(mut s) = cut_mid_sync("sync_lock::finished_elsewhere").await else {
        return;
    };
    said(&mut s.said, "paused").await;
    // B, holding the lock, syncs the account to its end (as its own sync
    // would record it), then lets go.
    let b = s.b.clone();
    tokio::task::spawn_blocking(move || b.set_last_sync("P", TimestampMs::now()))
        .await
        .unwrap()
        .unwrap();
    drop(s.b_guard);
    let report = tokio::time::timeout(Duration::from_secs(30), s.run)
        .await
        .expect("A ended within 30 s of getting the lock back")
        .unwrap();
    assert_eq!(report.accounts.len(), 1);
    assert_eq!(report.accounts[0].error, None, "{report:?}");
    assert_eq!(
        requests(&s.server, "second").await,
        0,
        "A did not sync again what B finished"
    );
}

/// From the team trial: an account another process is syncing is skipped,
/// and the report says so (the command prints it), instead of a silent
/// success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_another_process_syncs_is_reported_skipped() {
    let Some(db) = pg::TempDb::create("sync_lock::skipped") else {
        return;
    };
    let server = graph().await;
    let dir = tempfile::tempdir().unwrap();
    let a = open(&db, &dir.path().join("a"));
    let b = open(&db, &dir.path().join("b"));
    let cfg = Config::from_toml(
        &format!(
            "[graph]\nbase_url = \"{}\"\n[[pages]]\nid = \"P\"\nname = \"Shop\"\naccess_token = \"tok-P\"\n",
            server.uri()
        ),
        &|_| None,
    )
    .unwrap();
    let held = b
        .job_lock("sync:P", false)
        .await
        .unwrap()
        .expect("B takes the account's lock");
    let syncer = Syncer::new(
        a.clone(),
        Arc::new(cfg.clone()),
        GraphClient::new(&cfg.graph),
    );
    let report = syncer.run(None, &CancellationToken::new()).await;
    assert!(report.accounts.is_empty(), "{report:?}");
    assert_eq!(
        report
            .skipped
            .iter()
            .map(|s| (s.account.as_str(), s.why.as_str()))
            .collect::<Vec<_>>(),
        [("P", "another dmdesk is syncing it now")]
    );
    assert_eq!(requests(&server, "first").await, 0, "no Graph call for it");
    drop(held);
}
