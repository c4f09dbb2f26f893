//! Two real `serve` processes on one database receive an interleaved flood
//! of webhooks (some mids at both at once); one is killed with SIGKILL
//! mid-flood. Every mid either receiver acknowledged is in the export
//! exactly once. Skipped without `DMDESK_TEST_PG_URL`.

mod common;
#[path = "common/pg.rs"]
mod pg;

use dmdesk::webhook::signature::sign;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "flood-secret";
const N: usize = 300;

fn body(i: usize) -> String {
    serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
        {"sender":{"id":format!("U{}", i % 17)},"recipient":{"id":"P1"},
         "timestamp":1_700_000_000_000i64 + i as i64,
         "message":{"mid":format!("m_flood_{i}"),"text":format!("message {i}")}}]}]})
    .to_string()
}

/// 200 or nothing (a killed receiver refuses or drops the connection).
async fn post(http: &reqwest::Client, addr: SocketAddr, body: String) -> bool {
    let sig = sign(SECRET.as_bytes(), body.as_bytes());
    matches!(
        http.post(format!("http://{addr}/webhook"))
            .header("x-hub-signature-256", sig)
            .body(body)
            .timeout(Duration::from_secs(20))
            .send()
            .await,
        Ok(r) if r.status().as_u16() == 200
    )
}

#[test]
fn every_acknowledged_mid_is_exported_once_after_a_receiver_is_killed_mid_flood() {
    let Some(db) = pg::TempDb::create("every_acknowledged_mid_is_exported_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = |name: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n\
                 [store]\npath = {:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n[sync]\ninterval = \"off\"\n",
                dir.path().join(name)
            ),
        )
        .unwrap();
        path
    };
    let dmdesk = |cfg: &std::path::Path, args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        c.arg("--config")
            .arg(cfg)
            .args(args)
            .env("DMDESK_PG", db.url.expose());
        c
    };
    let (cfg_a, cfg_b) = (cfg("a"), cfg("b"));
    let mut a = common::serve::spawn(dmdesk(&cfg_a, &["serve"]));
    let mut b = common::serve::spawn(dmdesk(&cfg_b, &["serve"]));
    let (addr_a, addr_b) = (a.addr, b.addr);

    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let gate = Arc::new(tokio::sync::Semaphore::new(16));
        let mut tasks = Vec::new();
        let mut killed = false;
        for i in 0..N {
            // Kill A once a third of the flood was acknowledged.
            if !killed && acked.lock().unwrap().len() >= N / 3 {
                a.child.kill().unwrap(); // SIGKILL
                killed = true;
            }
            let permit = gate.clone().acquire_owned().await.unwrap();
            let (http, acked) = (http.clone(), acked.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = permit;
                // Every fifth mid goes to both receivers at once.
                let ok = if i % 5 == 0 {
                    let (x, y) =
                        tokio::join!(post(&http, addr_a, body(i)), post(&http, addr_b, body(i)));
                    x || y
                } else if i % 2 == 0 {
                    post(&http, addr_a, body(i)).await
                } else {
                    post(&http, addr_b, body(i)).await
                };
                if ok {
                    acked.lock().unwrap().insert(i);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(killed, "A was killed mid-flood");
        // B keeps receiving after the kill: it wakes its applier.
        for i in N..N + 5 {
            assert!(post(&http, addr_b, body(i)).await, "B acknowledges {i}");
            acked.lock().unwrap().insert(i);
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > N / 2, "most of the flood was acknowledged");

    // Every acknowledged mid, once (B applies what A logged but had not
    // applied when it died).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = dmdesk(&cfg_b, &["export"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut seen = std::collections::BTreeMap::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(i) = v["mid"]
                .as_str()
                .and_then(|m| m.strip_prefix("m_flood_"))
                .and_then(|n| n.parse::<usize>().ok())
            {
                *seen.entry(i).or_insert(0) += 1;
            }
        }
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "mids exported more than once: {twice:?}");
        let missing: Vec<_> = acked.iter().filter(|i| !seen.contains_key(i)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acknowledged but not exported after 60 s: {missing:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = a.child.wait();
    let _ = Command::new("kill").arg(b.child.id().to_string()).status();
    assert!(b.child.wait().unwrap().success(), "B stops on SIGTERM");
}
