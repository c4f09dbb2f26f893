//! The background workers: sync on first start and on demand, and the
//! profile worker batching new contacts and skipping unconfigured accounts.

use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Platform, ProfileState};
use dmdesk::meta::graph::GraphClient;
use dmdesk::update::Update;
use dmdesk::workers::Job;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn config(base: &str) -> Config {
    let text = format!(
        "[graph]\nbase_url = \"{base}\"\nconversations_per_second = 1000\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"P\"\naccess_token = \"tok\"\n"
    );
    Config::from_toml(&text, &|_| None).unwrap()
}

async fn wait_sync_done(rx: &mut dmdesk::bus::Subscription) -> dmdesk::update::SyncProgress {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Ok(u)) => match &*u.update {
                Update::Sync(p) if !p.running && p.finished_at.is_some() => return p.clone(),
                _ => continue,
            },
            other => panic!("no finished sync: {other:?}"),
        }
    }
}

#[tokio::test]
async fn sync_worker_runs_at_first_start_and_on_demand() {
    let server = MockServer::start().await;
    Mock::given(path("/v25.0/P/conversations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "t", "updated_time": "2025-01-01T12:00:00+0000",
            "participants": {"data": [{"id": "P"}, {"id": "U", "name": "Una"}]},
            "messages": {"data": [{"id": "m1", "created_time": "2025-01-01T12:00:00+0000", "from": {"id": "U"}, "message": "hi"}]}
        }]})))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([null])))
        .mount(&server)
        .await;
    let cfg = Arc::new(config(&server.uri()));
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 8, "test").unwrap();
    let mut rx = store.subscribe();
    let (tx, jobs) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let worker = tokio::spawn(dmdesk::sync::run_worker(
        store.clone(),
        cfg.clone(),
        GraphClient::new(&cfg.graph),
        jobs,
        cancel.clone(),
    ));
    let p = wait_sync_done(&mut rx).await;
    assert_eq!(
        (p.pages, p.conversations, p.messages, p.errors),
        (1, 1, 1, 0)
    );
    assert!(store.last_sync("P").unwrap().is_some());
    tx.send(Job::Sync { account: None }).unwrap();
    let p = wait_sync_done(&mut rx).await;
    assert_eq!(p.messages, 0, "nothing new the second time");
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .unwrap()
        .unwrap();
}

struct Profiles(Arc<std::sync::Mutex<Vec<usize>>>);

impl Respond for Profiles {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        let reqs: Vec<Value> =
            serde_json::from_str(&form.iter().find(|(k, _)| k == "batch").unwrap().1).unwrap();
        self.0.lock().unwrap().push(reqs.len());
        let out: Vec<Value> = reqs
            .iter()
            .map(|r| {
                let rel = r["relative_url"].as_str().unwrap();
                let user = rel.split('?').next().unwrap();
                if rel.contains("username") {
                    json!({"code": 200, "body": json!({"name": null, "username": format!("ig_{user}"), "profile_pic": "https://p"}).to_string()})
                } else {
                    json!({"code": 200, "body": json!({"first_name": "First", "last_name": user}).to_string()})
                }
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(out)
    }
}

#[tokio::test]
async fn profile_worker_batches_new_contacts_and_skips_unconfigured_accounts() {
    let server = MockServer::start().await;
    let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/v25.0/"))
        .respond_with(Profiles(sizes.clone()))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.pages[0].instagram_id = Some("IG".into());
    let cfg = Arc::new(cfg);
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 8, "test").unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(1000);
    let cancel = CancellationToken::new();
    let mut keys: Vec<ConvKey> = (0..60)
        .map(|i| ConvKey::new(Platform::Messenger, "P", format!("U{i}")))
        .collect();
    keys.push(ConvKey::new(Platform::Instagram, "IG", "IGU"));
    keys.push(ConvKey::new(Platform::Messenger, "OTHER", "X")); // not configured: no token
                                                                // The whole burst is queued before the worker starts, so what it
                                                                // batches does not depend on how fast this loop runs.
    for k in &keys {
        tx.send(k.clone()).await.unwrap();
    }
    let worker = tokio::spawn(dmdesk::profiles::run_worker(
        store.clone(),
        cfg.clone(),
        GraphClient::new(&cfg.graph),
        rx,
        cancel.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let ig = ConvKey::new(Platform::Instagram, "IG", "IGU");
    loop {
        let done = store
            .contact(&ig)
            .unwrap()
            .is_some_and(|c| c.profile_state == ProfileState::Fetched)
            && store
                .contact(&ConvKey::new(Platform::Messenger, "P", "U59"))
                .unwrap()
                .is_some_and(|c| c.profile_state == ProfileState::Fetched);
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "profiles not fetched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sizes = sizes.lock().unwrap().clone();
    assert!(sizes.iter().all(|n| *n <= 50), "{sizes:?}");
    assert_eq!(
        sizes.iter().sum::<usize>(),
        61,
        "one request per configured contact: {sizes:?}"
    );
    let mut sorted = sizes.clone();
    sorted.sort();
    // Page P's 60 and its Instagram account's one (the same page token):
    // 61 in batches of at most 50.
    assert_eq!(sorted, [11, 50], "queued contacts were batched: {sizes:?}");
    assert_eq!(
        store.contact(&ig).unwrap().unwrap().display_name(),
        "@ig_IGU"
    );
    assert_eq!(
        store
            .contact(&ConvKey::new(Platform::Messenger, "P", "U3"))
            .unwrap()
            .unwrap()
            .display_name(),
        "First U3"
    );
    assert!(store
        .contact(&ConvKey::new(Platform::Messenger, "OTHER", "X"))
        .unwrap()
        .is_none());
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .unwrap()
        .unwrap();
}
