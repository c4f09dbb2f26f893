//! `dmdesk send` through the inbox service (`Request::Send`): what the
//! command prints and its exit code when the text goes and the file after
//! it does not, and when nothing goes.

mod common;

use common::send::*;
use dmdesk::db::Db;
use serde_json::json;
use std::path::PathBuf;
use std::process::Output;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// A config pointing at `base`, and a store where Messenger customer u1
/// wrote a minute ago and u2 three days ago (outside every window).
fn setup(base: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\napp_secret = \"s3cret-app\"\nverify_token = \"vt\"\n[store]\npath = {store:?}\n[graph]\nbase_url = \"{base}\"\ntimeout = \"5s\"\n[[pages]]\nid = \"{PAGE}\"\nname = \"Shop\"\naccess_token = \"{TOKEN}\"\n"
        ),
    )
    .unwrap();
    // Only its owner may read a config holding a secret (else a warning).
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let db = Db::open(&store, 16, "test").unwrap();
    customer_wrote(&db, &messenger("u1"), 60_000);
    customer_wrote(&db, &messenger("u2"), 3 * 24 * 3_600_000);
    db.flush().unwrap();
    Setup { dir, config }
}

impl Setup {
    /// `dmdesk send` to `user` with a text and a PDF, off the runtime (the
    /// fake answers on it).
    async fn send_text_and_file(&self, user: &str) -> Output {
        let f = self.dir.path().join("manual.pdf");
        std::fs::write(&f, b"%PDF-1.4 test document").unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        cmd.env("XDG_CONFIG_HOME", "/nonexistent-dmdesk-test")
            .env("XDG_DATA_HOME", "/nonexistent-dmdesk-test")
            .arg("--config")
            .arg(&self.config)
            .args(["send", "--account", PAGE, "--user", user])
            .args(["--text", "Here is the manual", "--file"])
            .arg(&f);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn the_text_goes_the_file_fails_its_mid_is_printed_and_the_file_named() {
    let server = MockServer::start().await;
    // The text's call succeeds, the file's is refused by Meta.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "u1", "message_id": "m_text"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(meta_error(400, 100, None))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let s = setup(&server.uri());
    let out = s.send_text_and_file("u1").await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "m_text\n");
    assert_eq!(
        text(&out.stderr),
        "dmdesk: the text was sent; the file send failed: Meta refused the request (100): (#100) test error\n"
    );
}

#[tokio::test]
async fn outside_the_window_nothing_goes_and_no_mid_is_printed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let s = setup(&server.uri());
    let out = s.send_text_and_file("u2").await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(
        err.starts_with("dmdesk: not sent: ") && err.contains("window") && err.lines().count() == 1,
        "{err}"
    );
}
