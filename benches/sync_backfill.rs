//! Backfill of 10,000 conversations × 20 messages from a local fake Graph API
//! with no latency. Reports messages applied per second (whole sync, and the
//! apply path alone) and Graph calls per conversation; median of 3 runs.
//!
//! cargo bench --bench sync_backfill

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{AccountId, Platform};
use dmdesk::meta::graph::GraphClient;
use dmdesk::sync::{convert, Syncer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const CONVS: usize = 10_000;
const MSGS: usize = 20;
const PER_PAGE: usize = 100;
const RUNS: usize = 3;

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S+0000").to_string())
        .unwrap_or_default()
}

fn thread(i: usize, now: i64) -> Value {
    let user = format!("U{i}");
    let updated = now - i as i64;
    let msgs: Vec<Value> = (0..MSGS)
        .map(|j| {
            let from = if j % 4 == 3 { "P".to_string() } else { user.clone() };
            json!({"id": format!("m_{i}_{j}"), "created_time": iso(updated - j as i64 * 60),
                   "from": {"id": from}, "message": format!("message {j} in thread {i}, some ordinary length text")})
        })
        .collect();
    json!({"id": format!("t_{i}"), "updated_time": iso(updated),
           "participants": {"data": [{"id": "P", "name": "Page"}, {"id": user, "name": format!("Customer {i}")}]},
           "messages": {"data": msgs}})
}

#[derive(Clone)]
struct Fake {
    base: String,
    now: i64,
}

async fn conversations(
    State(f): State<Arc<Fake>>,
    Path((_v, _page)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let end = (start + PER_PAGE).min(CONVS);
    let data: Vec<Value> = (start..end).map(|i| thread(i, f.now)).collect();
    let mut body = json!({"data": data, "paging": {"cursors": {"after": end.to_string()}}});
    if end < CONVS {
        body["paging"]["next"] = json!(format!("{}/v23.0/P/conversations?after={end}", f.base));
    }
    Json(body)
}

async fn batch(body: String) -> Json<Value> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let reqs: Vec<Value> = form
        .iter()
        .find(|(k, _)| k == "batch")
        .and_then(|(_, v)| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let out: Vec<Value> = reqs
        .iter()
        .map(|_| json!({"code": 200, "body": json!({"first_name": "First", "last_name": "Last", "profile_pic": "https://p"}).to_string()}))
        .collect();
    Json(Value::Array(out))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let fake = Arc::new(Fake {
        base: base.clone(),
        now: chrono::Utc::now().timestamp(),
    });
    let app = Router::new()
        .route("/{v}/{page}/conversations", get(conversations))
        .route("/{v}/", post(batch))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let text = format!(
        "[graph]\nbase_url = \"{base}\"\nconversations_per_second = 1000000\n[sync]\nconversations_per_page = {PER_PAGE}\nmessages_per_conversation = {MSGS}\n[[pages]]\nid = \"P\"\naccess_token = \"bench\"\n"
    );
    let cfg = Arc::new(Config::from_toml(&text, &|_| None).expect("config"));

    let mut sync_rates = Vec::new();
    let mut calls_per_conv = Vec::new();
    let mut apply_rates = Vec::new();
    for run in 0..RUNS {
        // Whole sync: HTTP + JSON + convert + apply + profile batches.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Db::open(dir.path(), 64, "bench").expect("store");
        let graph = GraphClient::new(&cfg.graph);
        let syncer = Syncer::new(store.clone(), cfg.clone(), graph.clone());
        let t = Instant::now();
        let report = syncer.run(None, &CancellationToken::new()).await;
        let secs = t.elapsed().as_secs_f64();
        let r = &report.accounts[0];
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.messages as usize, CONVS * MSGS);
        let rate = r.messages as f64 / secs;
        let cpc = graph.calls_made() as f64 / CONVS as f64;
        eprintln!(
            "run {run}: sync {secs:.2}s, {rate:.0} messages/s, {} calls ({cpc:.3}/conversation, {} profiles)",
            graph.calls_made(),
            r.profiles_fetched
        );
        sync_rates.push(rate);
        calls_per_conv.push(cpc);
        drop(syncer);

        // The apply path alone, same batches, fresh store.
        let dir2 = tempfile::tempdir().expect("tempdir");
        let store2 = Db::open(dir2.path(), 64, "bench").expect("store");
        let account = AccountId::from("P");
        let pages: Vec<Vec<dmdesk::change::Change>> = (0..CONVS / PER_PAGE)
            .map(|p| {
                (p * PER_PAGE..(p + 1) * PER_PAGE)
                    .flat_map(|i| {
                        convert::thread(&thread(i, fake.now), Platform::Messenger, &account).changes
                    })
                    .collect()
            })
            .collect();
        let t = Instant::now();
        let mut n = 0;
        for changes in &pages {
            n += store2.apply(changes).expect("apply").new_messages;
        }
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "run {run}: apply alone {secs:.2}s, {:.0} messages/s",
            n as f64 / secs
        );
        apply_rates.push(n as f64 / secs);
    }
    println!(
        "sync_backfill: {CONVS} conversations x {MSGS} messages, median of {RUNS}: sync {:.0} messages/s, apply alone {:.0} messages/s, {:.3} Graph calls per conversation (goals: >= 50000 messages/s, <= 0.1 calls/conversation)",
        median(sync_rates),
        median(apply_rates),
        median(calls_per_conv)
    );
}
