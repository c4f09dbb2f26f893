//! `dmdesk serve` as a real process: it acknowledges signed webhooks, and on
//! SIGTERM it finishes, applies and flushes before exiting 0.

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
