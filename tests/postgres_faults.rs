//! The database goes away under a running `serve` and comes back: webhooks
//! get 503 (Meta retries them) instead of 200, `/healthz` says the database
//! is unavailable, serve stays up, and everything resumes by itself.
//! "Away" is deterministic: the test database refuses new connections and
//! every open one is ended (what a restart does to a client). Skipped
//! without `DMDESK_TEST_PG_URL` (see tests/common/pg.rs).

mod common;
#[path = "common/pg.rs"]
mod pg;

use dmdesk::webhook::signature::sign;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

const SECRET: &str = "faults-secret";

fn body(mid: &str, text: &str) -> String {
    serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":1_700_000_000_000i64,
         "message":{"mid":mid,"text":text}}]}]})
    .to_string()
}

async fn post(http: &reqwest::Client, addr: SocketAddr, body: &str) -> u16 {
    http.post(format!("http://{addr}/webhook"))
        .header(
            "x-hub-signature-256",
            sign(SECRET.as_bytes(), body.as_bytes()),
        )
        .body(body.to_string())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("serve answers")
        .status()
        .as_u16()
}

async fn healthz(http: &reqwest::Client, addr: SocketAddr) -> (u16, String) {
    let r = http
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("serve answers");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[test]
fn webhooks_get_503_while_the_database_is_away_and_200_once_it_is_back() {
    let Some(db) = pg::TempDb::create("webhooks_get_503_while_the_database_is_away") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n\
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
    let mut serve = common::serve::spawn(dmdesk(&["serve"]));
    let addr = serve.addr;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();

    rt.block_on(async {
        assert_eq!(post(&http, addr, &body("m_f_1", "before")).await, 200);
        assert_eq!(healthz(&http, addr).await.0, 200);

        db.allow_connections(false);
        let ended = db.terminate_all();
        assert!(ended >= 2, "serve's pool and feed were connected ({ended})");

        // Nothing acknowledged while the database cannot take it.
        assert_eq!(post(&http, addr, &body("m_f_2", "during")).await, 503);
        common::wait::until(
            "/healthz to say the database is unavailable",
            Duration::from_secs(15),
            || async {
                let (status, text) = healthz(&http, addr).await;
                status == 503 && text.contains("database unavailable")
            },
        )
        .await;
        // Longer than the five seconds after which a broken sled store
        // ends serve: every retry meanwhile is refused, none acknowledged.
        let away = tokio::time::Instant::now();
        while away.elapsed() < Duration::from_secs(6) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(post(&http, addr, &body("m_f_2", "during")).await, 503);
        }

        db.allow_connections(true);
        // Meta's retry of the refused webhook is acknowledged once the
        // database is back, without restarting anything.
        common::wait::until(
            "the retried webhook acknowledged",
            Duration::from_secs(30),
            || async { post(&http, addr, &body("m_f_2", "during")).await == 200 },
        )
        .await;
        common::wait::until("/healthz ok again", Duration::from_secs(15), || async {
            healthz(&http, addr).await.0 == 200
        })
        .await;
    });
    assert!(
        serve.child.try_wait().unwrap().is_none(),
        "serve stayed up through the outage"
    );

    // Both messages, each once (the refused attempts left nothing behind).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = dmdesk(&["export"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let count = |mid: &str| text.matches(&format!("\"mid\":\"{mid}\"")).count();
        if count("m_f_1") == 1 && count("m_f_2") == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "awaited m_f_1 and m_f_2 once each in the export; stdout {text}; stderr {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .arg(serve.child.id().to_string())
        .status();
    assert!(
        serve.child.wait().unwrap().success(),
        "serve stops on SIGTERM"
    );
}
