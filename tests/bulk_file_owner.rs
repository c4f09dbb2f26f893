//! `dmdesk bulk --file` while another dmdesk holds the store: the client
//! streams the file to the owner (the same `Upload` steps as `send
//! --file`), the owner creates the campaign and its send worker runs it.
//! Messenger recipients are sent the page's one upload by attachment id;
//! Instagram recipients the one URL the owner serves for the campaign, or
//! they are skipped saying why (no public URL, a document).

mod common;

use common::send::{customer_wrote, instagram, messenger, UploadFake, IG, PAGE, TOKEN};
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::TimestampMs;
use dmdesk::store::{CampaignStatus, RecipientState};
use dmdesk::webhook::media::ServedFiles;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

struct Owner {
    dir: tempfile::TempDir,
    config: PathBuf,
    store_dir: PathBuf,
    public: String,
    running: dmdesk::runtime::Running,
}

/// `serve` over a store where u1, u2 (Messenger) and i1 (Instagram) wrote
/// a minute ago; its webhook server is `public_url` (`with_public`).
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
    for u in ["u1", "u2"] {
        customer_wrote(&store, &messenger(u), 60_000);
    }
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

    /// `bulk --yes --file FILE --users` to u1, u2 and i1, as a client of
    /// the owner (no secrets in its environment).
    async fn bulk(&self, file: &str) -> Output {
        let users = self.file(
            "users.txt",
            format!("{PAGE} u1\n{PAGE} u2\n{IG} i1\n").as_bytes(),
        );
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        cmd.arg("--config")
            .arg(&self.config)
            .args(["bulk", "--yes", "--file", file, "--users", &users])
            .env_remove("DMDESK_APP_SECRET")
            .env_remove("DMDESK_VERIFY_TOKEN")
            .stdin(std::process::Stdio::null());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    /// The one campaign in the store and its recipients' (user, state, reason).
    fn campaign(
        &self,
    ) -> (
        CampaignStatus,
        Vec<(String, RecipientState, Option<String>)>,
    ) {
        let store = &self.running.store;
        let list = store.campaigns_list().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        let rows = store
            .campaign_recipients(&list[0].id)
            .unwrap()
            .into_iter()
            .map(|r| (r.conv.user.as_str().to_string(), r.state, r.reason))
            .collect();
        (list[0].status, rows)
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

/// A picture larger than two chunks, so it crosses the socket in several.
fn big_png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend((0..600_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    v
}

async fn fake_meta(graph: &MockServer, calls: u64) -> UploadFake {
    let fake = UploadFake::default();
    Mock::given(method("POST"))
        .and(path_regex("/(messages|message_attachments)$"))
        .respond_with(fake.clone())
        .expect(calls)
        .mount(graph)
        .await;
    fake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_owner_uploads_once_for_messenger_and_serves_one_url_to_instagram() {
    let graph = MockServer::start().await;
    // One upload, then a send to each of the three recipients.
    let fake = fake_meta(&graph, 4).await;
    let o = owner(&graph, true).await;
    let png = big_png();
    assert!(png.len() > 2 * dmdesk::request::upload::CHUNK);
    let out = o.bulk(&o.file("sale.png", &png)).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", err(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("campaign ") && stdout.contains("\"[image] sale.png\": done"),
        "the report on stdout: {stdout}"
    );
    assert!(stdout.contains("  sent     3\n"), "{stdout}");
    assert!(
        err(&out).contains("served for Instagram for 25 h"),
        "{}",
        err(&out)
    );

    // The owner's runner sent it: the campaign is done in its store.
    let (status, rows) = o.campaign();
    assert_eq!(status, CampaignStatus::Done);
    assert!(
        rows.iter().all(|(_, s, _)| *s == RecipientState::Sent),
        "{rows:?}"
    );
    assert_eq!(
        o.staged_files(),
        0,
        "the staged copy is taken by the campaign"
    );

    let calls = fake.received();
    assert_eq!(calls.len(), 4);
    let up = &calls[0];
    assert!(
        up.path.ends_with(&format!("/{PAGE}/message_attachments")),
        "{}",
        up.path
    );
    assert!(up.is_multipart());
    assert!(
        up.body.windows(png.len()).any(|w| w == &png[..]),
        "every byte reached the upload, in order"
    );
    let mut messenger_to = Vec::new();
    let mut urls = Vec::new();
    for c in &calls[1..] {
        assert!(
            !c.is_multipart(),
            "a send names the file, it does not carry it"
        );
        let b: Value = c.json();
        let attachment = &b["message"]["attachment"];
        assert_eq!(attachment["type"], "image");
        match b["recipient"]["id"].as_str().unwrap() {
            "i1" => urls.push(attachment["payload"]["url"].as_str().unwrap().to_string()),
            u => {
                assert_eq!(attachment["payload"]["attachment_id"], "a_1", "{b}");
                messenger_to.push(u.to_string());
            }
        }
    }
    messenger_to.sort();
    assert_eq!(
        messenger_to,
        ["u1", "u2"],
        "Messenger reuses the one upload"
    );
    assert_eq!(urls.len(), 1, "Instagram gets a URL: {calls:?}");
    let url = &urls[0];
    let token = url
        .strip_prefix(&format!("{}/media/", o.public))
        .unwrap_or_else(|| panic!("{url} is not under the public URL"));

    // What Meta fetches, after the campaign finished: the same bytes.
    let got = reqwest::get(url).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), &png[..]);
    // Served for the day the campaign may send, then the hour for Meta's
    // fetch: there 24.5 h from now, gone at 25 h and a minute.
    let served = ServedFiles::under(&o.store_dir);
    let at = |h_tenths: i64| TimestampMs(TimestampMs::now().0 + h_tenths * 360_000);
    assert!(served.open(token, at(245)).is_some());
    assert!(served.open(token, at(251)).is_none());
    o.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_public_url_or_for_a_document_instagram_is_skipped_saying_why() {
    let graph = MockServer::start().await;
    // Each run: one upload and the two Messenger sends; none to Instagram.
    let fake = fake_meta(&graph, 6).await;
    let o = owner(&graph, false).await;
    let out = o.bulk(&o.file("sale.png", &big_png())).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", err(&out));
    assert!(
        err(&out).contains("set [server] public_url"),
        "{}",
        err(&out)
    );
    let (status, rows) = o.campaign();
    assert_eq!(status, CampaignStatus::Done);
    let i1 = rows.iter().find(|(u, _, _)| u == "i1").unwrap();
    assert_eq!(i1.1, RecipientState::Skipped);
    assert!(i1.2.as_deref().unwrap().contains("public_url"), "{i1:?}");
    assert!(!o.store_dir.join("served").exists(), "nothing is served");
    o.running.shutdown().await;

    // With a public URL, Instagram still takes no documents.
    let o = owner(&graph, true).await;
    let out = o.bulk(&o.file("manual.pdf", b"%PDF-1.4 a document")).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", err(&out));
    let (_, rows) = o.campaign();
    let i1 = rows.iter().find(|(u, _, _)| u == "i1").unwrap();
    assert_eq!(i1.1, RecipientState::Skipped);
    assert!(i1.2.as_deref().unwrap().contains("not documents"), "{i1:?}");
    assert_eq!(
        ServedFiles::under(&o.store_dir).sweep(TimestampMs::now()),
        (0, 0)
    );
    o.running.shutdown().await;

    let recipients: Vec<String> = fake
        .received()
        .iter()
        .filter(|c| c.path.ends_with("/messages"))
        .map(|c| c.json()["recipient"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(recipients.len(), 4, "{recipients:?}");
    assert!(!recipients.iter().any(|u| u == "i1"), "{recipients:?}");
}
