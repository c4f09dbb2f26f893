//! `dmdesk serve` as a real process: it acknowledges signed webhooks, and on
//! SIGTERM it finishes, applies and flushes before exiting 0; killed with
//! SIGKILL during a flood, it loses no acknowledged body.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn serve_acknowledges_and_shuts_down_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s3\"\nverify_token = \"v\"\n[store]\npath = {:?}\n[sync]\ninterval = \"off\"\n",
            tmp.path().join("store")
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_dmdesk");
    let mut child = Command::new(bin)
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("DMDESK_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        assert!(Instant::now() < deadline, "serve did not start");
        let line = lines.next().expect("serve exited early").unwrap();
        if let Some(i) = line.find("addr=") {
            break line[i + 5..].split_whitespace().next().unwrap().to_string();
        }
    };
    let stderr_rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut handles = Vec::new();
        for i in 0..20 {
            let body = serde_json::json!({"object":"page","entry":[{"id":"P","time":1,"messaging":[
                {"sender":{"id":format!("U{i}")},"recipient":{"id":"P"},"timestamp":1_700_000_000_000i64 + i,
                 "message":{"mid":format!("m_{i}"),"text":"hi"}}]}]})
            .to_string();
            let sig = dmdesk::webhook::signature::sign(b"s3", body.as_bytes());
            let c = client.clone();
            let url = format!("http://{addr}/webhook");
            handles.push(tokio::spawn(async move {
                c.post(url).header("x-hub-signature-256", sig).body(body).send().await.unwrap().status()
            }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap(), 200);
        }
        let health = client.get(format!("http://{addr}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
    });

    // SIGTERM: stop accepting, finish, apply, flush, exit 0.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "exit status {status:?}: {}",
        stderr_rest.join().unwrap()
    );

    let out = Command::new(bin)
        .args(["--config", cfg.to_str().unwrap(), "export"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        lines.lines().count(),
        20,
        "every acknowledged message is in the store after restart"
    );
}

/// Start `dmdesk serve` with `cfg`; its child, the address it listens on, and
/// a thread collecting the rest of its stderr.
fn start_serve(
    cfg: &std::path::Path,
) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("DMDESK_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        assert!(
            Instant::now() < deadline,
            "awaited: serve's \"listening\" line"
        );
        let line = lines.next().expect("serve exited early").unwrap();
        if let Some(i) = line.find("addr=") {
            break line[i + 5..].split_whitespace().next().unwrap().to_string();
        }
    };
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    (child, addr, rest)
}

#[test]
fn killed_during_a_flood_every_acknowledged_body_is_there_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s3\"\nverify_token = \"v\"\n[store]\npath = {:?}\n[sync]\ninterval = \"off\"\n",
            tmp.path().join("store")
        ),
    )
    .unwrap();
    let (mut child, addr, _rest) = start_serve(&cfg);

    // 16 clients post distinct bodies until 400 are acknowledged, then the
    // server is killed with requests still in flight.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let (enough_tx, mut enough) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for c in 0..16 {
            let (client, url, acked, enough_tx) = (
                client.clone(),
                format!("http://{addr}/webhook"),
                acked.clone(),
                enough_tx.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let mid = format!("m_{c}_{i}");
                    let body = serde_json::json!({"object":"page","entry":[{"id":"P","time":1,"messaging":[
                        {"sender":{"id":format!("U{c}")},"recipient":{"id":"P"},"timestamp":1_700_000_000_000i64 + i,
                         "message":{"mid":mid,"text":"flood"}}]}]})
                    .to_string();
                    let sig = dmdesk::webhook::signature::sign(b"s3", body.as_bytes());
                    match client.post(&url).header("x-hub-signature-256", sig).body(body).send().await {
                        Ok(r) if r.status() == 200 => {
                            let mut a = acked.lock().unwrap();
                            a.push(mid);
                            if a.len() >= 400 {
                                let _ = enough_tx.send(true);
                            }
                        }
                        Ok(r) => assert_eq!(r.status(), 503, "only 200 or 503 while up"),
                        // The kill: this one was never acknowledged.
                        Err(_) => return,
                    }
                }
            }));
        }
        tokio::time::timeout(Duration::from_secs(120), enough.wait_for(|e| *e))
            .await
            .expect("awaited: 400 acknowledged webhooks")
            .unwrap();
        child.kill().unwrap(); // SIGKILL: no shutdown, no final flush
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 400);

    // Restart: start-up applies what was logged before it listens. The
    // exports below go through the running owner (its control socket; the
    // killed one left a dead socket file, which refuses connections).
    let (mut child, _addr, _rest) = start_serve(&cfg);
    let socket = dmdesk::control::socket_path(&tmp.path().join("store"));
    rt.block_on(common::wait::until(
        "the restarted serve's control socket to accept",
        Duration::from_secs(30),
        || {
            let up = std::os::unix::net::UnixStream::connect(&socket).is_ok();
            async move { up }
        },
    ));
    let export = |what: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_dmdesk"))
            .args(["--config", cfg.to_str().unwrap(), "export", "--what", what])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let mut messages = std::collections::HashMap::<String, usize>::new();
    for m in export("messages") {
        *messages
            .entry(m["mid"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let mut events = std::collections::HashMap::<String, usize>::new();
    for e in export("events") {
        let body: serde_json::Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
        let mid = body["entry"][0]["messaging"][0]["message"]["mid"]
            .as_str()
            .unwrap()
            .to_string();
        *events.entry(mid).or_default() += 1;
        assert_eq!(e["state"], "applied", "{e}");
    }
    for mid in &acked {
        assert_eq!(
            messages.get(mid),
            Some(&1),
            "acknowledged {mid} in the store once"
        );
        assert_eq!(
            events.get(mid),
            Some(&1),
            "acknowledged {mid} in the log once"
        );
    }
    // Unacknowledged bodies may have been logged too (written, killed before
    // the 200), but none twice.
    assert!(messages.values().all(|&n| n == 1));
    assert!(events.values().all(|&n| n == 1));
    child.kill().unwrap();
    child.wait().unwrap();
}
