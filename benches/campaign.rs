//! Campaign throughput against a local fake Send API (axum on 127.0.0.1,
//! 50 ms per call): the campaign runner vs a sequential send loop, and the
//! highest one-second rate seen at the fake with max_per_second = 100.
//! Three runs of each; medians printed. `cargo bench --bench campaign`.

use axum::{extract::State, routing::post, Json, Router};
use dmdesk::change::Change;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Message, Mid, Platform, TimestampMs};
use dmdesk::meta::graph::GraphClient;
use dmdesk::rules::window::Plan;
use dmdesk::send::campaign::{self, Tuning};
use dmdesk::send::reply::SendCtx;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const LATENCY: Duration = Duration::from_millis(50);
const CAMPAIGN_N: usize = 10_000;
const SEQ_N: usize = 100;
const LIMITED_N: usize = 600;
const RUNS: usize = 3;

#[derive(Clone, Default)]
struct Fake {
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

async fn send(State(f): State<Fake>, Json(body): Json<Value>) -> Json<Value> {
    f.arrivals.lock().expect("lock").push(Instant::now());
    tokio::time::sleep(LATENCY).await;
    let user = body["recipient"]["id"].as_str().unwrap_or("").to_string();
    Json(json!({"recipient_id": user, "message_id": format!("m_{user}_{}", rand_suffix())}))
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Most arrivals within any one-second window (two pointers over sorted times).
fn peak_per_second(mut ts: Vec<Instant>) -> usize {
    ts.sort();
    let (mut lo, mut best) = (0, 0);
    for hi in 0..ts.len() {
        while ts[hi].duration_since(ts[lo]) >= Duration::from_secs(1) {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn config(base: &str, max_per_second: u32, concurrency: usize) -> Config {
    Config::from_toml(
        &format!(
            "[graph]\nbase_url = \"{base}\"\ntimeout = \"30s\"\n[send]\nmax_per_second = {max_per_second}\nconcurrency = {concurrency}\n[[pages]]\nid = \"p1\"\nname = \"Bench\"\naccess_token = \"t\"\n"
        ),
        &|_| None,
    )
    .expect("bench config")
}

async fn run_campaign(store: &Db, cfg: Config, recipients: &[ConvKey]) -> Duration {
    let ctx = SendCtx::new(
        store.clone(),
        Arc::new(cfg.clone()),
        GraphClient::new(&cfg.graph),
    );
    let now = TimestampMs::now();
    let p = campaign::preview_from_store(store, &cfg, recipients, "Bench message", None, now)
        .expect("preview");
    assert_eq!(p.inside, recipients.len());
    let c = campaign::create(store, "bench", "Bench message", None, None, &p, now)
        .await
        .expect("create");
    let t0 = Instant::now();
    let rep = campaign::run(
        &ctx,
        &c.id,
        &Tuning::from_config(&cfg),
        &CancellationToken::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("run");
    let took = t0.elapsed();
    assert_eq!(rep.counts.sent as usize, recipients.len(), "{rep}");
    took
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

async fn bench() {
    let fake = Fake::default();
    let app = Router::new()
        .route("/{v}/{page}/messages", post(send))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Db::open(dir.path(), 64, "bench").expect("store");
    let recipients: Vec<ConvKey> = (0..CAMPAIGN_N)
        .map(|i| ConvKey::new(Platform::Messenger, "p1", format!("u{i}")))
        .collect();
    let now = TimestampMs::now();
    let changes: Vec<Change> = recipients
        .iter()
        .map(|k| {
            let mut m = Message::inbound(k.clone(), Mid(format!("in_{}", k.user)), now);
            m.text = Some("hi".into());
            Change::Message {
                msg: m,
                metadata: None,
                qualifying: true,
                from_sync: false,
            }
        })
        .collect();
    store.apply(&changes).expect("apply");

    let concurrency = 128;
    let mut seq_rates = Vec::new();
    let mut camp_rates = Vec::new();
    let mut peaks = Vec::new();
    for run in 1..=RUNS {
        // Sequential loop: one awaited Send API call after another.
        let cfg = config(&base, 1_000_000, 1);
        let graph = GraphClient::new(&cfg.graph);
        let token = cfg.pages[0].access_token.clone();
        let t0 = Instant::now();
        for k in recipients.iter().take(SEQ_N) {
            graph
                .send_text(
                    &k.account,
                    &token,
                    &k.user,
                    "Bench message",
                    Plan::Response,
                    "dmdesk:bench",
                )
                .await
                .expect("send");
        }
        let seq_rate = SEQ_N as f64 / t0.elapsed().as_secs_f64();

        // The campaign runner, no limit.
        let took = run_campaign(&store, config(&base, 1_000_000, concurrency), &recipients).await;
        let camp_rate = CAMPAIGN_N as f64 / took.as_secs_f64();

        // The campaign runner limited to 100/s: peak rate seen at the fake.
        fake.arrivals.lock().expect("lock").clear();
        run_campaign(
            &store,
            config(&base, 100, concurrency),
            &recipients[..LIMITED_N],
        )
        .await;
        let peak = peak_per_second(fake.arrivals.lock().expect("lock").clone());

        println!(
            "run {run}: sequential {seq_rate:.1} sends/s ({SEQ_N}), campaign {camp_rate:.1} sends/s ({CAMPAIGN_N}, concurrency {concurrency}) = {:.1}x, limited peak {peak}/s (limit 100, {LIMITED_N} sends)",
            camp_rate / seq_rate
        );
        seq_rates.push(seq_rate);
        camp_rates.push(camp_rate);
        peaks.push(peak as f64);
    }
    let (s, c) = (median(seq_rates), median(camp_rates));
    println!(
        "median of {RUNS}: sequential {s:.1}/s, campaign {c:.1}/s, speed-up {:.1}x (goal >= 25x); peak at the fake with max_per_second=100: {} (max of runs {})",
        c / s,
        median(peaks.clone()),
        peaks.iter().cloned().fold(0.0, f64::max)
    );
}
