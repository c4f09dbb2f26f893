//! Webhook ingest benchmark: signed ~1.2 KB message posts acknowledged only
//! once durable (group commit) vs. a bare 200 route of the same server, in
//! the same run, at 1, 16 and 64 connections; plus one 1000-event body.
//!
//! Run: cargo bench --bench webhook_ingest
//! Load comes from `wrk` in its own process when it is installed (as in
//! design.md's measurements); otherwise from an in-process reqwest client,
//! which saturates long before the server does (the bare ratio then flatters
//! the durable route). Everything stays on 127.0.0.1, bounded in time.

use axum::http::StatusCode;
use axum::routing::post;
use dmdesk::db::Db;
use dmdesk::metrics::Metrics;
use dmdesk::secret::Secret;
use dmdesk::webhook::{router, signature, WebhookState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret";
const RUN: Duration = Duration::from_secs(3);
const RUNS: usize = 3;

fn body(i: u64) -> (Vec<u8>, String) {
    // A realistic message body padded to about 1.2 KB.
    let text = format!("Hello! I ordered a cappuccino grinder last week (order {i}) and it still has not shipped. {}", "Could you check the status please? ".repeat(24));
    let b = serde_json::json!({"object":"page","entry":[{"id":"100200300","time":1_700_000_000_000u64 + i,"messaging":[
        {"sender":{"id":format!("{}", 7_000_000 + i % 5000)},"recipient":{"id":"100200300"},"timestamp":1_700_000_000_000u64 + i,
         "message":{"mid":format!("m_bench_{i:012}"),"text":text}}]}]})
    .to_string()
    .into_bytes();
    let sig = signature::sign(SECRET.as_bytes(), &b);
    (b, sig)
}

struct Sample {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// One wrk run: the same signed body repeated (the durable path costs the
/// same for a duplicate: it is logged and flushed before the 200).
fn wrk(url: &str, conns: usize, durable: bool, dir: &std::path::Path) -> Option<Sample> {
    let (b, sig) = body(1);
    let script = dir.join(format!("post-{durable}.lua"));
    let lua_body = String::from_utf8(b)
        .unwrap()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let mut lua = format!("wrk.method = \"POST\"\nwrk.body = \"{lua_body}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
    if durable {
        lua.push_str(&format!(
            "wrk.headers[\"X-Hub-Signature-256\"] = \"{sig}\"\n"
        ));
    }
    std::fs::write(&script, lua).unwrap();
    let threads = conns.min(2).to_string();
    let out = std::process::Command::new("wrk")
        .args([
            "-t",
            &threads,
            "-c",
            &conns.to_string(),
            "-d",
            &format!("{}s", RUN.as_secs()),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let pct = |p: &str| -> Option<Duration> {
        let v = text
            .lines()
            .find(|l| l.trim_start().starts_with(p))?
            .split_whitespace()
            .nth(1)?
            .to_string();
        let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic())?);
        let n: f64 = num.parse().ok()?;
        Some(Duration::from_secs_f64(match unit {
            "us" => n / 1e6,
            "ms" => n / 1e3,
            "s" => n,
            _ => return None,
        }))
    };
    Some(Sample {
        rps,
        p50: pct("50%")?,
        p99: pct("99%")?,
    })
}

async fn measure(url: &str, conns: usize, durable: bool, dir: &std::path::Path) -> Sample {
    let (u, d) = (url.to_string(), dir.to_path_buf());
    if let Some(s) = tokio::task::spawn_blocking(move || wrk(&u, conns, durable, &d))
        .await
        .unwrap()
    {
        return s;
    }
    load(url, conns, durable).await
}

async fn load(url: &str, conns: usize, durable: bool) -> Sample {
    let next = Arc::new(AtomicU64::new(rand::random::<u32>() as u64 * 1_000_000));
    let deadline = Instant::now() + RUN;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let url = url.to_string();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let (b, sig) = body(next.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                let mut req = client.post(&url).body(b);
                if durable {
                    req = req.header("x-hub-signature-256", sig);
                }
                let resp = req.send().await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                let _ = resp.bytes().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let n = all.len();
    Sample {
        rps: n as f64 / RUN.as_secs_f64(),
        p50: all[n / 2],
        p99: all[(n * 99 / 100).min(n - 1)],
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Db::open(dir.path(), 64, "bench").unwrap();
        let metrics = Arc::new(Metrics::default());
        // No applier runs here (the bench measures the durable 200), so the
        // lag would pass `[store] max_apply_lag` and turn 200s into 503s.
        metrics.set_max_lag(u64::MAX);
        let app = router(
            WebhookState {
                store: store.clone(),
                app_secret: Secret::new(SECRET),
                instagram_app_secret: None,
                verify_token: Secret::new("v"),
                metrics,
                ingest: Arc::new(tokio::sync::Notify::new()),
            },
            "/webhook",
        )
        // The baseline: the same server and body limit, no verification or log.
        .route("/bare", post(|_b: axum::body::Bytes| async { StatusCode::OK }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let bare = format!("http://{addr}/bare");
        let hook = format!("http://{addr}/webhook");
        let wrk_dir = tempfile::tempdir().unwrap();
        let using_wrk = std::process::Command::new("wrk").arg("--version").output().is_ok();
        println!("load generator: {}", if using_wrk { "wrk (separate process)" } else { "in-process reqwest (install wrk for server-bound figures)" });
        measure(&hook, 4, true, wrk_dir.path()).await; // warm up
        println!("connections | bare req/s | durable req/s | ratio | durable p50 | durable p99 | bare p99 | requests per flush");
        for conns in [1usize, 16, 64] {
            let (mut b_rps, mut d_rps, mut ratios, mut p50s, mut p99s, mut bp99s, mut per_flush) =
                (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
            for _ in 0..RUNS {
                let b = measure(&bare, conns, false, wrk_dir.path()).await;
                let flushes0 = store.flush_count();
                let d = measure(&hook, conns, true, wrk_dir.path()).await;
                let flushes = (store.flush_count() - flushes0).max(1);
                per_flush.push(d.rps * RUN.as_secs_f64() / flushes as f64);
                ratios.push(d.rps / b.rps);
                b_rps.push(b.rps);
                d_rps.push(d.rps);
                p50s.push(d.p50.as_secs_f64() * 1e3);
                p99s.push(d.p99.as_secs_f64() * 1e3);
                bp99s.push(b.p99.as_secs_f64() * 1e3);
            }
            println!(
                "{conns:>11} | {:>10.0} | {:>13.0} | {:>5.2} | {:>8.2} ms | {:>8.2} ms | {:>5.2} ms | {:>5.1}",
                median(b_rps), median(d_rps), median(ratios), median(p50s), median(p99s), median(bp99s), median(per_flush)
            );
        }
        // One body of 1000 events, acknowledged once durable.
        let items: Vec<_> = (0..1000)
            .map(|i| serde_json::json!({"sender":{"id":format!("{}", 9_000_000 + i % 300)},"recipient":{"id":"100200300"},
                "timestamp":1_700_000_000_000u64 + i,"message":{"mid":format!("m_burst_{i}"),"text":"Hi, is the shop open on Sunday?"}}))
            .collect();
        let big = serde_json::json!({"object":"page","entry":[{"id":"100200300","time":1,"messaging":items}]}).to_string();
        let sig = signature::sign(SECRET.as_bytes(), big.as_bytes());
        let client = reqwest::Client::new();
        let mut ms = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            let r = client.post(&hook).header("x-hub-signature-256", &sig).body(big.clone()).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!("1000-event body ({} bytes): ack in {:.2} ms (median of 5)", big.len(), median(ms));
    });
}
