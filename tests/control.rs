//! The control socket: attached clients, one-shot commands through the
//! owner, restarts, bad requests, slow clients and permissions. The owner
//! runs in this process (the real runtime); one-shots are the real binary.

mod common;

use common::wait;
use dmdesk::config::Config;
use dmdesk::control::client::{Pushed, Remote};
use dmdesk::control::protocol::Reply;
use dmdesk::control::{ClientTimeouts, ControlLimits};
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Direction, Platform};
use dmdesk::inbox::{ListRows, Reply as InboxReply, Request as Inbox};
use dmdesk::runtime::Running;
use dmdesk::update::Update;
use dmdesk::webhook::signature;
use dmdesk::workers::Job;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc::UnboundedReceiver;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "control-test-secret";
const TOKEN: &str = "control-page-token";

fn config_text(dir: &Path, graph: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
app_secret = "{SECRET}"
verify_token = "vt"
[store]
path = "{}"
cache_mb = 8
[graph]
base_url = "{graph}"
timeout = "2s"
[sync]
interval = "off"
[[pages]]
id = "P1"
name = "Shop"
access_token = "{TOKEN}"
"#,
        dir.join("store").display()
    )
}

struct Owner {
    running: Running,
    addr: std::net::SocketAddr,
}

async fn start_owner(dir: &Path, graph: &str) -> Owner {
    start_owner_with(dir, graph, ControlLimits::default()).await
}

/// An owner with its control socket's limits set (shortened) by the test.
async fn start_owner_with(dir: &Path, graph: &str, limits: ControlLimits) -> Owner {
    let text = config_text(dir, graph);
    std::fs::write(dir.join("config.toml"), &text).unwrap();
    let mut cfg = Config::from_toml(&text, &|_| None).unwrap();
    cfg.control.limits = limits;
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();
    Owner { running, addr }
}

fn socket(dir: &Path) -> PathBuf {
    dmdesk::control::socket_path(&dir.join("store"))
}

async fn graph() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"recipient_id": "U1", "message_id": "m_reply_1"}),
            ),
        )
        .mount(&server)
        .await;
    server
}

fn body(user: &str, mid: &str, text: &str) -> Vec<u8> {
    let ts = dmdesk::domain::TimestampMs::now().0;
    serde_json::json!({"object":"page","entry":[{"id":"P1","time":ts,"messaging":[
        {"sender":{"id":user},"recipient":{"id":"P1"},"timestamp":ts,"message":{"mid":mid,"text":text}}]}]})
    .to_string()
    .into_bytes()
}

async fn post(client: &reqwest::Client, addr: std::net::SocketAddr, b: Vec<u8>) -> u16 {
    let sig = signature::sign(SECRET.as_bytes(), &b);
    client
        .post(format!("http://{addr}/webhook"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sig)
        .body(b)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Wait until a pushed frame satisfies `f`.
async fn until(rx: &mut UnboundedReceiver<Pushed>, what: &str, f: impl Fn(&Pushed) -> bool) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(p) = rx.recv().await {
            if std::env::var_os("DEBUG_PUSHED").is_some() {
                eprintln!("pushed: {p:?}");
            }
            if f(&p) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "waiting for {what}");
}

fn is_message(p: &Pushed, text: &str) -> bool {
    matches!(p, Pushed::Update(u) if matches!(&**u, Update::Message(m) if m.text.as_deref() == Some(text)))
}

/// A digest saying `user`'s conversation changed (what a client that is
/// not viewing that thread gets).
fn is_digest_for(p: &Pushed, user: &str) -> bool {
    matches!(p, Pushed::Update(u) if matches!(&**u, Update::Digest { changed, .. }
        if changed.iter().any(|(k, _)| k.user.as_str() == user)))
}

/// The real binary against the config in `dir` (blocking, so off the runtime).
async fn dmdesk(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
    cmd.arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn me() -> String {
    dmdesk::control::peer::current_user().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_and_a_oneshot_share_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let owner = start_owner(dir.path(), &g.uri()).await;
    let path = socket(dir.path());

    let (a, hello, mut a_rx) = Remote::attach(&path).await.unwrap();
    let (b, _, mut b_rx) = Remote::attach(&path).await.unwrap();
    // What the owner tells clients never carries a secret.
    let hello_text = serde_json::to_string(&hello).unwrap();
    assert!(!hello_text.contains(TOKEN) && !hello_text.contains(SECRET));
    assert!(hello_text.contains("Shop"), "{hello_text}");
    match hello {
        Reply::Hello {
            agent, owner_mode, ..
        } => {
            assert_eq!(agent, me());
            assert_eq!(owner_mode, "serve");
        }
        other => panic!("hello: {other:?}"),
    }

    // A views U1's thread; B views the list.
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    a.inbox(Inbox::Presence {
        conv: Some(conv.clone()),
        typing: false,
    })
    .await
    .unwrap();
    // B sees A in that conversation (collision notice).
    until(&mut b_rx, "presence at B", |p| {
        matches!(p, Pushed::Update(u) if matches!(&**u, Update::Presence(v)
            if v.iter().any(|x| x.conv.user.as_str() == "U1" && x.agent == me())))
    })
    .await;
    // A customer writes: both clients hear it live, A the message itself,
    // B a digest naming the conversation (its list reloads its rows).
    let http = reqwest::Client::new();
    assert_eq!(
        post(&http, owner.addr, body("U1", "m_in_1", "where is my order")).await,
        200
    );
    until(&mut a_rx, "message at A", |p| {
        is_message(p, "where is my order")
    })
    .await;
    until(&mut b_rx, "digest at B", |p| is_digest_for(p, "U1")).await;

    // A's draft is B's draft: drafts live in the owner's store.
    a.inbox(Inbox::SaveDraft {
        conv: conv.clone(),
        text: "Let me check".into(),
    })
    .await
    .unwrap();
    let InboxReply::Thread(Some(t)) = b
        .inbox(Inbox::Thread {
            conv: conv.clone(),
            limit: 50,
        })
        .await
        .unwrap()
    else {
        panic!("thread")
    };
    assert_eq!(t.draft.as_deref(), Some("Let me check"));
    assert_eq!(t.messages.len(), 1);

    // A one-shot at the same time: export through the socket.
    let (out, list) = tokio::join!(
        dmdesk(dir.path(), &["export", "--what", "conversations"]),
        b.inbox(Inbox::List {
            filter: Default::default(),
            offset: 0,
            limit: 10,
            count: true,
            generation: 0,
        })
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(r#""user_id":"U1""#), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !stdout.contains(SECRET));
    let InboxReply::List(ListRows { rows, total, .. }) = list.unwrap() else {
        panic!("list")
    };
    assert_eq!((rows.len(), total), (1, Some(1)));

    // The agent on a reply is the peer's Unix user, whatever the client claims.
    a.inbox(Inbox::Job {
        job: Job::Reply {
            conv: conv.clone(),
            text: "On its way".into(),
            tag: None,
            agent: Some("mallory".into()),
        },
    })
    .await
    .unwrap();
    until(&mut a_rx, "reply at A", |p| {
        matches!(p, Pushed::Update(u) if matches!(&**u, Update::Message(m)
            if m.direction == Direction::Out && m.text.as_deref() == Some("On its way")
               && m.agent.as_deref() == Some(me().as_str())))
    })
    .await;
    let out = dmdesk(dir.path(), &["export"]).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    let reply: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["direction"] == "out")
        .expect("outbound message exported");
    assert_eq!(reply["agent"], me());
    assert!(!stdout.contains("mallory"));

    drop((a, b));
    owner.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oneshots_through_the_socket_keep_their_output_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let owner = start_owner(dir.path(), &g.uri()).await;
    let http = reqwest::Client::new();
    assert_eq!(
        post(&http, owner.addr, body("U1", "m_in_1", "hi")).await,
        200
    );
    // Wait for ingest to apply it.
    let store = owner.running.store.clone();
    wait::until(
        "ingest to apply m_in_1",
        Duration::from_secs(10),
        || async { store.message(&"m_in_1".into()).unwrap().is_some() },
    )
    .await;

    // send: the mid alone on stdout, exit 0.
    let out = dmdesk(
        dir.path(),
        &["send", "--account", "P1", "--user", "U1", "--text", "hello"],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "m_reply_1\n");
    // A usage error keeps exit code 2 and its message.
    let out = dmdesk(
        dir.path(),
        &[
            "send",
            "--account",
            "P1",
            "--user",
            "U1",
            "--text",
            "x",
            "--tag",
            "BOGUS",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown tag `BOGUS`"));
    // bulk without --yes and without a terminal: 2, nothing sent.
    let out = dmdesk(dir.path(), &["bulk", "--text", "sale", "--all"]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(store.campaigns_list().unwrap().is_empty());
    // bulk with --yes runs; "created by" is the peer.
    let out = dmdesk(dir.path(), &["bulk", "--text", "sale", "--all", "--yes"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let campaigns = store.campaigns_list().unwrap();
    assert_eq!(campaigns.len(), 1);
    assert_eq!(campaigns[0].created_by.as_deref(), Some(me().as_str()));
    // The owner's send worker ran it: one call for the one recipient (the
    // reply above was the other), and resuming it sends nothing more.
    let id = campaigns[0].id.clone();
    let out = dmdesk(dir.path(), &["bulk", "--resume", &id]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("created by {}", me())));
    let sends = g
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/messages"))
        .count();
    let bodies: Vec<String> = g
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| format!("{} {}", r.url.path(), String::from_utf8_lossy(&r.body)))
        .collect();
    assert_eq!(sends, 2, "one reply and one campaign message: {bodies:#?}");
    // Agents who cannot read the config name the socket instead.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
    cmd.args(["--socket"])
        .arg(socket(dir.path()))
        .args(["export", "--what", "conversations"])
        .env("XDG_CONFIG_HOME", dir.path().join("nowhere"))
        .stdin(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    // replay and doctor answer too; doctor's exit code is its own.
    let out = dmdesk(dir.path(), &["replay"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("replayed:"));
    let out = dmdesk(dir.path(), &["doctor"]).await;
    // The Graph fake answers POSTs only, so doctor's token check fails:
    // exit 1, the same as run locally.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("fix: page Shop (P1): cannot check the token"),
        "{stdout}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).is_empty());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));

    owner.running.shutdown().await;
    drop(store);
    // With the owner gone the command opens the store itself (once the
    // owner's last handle on it is dropped).
    let mut out = dmdesk(dir.path(), &["export", "--what", "conversations"]).await;
    for _ in 0..50 {
        if out.status.code() == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        out = dmdesk(dir.path(), &["export", "--what", "conversations"]).await;
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attached_clients_reconnect_when_the_owner_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let owner = start_owner(dir.path(), &g.uri()).await;
    let (remote, _, mut rx) = Remote::attach(&socket(dir.path())).await.unwrap();
    owner.running.shutdown().await;
    until(&mut rx, "lost", |p| *p == Pushed::Lost).await;
    assert!(remote.inbox(Inbox::Unread { request: 1 }).await.is_err());

    // The store must be closed before a new owner opens it.
    let mut owner = None;
    for _ in 0..100 {
        let text = config_text(dir.path(), &g.uri());
        let cfg = Config::from_toml(&text, &|_| None).unwrap();
        if let Ok(store) = Db::open(&cfg.store.path, 8, "serve") {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
                .await
                .unwrap();
            owner = Some(Owner { running, addr });
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let owner = owner.expect("a new owner opened the store");
    until(&mut rx, "back", |p| matches!(p, Pushed::Back { .. })).await;
    // Live again: updates and requests.
    let http = reqwest::Client::new();
    assert_eq!(
        post(&http, owner.addr, body("U2", "m_in_2", "after restart")).await,
        200
    );
    until(&mut rx, "update after restart", |p| is_digest_for(p, "U2")).await;
    assert!(remote.inbox(Inbox::Unread { request: 1 }).await.is_ok());
    owner.running.shutdown().await;
}

async fn read_frame(r: &mut BufReader<tokio::net::unix::OwnedReadHalf>) -> serde_json::Value {
    let mut line = String::new();
    let n = tokio::time::timeout(Duration::from_secs(10), r.read_line(&mut line))
        .await
        .expect("a frame in time")
        .unwrap();
    assert!(n > 0, "connection closed");
    serde_json::from_str(&line).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_and_oversized_requests_get_errors_and_the_owner_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let owner = start_owner(dir.path(), &g.uri()).await;
    let path = socket(dir.path());

    let (r, mut w) = UnixStream::connect(&path).await.unwrap().into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"this is not json\n").await.unwrap();
    let f = read_frame(&mut r).await;
    assert_eq!(f["type"], "error");
    assert!(f["id"].is_null());
    w.write_all(b"{\"id\":7,\"op\":\"format_disk\"}\n")
        .await
        .unwrap();
    let f = read_frame(&mut r).await;
    assert_eq!(
        (f["type"].as_str(), f["id"].as_u64()),
        (Some("error"), Some(7))
    );
    w.write_all(b"{\"id\":8,\"op\":\"hello\",\"version\":99}\n")
        .await
        .unwrap();
    let f = read_frame(&mut r).await;
    assert_eq!(
        (f["type"].as_str(), f["id"].as_u64()),
        (Some("error"), Some(8))
    );
    assert!(f["message"].as_str().unwrap().contains("version"));
    // The same connection still works.
    let hello = format!(
        "{{\"id\":9,\"op\":\"hello\",\"version\":{}}}\n",
        dmdesk::control::protocol::VERSION
    );
    w.write_all(hello.as_bytes()).await.unwrap();
    let f = read_frame(&mut r).await;
    assert_eq!(
        (f["type"].as_str(), f["id"].as_u64()),
        (Some("reply"), Some(9))
    );

    // One command per connection.
    let run = r#"{"id":10,"op":"run","command":{"command":"doctor"},"stdin_tty":false}"#;
    w.write_all(format!("{run}\n{}\n", run.replace("10", "11")).as_bytes())
        .await
        .unwrap();
    let mut refused = false;
    for _ in 0..200 {
        let f = read_frame(&mut r).await;
        if f["type"] == "error" && f["id"] == 11 {
            refused = true;
        }
        if f["type"] == "exit" {
            break;
        }
    }
    assert!(refused, "a second run on one connection is refused");

    // Over 1 MiB without a newline: an error, then the connection closes.
    let (r2, mut w2) = UnixStream::connect(&path).await.unwrap().into_split();
    let mut r2 = BufReader::new(r2);
    let big = vec![b'x'; 2 * 1024 * 1024];
    let _ = w2.write_all(&big).await;
    let f = read_frame(&mut r2).await;
    assert_eq!(f["type"], "error");
    assert!(f["message"].as_str().unwrap().contains("over"));
    let mut rest = String::new();
    let n = tokio::time::timeout(Duration::from_secs(10), r2.read_line(&mut rest))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed after an oversized request");

    // Others are unaffected.
    let (remote, _, _rx) = Remote::attach(&path).await.unwrap();
    assert!(remote.inbox(Inbox::Unread { request: 1 }).await.is_ok());
    let http = reqwest::Client::new();
    assert_eq!(
        post(&http, owner.addr, body("U1", "m1", "still fine")).await,
        200
    );
    owner.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_client_is_told_to_resync_and_never_slows_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let owner = start_owner(dir.path(), &g.uri()).await;
    let path = socket(dir.path());

    // A client that subscribes and then stops reading.
    let (r, mut w) = UnixStream::connect(&path).await.unwrap().into_split();
    // It views the busy thread, so it gets every message in full.
    let sub = concat!(
        r#"{"id":1,"op":"subscribe"}"#,
        "\n",
        r#"{"id":2,"op":"inbox","request":{"op":"presence","conv":{"platform":"messenger","account":"P1","user":"U0"},"typing":false}}"#,
        "\n"
    );
    w.write_all(sub.as_bytes()).await.unwrap();
    // A client that keeps reading.
    let (_fast, _, mut fast_rx) = Remote::attach(&path).await.unwrap();

    // Enough webhooks to overflow the slow client's buffers many times
    // over (each update is a few hundred bytes; the socket buffer is small).
    const N: usize = 3000;
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..8 {
        let http = http.clone();
        let addr = owner.addr;
        tasks.spawn(async move {
            let mut ok = 0;
            for i in (chunk..N).step_by(8) {
                let b = body("U0", &format!("m_{i}"), &format!("msg {i}"));
                if post(&http, addr, b).await == 200 {
                    ok += 1;
                }
            }
            ok
        });
    }
    let mut ok = 0;
    while let Some(n) = tasks.join_next().await {
        ok += n.unwrap();
    }
    assert_eq!(ok, N, "every webhook acknowledged");
    eprintln!(
        "{N} webhooks in {:?} with a stalled client attached",
        started.elapsed()
    );
    let store = owner.running.store.clone();
    let last = format!("m_{}", N - 1);
    wait::until(
        &format!("ingest to apply {last}"),
        Duration::from_secs(10),
        || async { store.message(&last.as_str().into()).unwrap().is_some() },
    )
    .await;
    // The fast client got the last message (directly or after a resync).
    until(&mut fast_rx, "the fast client keeps up", |p| {
        is_digest_for(p, "U0") || *p == Pushed::Lagged
    })
    .await;

    // The slow client starts reading again: it is told it missed updates.
    let mut r = BufReader::new(r);
    let mut saw_lagged = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let mut line = String::new();
        match tokio::time::timeout(Duration::from_secs(2), r.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {
                let f: serde_json::Value = serde_json::from_str(&line).unwrap();
                if f["type"] == "lagged" {
                    assert!(f["missed"].as_u64().unwrap() > 0);
                    saw_lagged = true;
                    break;
                }
            }
            _ => break,
        }
    }
    assert!(saw_lagged, "the slow client was told to resynchronise");
    // And after that it receives live updates again.
    assert_eq!(
        post(&http, owner.addr, body("U9", "m_after", "after the lag")).await,
        200
    );
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await.unwrap() == 0 {
                return false;
            }
            if line.contains("Digest") && line.contains("\"U9\"") {
                return true;
            }
        }
    })
    .await;
    assert_eq!(found, Ok(true));
    owner.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_is_for_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let owner = start_owner(dir.path(), &g.uri()).await;
    let path = socket(dir.path());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "owner-only socket");

    // Another Unix user: only possible to try when the tests run as root.
    if nix::unistd::geteuid().is_root() {
        for p in [dir.path(), &dir.path().join("store")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // The file's mode keeps `nobody` out...
        let out = as_nobody(&path).await;
        assert!(out.contains("no dmdesk answers on"), "{out}");
        // ...and with the mode loosened by hand, the owner's check still does.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let out = as_nobody(&path).await;
        assert!(out.contains("permission denied: user"), "{out}");
    } else {
        eprintln!("not root: the cross-user part of this test needs root to switch users");
    }
    owner.running.shutdown().await;
}

/// Run `dmdesk --socket path doctor` as uid 65534 (the real binary; no
/// config needed with an explicit socket) and report what it said.
async fn as_nobody(path: &Path) -> String {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
    cmd.arg("--socket")
        .arg(path)
        .arg("doctor")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .uid(65534)
        .gid(65534);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "refused is a runtime failure");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A raw connection that has said hello (so the owner has accepted it and
/// counts it), then stays silent.
async fn hello_and_hold(
    path: &Path,
) -> (
    BufReader<tokio::net::unix::OwnedReadHalf>,
    tokio::net::unix::OwnedWriteHalf,
) {
    let (read, mut write) = UnixStream::connect(path).await.unwrap().into_split();
    let hello = format!(
        "{{\"id\":1,\"op\":\"hello\",\"version\":{}}}\n",
        dmdesk::control::protocol::VERSION
    );
    write.write_all(hello.as_bytes()).await.unwrap();
    let mut r = BufReader::new(read);
    let f = read_frame(&mut r).await;
    assert_eq!(f["type"], "reply", "{f}");
    // The caller keeps the write half open: closing it would be an EOF,
    // not silence.
    (r, write)
}

/// The next line from the owner, or `None` at EOF, within 10 s.
async fn next_line(r: &mut BufReader<tokio::net::unix::OwnedReadHalf>) -> Option<String> {
    let mut line = String::new();
    let n = tokio::time::timeout(Duration::from_secs(10), r.read_line(&mut line))
        .await
        .expect("the owner neither wrote nor closed within 10 s")
        .unwrap();
    (n > 0).then_some(line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_cannot_hold_every_connection_and_the_refused_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let limits = ControlLimits {
        max_connections: 8,
        per_user: 3,
        ..ControlLimits::default()
    };
    let owner = start_owner_with(dir.path(), &g.uri(), limits).await;
    let path = socket(dir.path());

    // This user's three idle connections fill its share (3 of 8)...
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(hello_and_hold(&path).await);
    }
    // ...so a fourth from the same user is refused, with the reason...
    let (read, _write) = UnixStream::connect(&path).await.unwrap().into_split();
    let mut r = BufReader::new(read);
    let refusal = next_line(&mut r).await.expect("a refusal frame");
    assert!(
        refusal.contains("too many connections") && refusal.contains(&me()),
        "{refusal}"
    );
    assert_eq!(next_line(&mut r).await, None, "closed after the refusal");

    // ...a one-shot command says so and fails as a runtime failure (1)...
    let out = dmdesk(dir.path(), &["doctor"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("too many connections"), "{stderr}");
    assert!(!stderr.contains("went away"), "{stderr}");
    // ...and so does an attaching UI.
    let err = Remote::attach(&path).await.err().expect("refused");
    assert!(err.contains("too many connections"), "{err}");

    // The global cap was never the limit: the user's share was.
    assert!(limits.per_user < limits.max_connections);
    // Closing one gives its place back.
    drop(held.pop());
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok((r, _, _)) = Remote::attach(&path).await {
                r.detach().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "waiting for a freed place to accept an attach"
    );
    owner.running.shutdown().await;
}

#[test]
fn the_default_per_user_cap_leaves_room_for_others() {
    let l = ControlLimits::default();
    assert!(l.per_user * 2 <= l.max_connections, "{l:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_connections_are_closed_and_quiet_attached_uis_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let limits = ControlLimits {
        first_request: Duration::from_millis(300),
        idle: Duration::from_millis(600),
        ..ControlLimits::default()
    };
    let owner = start_owner_with(dir.path(), &g.uri(), limits).await;
    let path = socket(dir.path());

    // A UI that pings well within the idle bound and otherwise says nothing.
    let quiet = ClientTimeouts {
        ping: Duration::from_millis(100),
        read: Duration::from_secs(5),
    };
    let (remote, _, mut pushed) = Remote::attach_with(&path, quiet).await.unwrap();

    // A connection that never sends a request is closed after the first bound.
    // (Clocks start before the owner's do, so the lower bounds are exact.)
    let started = std::time::Instant::now();
    let (read, _silent_write) = UnixStream::connect(&path).await.unwrap().into_split();
    let mut silent = BufReader::new(read);
    let why = next_line(&mut silent).await.expect("a closing frame");
    assert!(why.contains("closing: no request"), "{why}");
    assert_eq!(next_line(&mut silent).await, None);
    assert!(started.elapsed() >= limits.first_request);

    // One that asked once and went silent, after the idle bound.
    let started = std::time::Instant::now();
    let (mut idle, _idle_write) = hello_and_hold(&path).await;
    let why = next_line(&mut idle).await.expect("a closing frame");
    assert!(why.contains("closing: no request"), "{why}");
    assert_eq!(next_line(&mut idle).await, None);
    assert!(started.elapsed() >= limits.idle);

    // The UI attached before both: it has been quiet longer than the idle
    // bound, yet its connection was never lost and it still answers.
    while let Ok(p) = pushed.try_recv() {
        assert!(!matches!(p, Pushed::Lost | Pushed::Back { .. }), "{p:?}");
    }
    assert_eq!(
        remote.inbox(Inbox::Unread { request: 1 }).await,
        Ok(InboxReply::Unread {
            request: 1,
            counts: vec![]
        })
    );
    remote.detach().await;
    owner.running.shutdown().await;
}

/// A socket that accepts and never answers (a hung owner): clients give up
/// within their read timeout and say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_owner_makes_clients_give_up_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let (held_tx, mut held_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            // Hold it open, read nothing, write nothing.
            held_tx.send(s).unwrap();
        }
    });
    let short = ClientTimeouts {
        ping: Duration::from_millis(100),
        read: Duration::from_millis(500),
    };

    let stream = UnixStream::connect(&path).await.unwrap();
    let started = std::time::Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        dmdesk::control::client::run_oneshot_with(stream, dmdesk::oneshot::OneShot::Doctor, short),
    )
    .await
    .expect("the one-shot client hung");
    let e = r.expect_err("a silent owner is a failure");
    assert_eq!(e.code, 1);
    assert!(
        e.message.contains("did not answer within 0.5 s"),
        "{}",
        e.message
    );
    assert!(started.elapsed() >= short.read);

    let r = tokio::time::timeout(Duration::from_secs(10), Remote::attach_with(&path, short))
        .await
        .expect("attach hung");
    let e = r.err().expect("a silent owner is a failure");
    assert!(e.contains("did not answer within 0.5 s"), "{e}");

    assert!(held_rx.recv().await.is_some());
    server.abort();
}

/// An agent's config names the page token by variable, and the agent does
/// not have it: commands that go through the owner still work, and only a
/// command that would use the token itself asks for it (issue 12).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_through_the_owner_need_no_secrets() {
    const VAR: &str = "DMDESK_TEST_UX_PAGE_TOKEN_UNSET";
    let dir = tempfile::tempdir().unwrap();
    let g = graph().await;
    let owner = start_owner(dir.path(), &g.uri()).await;
    let http = reqwest::Client::new();
    assert_eq!(
        post(&http, owner.addr, body("U1", "m_in_1", "hi")).await,
        200
    );
    let store = owner.running.store.clone();
    for _ in 0..100 {
        if store.message(&"m_in_1".into()).unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The agent's copy: same store, the token only named, no app secret.
    let agent = dir.path().join("agent.toml");
    std::fs::write(
        &agent,
        format!(
            "[store]\npath = \"{}\"\n[[pages]]\nid = \"P1\"\naccess_token_env = \"{VAR}\"\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
        cmd.arg("--config")
            .arg(&agent)
            .args(args)
            .env_remove(VAR)
            .env_remove("DMDESK_APP_SECRET")
            .env_remove("DMDESK_VERIFY_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let text = |o: &std::process::Output| {
        format!(
            "exit {:?}\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    let out = run(&["export"]).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("m_in_1"));
    let out = run(&["send", "--account", "P1", "--user", "U1", "--text", "hello"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "m_reply_1\n");
    let out = run(&["bulk", "--text", "sale", "--all", "--yes"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(store.campaigns_list().unwrap().len(), 1);
    // attach gets as far as the terminal (none here: exit 1), never the
    // config error it used to stop at.
    let out = run(&["attach"]).await.unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(VAR),
        "{}",
        text(&out)
    );

    owner.running.shutdown().await;
    // No owner: export would open the store itself, serve needs the token.
    for args in [&["export"][..], &["serve"][..]] {
        let out = run(args).await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("pages[0].access_token_env") && err.contains(VAR),
            "{args:?}: {}",
            text(&out)
        );
    }
}
