//! Sync against a local fake Graph API: field expansion, paging at both
//! levels, short pages, incremental stop, dead tokens, failing pages, and the
//! webhook/sync race on one mid.

use dmdesk::cli::SyncArgs;
use dmdesk::config::Config;
use dmdesk::console::Console;
use dmdesk::db::Db;
use dmdesk::domain::{
    AccountId, ConvKey, Direction, MsgStatus, Platform, ProfileState, TimestampMs,
};
use dmdesk::meta::graph::{token_fingerprint, GraphClient};
use dmdesk::sync::Syncer;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Instagram's expansion; Messenger's also asks for each message's `sticker`.
const FIELDS: &str =
    "participants,updated_time,messages.limit(3){id,created_time,from,to,message,attachments}";
const FIELDS_MESSENGER: &str =
    "participants,updated_time,messages.limit(3){id,created_time,from,to,message,attachments,sticker}";

fn config(base: &str, pages: &str) -> Config {
    let text = format!(
        "[graph]\nbase_url = \"{base}\"\nconversations_per_second = 1000\n[sync]\nconversations_per_page = 2\nmessages_per_conversation = 3\n{pages}"
    );
    Config::from_toml(&text, &|_| None).unwrap()
}

fn page_block(id: &str, ig: Option<&str>) -> String {
    let ig = ig
        .map(|i| format!("instagram_id = \"{i}\"\n"))
        .unwrap_or_default();
    format!("[[pages]]\nid = \"{id}\"\nname = \"Page {id}\"\naccess_token = \"tok-{id}\"\n{ig}")
}

fn store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let s = Db::open(dir.path(), 8, "test").unwrap();
    (dir, s)
}

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string()
}

fn msg(id: &str, secs: i64, from: &str, text: &str) -> Value {
    json!({"id": id, "created_time": iso(secs), "from": {"id": from, "name": "x"}, "message": text})
}

fn thread(
    page: &str,
    user: &str,
    name: &str,
    updated: i64,
    msgs: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut messages = json!({"data": msgs});
    if let Some(n) = next {
        messages["paging"] = json!({"cursors": {"after": "m"}, "next": n});
    }
    json!({
        "id": format!("t_{user}"),
        "updated_time": iso(updated),
        "participants": {"data": [{"id": page, "name": "Page"}, {"id": user, "name": name}]},
        "messages": messages
    })
}

async fn no_profiles(server: &MockServer) {
    // Profiles come back empty-handed here; the profile tests cover them.
    Mock::given(method("POST"))
        .and(path("/v25.0/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;
}

/// `dmdesk sync` as the one-shot runner runs it where the store is open.
async fn cli_sync(
    cfg: &Config,
    store: Db,
    args: &SyncArgs,
    console: &Console,
) -> dmdesk::cli::CliResult {
    let sync = dmdesk::oneshot::OneShot::Sync(args.clone());
    dmdesk::oneshot::run(sync, cfg, Some(store), console, None).await
}

fn syncer(cfg: &Config, store: &Db) -> (Syncer, GraphClient) {
    let g = GraphClient::new(&cfg.graph);
    (
        Syncer::new(store.clone(), Arc::new(cfg.clone()), g.clone()),
        g,
    )
}

#[tokio::test]
async fn backfill_pages_both_levels_with_field_expansion() {
    let server = MockServer::start().await;
    let base = server.uri();
    let now = chrono::Utc::now().timestamp();
    // Page 1 of threads: two threads, the first with more messages behind a nested link.
    Mock::given(method("GET"))
        .and(path("/v25.0/P/conversations"))
        .and(query_param("platform", "messenger"))
        .and(query_param("fields", FIELDS_MESSENGER))
        .and(query_param("limit", "2"))
        .and(header("authorization", "Bearer tok-P"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                thread("P", "U1", "Ann Lee", now - 10, vec![
                    msg("m_1c", now - 10, "U1", "third"),
                    msg("m_1b", now - 20, "P", "second (ours)"),
                    msg("m_1a", now - 30, "U1", "first"),
                ], Some(format!("{base}/v25.0/t_U1/messages?after=m&access_token=LEAK"))),
                thread("P", "U2", "Bo", now - 40, vec![msg("m_2a", now - 40, "U2", "hello")], None),
            ],
            "paging": {"cursors": {"after": "c2"}, "next": format!("{base}/v25.0/P/conversations?after=c2")}
        })))
        .expect(2) // second run below
        .mount(&server)
        .await;
    // Nested messages: one more page, short, then the end.
    Mock::given(method("GET"))
        .and(path("/v25.0/t_U1/messages"))
        .and(query_param("after", "m"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [msg("m_1z", now - 100, "U1", "oldest")],
            "paging": {"cursors": {"before": "x"}}
        })))
        .expect(2) // second run below
        .mount(&server)
        .await;
    // Page 2 of threads: short (one thread) and no next link.
    Mock::given(method("GET"))
        .and(path("/v25.0/P/conversations"))
        .and(query_param("after", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [thread("P", "U3", "Cy", now - 50, vec![msg("m_3a", now - 50, "P", "we wrote first")], None)],
            "paging": {"cursors": {"after": "c3"}}
        })))
        .expect(2) // second run below
        .mount(&server)
        .await;
    no_profiles(&server).await;

    let cfg = config(&base, &page_block("P", None));
    let (_d, store) = store();
    let (s, g) = syncer(&cfg, &store);
    let report = s.run(None, &CancellationToken::new()).await;
    assert_eq!(report.failed(), 0, "{report:?}");
    let r = &report.accounts[0];
    assert_eq!(
        (r.conversations, r.new_conversations, r.messages),
        (3, 3, 6)
    );

    let u1 = ConvKey::new(Platform::Messenger, "P", "U1");
    let msgs = store.messages_latest(&u1, 10).unwrap();
    let ids: Vec<&str> = msgs.iter().map(|m| m.mid.as_str()).collect();
    assert_eq!(ids, ["m_1z", "m_1a", "m_1b", "m_1c"]);
    let ours = &msgs[2];
    assert_eq!(
        (ours.direction, ours.status, ours.origin),
        (Direction::Out, MsgStatus::Sent, None)
    );
    let conv = store.conversation(&u1).unwrap().unwrap();
    assert_eq!(conv.name, "Ann Lee");
    assert_eq!(conv.unread, 0, "history is not unread");
    assert_eq!(conv.last_inbound, Some(TimestampMs((now - 10) * 1000)));
    // A thread where only we wrote has no open window.
    let u3 = store
        .conversation(&ConvKey::new(Platform::Messenger, "P", "U3"))
        .unwrap()
        .unwrap();
    assert_eq!(u3.last_inbound, None);
    assert!(store.last_sync("P").unwrap().is_some());
    for req in server.received_requests().await.unwrap() {
        assert!(
            !req.url.as_str().contains("access_token"),
            "token never in URLs: {}",
            req.url
        );
    }
    // 3 Conversations API calls + 1 profile batch for 3 threads.
    assert_eq!(g.calls_made(), 4);

    // A second run over the same data adds nothing.
    let again = s.run(None, &CancellationToken::new()).await;
    assert_eq!(again.accounts[0].messages, 0);
    assert_eq!(store.messages_latest(&u1, 10).unwrap().len(), 4);
}

#[tokio::test]
async fn incremental_run_stops_at_threads_not_updated_since_last_sync() {
    let server = MockServer::start().await;
    let base = server.uri();
    let now = chrono::Utc::now().timestamp();
    let last = now - 3600;
    Mock::given(path("/v25.0/P/conversations"))
        .and(query_param("platform", "messenger"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                thread("P", "NEW", "New", now - 60, vec![msg("m_new", now - 60, "NEW", "new")], None),
                thread("P", "OLD", "Old", last - 7200, vec![msg("m_old", last - 7200, "OLD", "old")], None),
            ],
            "paging": {"next": format!("{base}/v25.0/P/conversations?after=older")}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/P/conversations"))
        .and(query_param("after", "older"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(0)
        .mount(&server)
        .await;
    no_profiles(&server).await;
    let cfg = config(&base, &page_block("P", None));
    let (_d, store) = store();
    store.set_last_sync("P", TimestampMs(last * 1000)).unwrap();
    let (s, _) = syncer(&cfg, &store);
    let report = s.run(None, &CancellationToken::new()).await;
    assert_eq!(report.failed(), 0);
    assert!(store.message(&"m_new".into()).unwrap().is_some());
    assert!(
        store.message(&"m_old".into()).unwrap().is_none(),
        "older thread not read again"
    );
    assert!(store.last_sync("P").unwrap().unwrap() > TimestampMs(last * 1000));
}

#[tokio::test]
async fn instagram_is_synced_with_its_own_account_and_a_notice() {
    let server = MockServer::start().await;
    let base = server.uri();
    let now = chrono::Utc::now().timestamp();
    Mock::given(path("/v25.0/P/conversations"))
        .and(query_param("platform", "messenger"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/P/conversations"))
        .and(query_param("platform", "instagram"))
        .and(query_param("fields", FIELDS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "t_ig", "updated_time": iso(now),
            "participants": {"data": [{"id": "IG", "username": "shop"}, {"id": "IGU", "username": "ann_ig"}]},
            "messages": {"data": [msg("ig_m1", now, "IGU", "hi from ig")],
                         "paging": {"next": format!("{base}/v25.0/t_ig/messages?after=z")}}
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    // Pages smaller than Instagram's 20 readable messages are followed up
    // to 20 (1 + 19 here)...
    let rest: Vec<Value> = (2..=20)
        .map(|i| msg(&format!("ig_m{i}"), now - i, "IGU", "older"))
        .collect();
    Mock::given(path("/v25.0/t_ig/messages"))
        .and(query_param("after", "z"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": rest,
            "paging": {"next": format!("{base}/v25.0/t_ig/messages?after=y")}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // ...but history beyond the 20 most recent is not readable: not followed.
    Mock::given(path("/v25.0/t_ig/messages"))
        .and(query_param("after", "y"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    no_profiles(&server).await;
    let cfg = config(&base, &page_block("P", Some("IG")));
    let (_d, store) = store();
    let mut updates = store.subscribe();
    let (s, _) = syncer(&cfg, &store);
    let report = s.run(None, &CancellationToken::new()).await;
    assert_eq!(report.failed(), 0, "{report:?}");
    let conv = ConvKey::new(Platform::Instagram, "IG", "IGU");
    assert_eq!(
        store.contact(&conv).unwrap().unwrap().username.as_deref(),
        Some("ann_ig")
    );
    assert_eq!(store.messages_latest(&conv, 50).unwrap().len(), 20);
    assert!(store.last_sync("IG").unwrap().is_some());
    let mut notices = 0;
    while let Some(Ok(u)) = updates.try_recv() {
        if let dmdesk::update::Update::Notice(t) = &*u.update {
            assert!(t.contains("20 most recent"));
            notices += 1;
        }
    }
    assert_eq!(notices, 1);
}

#[tokio::test]
async fn dead_token_marks_the_page_and_stops_calls() {
    let server = MockServer::start().await;
    Mock::given(path("/v25.0/P/conversations"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException", "code": 190, "error_subcode": 463}})))
        .expect(1) // Messenger once; not Instagram, not the second run
        .mount(&server)
        .await;
    let cfg = config(&server.uri(), &page_block("P", Some("IG")));
    let (_d, store) = store();
    let mut updates = store.subscribe();
    let (s, g) = syncer(&cfg, &store);
    let r1 = s.run(None, &CancellationToken::new()).await;
    assert_eq!(r1.failed(), 1);
    assert_eq!(
        r1.accounts.len(),
        1,
        "Instagram of the same page is not tried"
    );
    let page = &cfg.pages[0];
    let dead = store
        .token_dead("P", &token_fingerprint(&page.access_token))
        .unwrap();
    assert!(dead.is_some(), "page marked as needing a new token");
    let mut saw_notice = false;
    while let Some(Ok(u)) = updates.try_recv() {
        if let dmdesk::update::Update::Notice(t) = &*u.update {
            saw_notice |= t.contains("token") && !t.contains("tok-P");
        }
    }
    assert!(saw_notice);
    let r2 = s.run(None, &CancellationToken::new()).await;
    assert_eq!(r2.failed(), 1);
    assert_eq!(g.calls_made(), 1, "no further calls with the dead token");
    assert!(store.last_sync("P").unwrap().is_none());
    // A new token in the config lifts the mark.
    assert!(store
        .token_dead("P", "another-fingerprint")
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_failing_page_does_not_stop_the_others_and_cli_exits_1() {
    let server = MockServer::start().await;
    let now = chrono::Utc::now().timestamp();
    Mock::given(path("/v25.0/BAD/conversations"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"message": "(#230) Requires pages_messaging permission", "code": 230}})))
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/GOOD/conversations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            thread("GOOD", "U", "U", now, vec![msg("m_good", now, "U", "hi")], None)
        ]})))
        .mount(&server)
        .await;
    no_profiles(&server).await;
    let cfg = config(
        &server.uri(),
        &(page_block("BAD", None) + &page_block("GOOD", None)),
    );
    let (_d, store) = store();
    let res = cli_sync(
        &cfg,
        store.clone(),
        &SyncArgs { account: None },
        &Console::local(None),
    )
    .await;
    let err = res.expect_err("one page failed");
    assert_eq!(err.code, 1);
    assert_eq!(
        err.message,
        "sync failed for 1 of 2 accounts; the others were synced"
    );
    assert!(
        store.message(&"m_good".into()).unwrap().is_some(),
        "the good page was synced"
    );
    assert!(store.last_sync("GOOD").unwrap().is_some());
    assert!(
        store.last_sync("BAD").unwrap().is_none(),
        "failed page is retried next run"
    );
    // Only the good page: success.
    let ok = cli_sync(
        &cfg,
        store.clone(),
        &SyncArgs {
            account: Some("GOOD".into()),
        },
        &Console::local(None),
    )
    .await;
    assert!(ok.is_ok());
    let unknown = cli_sync(
        &cfg,
        store,
        &SyncArgs {
            account: Some("NOPE".into()),
        },
        &Console::local(None),
    )
    .await;
    assert_eq!(unknown.unwrap_err().code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_and_sync_deliver_one_message_once() {
    use dmdesk::meta::webhook::{parse_body, ParseCtx};
    let (_d, store) = store();
    let account = AccountId::from("P");
    for i in 0..50 {
        let mid = format!("m_race_{i}");
        let ts = 1_700_000_000_000i64 + i * 1000;
        let body = json!({"object": "page", "entry": [{"id": "P", "time": ts, "messaging": [
            {"sender": {"id": "U"}, "recipient": {"id": "P"}, "timestamp": ts, "message": {"mid": mid, "text": "hi"}}
        ]}]});
        let webhook = parse_body(body.to_string().as_bytes(), &ParseCtx::default())
            .unwrap()
            .changes;
        let t = json!({"id": "t", "updated_time": ts / 1000,
            "participants": {"data": [{"id": "P"}, {"id": "U", "name": "U"}]},
            "messages": {"data": [{"id": mid, "created_time": iso(ts / 1000), "from": {"id": "U"}, "message": "hi"}]}});
        let synced = dmdesk::sync::convert::thread(&t, Platform::Messenger, &account).changes;
        let (s1, s2) = (store.clone(), store.clone());
        let a = tokio::task::spawn_blocking(move || s1.apply(&webhook).unwrap());
        let b = tokio::task::spawn_blocking(move || s2.apply(&synced).unwrap());
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!(
            a.new_messages + b.new_messages,
            1,
            "exactly one of them inserted {mid}"
        );
    }
    let conv = ConvKey::new(Platform::Messenger, "P", "U");
    assert_eq!(store.messages_latest(&conv, 100).unwrap().len(), 50);
    assert_eq!(
        store.conversation(&conv).unwrap().unwrap().message_count,
        50
    );
}

#[tokio::test]
async fn sync_fetches_missing_profiles_in_batches() {
    let server = MockServer::start().await;
    let now = chrono::Utc::now().timestamp();
    let threads: Vec<Value> = (0..3)
        .map(|i| {
            thread(
                "P",
                &format!("U{i}"),
                "",
                now - i,
                vec![msg(&format!("m{i}"), now - i, &format!("U{i}"), "x")],
                None,
            )
        })
        .collect();
    Mock::given(path("/v25.0/P/conversations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": threads})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"code": 200, "body": json!({"first_name": "Ann", "last_name": "Zero", "profile_pic": "https://p/0"}).to_string()},
            {"code": 400, "body": json!({"error": {"message": "No profile available for this user", "code": 2018218}}).to_string()},
            null
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let cfg = config(&server.uri(), &page_block("P", None));
    let (_d, store) = store();
    let (s, _) = syncer(&cfg, &store);
    let report = s.run(None, &CancellationToken::new()).await;
    assert_eq!(report.accounts[0].profiles_fetched, 1);
    let c0 = store
        .contact(&ConvKey::new(Platform::Messenger, "P", "U0"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (c0.display_name().as_str(), c0.profile_state),
        ("Ann Zero", ProfileState::Fetched)
    );
    let c1 = store
        .contact(&ConvKey::new(Platform::Messenger, "P", "U1"))
        .unwrap()
        .unwrap();
    assert_eq!(c1.profile_state, ProfileState::Failed);
    assert_eq!(c1.display_name(), "Unknown (U1)");
    let batch = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body = String::from_utf8(batch.body).unwrap();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let reqs: Vec<Value> =
        serde_json::from_str(&form.iter().find(|(k, _)| k == "batch").unwrap().1).unwrap();
    assert_eq!(
        reqs[0]["relative_url"],
        "U0?fields=first_name,last_name,profile_pic"
    );
}

/// Graph unreachable (a closed loopback port): every account fails, as a
/// network problem, and nobody claims "the others were synced".
#[tokio::test]
async fn unreachable_graph_is_a_network_problem_and_no_others_are_claimed() {
    for (pages, expected) in [
        (page_block("P", None), "sync failed"),
        (
            page_block("P", Some("IG")),
            "sync failed for all 2 accounts",
        ),
    ] {
        let cfg = config("http://127.0.0.1:9", &pages);
        let (_d, store) = store();
        let syncer = Syncer::new(
            store.clone(),
            Arc::new(cfg.clone()),
            GraphClient::new(&cfg.graph),
        );
        let report = syncer.run(None, &CancellationToken::new()).await;
        for a in &report.accounts {
            let e = a.error.as_deref().unwrap_or_default();
            assert!(e.starts_with("network problem"), "{e}");
            assert!(!e.contains("permission"), "{e}");
        }
        drop(syncer);
        let err = cli_sync(
            &cfg,
            store,
            &SyncArgs { account: None },
            &Console::local(None),
        )
        .await
        .expect_err("nothing was reachable");
        assert_eq!(err.code, 1);
        assert_eq!(err.message, expected);
        assert!(!err.message.contains("others"), "{}", err.message);
    }
}
