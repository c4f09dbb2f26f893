//! Backfill of 10,000 conversations × 30 messages (threads longer than the
//! 20 messages the old default read with each thread) from a local fake
//! Graph API with no latency. The fake honours `limit`,
//! `messages.limit(N)` and nested paging like Meta. Reports messages applied
//! per second (whole sync, and the apply path alone) and Graph calls per
//! conversation with the default page sizes; median of 3 runs. One more
//! sync of 1,000 conversations with the old sizes (25 threads × 20
//! messages) shows the calls per conversation they cost.
//!
//! cargo bench --bench sync_backfill
//! (`SYNC_BACKFILL_CONVS=N` syncs N conversations instead of 10,000.)

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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const CONVS: usize = 10_000;
const MSGS: usize = 30;
/// Conversations in the old-sizes comparison run.
const OLD_CONVS: usize = 1_000;
const RUNS: usize = 3;

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S+0000").to_string())
        .unwrap_or_default()
}

/// Messages `from..to` (newest first) of thread `i`.
fn messages(i: usize, now: i64, from: usize, to: usize) -> Vec<Value> {
    let user = format!("U{i}");
    let updated = now - i as i64;
    (from..to.min(MSGS))
        .map(|j| {
            let from = if j % 4 == 3 { "P".to_string() } else { user.clone() };
            json!({"id": format!("m_{i}_{j}"), "created_time": iso(updated - j as i64 * 60),
                   "from": {"id": from}, "message": format!("message {j} in thread {i}, some ordinary length text")})
        })
        .collect()
}

/// Thread `i` with its newest `per_thread` messages and, when it has more,
/// Meta's nested paging link.
fn thread(i: usize, now: i64, per_thread: usize, base: &str) -> Value {
    let user = format!("U{i}");
    let updated = now - i as i64;
    let mut msgs = json!({"data": messages(i, now, 0, per_thread)});
    if per_thread < MSGS {
        msgs["paging"] = json!({"cursors": {"after": per_thread.to_string()},
            "next": format!("{base}/v25.0/t_{i}/messages?limit={per_thread}&after={per_thread}")});
    }
    json!({"id": format!("t_{i}"), "updated_time": iso(updated),
           "participants": {"data": [{"id": "P", "name": "Page"}, {"id": user, "name": format!("Customer {i}")}]},
           "messages": msgs})
}

struct Fake {
    base: String,
    now: i64,
    /// Conversations served (the old-sizes run serves fewer).
    convs: AtomicUsize,
}

/// `N` of `messages.limit(N)` in a `fields` expansion (Meta's default 25).
fn nested_limit(fields: &str) -> usize {
    fields
        .split("messages.limit(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(25)
}

async fn conversations(
    State(f): State<Arc<Fake>>,
    Path((_v, _page)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let convs = f.convs.load(Ordering::Relaxed);
    let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25);
    let per_thread = nested_limit(q.get("fields").map(String::as_str).unwrap_or(""));
    let end = (start + limit).min(convs);
    let data: Vec<Value> = (start..end)
        .map(|i| thread(i, f.now, per_thread, &f.base))
        .collect();
    let mut body = json!({"data": data, "paging": {"cursors": {"after": end.to_string()}}});
    if end < convs {
        let fields: String = url::form_urlencoded::byte_serialize(
            q.get("fields").map(String::as_str).unwrap_or("").as_bytes(),
        )
        .collect();
        body["paging"]["next"] = json!(format!(
            "{}/v25.0/P/conversations?fields={fields}&limit={limit}&after={end}",
            f.base
        ));
    }
    Json(body)
}

/// Nested paging: `t_{i}/messages?limit=N&after=K`.
async fn thread_messages(
    State(f): State<Arc<Fake>>,
    Path((_v, conv)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let i: usize = conv
        .strip_prefix("t_")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25);
    let end = (start + limit).min(MSGS);
    let mut body = json!({"data": messages(i, f.now, start, end), "paging": {"cursors": {"after": end.to_string()}}});
    if end < MSGS {
        body["paging"]["next"] = json!(format!(
            "{}/v25.0/t_{i}/messages?limit={limit}&after={end}",
            f.base
        ));
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

/// One sync of the fake's conversations with `cfg`; the report's account
/// and the Graph calls it made.
async fn sync_once(cfg: &Arc<Config>) -> (dmdesk::request::sync::AccountReport, u64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Db::open(dir.path(), 64, "bench").expect("store");
    let graph = GraphClient::new(&cfg.graph);
    let syncer = Syncer::new(store.clone(), cfg.clone(), graph.clone());
    let t = Instant::now();
    let report = syncer.run(None, &CancellationToken::new()).await;
    let secs = t.elapsed().as_secs_f64();
    let r = report.accounts[0].clone();
    assert!(r.error.is_none(), "{:?}", r.error);
    (r, graph.calls_made(), secs)
}

fn config(base: &str, sync: &str) -> Arc<Config> {
    let text = format!(
        "[graph]\nbase_url = \"{base}\"\nconversations_per_second = 1000000\n[sync]\n{sync}\n[[pages]]\nid = \"P\"\naccess_token = \"bench\"\n"
    );
    Arc::new(Config::from_toml(&text, &|_| None).expect("config"))
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    // SYNC_BACKFILL_CONVS: fewer conversations for a quick check.
    let convs: usize = std::env::var("SYNC_BACKFILL_CONVS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CONVS);
    let old_convs = OLD_CONVS.min(convs);
    let fake = Arc::new(Fake {
        base: base.clone(),
        now: chrono::Utc::now().timestamp(),
        convs: AtomicUsize::new(convs),
    });
    let app = Router::new()
        .route("/{v}/{page}/conversations", get(conversations))
        .route("/{v}/{conv}/messages", get(thread_messages))
        .route("/{v}/", post(batch))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    // The default page sizes (100 threads × 100 messages).
    let cfg = config(&base, "");
    let per_page = cfg.sync.conversations_per_page as usize;
    let per_thread = cfg.sync.messages_per_conversation as usize;

    let mut sync_rates = Vec::new();
    let mut calls_per_conv = Vec::new();
    let mut apply_rates = Vec::new();
    for run in 0..RUNS {
        // Whole sync: HTTP + JSON + convert + apply + profile batches.
        let (r, calls, secs) = sync_once(&cfg).await;
        assert_eq!(r.messages as usize, convs * MSGS);
        let rate = r.messages as f64 / secs;
        let cpc = calls as f64 / convs as f64;
        eprintln!(
            "run {run}: sync {secs:.2}s, {rate:.0} messages/s, {calls} calls ({cpc:.3}/conversation, {} profiles)",
            r.profiles_fetched
        );
        sync_rates.push(rate);
        calls_per_conv.push(cpc);

        // The apply path alone, same batches, fresh store.
        let dir2 = tempfile::tempdir().expect("tempdir");
        let store2 = Db::open(dir2.path(), 64, "bench").expect("store");
        let account = AccountId::from("P");
        let pages: Vec<Vec<dmdesk::change::Change>> = (0..convs.div_ceil(per_page))
            .map(|p| {
                (p * per_page..((p + 1) * per_page).min(convs))
                    .flat_map(|i| {
                        convert::thread(
                            &thread(i, fake.now, per_thread, &fake.base),
                            Platform::Messenger,
                            &account,
                        )
                        .changes
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

    // Calls only: the old default sizes on fewer conversations.
    fake.convs.store(old_convs, Ordering::Relaxed);
    let old = config(
        &base,
        "conversations_per_page = 25\nmessages_per_conversation = 20",
    );
    let (r, old_calls, _) = sync_once(&old).await;
    assert_eq!(r.messages as usize, old_convs * MSGS);
    let old_cpc = old_calls as f64 / old_convs as f64;
    eprintln!("old sizes (25 x 20) on {old_convs} conversations: {old_calls} calls ({old_cpc:.3}/conversation)");

    println!(
        "sync_backfill: {convs} conversations x {MSGS} messages, pages of {per_page} x {per_thread}, median of {RUNS}: sync {:.0} messages/s, apply alone {:.0} messages/s, {:.3} Graph calls per conversation (old sizes 25 x 20: {old_cpc:.3}) (goals: >= 50000 messages/s, <= 0.1 calls/conversation)",
        median(sync_rates),
        median(apply_rates),
        median(calls_per_conv)
    );
}
