//! End to end: the real binary in tmux receives a signed webhook and shows
//! it, the agent replies with the keyboard (the Send API, played by
//! wiremock, gets the call), and quitting leaves the terminal restored.

mod common;

use common::tmux::{self, Session};
use std::process::Command;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The config both tests run with: the webhook server on `port`, Graph at
/// `graph`, one page.
fn write_config(dir: &std::path::Path, port: u16, graph: &str) -> std::path::PathBuf {
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\napp_secret = \"e2e-secret\"\nverify_token = \"v\"\n\
             [store]\npath = {:?}\n[graph]\nbase_url = \"{graph}\"\n[sync]\ninterval = \"off\"\n[ui]\nbell = false\n\
             [[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"e2e-token\"\n",
            dir.join("store"),
        ),
    )
    .unwrap();
    cfg
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_show_reply_quit_restored() {
    if !tmux::ready("receive_show_reply_quit_restored") {
        return;
    }
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/P1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"recipient_id":"U1","message_id":"m_reply_1"})),
        )
        .expect(1)
        .mount(&graph)
        .await;

    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = write_config(tmp.path(), port, &graph.uri());
    let shell_cmd = format!(
        "XDG_STATE_HOME={state} {bin} --config {cfg}; echo DMDESK-EXITED:$?; sleep 30",
        state = tmp.path().join("state").display(),
        bin = env!("CARGO_BIN_EXE_dmdesk"),
        cfg = cfg.display()
    );
    let s = Session::start("e2e", (120, 35), &shell_cmd);
    s.wait_for("the inbox", |scr| scr.contains("Inbox"));

    // A customer writes: a signed webhook to the embedded server.
    let body = serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":chrono_now_ms(),
         "message":{"mid":"m_e2e_1","text":"Is my parcel on its way?"}}]}]})
    .to_string();
    let sig = dmdesk::webhook::signature::sign(b"e2e-secret", body.as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    s.wait_for("the message in the list", |scr| {
        scr.contains("Is my parcel on its way?")
    });

    // Open it, reply, send.
    s.keys(&["Enter"]);
    s.wait_for("the open thread's composer", |scr| scr.contains(" (i) "));
    s.keys(&["i"]);
    s.wait_for("the focused composer", |scr| scr.contains("Enter send"));
    s.text("Yes, it ships today!");
    s.keys(&["Enter"]);
    s.wait_for("the reply in the thread", |scr| {
        scr.contains("Yes, it ships today!")
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .all(|r| r.url.path() != "/v25.0/P1/messages")
    {
        assert!(Instant::now() < deadline, "the Send API was never called");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = graph.received_requests().await.unwrap();
    let call = sent
        .iter()
        .find(|r| r.url.path() == "/v25.0/P1/messages")
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(json["recipient"]["id"], "U1");
    assert_eq!(json["message"]["text"], "Yes, it ships today!");
    assert_eq!(json["messaging_type"], "RESPONSE");
    assert!(call
        .headers
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap() == "Bearer e2e-token"));

    // Leave the composer, then quit.
    s.keys(&["Escape"]);
    s.wait_for("the composer left", |scr| !scr.contains("Enter send"));
    s.keys(&["q"]);
    let screen = s.wait_for("the process to exit", |scr| scr.contains("DMDESK-EXITED:"));
    assert!(screen.contains("DMDESK-EXITED:0"), "{screen}");
    // The alternate screen is gone and the cursor is visible again.
    assert_eq!(s.display("#{alternate_on}"), "0");
    assert_eq!(s.display("#{cursor_flag}"), "1");
    assert!(
        !screen.contains("Inbox"),
        "the TUI is off the screen: {screen}"
    );
    graph.verify().await;
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `dmdesk` with no config file starts the demo: the simulator's history is
/// synced in and its customers' signed webhooks arrive live.
#[test]
fn demo_mode_starts_and_shows_simulated_customers() {
    if !tmux::ready("demo_mode_starts_and_shows_simulated_customers") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let shell_cmd = format!(
        "XDG_CONFIG_HOME={cfg} XDG_STATE_HOME={state} {bin}; echo DMDESK-EXITED:$?; sleep 30",
        cfg = tmp.path().join("no-config-here").display(),
        state = tmp.path().join("state").display(),
        bin = env!("CARGO_BIN_EXE_dmdesk"),
    );
    let s = Session::start("demo", (120, 35), &shell_cmd);
    // The label, and the simulator's 20 customers synced into the list.
    s.wait_for("the demo inbox", |scr| {
        scr.contains("DEMO") && (scr.contains("Inbox 20") || scr.contains("all 20]"))
    });
    // Live webhooks: the status bar counts events received today.
    let screen = s.wait_for("a live webhook", |scr| {
        scr.split("events today ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n > 0)
    });
    assert!(
        screen.contains("127.0.0.1:"),
        "listening address shown: {screen}"
    );
    s.keys(&["q"]);
    let screen = s.wait_for("the process to exit", |scr| scr.contains("DMDESK-EXITED:"));
    assert!(screen.contains("DMDESK-EXITED:0"), "{screen}");
}

async fn post_e2e(port: u16, mid: &str, text: &str) -> u16 {
    let body = serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
        {"sender":{"id":"U7"},"recipient":{"id":"P1"},"timestamp":chrono_now_ms(),
         "message":{"mid":mid,"text":text}}]}]})
    .to_string();
    let sig = dmdesk::webhook::signature::sign(b"e2e-secret", body.as_bytes());
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn serve(cfg: &std::path::Path, state: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .arg("--config")
        .arg(cfg)
        .arg("serve")
        .env("XDG_STATE_HOME", state)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dmdesk serve starts")
}

fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Teams: `dmdesk` started while `dmdesk serve` holds the store attaches to
/// it, shows its live messages, replies through it, says so when the owner
/// restarts and reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_agent_attaches_to_serve_and_survives_its_restart() {
    if !tmux::ready("a_second_agent_attaches_to_serve_and_survives_its_restart") {
        return;
    }
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/P1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"recipient_id":"U7","message_id":"m_reply_7"})),
        )
        .mount(&graph)
        .await;
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = write_config(tmp.path(), port, &graph.uri());
    let state = tmp.path().join("state");
    let socket = tmp.path().join("store").join("control.sock");
    let wait_socket = || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "serve never opened its socket");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let owner = serve(&cfg, &state);
    wait_socket();

    let s = Session::start(
        "attach",
        (120, 35),
        &format!(
            "XDG_STATE_HOME={state} {bin} --config {cfg}; echo DMDESK-EXITED:$?; sleep 30",
            state = state.display(),
            bin = env!("CARGO_BIN_EXE_dmdesk"),
            cfg = cfg.display()
        ),
    );
    s.wait_for("the attached inbox", |scr| {
        scr.contains("Inbox") && scr.contains("attached to pid")
    });

    let status = post_e2e(port, "m_att_1", "Hello from the webhook").await;
    assert_eq!(status, 200);
    s.wait_for("the owner's message in the attached list", |scr| {
        scr.contains("Hello from the webhook")
    });

    // Reply from the attached UI: the owner sends it.
    s.keys(&["Enter"]);
    s.wait_for("the open thread's composer", |scr| scr.contains(" (i) "));
    s.keys(&["i"]);
    s.wait_for("the focused composer", |scr| scr.contains("Enter send"));
    s.text("Sent through the owner");
    s.keys(&["Enter"]);
    s.wait_for("the reply in the thread", |scr| {
        scr.contains("Sent through the owner")
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let calls = graph.received_requests().await.unwrap();
        if let Some(c) = calls.iter().find(|r| r.url.path() == "/v25.0/P1/messages") {
            let json: serde_json::Value = serde_json::from_slice(&c.body).unwrap();
            assert_eq!(json["message"]["text"], "Sent through the owner");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the owner never called the Send API"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The owner restarts: the attached UI says so, then reconnects.
    stop(owner);
    s.wait_for("the lost-owner notice", |scr| scr.contains("reconnecting"));
    let owner = serve(&cfg, &state);
    wait_socket();
    s.wait_for("reconnected", |scr| scr.contains("reconnected"));
    let status = post_e2e(port, "m_att_2", "After the restart").await;
    assert_eq!(status, 200);
    s.wait_for("a message after the restart", |scr| {
        scr.contains("After the restart")
    });

    s.keys(&["Escape"]);
    s.wait_for("the composer left", |scr| !scr.contains("Enter send"));
    s.keys(&["q"]);
    let screen = s.wait_for("the attached UI to exit", |scr| {
        scr.contains("DMDESK-EXITED:")
    });
    assert!(screen.contains("DMDESK-EXITED:0"), "{screen}");
    assert_eq!(s.display("#{alternate_on}"), "0");
    stop(owner);
    // The reply carries the attached agent's Unix user.
    let out = Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .arg("--config")
        .arg(&cfg)
        .arg("export")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let me = dmdesk::control::peer::current_user().unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("Sent through the owner")
                && l.contains(&format!("\"agent\":\"{me}\""))),
        "{text}"
    );
}
