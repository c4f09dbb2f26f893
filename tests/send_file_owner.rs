//! `--file` while another dmdesk holds the store: the file does not go
//! through the control socket (yet), and the owner never opens a path a
//! client names — both commands exit 1 saying so, and nothing is sent.

use dmdesk::config::Config;
use dmdesk::db::Db;
use std::sync::Arc;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_are_refused_through_a_running_owner() {
    let dir = tempfile::tempdir().unwrap();
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&graph)
        .await;
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n[store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"{}\"\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"t\"\n",
        dir.path().join("store"),
        graph.uri()
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &text).unwrap();
    let cfg = Config::from_toml(&text, &|_| None).unwrap();
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();
    let file = dir.path().join("p.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\nbytes").unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "P1 U1\n").unwrap();
    let f = file.to_str().unwrap();
    let u = users.to_str().unwrap();
    for args in [
        vec!["send", "--account", "P1", "--user", "U1", "--file", f],
        vec!["bulk", "--yes", "--file", f, "--users", u],
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        cmd.arg("--config")
            .arg(&config)
            .args(&args)
            .env_remove("DMDESK_APP_SECRET")
            .env_remove("DMDESK_VERIFY_TOKEN")
            .stdin(std::process::Stdio::null());
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("do not go through a running dmdesk"),
            "{args:?}: {err}"
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    }
    assert!(running.store.campaigns_list().unwrap().is_empty());
    running.shutdown().await;
}
