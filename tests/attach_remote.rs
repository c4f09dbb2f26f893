//! An attached agent's UI sends a file: its edge streams the file through
//! the control socket to the owner (the same chunks as `send --file`) and
//! asks for the file job, which the owner runs as that agent.

mod common;

use common::send::{customer_wrote, messenger, UploadFake, IG, PAGE, TOKEN};
use common::wait::until;
use dmdesk::app::attach::FileSend;
use dmdesk::config::Config;
use dmdesk::control::client::Remote;
use dmdesk::db::Db;
use dmdesk::tui::attached::RemotePort;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_attached_ui_streams_its_file_and_the_owner_sends_it() {
    let graph = MockServer::start().await;
    let fake = UploadFake::default();
    Mock::given(method("POST"))
        .and(path_regex("/messages$"))
        .respond_with(fake.clone())
        .expect(1)
        .mount(&graph)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n[store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"{}\"\ntimeout = \"5s\"\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"{PAGE}\"\nname = \"Shop\"\naccess_token = \"{TOKEN}\"\ninstagram_id = \"{IG}\"\n",
        dir.path().join("store"),
        graph.uri()
    );
    let cfg = Config::from_toml(&text, &|_| None).unwrap();
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    customer_wrote(&store, &messenger("u1"), 60_000);
    let socket = dmdesk::control::socket_path(&cfg.store.path);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();

    let (remote, _hello, _pushed) = Remote::attach(&socket).await.unwrap();
    let port = RemotePort {
        remote,
        handle: tokio::runtime::Handle::current(),
    };
    // Three chunks and a bit.
    let bytes: Vec<u8> = b"%PDF-1.4\n"
        .iter()
        .copied()
        .chain((0..800_000u32).map(|i| (i % 253) as u8))
        .collect();
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let send = FileSend {
        path: path.to_str().unwrap().into(),
        conv: messenger("u1"),
        tag: None,
        // Whatever the UI says, the owner names the connection's user.
        agent: Some("mallory".into()),
    };
    // The data port blocks: off the runtime, as the UI's worker thread is.
    let failed = tokio::task::spawn_blocking(move || dmdesk::tui::attach::send(&port, send))
        .await
        .unwrap();
    assert!(failed.is_none(), "{failed:?}");

    until(
        "the owner's send of the file",
        Duration::from_secs(10),
        || {
            let n = fake.received().len();
            async move { n == 1 }
        },
    )
    .await;
    let c = &fake.received()[0];
    assert!(c.is_multipart());
    let message: Value = serde_json::from_str(&c.field("message").unwrap()).unwrap();
    assert_eq!(message["attachment"]["type"], "file");
    let head = b"filename=\"invoice.pdf\"\r\nContent-Type: application/pdf\r\n\r\n";
    let at = c
        .body
        .windows(head.len())
        .position(|w| w == head)
        .expect("the file part")
        + head.len();
    assert_eq!(&c.body[at..at + bytes.len()], &bytes[..]);
    // Recorded as the agent behind the socket, not the name the UI gave.
    let me = dmdesk::control::peer::current_user().unwrap();
    until("the sent record", Duration::from_secs(10), || {
        let out = running
            .store
            .messages_latest(&messenger("u1"), 10)
            .unwrap_or_default();
        let me = me.clone();
        async move {
            out.iter()
                .any(|m| m.mid.as_str() == "m_1" && m.agent.as_deref() == Some(me.as_str()))
        }
    })
    .await;
    running.shutdown().await;
}
