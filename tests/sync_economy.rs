//! Economical sync on real threads (issue 13): large first pages, halved
//! when Meta answers code 1 "Please reduce the amount of data you're asking
//! for", the sizes that worked remembered per account, nested paging kept
//! for longer threads. Calls are counted where Meta would see them (at the
//! simulator) and by the client; no timing.

use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{AccountId, Platform};
use dmdesk::meta::graph::GraphClient;
use dmdesk::request::sync::SyncReport;
use dmdesk::sim::{Faults, SimConfig, SimHandle, Simulator};
use dmdesk::sync::{PageSizes, Syncer};
use serde_json::json;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn sim(customers: usize, history: usize, max_items: Option<usize>) -> SimHandle {
    let mut cfg = SimConfig::demo(None);
    cfg.customers = customers;
    cfg.history = (history, history);
    cfg.faults = Faults {
        max_items_per_read: max_items,
        ..Faults::default()
    };
    Simulator::start(cfg).await.unwrap()
}

/// The demo page and its Instagram account, default page sizes unless `sync` says otherwise.
fn config(sim: &SimHandle, sync: &str) -> Config {
    let ids = sim.ids();
    let text = format!(
        "[graph]\nbase_url = \"{}\"\nconversations_per_second = 100000\n[sync]\ninterval = \"off\"\n{sync}\n[[pages]]\nid = \"{}\"\naccess_token = \"{}\"\ninstagram_id = \"{}\"\n",
        sim.graph_base_url, ids.page_id, ids.page_token, ids.ig_id
    );
    Config::from_toml(&text, &|_| None).unwrap()
}

fn store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let s = Db::open(dir.path(), 16, "test").unwrap();
    (dir, s)
}

/// HTTP requests the simulator answered for a sync: conversation pages,
/// nested message pages and batch calls (the profiles inside a batch are
/// counted apart by the simulator, as Meta counts them against rate limits,
/// but travel in one call).
fn sim_calls(sim: &SimHandle) -> u64 {
    let s = sim.stats();
    s.calls_to("conversations") + s.calls_to("messages") + s.calls_to("batch")
}

fn assert_ok(report: &SyncReport) {
    assert_eq!(report.accounts.len(), 2, "{report:?}");
    for a in &report.accounts {
        assert!(a.error.is_none(), "{a:?}");
    }
}

/// Messages the store should hold after a full backfill: every Messenger
/// message, the 20 newest of each Instagram thread.
fn expected_messages(sim: &SimHandle) -> u64 {
    sim.customers()
        .iter()
        .map(|c| match c.platform {
            Platform::Messenger => c.messages as u64,
            Platform::Instagram => c.messages.min(20) as u64,
        })
        .sum()
}

#[tokio::test]
async fn five_hundred_threads_of_thirty_cost_at_most_a_tenth_of_a_call_each() {
    // Meta's limit is not documented: this one refuses more than 1,500
    // items per read, so the default 100 × 100 must be halved.
    let sim = sim(500, 30, Some(1500)).await;
    assert!(sim.customers().iter().all(|c| c.messages == 30));
    let cfg = config(&sim, "");
    assert_eq!(
        (
            cfg.sync.conversations_per_page,
            cfg.sync.messages_per_conversation
        ),
        (100, 100)
    );
    let (_d, db) = store();
    let graph = GraphClient::new(&cfg.graph);
    let syncer = Syncer::new(db.clone(), Arc::new(cfg.clone()), graph.clone());
    let report = syncer.run(None, &CancellationToken::new()).await;
    assert_ok(&report);

    let convs: u64 = report.accounts.iter().map(|a| a.conversations).sum();
    let msgs: u64 = report.accounts.iter().map(|a| a.messages).sum();
    assert_eq!(convs, 500);
    assert_eq!(msgs, expected_messages(&sim), "every message backfilled");
    assert_eq!(db.all_messages().count() as u64, msgs);

    let seen = sim_calls(&sim);
    assert_eq!(seen, graph.calls_made(), "{:?}", sim.stats().calls);
    assert_eq!(
        sim.stats().calls_to("profile"),
        500,
        "profiles come in batches"
    );
    let per_conv = seen as f64 / 500.0;
    eprintln!(
        "500 conversations x 30 messages: {seen} Graph calls ({per_conv:.3} per conversation): {:?}",
        sim.stats().calls
    );
    assert!(per_conv <= 0.1, "{per_conv} calls per conversation");
    // Whole threads came with their page: no nested paging was needed.
    assert_eq!(sim.stats().calls_to("messages"), 0);

    // What worked is remembered: Messenger went 100×100 → 50×100 → 50×50 →
    // 25×50; Instagram (20 messages at most) 100×20 → 50×20.
    let ids = sim.ids().clone();
    let fb = AccountId::from(ids.page_id.as_str());
    let ig = AccountId::from(ids.ig_id.as_str());
    assert_eq!(
        syncer.page_sizes(Platform::Messenger, &fb),
        PageSizes {
            conversations: 25,
            messages: 50
        }
    );
    assert_eq!(
        syncer.page_sizes(Platform::Instagram, &ig),
        PageSizes {
            conversations: 50,
            messages: 20
        }
    );
    // The next run asks at those sizes straight away: one conversations read
    // per account (incremental: the newest page reaches what was seen), no
    // code-1 answer again.
    let before = sim.stats().calls_to("conversations");
    let again = syncer.run(None, &CancellationToken::new()).await;
    assert_ok(&again);
    assert_eq!(sim.stats().calls_to("conversations") - before, 2);
}

#[tokio::test]
async fn without_a_limit_at_meta_the_first_pages_are_taken_whole() {
    let sim = sim(150, 30, None).await;
    let cfg = config(&sim, "");
    let (_d, db) = store();
    let graph = GraphClient::new(&cfg.graph);
    let syncer = Syncer::new(db.clone(), Arc::new(cfg), graph.clone());
    let report = syncer.run(None, &CancellationToken::new()).await;
    assert_ok(&report);
    let msgs: u64 = report.accounts.iter().map(|a| a.messages).sum();
    assert_eq!(msgs, expected_messages(&sim));
    // 100 Messenger + 50 Instagram threads: one page each, no paging at all.
    assert_eq!(sim.stats().calls_to("conversations"), 2);
    assert_eq!(sim.stats().calls_to("messages"), 0);
}

#[tokio::test]
async fn longer_threads_still_page_their_messages() {
    // 12 messages per thread read with the thread, the rest through the
    // nested paging links; Instagram gets its 20 newest (not only 12).
    let sim = sim(30, 30, Some(1000)).await;
    let cfg = config(
        &sim,
        "messages_per_conversation = 12\nconversations_per_page = 10",
    );
    let (_d, db) = store();
    let graph = GraphClient::new(&cfg.graph);
    let syncer = Syncer::new(db.clone(), Arc::new(cfg), graph);
    let report = syncer.run(None, &CancellationToken::new()).await;
    assert_ok(&report);
    let msgs: u64 = report.accounts.iter().map(|a| a.messages).sum();
    assert_eq!(msgs, expected_messages(&sim));
    let customers = sim.customers();
    let on = |p: Platform| customers.iter().filter(|c| c.platform == p).count() as u64;
    // Messenger 30 = 12 + 12 + 6: two more reads per thread; Instagram
    // 20 = 12 + 8: one more, and nothing older.
    assert_eq!(
        sim.stats().calls_to("messages"),
        2 * on(Platform::Messenger) + on(Platform::Instagram)
    );
}

#[tokio::test]
async fn meta_refusing_even_the_smallest_page_fails_the_account_with_the_reason() {
    let sim = sim(6, 3, Some(0)).await;
    let cfg = config(
        &sim,
        "messages_per_conversation = 4\nconversations_per_page = 8",
    );
    let (_d, db) = store();
    let graph = GraphClient::new(&cfg.graph);
    let syncer = Syncer::new(db.clone(), Arc::new(cfg), graph.clone());
    let report = syncer.run(None, &CancellationToken::new()).await;
    let fb = &report.accounts[0];
    let err = fb.error.as_deref().unwrap_or_default();
    assert!(err.contains("less data"), "{err}");
    // 8×4 → 4×4 → 2×4 → 2×2 → 1×2 → 1×1: six reads, then it gives up.
    assert_eq!(fb.calls, 6, "{report:?}");
    assert_eq!(db.all_messages().count(), 0);
}

#[tokio::test]
async fn a_refused_later_page_is_asked_again_smaller_at_the_same_cursor() {
    let server = MockServer::start().await;
    let base = server.uri();
    let iso = "2026-11-01T12:00:00+0000";
    let thread = |u: &str| {
        json!({"id": format!("t_{u}"), "updated_time": iso,
            "participants": {"data": [{"id": "P"}, {"id": u}]},
            "messages": {"data": [{"id": format!("m_{u}"), "created_time": iso, "from": {"id": u}, "message": "hi"}]}})
    };
    let fields = |m: u32| {
        format!(
            "participants,updated_time,messages.limit({m}){{id,created_time,from,to,message,attachments,sticker}}"
        )
    };
    // First page at the configured 4 × 4, with Meta's kind of next link.
    Mock::given(method("GET"))
        .and(path("/v25.0/P/conversations"))
        .and(query_param("limit", "4"))
        .and(query_param("fields", fields(4).as_str()))
        .and(wiremock::matchers::query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [thread("U1")],
            "paging": {"cursors": {"after": "c1"}, "next": format!(
                "{base}/v25.0/P/conversations?platform=messenger&fields={}&limit=4&after=c1&access_token=T",
                urlencode(&fields(4))
            )}
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Page two at 4 × 4: too much.
    Mock::given(method("GET"))
        .and(path("/v25.0/P/conversations"))
        .and(query_param("after", "c1"))
        .and(query_param("limit", "4"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "code": 1, "message": "Please reduce the amount of data you're asking for, then retry your request"}})))
        .expect(1)
        .mount(&server)
        .await;
    // Page two again, same cursor, 2 threads × 4 messages: fine.
    Mock::given(method("GET"))
        .and(path("/v25.0/P/conversations"))
        .and(query_param("after", "c1"))
        .and(query_param("limit", "2"))
        .and(query_param("fields", fields(4).as_str()))
        .and(query_param("platform", "messenger"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [thread("U2")], "paging": {}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let cfg = Config::from_toml(
        &format!("[graph]\nbase_url = \"{base}\"\nconversations_per_second = 100000\n[sync]\nmessages_per_conversation = 4\nconversations_per_page = 4\n[[pages]]\nid = \"P\"\naccess_token = \"tok\"\n"),
        &|_| None,
    )
    .unwrap();
    let (_d, db) = store();
    let graph = GraphClient::new(&cfg.graph);
    let syncer = Syncer::new(db.clone(), Arc::new(cfg), graph);
    let report = syncer.run(None, &CancellationToken::new()).await;
    let a = &report.accounts[0];
    assert!(a.error.is_none(), "{a:?}");
    assert_eq!((a.conversations, a.messages), (2, 2));
    // Not retried as a transient error: exactly one refused read.
    assert_eq!(
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .count(),
        3
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
