//! The webhook server under hostile, unsigned traffic: slow headers and
//! short bodies are cut, connections over the cap are closed, and memory
//! stays bounded, while signed requests are still answered. Loopback only;
//! every wait is for an observed event, with a deadline.

mod common;

use common::{text_body, Harness, SECRET};
use dmdesk::webhook::serve::{serve, Limits};
use dmdesk::webhook::{router_with, signature::sign, WebhookState};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
    _h: Harness,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn start(limits: Limits) -> Server {
    let h = Harness::new();
    let app = router_with(
        WebhookState {
            store: h.store.clone(),
            app_secret: h.config.server.app_secret.clone(),
            instagram_app_secret: h.config.server.instagram_app_secret.clone(),
            verify_token: h.config.server.verify_token.clone(),
            metrics: h.metrics.clone(),
            ingest: Arc::new(tokio::sync::Notify::new()),
        },
        "/webhook",
        &limits,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(serve(listener, app, limits, stop.clone()));
    Server { addr, stop, _h: h }
}

fn limits(header: Duration, body: Duration, cap: usize) -> Limits {
    Limits {
        max_connections: cap,
        header_timeout: header,
        body_timeout: body,
        large_bodies: 2,
    }
}

/// Read until the peer closes (EOF or reset); what was read, and when the
/// close was seen. Panics naming `what` after `deadline`.
async fn until_closed(s: &mut TcpStream, deadline: Duration, what: &str) -> (Vec<u8>, Duration) {
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((t0 + deadline).into(), s.read(&mut buf)).await {
            Err(_) => panic!(
                "awaited the server closing {what} within {deadline:?}; still open (read {:?})",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, t0.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// One signed webhook on a fresh connection: status and how long it took.
async fn signed_post(addr: SocketAddr, mid: &str) -> (u16, Duration) {
    let body = text_body("P1", "U1", mid, 1_700_000_000_000, "hi");
    let t0 = Instant::now();
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/webhook"))
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("signed request answered");
    (res.status().as_u16(), t0.elapsed())
}

#[tokio::test]
async fn slow_headers_are_cut_even_while_bytes_trickle() {
    let srv = start(limits(
        Duration::from_millis(600),
        Duration::from_secs(30),
        64,
    ))
    .await;
    // An idle connection (keep-alive idle, or a client that never speaks).
    let mut idle = TcpStream::connect(srv.addr).await.unwrap();
    // A slowloris: one header byte every 50 ms, for ever.
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    let (mut rd, mut wr) = slow.split();
    let head = b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let trickle = async {
        for b in head.iter() {
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let closed = async {
        let t0 = Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), rd.read(&mut buf)).await {
                Err(_) => panic!("awaited the slowloris connection being cut within 5 s"),
                Ok(Ok(0)) | Ok(Err(_)) => return t0.elapsed(),
                Ok(Ok(_)) => {}
            }
        }
    };
    let cut_after = tokio::select! {
        t = closed => t,
        _ = trickle => panic!("the whole trickled head was sent ({} bytes over {} ms) without the connection being cut", head.len(), head.len() * 50),
    };
    // Cut by the header timer: not at once, and well before the head ends.
    assert!(
        cut_after >= Duration::from_millis(400),
        "cut after {cut_after:?}: before the 600 ms header timeout"
    );
    let (_, idle_cut) = until_closed(&mut idle, Duration::from_secs(5), "an idle connection").await;
    assert!(idle_cut <= Duration::from_secs(5));
    // The server still answers signed traffic.
    assert_eq!(signed_post(srv.addr, "m_after_slowloris").await.0, 200);
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_cut() {
    let srv = start(limits(
        Duration::from_secs(30),
        Duration::from_millis(700),
        64,
    ))
    .await;
    let body = text_body("P1", "U1", "m_short", 1_700_000_000_000, "hi");
    let sig = sign(SECRET.as_bytes(), &body);
    for (what, declared) in [("small", body.len() + 100), ("large", 900_000)] {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        let head = format!(
            "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {declared}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body).await.unwrap();
        let (got, after) = until_closed(
            &mut s,
            Duration::from_secs(5),
            &format!("a {what} short-body request"),
        )
        .await;
        let got = String::from_utf8_lossy(&got);
        assert!(
            got.starts_with("HTTP/1.1 408"),
            "{what}: expected 408, got {got:?}"
        );
        assert!(
            after >= Duration::from_millis(500),
            "{what}: cut after {after:?}, before the 700 ms body timeout"
        );
    }
    assert_eq!(signed_post(srv.addr, "m_after_short").await.0, 200);
    let metrics = srv._h.metrics.render();
    assert!(
        metrics.contains("dmdesk_requests_rejected_total{reason=\"slow_body\"} 2"),
        "both 408s counted on /metrics:\n{metrics}"
    );
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_and_signed_requests_still_answered() {
    // Header timeout far beyond the test: any close seen is the cap's doing.
    let srv = start(limits(Duration::from_secs(60), Duration::from_secs(60), 4)).await;
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    // A signed request on an 11th connection is answered promptly.
    let (status, took) = signed_post(srv.addr, "m_over_cap").await;
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(1),
        "signed request took {took:?}"
    );
    // Of 11 connections under a cap of 4, at least 7 were closed: count the
    // idle ones the server closed (each awaited with a deadline).
    let mut closed = 0;
    for s in idle.iter_mut() {
        let mut buf = [0u8; 16];
        match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(n)) => panic!("unexpected {n} bytes on an idle connection"),
            Err(_) => {} // still open
        }
    }
    assert!(
        (7..=10).contains(&closed),
        "expected at least 7 of 10 idle connections closed under a cap of 4, saw {closed}"
    );
    // Those still open are at most the cap.
    assert!(
        10 - closed <= 4,
        "{} idle connections still open",
        10 - closed
    );
}

#[tokio::test]
async fn excess_large_unsigned_bodies_get_503_before_being_read() {
    let srv = start(limits(Duration::from_secs(30), Duration::from_secs(30), 64)).await;
    let head = "POST /webhook HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: 1000000\r\n\r\n";
    // Three large bodies against a limit of two: one is refused with 503
    // before its body is read, while the other two are still being read
    // (their bodies never end; the body timeout is 30 s).
    let mut conns = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&[b'x'; 1000]).await.unwrap();
        conns.push(s);
    }
    let first_answer = futures::future::select_all(conns.iter_mut().map(|s| {
        Box::pin(async move {
            until_closed(s, Duration::from_secs(5), "one of three large bodies").await
        })
    }))
    .await;
    let ((got, _), _, rest) = first_answer;
    drop(rest);
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.starts_with("HTTP/1.1 503"),
        "expected a 503, got {got:?}"
    );
    // Small signed events are not held up by the large ones.
    assert_eq!(signed_post(srv.addr, "m_with_large_held").await.0, 200);
    let metrics = srv._h.metrics.render();
    assert!(
        metrics.contains("dmdesk_requests_rejected_total{reason=\"busy\"} 1"),
        "the 503 counted on /metrics:\n{metrics}"
    );
}

/// A `dmdesk serve` child on a loopback port, optionally under a descriptor
/// limit (soft and hard) set by the shell before exec. Its address is read
/// from its log.
fn spawn_serve(dir: &std::path::Path, nofile: Option<u32>) -> (std::process::Child, SocketAddr) {
    use std::process::Command;
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s3\"\nverify_token = \"v\"\n[store]\npath = {:?}\n[sync]\ninterval = \"off\"\n",
            dir.join("store")
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_dmdesk");
    let args = ["--config", cfg.to_str().unwrap(), "serve"];
    let mut cmd = match nofile {
        None => Command::new(bin),
        Some(n) => {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), bin]);
            c
        }
    };
    cmd.args(args);
    let s = common::serve::spawn(cmd);
    (s.child, s.addr)
}

/// The descriptor exhaustion: `serve` under a 1024-descriptor limit
/// and 1,100 idle connections. The webhook still answers a signed request
/// and `dmdesk export` still reaches the owner through the control socket.
#[test]
fn idle_connections_beyond_the_descriptor_limit_starve_nothing() {
    use std::process::Command;
    // This process needs more than 1,100 descriptors itself.
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    if hard < 2048 {
        eprintln!("skipped: this process may not open 1,100 connections (hard limit {hard})");
        return;
    }
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_serve(tmp.path(), Some(1024));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let mut idle = Vec::new();
            for _ in 0..1100 {
                let s = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
                    .await
                    .expect("awaited a connect within 10 s")
                    .expect("connect");
                idle.push(s);
            }
            let body = text_body("P1", "U1", "m_fd", 1_700_000_000_000, "hi");
            let res = reqwest::Client::new()
                .post(format!("http://{addr}/webhook"))
                .header("x-hub-signature-256", sign(b"s3", &body))
                .body(body)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .expect("awaited the signed request's answer within 5 s");
            assert_eq!(res.status(), 200);
            let out = Command::new(env!("CARGO_BIN_EXE_dmdesk"))
                .args(["--config", tmp.path().join("c.toml").to_str().unwrap()])
                .args(["export", "--what", "events"])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("m_fd"),
                "export: {:?} {stdout} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            drop(idle);
        })
    }));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

fn vm_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// A real `dmdesk serve`, default limits: 400 clients each send an unsigned
/// (missing or wrong signature) POST declaring 1 MiB minus one byte and
/// send all but the last byte, then hold the connection. The server's RSS
/// grows by less than 64 MB, and a signed request is answered within 1 s.
#[test]
fn unsigned_partial_bodies_do_not_grow_memory() {
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_serve(tmp.path(), None);
    let pid = child.id();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let post = |mid: &'static str| async move {
                let body = text_body("P1", "U1", mid, 1_700_000_000_000, "hi");
                let t0 = Instant::now();
                let status = reqwest::Client::new()
                    .post(format!("http://{addr}/webhook"))
                    .header("x-hub-signature-256", sign(b"s3", &body))
                    .body(body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .expect("signed request answered")
                    .status();
                (status.as_u16(), t0.elapsed())
            };
            assert_eq!(post("m_warm").await.0, 200);
            let before = vm_rss_kb(pid);

            const CLIENTS: usize = 400;
            const DECLARED: usize = 1024 * 1024 - 1;
            let chunk = Arc::new(vec![b'x'; DECLARED - 1]);
            let mut tasks = Vec::new();
            for i in 0..CLIENTS {
                let chunk = chunk.clone();
                tasks.push(tokio::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.ok()?;
                    let sig = if i % 2 == 0 {
                        String::new()
                    } else {
                        "X-Hub-Signature-256: sha256=0000\r\n".to_string()
                    };
                    let head = format!(
                        "POST /webhook HTTP/1.1\r\nHost: x\r\n{sig}Content-Length: {DECLARED}\r\n\r\n"
                    );
                    // A write completes once the server took the bytes, or
                    // fails once it closed the connection.
                    if s.write_all(head.as_bytes()).await.is_ok() {
                        let _ = s.write_all(&chunk).await;
                    }
                    Some(s)
                }));
            }
            let mut held = Vec::new();
            let mut peak = before;
            for t in tasks {
                if let Some(s) = tokio::time::timeout(Duration::from_secs(30), t)
                    .await
                    .expect("awaited every attacking client's writes within 30 s")
                    .unwrap()
                {
                    held.push(s);
                }
                peak = peak.max(vm_rss_kb(pid));
            }
            // Every client has sent all it will send; they still hold their
            // connections. A signed request meanwhile:
            let (status, took) = post("m_under_attack").await;
            let after = vm_rss_kb(pid);
            peak = peak.max(after);
            eprintln!(
                "VmRSS of dmdesk serve: before {before} kB, after {after} kB, peak {peak} kB ({} clients, {} still connected)",
                CLIENTS,
                held.len()
            );
            assert_eq!(status, 200);
            assert!(took < Duration::from_secs(1), "signed request took {took:?}");
            assert!(
                peak.saturating_sub(before) < 64 * 1024,
                "RSS grew by {} kB (before {before} kB, peak {peak} kB)",
                peak - before
            );
            drop(held);
        })
    }));
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
