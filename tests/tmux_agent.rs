//! An agent's day in tmux (issue 12): `$EDITOR` opens at once and no key is
//! lost or added, and `y` reaches tmux's paste buffer with `set-clipboard
//! on`. Each test runs its own tmux server on a private socket (`-L`) with
//! no user config, and kills only the session it started.

mod common;

use common::tmux::{self, Session};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A config with the webhook server on `port` and one page; Graph points at
/// a closed loopback port (nothing here calls it).
fn write_config(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\napp_secret = \"agent-secret\"\nverify_token = \"v\"\n\
             [store]\npath = {:?}\n[graph]\nbase_url = \"http://127.0.0.1:9\"\n[sync]\ninterval = \"off\"\n\
             [ui]\nbell = false\n[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"t\"\n",
            dir.join("store"),
        ),
    )
    .unwrap();
    cfg
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A customer writes: a signed webhook to the embedded server.
async fn customer_writes(port: u16, text: &str) {
    customer_writes_as(port, "m_agent_1", text).await
}

async fn customer_writes_as(port: u16, mid: &str, text: &str) {
    let body = serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[
        {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":now_ms(),
         "message":{"mid":mid,"text":text}}]}]})
    .to_string();
    let sig = dmdesk::webhook::signature::sign(b"agent-secret", body.as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// dmdesk in a tmux session with `env` before it, a customer message in the
/// list.
async fn inbox_with_a_message(tag: &str, env: &str, dir: &std::path::Path) -> Session {
    inbox_with(tag, env, dir, "Where is my parcel?", "Where is my parcel?").await
}

/// dmdesk in tmux with one customer message, `shows` being how its row reads.
async fn inbox_with(
    tag: &str,
    env: &str,
    dir: &std::path::Path,
    text: &str,
    shows: &str,
) -> Session {
    let port = free_port();
    let cfg = write_config(dir, port);
    let shell_cmd = format!(
        "{env} XDG_STATE_HOME={state} {bin} --config {cfg}; echo DMDESK-EXITED:$?; sleep 30",
        state = dir.join("state").display(),
        bin = env!("CARGO_BIN_EXE_dmdesk"),
        cfg = cfg.display()
    );
    let t = Session::start(tag, (120, 35), &shell_cmd);
    t.wait_for("the inbox", |s| s.contains("Inbox"));
    customer_writes(port, text).await;
    t.wait_for("the message in the list", |s| s.contains(shows));
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_opens_at_once_and_no_key_is_lost_or_added() {
    if !tmux::ready("the_editor_opens_at_once_and_no_key_is_lost_or_added") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A fake editor that writes a known text into the draft file (the
    // variable is split like a shell would: sh -c SCRIPT sh FILE).
    let env = r#"VISUAL= EDITOR="sh -c 'printf hello > \"\$1\"' sh""#;
    let t = inbox_with_a_message("editor", env, tmp.path()).await;

    // `e` on the selected row: the editor runs and its text is in the
    // composer without any further key press.
    t.keys(&["e"]);
    let screen = t.wait_for("the editor's text in the composer (no further key)", |s| {
        s.contains("hello")
    });
    // Nothing was added: the draft is exactly the editor's five characters.
    assert!(
        screen.contains(" 5/"),
        "the composer counts 5 characters:\n{screen}"
    );
    assert!(!screen.contains("helloe"), "{screen}");
    // Nothing is lost afterwards: the next key lands once, in the composer.
    t.keys(&["-l", "X"]);
    let screen = t.wait_for("the next key in the draft", |s| s.contains("helloX"));
    assert!(
        screen.contains(" 6/"),
        "the composer counts 6 characters:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_reaches_the_tmux_buffer_with_set_clipboard_on() {
    if !tmux::ready("copy_reaches_the_tmux_buffer_with_set_clipboard_on") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = inbox_with_a_message("copy", "", tmp.path()).await;
    let set = t.tmux(&["set-option", "-s", "set-clipboard", "on"]);
    assert!(set.status.success(), "{set:?}");
    // Open the conversation, copy its (only) message.
    t.keys(&["Enter"]);
    t.wait_for("the thread", |s| s.contains("◀"));
    t.keys(&["y"]);
    t.wait_for("the copy notice", |s| s.contains("handed to the terminal"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = t.tmux(&["show-buffer"]);
        let buf = String::from_utf8_lossy(&out.stdout).into_owned();
        if buf == "Where is my parcel?" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the copy in tmux's buffer; show-buffer: {buf:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 12: emoji tmux measures differently from ratatui (❤️ is one
/// column in tmux 3.3, 👍🏽 four), flags and Korean, in the list and the
/// thread, under and after the help popup: what tmux shows is what was
/// drawn, with no gap, leftover or shifted border.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emoji_flags_and_korean_leave_nothing_stale_around_the_help_popup() {
    if !tmux::ready("emoji_flags_and_korean_leave_nothing_stale_around_the_help_popup") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Drawn in the form every terminal measures alike: ❤ and 👍.
    let shows = "❤❤ 👍👍 🇫🇷 한국어 fin";
    let t = inbox_with("emoji", "", tmp.path(), "❤️❤️ 👍🏽👍🏽 🇫🇷 한국어 fin", shows).await;
    t.keys(&["Enter"]);
    t.wait_for("the thread", |s| s.matches(shows).count() == 2);
    t.keys(&["?"]);
    t.wait_for("the help popup", |s| s.contains("Keys ("));
    t.keys(&["Escape"]);
    let screen = t.wait_for("the popup closed", |s| !s.contains("Keys ("));
    assert_eq!(
        screen.matches(shows).count(),
        2,
        "list and thread:\n{screen}"
    );
    assert!(!screen.contains("$EDITOR"), "popup leftovers:\n{screen}");
    // tmux's own count: character by character.
    let cols = |s: &str| -> usize {
        s.chars()
            .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
            .sum()
    };
    let mut joints = std::collections::BTreeSet::new();
    for line in screen
        .lines()
        .filter(|l| l.starts_with('│') || l.starts_with('▐'))
    {
        assert!(cols(line) <= 120, "wider than the pane: {line:?}");
        if let Some(i) = line.find("││") {
            joints.insert(cols(&line[..i]));
        }
    }
    assert_eq!(
        joints.len(),
        1,
        "the list's border moved: {joints:?}\n{screen}"
    );
}

/// The draft file `$EDITOR` gets is private (0600): a fake editor writes
/// the file's own mode into it, and the composer shows what it wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editors_draft_file_is_private() {
    if !tmux::ready("the_editors_draft_file_is_private") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let env = r#"VISUAL= EDITOR="sh -c 'printf mode-%s \$(stat -c %a \"\$1\") > \"\$1\"' sh""#;
    let t = inbox_with_a_message("editor-mode", env, tmp.path()).await;
    t.keys(&["e"]);
    let screen = t.wait_for("the editor's text in the composer", |s| s.contains("mode-"));
    assert!(
        screen.contains("mode-600"),
        "the draft file's mode:\n{screen}"
    );
}

/// Under tmux's default options (`set-clipboard external`, which ignores
/// an application's OSC 52) `y` claims no more than it did: the copy was
/// handed to the terminal, and tmux's buffer stays empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_under_tmux_defaults_says_only_that_it_was_handed_over() {
    if !tmux::ready("copy_under_tmux_defaults_says_only_that_it_was_handed_over") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = inbox_with_a_message("copy-default", "", tmp.path()).await;
    let opt = t.tmux(&["show-options", "-s", "-v", "set-clipboard"]);
    assert_eq!(String::from_utf8_lossy(&opt.stdout).trim(), "external");
    t.keys(&["Enter"]);
    t.wait_for("the thread", |s| s.contains("◀"));
    t.keys(&["y"]);
    t.wait_for("the copy notice", |s| {
        s.contains("copy handed to the terminal")
    });
    let buf = t.tmux(&["show-buffer"]);
    assert!(
        !String::from_utf8_lossy(&buf.stdout).contains("Where is my parcel?"),
        "tmux ignores OSC 52 by default"
    );
}
