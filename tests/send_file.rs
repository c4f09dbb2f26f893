//! `dmdesk send --file`: the file goes in one multipart Send API call
//! (`filedata`), a text and a file are two messages in order with one mid
//! a line, and a file Meta would refuse is refused before any call.

mod common;

use common::send::*;
use dmdesk::db::Db;
use dmdesk::domain::{Direction, MsgStatus};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-test-picture-bytes";

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    store: PathBuf,
}

/// A config pointing at `base`, and a store where customer u1 (Messenger)
/// and i1 (Instagram) wrote a minute ago.
fn setup(base: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\napp_secret = \"s3cret-app\"\nverify_token = \"vt\"\n[store]\npath = {store:?}\n[graph]\nbase_url = \"{base}\"\ntimeout = \"5s\"\n[[pages]]\nid = \"{PAGE}\"\nname = \"Shop\"\naccess_token = \"{TOKEN}\"\ninstagram_id = \"{IG}\"\n"
        ),
    )
    .unwrap();
    let db = Db::open(&store, 16, "test").unwrap();
    for u in ["u1", "u2", "u3"] {
        customer_wrote(&db, &messenger(u), 60_000);
    }
    customer_wrote(&db, &instagram("i1"), 60_000);
    db.flush().unwrap();
    Setup { dir, config, store }
}

impl Setup {
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Run the binary off the runtime (the fake answers on it).
    async fn dmdesk(&self, args: &[&str]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        cmd.env("XDG_CONFIG_HOME", "/nonexistent-dmdesk-test")
            .env("XDG_DATA_HOME", "/nonexistent-dmdesk-test")
            .env_remove("DMDESK_APP_SECRET")
            .env_remove("DMDESK_VERIFY_TOKEN")
            .arg("--config")
            .arg(&self.config)
            .args(args);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    fn outbound(&self, user: &str) -> Vec<dmdesk::domain::Message> {
        let db = Db::open(&self.store, 16, "test").unwrap();
        let mut v = db.messages_latest(&messenger(user), 50).unwrap();
        v.retain(|m| m.direction == Direction::Out);
        v
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn an_image_is_one_multipart_call_and_its_mid_is_printed() {
    let server = MockServer::start().await;
    let fake = UploadFake::default();
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .expect(1)
        .mount(&server)
        .await;
    let s = setup(&server.uri());
    // The extension lies: the content decides the kind.
    let f = s.file("parcel.dat", PNG);
    let out = s
        .dmdesk(&[
            "send",
            "--account",
            PAGE,
            "--user",
            "u1",
            "--file",
            path_str(&f),
        ])
        .await;
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "m_1\n");

    let calls = fake.received();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert!(c.path.ends_with(&format!("/{PAGE}/messages")), "{}", c.path);
    assert!(c.is_multipart(), "{}", c.content_type);
    let recipient: Value = serde_json::from_str(&c.field("recipient").unwrap()).unwrap();
    assert_eq!(recipient["id"], "u1");
    assert_eq!(c.field("messaging_type").as_deref(), Some("RESPONSE"));
    let message: Value = serde_json::from_str(&c.field("message").unwrap()).unwrap();
    assert_eq!(message["attachment"]["type"], "image");
    assert_eq!(message["attachment"]["payload"]["is_reusable"], true);
    // The outbox correlation travels as for a text.
    assert!(
        message["metadata"].as_str().unwrap().starts_with("dmdesk:"),
        "{message}"
    );
    let body = &c.body;
    let head = b"Content-Disposition: form-data; name=\"filedata\"; filename=\"parcel.dat\"\r\nContent-Type: image/png\r\n\r\n";
    let at = body
        .windows(head.len())
        .position(|w| w == head)
        .expect("a filedata part with the file's name and type");
    assert_eq!(&body[at + head.len()..at + head.len() + PNG.len()], PNG);
    assert!(!String::from_utf8_lossy(body).contains(TOKEN));

    // The thread shows it as an image, sent, under Meta's mid.
    let out = s.outbound("u1");
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].mid.as_str(), "m_1");
    assert_eq!(out[0].status, MsgStatus::Sent);
    assert_eq!(out[0].attachments.len(), 1);
    assert_eq!(out[0].attachments[0].kind, "image");
    assert_eq!(out[0].attachments[0].title.as_deref(), Some("parcel.dat"));
    assert_eq!(out[0].preview(), "[image]");
}

#[tokio::test]
async fn text_and_file_are_two_messages_text_first() {
    let server = MockServer::start().await;
    let fake = UploadFake::default();
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .expect(2)
        .mount(&server)
        .await;
    let s = setup(&server.uri());
    let f = s.file("manual.pdf", b"%PDF-1.4 test document");
    let out = s
        .dmdesk(&[
            "send",
            "--account",
            PAGE,
            "--user",
            "u1",
            "--text",
            "Here is the manual",
            "--file",
            path_str(&f),
        ])
        .await;
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "m_1\nm_2\n");
    let calls = fake.received();
    assert_eq!(calls[0].json()["message"]["text"], "Here is the manual");
    assert!(!calls[0].is_multipart());
    assert!(calls[1].is_multipart());
    let message: Value = serde_json::from_str(&calls[1].field("message").unwrap()).unwrap();
    assert_eq!(message["attachment"]["type"], "file");
    // Each message has its own outbox record.
    assert_ne!(
        calls[0].json()["message"]["metadata"],
        message["metadata"],
        "two records"
    );
    let mut kinds: Vec<(String, Option<String>)> = s
        .outbound("u1")
        .into_iter()
        .map(|m| {
            (
                m.mid.to_string(),
                m.attachments.first().map(|a| a.kind.clone()),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![("m_1".into(), None), ("m_2".into(), Some("file".into()))]
    );
}

#[tokio::test]
async fn a_file_meta_would_refuse_exits_2_before_any_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(UploadFake::default())
        .expect(0)
        .mount(&server)
        .await;
    let s = setup(&server.uri());
    let big = s.dir.path().join("video.mp4");
    // Sparse: one byte over the limit without writing 25 MB.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(dmdesk::media::outgoing::MAX_BYTES + 1)
        .unwrap();
    let out = s
        .dmdesk(&[
            "send",
            "--account",
            PAGE,
            "--user",
            "u1",
            "--text",
            "hi",
            "--file",
            path_str(&big),
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("25 MB"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "not even the text went out");

    // Instagram takes media only by URL.
    let f = s.file("p.png", PNG);
    let out = s
        .dmdesk(&[
            "send",
            "--account",
            IG,
            "--user",
            "i1",
            "--file",
            path_str(&f),
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("Instagram"), "{}", stderr(&out));

    // Neither --text nor --file: a usage error.
    let out = s.dmdesk(&["send", "--account", PAGE, "--user", "u1"]).await;
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(s.outbound("u1").is_empty());
}

#[tokio::test]
async fn bulk_uploads_once_and_sends_the_attachment_id_to_each() {
    let server = MockServer::start().await;
    let fake = UploadFake::default();
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .expect(4)
        .mount(&server)
        .await;
    let s = setup(&server.uri());
    let f = s.file("sale.png", PNG);
    let users = s.file(
        "users.txt",
        format!("{PAGE} u1\n{PAGE} u2\n{PAGE} u3\n{IG} i1\n").as_bytes(),
    );
    // Meta sends text and attachment as two messages: not in one campaign.
    let out = s
        .dmdesk(&[
            "bulk",
            "--yes",
            "--text",
            "hi",
            "--file",
            path_str(&f),
            "--users",
            path_str(&users),
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(fake.received().is_empty());

    let out = s
        .dmdesk(&[
            "bulk",
            "--yes",
            "--file",
            path_str(&f),
            "--users",
            path_str(&users),
        ])
        .await;
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Instagram takes media only by URL"), "{err}");

    let calls = fake.received();
    assert_eq!(calls.len(), 4, "one upload and three sends");
    let up = &calls[0];
    assert!(
        up.path.ends_with(&format!("/{PAGE}/message_attachments")),
        "{}",
        up.path
    );
    assert!(up.is_multipart());
    let message: Value = serde_json::from_str(&up.field("message").unwrap()).unwrap();
    assert_eq!(message["attachment"]["type"], "image");
    assert_eq!(message["attachment"]["payload"]["is_reusable"], true);
    assert!(
        up.body.windows(PNG.len()).any(|w| w == PNG),
        "the file travels once"
    );
    let mut to = Vec::new();
    for c in &calls[1..] {
        assert!(c.path.ends_with(&format!("/{PAGE}/messages")), "{}", c.path);
        assert!(
            !c.is_multipart(),
            "sends name the upload, they do not carry the file"
        );
        assert!(!c.body.windows(PNG.len()).any(|w| w == PNG));
        let b = c.json();
        assert_eq!(b["message"]["attachment"]["type"], "image");
        assert_eq!(
            b["message"]["attachment"]["payload"]["attachment_id"],
            "a_1"
        );
        assert!(b["message"]["metadata"]
            .as_str()
            .unwrap()
            .starts_with("dmdesk:"));
        to.push(b["recipient"]["id"].as_str().unwrap().to_string());
    }
    to.sort();
    assert_eq!(to, ["u1", "u2", "u3"]);
    for u in ["u1", "u2", "u3"] {
        let out = s.outbound(u);
        assert_eq!(out.len(), 1, "{u}: {out:?}");
        assert_eq!(out[0].attachments[0].kind, "image");
        assert_eq!(out[0].attachments[0].title.as_deref(), Some("sale.png"));
        assert!(out[0].mid.as_str().starts_with("m_"), "{:?}", out[0].mid);
    }
}

#[tokio::test]
async fn a_failed_file_send_is_not_retried_without_the_file() {
    use dmdesk::media::outgoing::{Media, MediaKind};
    use dmdesk::send::attach::reply_file;
    use dmdesk::send::reply::{retry, SendError};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(meta_error(400, 100, Some(2018047)))
        .expect(1)
        .mount(&server)
        .await;
    let env = env(&server.uri(), 20, 4);
    let conv = messenger("u9");
    customer_wrote(&env.store, &conv, 60_000);
    let media = Media {
        kind: MediaKind::Audio,
        mime: "audio/mp4",
        name: "note.m4a".into(),
        bytes: b"voice".to_vec().into(),
    };
    let e = reply_file(&env.ctx, &conv, &media, None, Some("alice"))
        .await
        .expect_err("Meta refused the upload");
    let SendError::Failed { outbox_id, .. } = e else {
        panic!("expected a failed send, got {e:?}");
    };
    // The thread keeps it as a failed audio attachment.
    let m = env.store.messages_latest(&conv, 10).unwrap();
    let out: Vec<_> = m.iter().filter(|m| m.direction == Direction::Out).collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, MsgStatus::Failed);
    assert_eq!(out[0].attachments[0].kind, "audio");
    let e = retry(&env.ctx, &outbox_id)
        .await
        .expect_err("no file to send");
    assert!(
        matches!(&e, SendError::Refused(r) if r.0.contains("send it again")),
        "{e:?}"
    );
}
