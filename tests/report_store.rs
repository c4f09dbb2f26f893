//! The report from a real store: history recorded by the apply path, read
//! back by `inbox::report::from_store`, and `dmdesk report` on the command line.

mod common;

use assert_cmd::Command;
use dmdesk::change::Change;
use dmdesk::clock::Zone;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, ConvStatus, Message, Mid, Platform, TimestampMs};
use dmdesk::inbox::report::from_store;
use dmdesk::report::{format, Format, DEFAULT_SINCE_MS};

const MIN: i64 = 60_000;

/// From the team trial: a reply that failed answered nobody, so it is not
/// a reply in the report; once a retry reaches Meta it is, timed from
/// when the agent wrote it.
#[test]
fn a_failed_reply_is_not_counted_until_it_reaches_meta() {
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 16, "test").unwrap();
    let now = TimestampMs::now();
    let t0 = now.plus_ms(-60 * MIN);
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    store
        .apply(&[
            inbound(&conv, "m1", t0),
            Change::OutboundQueued {
                id: "o1".into(),
                conv: conv.clone(),
                text: "on it".into(),
                tag: None,
                agent: Some("alice".into()),
                campaign: None,
                at: t0.plus_ms(5 * MIN),
            },
            Change::OutboundFailed {
                id: "o1".into(),
                reason: "(#100) No matching user found".into(),
            },
        ])
        .unwrap();
    let r = from_store(&*store, DEFAULT_SINCE_MS, now, Zone::Fixed(0)).unwrap();
    assert_eq!(
        (r.totals.replies, r.totals.first_response.median_ms),
        (0, None)
    );
    store
        .apply(&[
            Change::OutboundRetry { id: "o1".into() },
            Change::OutboundSent {
                id: "o1".into(),
                mid: Mid::new("m_o1"),
            },
        ])
        .unwrap();
    let r = from_store(&*store, DEFAULT_SINCE_MS, now, Zone::Fixed(0)).unwrap();
    assert_eq!(
        (r.totals.replies, r.totals.first_response.median_ms),
        (1, Some(5 * MIN))
    );
}

fn inbound(conv: &ConvKey, mid: &str, at: TimestampMs) -> Change {
    let mut m = Message::inbound(conv.clone(), Mid::new(mid), at);
    m.text = Some("hello".into());
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: false,
    }
}

#[test]
fn the_apply_paths_history_gives_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 16, "test").unwrap();
    let now = TimestampMs::now();
    let t0 = now.plus_ms(-120 * MIN);
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    let other = ConvKey::new(Platform::Instagram, "IG1", "U2");
    store
        .apply(&[
            // Two customer messages, 10 minutes apart; alice answers 30
            // minutes after the first and resolves 30 minutes later.
            inbound(&conv, "m1", t0),
            inbound(&conv, "m2", t0.plus_ms(10 * MIN)),
            Change::OutboundQueued {
                id: "o1".into(),
                conv: conv.clone(),
                text: "on it".into(),
                tag: None,
                agent: Some("alice".into()),
                campaign: None,
                at: t0.plus_ms(30 * MIN),
            },
            // Meta accepted it: a reply counts once it reached Meta.
            Change::OutboundSent {
                id: "o1".into(),
                mid: Mid::new("m_o1"),
            },
            Change::Status {
                conv: conv.clone(),
                status: ConvStatus::Resolved,
                snooze_until: None,
                by: Some("alice".into()),
                at: t0.plus_ms(60 * MIN),
            },
            // Another customer, still waiting.
            inbound(&other, "m3", t0.plus_ms(90 * MIN)),
        ])
        .unwrap();
    let r = from_store(&*store, DEFAULT_SINCE_MS, now, Zone::Fixed(0)).unwrap();
    assert_eq!(
        (r.totals.opened, r.totals.resolved, r.totals.replies),
        (2, 1, 1)
    );
    assert_eq!(r.totals.first_response.median_ms, Some(30 * MIN));
    assert_eq!(r.totals.resolution.median_ms, Some(60 * MIN));
    assert_eq!(r.agents.len(), 1);
    assert_eq!(r.agents[0].agent.as_deref(), Some("alice"));
    assert_eq!(r.agents[0].figures.replies_in_window, 1);
    assert_eq!(r.pages.len(), 2);
    assert_eq!(r.coverage.conversations, 2);
    assert_eq!(r.coverage.predating, 0);
    assert_eq!(r.coverage.history_start_ms, Some(t0.0));
    let csv = format::render(&r, Format::Csv);
    assert!(
        csv.contains("agent,alice,first_response_median_ms,1800000\n"),
        "{csv}"
    );
}

fn dmdesk() -> Command {
    let mut c = Command::cargo_bin("dmdesk").expect("binary built");
    c.env("XDG_CONFIG_HOME", "/nonexistent-dmdesk-test")
        .env("XDG_DATA_HOME", "/nonexistent-dmdesk-test")
        .env_remove("DMDESK_APP_SECRET")
        .env_remove("DMDESK_VERIFY_TOKEN");
    c
}

#[test]
fn report_command_prints_each_format_of_an_empty_store() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("[store]\npath = {:?}\n", tmp.path().join("s")),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = dmdesk()
            .arg("--config")
            .arg(&cfg)
            .arg("report")
            .args(args)
            .timeout(std::time::Duration::from_secs(30))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let table = run(&[]);
    assert!(table.starts_with("Report "), "{table}");
    assert!(table.contains("No history is recorded yet"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["--format", "json", "--since", "30d"])).unwrap();
    assert_eq!(
        json["to_ms"].as_i64().unwrap() - json["from_ms"].as_i64().unwrap(),
        30 * 24 * 60 * MIN
    );
    assert_eq!(
        json["coverage"]["history_start_ms"],
        serde_json::Value::Null
    );
    let csv = run(&["--format", "csv"]);
    assert_eq!(csv.lines().next(), Some("scope,key,figure,value"));

    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .args(["report", "--since", "a while"])
        .assert()
        .code(2);
}

/// GET `path` from the serve over plain HTTP/1.0; the body.
fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(out)
}

#[test]
fn a_running_serve_answers_report_and_shows_it_on_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s3\"\nverify_token = \"v\"\n[store]\npath = {:?}\n[sync]\ninterval = \"off\"\n",
            tmp.path().join("store")
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"));
    cmd.args(["--config", cfg.to_str().unwrap(), "serve"]);
    let mut serve = common::serve::spawn(cmd);

    // The store is held: the command goes through the serve.
    let out = dmdesk()
        .arg("--config")
        .arg(&cfg)
        .args(["report", "--format", "json"])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["coverage"]["conversations"], 0);

    // The first report is computed at start, in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let metrics = loop {
        let m = get(serve.addr, "/metrics");
        if m.contains("dmdesk_report_window_seconds 604800") {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "awaited the report on /metrics; last:\n{m}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(metrics.contains("# TYPE dmdesk_first_response_seconds histogram"));
    let _ = serve.child.kill();
    let _ = serve.child.wait();
}
