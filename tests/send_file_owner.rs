//! `--file` while another dmdesk holds the store: the client streams the
//! file to the owner in chunks over the control socket (the owner never
//! opens a path a client names) and the owner sends it — as a multipart
//! upload on Messenger, as a URL it serves itself on Instagram.

mod common;

use common::send::{customer_wrote, instagram, messenger, UploadFake, IG, PAGE, TOKEN};
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::TimestampMs;
use dmdesk::webhook::media::ServedFiles;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

struct Owner {
    dir: tempfile::TempDir,
    config: PathBuf,
    store_dir: PathBuf,
    public: String,
    running: dmdesk::runtime::Running,
}

/// `serve` over a store where u1 (Messenger) and i1 (Instagram) wrote a
/// minute ago; its webhook server is `public_url` (`with_public`).
async fn owner(graph: &MockServer, with_public: bool) -> Owner {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let store_dir = dir.path().join("store");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n{}\n[store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"{}\"\ntimeout = \"5s\"\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"{PAGE}\"\nname = \"Shop\"\naccess_token = \"{TOKEN}\"\ninstagram_id = \"{IG}\"\n",
        if with_public {
            format!("public_url = \"{public}/\"")
        } else {
            String::new()
        },
        store_dir,
        graph.uri()
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &text).unwrap();
    let cfg = Config::from_toml(&text, &|_| None).unwrap();
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    customer_wrote(&store, &messenger("u1"), 60_000);
    customer_wrote(&store, &instagram("i1"), 60_000);
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();
    Owner {
        dir,
        config,
        store_dir,
        public,
        running,
    }
}

impl Owner {
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    }

    /// The binary as a client of the owner (no secrets in its environment).
    async fn dmdesk(&self, args: &[&str]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("DMDESK_APP_SECRET")
            .env_remove("DMDESK_VERIFY_TOKEN")
            .stdin(std::process::Stdio::null());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    fn staged_files(&self) -> usize {
        std::fs::read_dir(self.store_dir.join(dmdesk::send::staging::DIR))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A picture larger than two chunks, every byte position distinct enough
/// that a lost, doubled or reordered chunk shows.
fn big_png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend((0..700_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_file_streamed_through_the_owner_arrives_intact_in_the_upload() {
    let graph = MockServer::start().await;
    let fake = UploadFake::default();
    Mock::given(method("POST"))
        .and(path_regex("/messages$"))
        .respond_with(fake.clone())
        .expect(1)
        .mount(&graph)
        .await;
    let o = owner(&graph, true).await;
    let png = big_png();
    assert!(png.len() > 2 * dmdesk::request::upload::CHUNK);
    let f = o.file("parcel.png", &png);
    let out = o
        .dmdesk(&["send", "--account", PAGE, "--user", "u1", "--file", &f])
        .await;
    assert!(out.status.success(), "stderr: {}", err(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "m_1\n");

    let calls = fake.received();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert!(c.is_multipart() && c.path.ends_with(&format!("/{PAGE}/messages")));
    let message: Value = serde_json::from_str(&c.field("message").unwrap()).unwrap();
    assert_eq!(message["attachment"]["type"], "image");
    let head = b"Content-Disposition: form-data; name=\"filedata\"; filename=\"parcel.png\"\r\nContent-Type: image/png\r\n\r\n";
    let at = c
        .body
        .windows(head.len())
        .position(|w| w == head)
        .expect("a filedata part with the file's name and type")
        + head.len();
    assert_eq!(
        &c.body[at..at + png.len()],
        &png[..],
        "every byte, in order"
    );
    assert_eq!(&c.body[at + png.len()..at + png.len() + 4], b"\r\n--");
    // The staged copy is gone once sent; the thread shows the image.
    assert_eq!(o.staged_files(), 0);
    let sent = o
        .running
        .store
        .messages_latest(&messenger("u1"), 10)
        .unwrap();
    assert!(
        sent.iter().any(|m| m.mid.as_str() == "m_1"
            && m.attachments.first().map(|a| a.kind.as_str()) == Some("image")),
        "{sent:?}"
    );
    o.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instagram_gets_a_url_the_owner_serves_for_a_while() {
    let graph = MockServer::start().await;
    let fake = UploadFake::default();
    Mock::given(method("POST"))
        .and(path_regex("/messages$"))
        .respond_with(fake.clone())
        .expect(1)
        .mount(&graph)
        .await;
    let o = owner(&graph, true).await;
    let png = big_png();
    let f = o.file("photo.png", &png);
    let out = o
        .dmdesk(&["send", "--account", IG, "--user", "i1", "--file", &f])
        .await;
    assert!(out.status.success(), "stderr: {}", err(&out));
    let calls = fake.received();
    assert_eq!(calls.len(), 1);
    assert!(
        !calls[0].is_multipart(),
        "Instagram takes a URL, not the file"
    );
    let body = calls[0].json();
    assert_eq!(body["recipient"]["id"], "i1");
    let attachment = &body["message"]["attachment"];
    assert_eq!(attachment["type"], "image");
    let url = attachment["payload"]["url"].as_str().unwrap().to_string();
    let token = url
        .strip_prefix(&format!("{}/media/", o.public))
        .unwrap_or_else(|| panic!("{url} is not under the public URL"));
    assert_eq!(token.len(), 32, "a 128-bit token: {token}");

    // What Meta fetches: the bytes, with their type.
    let http = reqwest::Client::new();
    let got = http.get(&url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), &png[..]);
    // An unknown token, a malformed one and an expired one: 404.
    let other = format!("{}/media/{}", o.public, "0".repeat(32));
    let served = ServedFiles::under(&o.store_dir);
    let past = TimestampMs(TimestampMs::now().0 - 7_200_000);
    let expired = served
        .publish(b"old", "image/png", past, Duration::from_secs(3600))
        .unwrap();
    for u in [
        other,
        format!("{}/media/..%2Fconfig.toml", o.public),
        format!("{}/media/{expired}", o.public),
    ] {
        assert_eq!(http.get(&u).send().await.unwrap().status(), 404, "{u}");
    }
    assert!(
        !o.store_dir.join("served").join(&expired).exists(),
        "an expired file is deleted when asked for"
    );
    o.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instagram_refusals_say_why_before_any_call() {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/messages$"))
        .respond_with(UploadFake::default())
        .expect(0)
        .mount(&graph)
        .await;
    // A document: Instagram's Send API takes images, video and audio.
    let o = owner(&graph, true).await;
    let pdf = o.file("manual.pdf", b"%PDF-1.4 a document");
    let out = o
        .dmdesk(&["send", "--account", IG, "--user", "i1", "--file", &pdf])
        .await;
    assert_eq!(out.status.code(), Some(2), "stderr: {}", err(&out));
    assert!(err(&out).contains("not documents"), "{}", err(&out));
    assert_eq!(o.staged_files(), 0, "the refused upload is not kept");
    o.running.shutdown().await;

    // No public URL: Meta could not fetch the file.
    let o = owner(&graph, false).await;
    let png = o.file("p.png", &big_png());
    let out = o
        .dmdesk(&["send", "--account", IG, "--user", "i1", "--file", &png])
        .await;
    assert_eq!(out.status.code(), Some(2), "stderr: {}", err(&out));
    assert!(err(&out).contains("public_url"), "{}", err(&out));
    assert!(!Path::new(&o.store_dir.join("served")).exists());
    o.running.shutdown().await;
}
