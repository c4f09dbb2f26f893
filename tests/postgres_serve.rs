//! `[store] backend = "postgres"` end to end: the real `dmdesk serve` on a
//! fresh database acknowledges a signed webhook, `doctor` names the database
//! and its schema, and `export` (a one-shot opening the database directly)
//! shows the message. Skipped without `DMDESK_TEST_PG_URL` (see
//! tests/common/pg.rs); CI starts a server.

mod common;
#[path = "common/pg.rs"]
mod pg;

use dmdesk::webhook::signature::sign;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn serve_on_postgres_acknowledges_and_export_reads_it_back() {
    let Some(db) = pg::TempDb::create("serve_on_postgres_acknowledges_and_export_reads_it_back")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"pg-secret\"\nverify_token = \"v\"\n\
             [store]\npath = {:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n[sync]\ninterval = \"off\"\n",
            dir.path().join("local")
        ),
    )
    .unwrap();
    let dmdesk = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        c.arg("--config")
            .arg(&cfg)
            .args(args)
            .env("DMDESK_PG", db.url.expose());
        c
    };
    let serve = common::serve::spawn(dmdesk(&["serve"]));
    let (mut child, addr, log) = (serve.child, serve.addr, serve.log);

    let body = serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":1_700_000_000_000i64,
         "message":{"mid":"m_pg_1","text":"stored in PostgreSQL"}}]}]})
    .to_string();
    let sig = sign(b"pg-secret", body.as_bytes());
    let status = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            reqwest::Client::new()
                .post(format!("http://{addr}/webhook"))
                .header("x-hub-signature-256", sig)
                .body(body)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .unwrap()
                .status()
        });
    assert_eq!(status.as_u16(), 200);

    // Applied by serve's applier: poll the export (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = dmdesk(&["export"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("\"mid\":\"m_pg_1\"") {
            assert!(text.contains("stored in PostgreSQL"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "awaited m_pg_1 in the export; stdout {text}; stderr {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = dmdesk(&["doctor"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.lines().any(|l| l.starts_with("ok: database ")
            && l.contains("PostgreSQL")
            && l.contains("(current)")),
        "{said}"
    );
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    assert!(
        child.wait().unwrap().success(),
        "serve stops cleanly on SIGTERM"
    );
    let logged = log.lock().unwrap().join("\n");
    let password = db
        .url
        .expose()
        .split(':')
        .nth(2)
        .and_then(|r| r.split('@').next())
        .unwrap_or("");
    if !password.is_empty() {
        assert!(
            !logged.contains(password),
            "the password stays out of the log"
        );
    }
}
