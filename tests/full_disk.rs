//! A full disk heals (issue 14): `serve` on a small tmpfs whose space runs
//! out answers 503 (Meta retries), `/healthz` says why, and `serve` exits 1
//! so the service manager restarts it; once space is back, a restarted
//! `serve` accepts again and every acknowledged event is there exactly once.
//! Needs root to mount the tmpfs; elsewhere it says SKIPPED.

mod common;

use common::serve::Serve;
use common::text_body;
use dmdesk::webhook::signature::sign;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SECRET: &str = "disk-secret";

/// A tmpfs of `mb` MiB, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mb: u32) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mb}m,mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn serve(cfg: &Path) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dmdesk"));
    cmd.args(["--config", cfg.to_str().unwrap(), "serve"]);
    common::serve::spawn(cmd)
}

async fn post(client: &reqwest::Client, addr: SocketAddr, mid: &str) -> Option<u16> {
    let body = text_body("P1", "U1", mid, 1_700_000_000_000, &"x".repeat(600));
    client
        .post(format!("http://{addr}/webhook"))
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Fill the filesystem at `dir` until a write fails.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).and_then(|_| f.sync_data()).is_ok() {}
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_serve_and_a_restart_heals_it() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = match Tmpfs::mount(&tmp.path().join("disk"), 24) {
        Ok(d) => d,
        Err(why) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED a_full_disk_stops_serve_and_a_restart_heals_it: cannot mount a tmpfs ({why}); run as root"
            );
            return;
        }
    };
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n[store]\npath = {:?}\n[sync]\ninterval = \"off\"\n",
            disk.0.join("store")
        ),
    )
    .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let mut s = serve(&cfg);
    let mut acked = Vec::new();
    for i in 0..20 {
        let mid = format!("m_before_{i}");
        assert_eq!(post(&client, s.addr, &mid).await, Some(200));
        acked.push(mid);
    }
    let filler = fill(&disk.0);

    // Posts until the store refuses (bounded): what got 200 must survive.
    let mut refused = None;
    for i in 0..500 {
        let mid = format!("m_full_{i}");
        match post(&client, s.addr, &mid).await {
            Some(200) => acked.push(mid),
            other => {
                refused = Some(other);
                break;
            }
        }
    }
    assert_eq!(refused, Some(Some(503)), "a full disk answers 503");
    let health = client
        .get(format!("http://{}/healthz", s.addr))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16());
    assert!(
        matches!(health, Some(503) | None),
        "healthz reports the store (503) or serve already exited: {health:?}"
    );
    // serve gives up and exits 1 for the service manager to restart it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "awaited serve exiting on the full disk"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(1), "exit 1");
    let said = s.log.lock().unwrap().join("\n");
    assert!(said.contains("store unavailable"), "{said}");

    // Space comes back; the restarted serve accepts again.
    std::fs::remove_file(&filler).unwrap();
    s = serve(&cfg);
    assert_eq!(post(&client, s.addr, "m_after").await, Some(200));
    acked.push("m_after".into());
    let health = client
        .get(format!("http://{}/healthz", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // Every acknowledged event is in the store exactly once.
    let _ = Command::new("kill").arg(s.child.id().to_string()).status();
    let _ = s.child.wait();
    let out = Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .args(["--config", cfg.to_str().unwrap(), "export"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for mid in &acked {
        let n = text.matches(&format!("\"mid\":\"{mid}\"")).count();
        assert_eq!(n, 1, "{mid} exported {n} times");
    }
}
