//! Control socket fan-out benchmark (issues 7 and 18): 50 attached clients
//! (BENCH_CLIENTS; issue 7 measured 20).
//!
//! - latency from a webhook's 200 to the moment every one of the attached
//!   clients has the update (p50/p99 over 200 spaced webhooks; the clients
//!   view the list, so the update is the digest naming the conversation);
//! - ingest throughput (unique signed messages, 16 concurrent posters)
//!   without clients and with the clients attached, in the same run.
//!
//! Run: cargo bench --bench control_fanout
//! The owner is the real runtime in this process on 127.0.0.1; the clients
//! are real socket clients (`control::client::Remote`) in this process too,
//! so they compete for the same 2 cores, as agents' UIs on the server would.

use dmdesk::config::Config;
use dmdesk::control::client::{Pushed, Remote};
use dmdesk::db::Db;
use dmdesk::update::Update;
use dmdesk::webhook::signature;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret";
/// Attached clients: BENCH_CLIENTS, default 50.
static CLIENTS: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
});
const LATENCY_SAMPLES: usize = 200;
const THROUGHPUT_POSTS: usize = 10_000;
const POSTERS: usize = 16;
const RUNS: usize = 5;

fn body(tag: &str, i: usize) -> Vec<u8> {
    let ts = dmdesk::domain::TimestampMs::now().0;
    serde_json::json!({"object":"page","entry":[{"id":"P1","time":ts,"messaging":[
        {"sender":{"id":format!("U{}", i % 500)},"recipient":{"id":"P1"},"timestamp":ts,
         "message":{"mid":format!("m_{tag}_{i}"),"text":format!("{tag} {i}")}}]}]})
    .to_string()
    .into_bytes()
}

async fn post(http: &reqwest::Client, url: &str, b: Vec<u8>) {
    let sig = signature::sign(SECRET.as_bytes(), &b);
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sig)
        .body(b)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
}

async fn owner(dir: &std::path::Path) -> (dmdesk::runtime::Running, String) {
    let text = format!(
        "[server]\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n[store]\npath = \"{}\"\n[sync]\ninterval = \"off\"\n[graph]\nbase_url = \"http://127.0.0.1:9\"\n[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"t\"\n",
        dir.join("store").display()
    );
    let cfg = Config::from_toml(&text, &|_| None).expect("config");
    let store = Db::open(&cfg.store.path, cfg.store.cache_mb, "serve").expect("store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/webhook", listener.local_addr().expect("addr"));
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .expect("start");
    (running, url)
}

/// This process's CPU time so far (user + system), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the
    // 12th and stime the 13th of them, in clock ticks (100 a second here).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Post `n` unique messages from `POSTERS` tasks; messages per second, and
/// CPU microseconds per message (all of this process: server, posters and
/// clients), which the shared machine's noise moves less.
async fn throughput(http: &reqwest::Client, url: &str, tag: &str, n: usize) -> (f64, f64) {
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..POSTERS {
        let (http, url, tag) = (http.clone(), url.to_string(), tag.to_string());
        tasks.spawn(async move {
            for i in (p..n).step_by(POSTERS) {
                post(&http, &url, body(&tag, i)).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let rate = n as f64 / start.elapsed().as_secs_f64();
    (rate, (cpu_seconds() - cpu0) * 1e6 / n as f64)
}

type Seen = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// Attach `CLIENTS` clients; each records when it saw each message text.
async fn attach(sock: &std::path::Path, seen: &Seen) -> Vec<Remote> {
    let mut remotes = Vec::new();
    for _ in 0..*CLIENTS {
        let (r, _, mut rx) = Remote::attach(sock).await.expect("attach");
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                // A list-viewing client learns of a message by the digest
                // naming its conversation (each latency sample has its own).
                if let Pushed::Update(u) = p {
                    if let Update::Digest { changed, .. } = *u {
                        let now = Instant::now();
                        let mut seen = seen.lock().unwrap();
                        for (k, _) in changed {
                            if k.user.as_str().starts_with("lat") {
                                seen.entry(k.user.as_str().to_string())
                                    .or_default()
                                    .push(now);
                            }
                        }
                    }
                }
            }
        });
        remotes.push(r);
    }
    remotes
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Median with the spread: "m (min–max)".
fn median(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!("{:.2} ({:.2}–{:.2})", v[v.len() / 2], v[0], v[v.len() - 1])
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(POSTERS)
        .build()
        .unwrap();
    let mut ratios = Vec::new();
    let mut cpu_ratios = Vec::new();
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for run in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let (running, url) = owner(dir.path()).await;
        let sock = dmdesk::control::socket_path(&dir.path().join("store"));
        // Warm-up, then ingest without clients, with them, and without
        // again: the store grows during the run, so the "with" phase is
        // compared with the mean of the phases around it.
        throughput(&http, &url, &format!("warm{run}"), 300).await;
        let (bare_a, cpu_a) =
            throughput(&http, &url, &format!("bareA{run}"), THROUGHPUT_POSTS).await;
        let seen: Seen = Arc::new(Mutex::new(HashMap::new()));
        let remotes = attach(&sock, &seen).await;
        let (with, cpu_with) =
            throughput(&http, &url, &format!("with{run}"), THROUGHPUT_POSTS).await;

        // Latency: spaced webhooks, from the 200 to the last client.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut lat = Vec::new();
        for i in 0..LATENCY_SAMPLES {
            let text = format!("lat{run}-{i}");
            let b = serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
                {"sender":{"id":text},"recipient":{"id":"P1"},"timestamp":dmdesk::domain::TimestampMs::now().0,
                 "message":{"mid":format!("m_lat_{run}_{i}"),"text":text}}]}]})
            .to_string()
            .into_bytes();
            post(&http, &url, b).await;
            let acked = Instant::now();
            let deadline = acked + Duration::from_secs(5);
            loop {
                let done = seen
                    .lock()
                    .unwrap()
                    .get(&text)
                    .filter(|v| v.len() == *CLIENTS)
                    .map(|v| *v.iter().max().unwrap());
                if let Some(last) = done {
                    lat.push(last.saturating_duration_since(acked));
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{text} did not reach every client"
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
        for r in &remotes {
            r.detach().await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (bare_b, cpu_b) =
            throughput(&http, &url, &format!("bareB{run}"), THROUGHPUT_POSTS).await;
        let bare = (bare_a + bare_b) / 2.0;
        let cpu_bare = (cpu_a + cpu_b) / 2.0;
        println!(
            "run {run}: CPU per message without clients {cpu_a:.0} then {cpu_b:.0} µs, with {} attached {cpu_with:.0} µs ({:.2}× the cost of the mean)",
            *CLIENTS,
            cpu_with / cpu_bare
        );
        cpu_ratios.push(cpu_bare / cpu_with);
        println!(
            "run {run}: ingest without clients {bare_a:.0} then {bare_b:.0} msg/s, with {n} attached {with:.0} msg/s ({:.2}× the mean); webhook 200 → all {n} clients p50 {p50:?} p99 {p99:?}",
            with / bare,
            n = *CLIENTS
        );
        ratios.push(with / bare);
        p50s.push(p50.as_secs_f64() * 1000.0);
        p99s.push(p99.as_secs_f64() * 1000.0);
        running.shutdown().await;
    }
    println!(
        "median of {RUNS} (min–max): ingest with {} clients {}× without (by CPU per message: {}×); webhook→all clients p50 {} ms, p99 {} ms",
        *CLIENTS,
        median(ratios),
        median(cpu_ratios),
        median(p50s),
        median(p99s)
    );
}
