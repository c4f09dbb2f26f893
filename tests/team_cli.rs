//! `dmdesk assign`, `label`, `note` against a store (no owner), and the
//! export fields they feed.

use assert_cmd::Command;
use dmdesk::change::Change;
use dmdesk::domain::{ConvKey, Message, Mid, Platform, TimestampMs};
use dmdesk::team::{AgentName, MailKind};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn dmdesk(cfg: &Path) -> Command {
    let mut c = Command::cargo_bin("dmdesk").expect("binary built");
    c.env("XDG_CONFIG_HOME", "/nonexistent-dmdesk-test")
        .env("XDG_DATA_HOME", "/nonexistent-dmdesk-test")
        .env_remove("DMDESK_APP_SECRET")
        .env_remove("DMDESK_VERIFY_TOKEN")
        .arg("--config")
        .arg(cfg);
    c
}

/// A store with one Messenger conversation (P/U1) and a config naming it.
fn setup(tmp: &Path) -> (PathBuf, PathBuf) {
    let store_path = tmp.join("s");
    {
        let db = dmdesk::db::Db::open(&store_path, 8, "test").unwrap();
        let conv = ConvKey::new(Platform::Messenger, "P", "U1");
        let mut m = Message::inbound(conv, Mid::from("m1"), TimestampMs(1_700_000_000_000));
        m.text = Some("where is my order?".into());
        db.apply(&[Change::Message {
            msg: m,
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .unwrap();
        db.flush().unwrap();
    }
    let cfg = tmp.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = {store_path:?}\n[[pages]]\nid = \"P\"\naccess_token = \"t\"\n\
             [team]\nagents = [\"alice\", \"bob\"]\n[labels]\nvip = \"magenta\"\n"
        ),
    )
    .unwrap();
    (cfg, store_path)
}

fn stdout(c: &mut Command) -> String {
    String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
}

fn export(cfg: &Path, what: &str) -> Vec<serde_json::Value> {
    stdout(dmdesk(cfg).args(["export", "--what", what]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const CONV: [&str; 4] = ["--account", "P", "--user", "U1"];

#[test]
fn assign_label_note_on_a_free_store_and_in_the_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, store_path) = setup(tmp.path());

    let out = stdout(
        dmdesk(&cfg)
            .arg("assign")
            .args(CONV)
            .args(["--to", "alice"]),
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("assigned to alice (was nobody) (alice is told)"),
        "{out}"
    );

    // Not an agent: exit 2 naming it, before any write.
    dmdesk(&cfg)
        .arg("assign")
        .args(CONV)
        .args(["--to", "no_such_agent_zz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no_such_agent_zz"));
    // No conversation: exit 1.
    dmdesk(&cfg)
        .args(["assign", "--account", "P", "--user", "nobody", "--none"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no conversation"));
    // One of --to/--me/--none is required: usage, exit 2.
    dmdesk(&cfg).arg("assign").args(CONV).assert().code(2);

    let out = stdout(
        dmdesk(&cfg)
            .arg("label")
            .args(CONV)
            .args(["--add", "vip", "--add", "refund", "--remove", "new"]),
    );
    assert!(out.trim_end().ends_with("labels vip, refund"), "{out}");
    dmdesk(&cfg)
        .arg("label")
        .args(CONV)
        .args(["--add", "two words"])
        .assert()
        .code(2);

    let out = stdout(
        dmdesk(&cfg)
            .arg("note")
            .args(CONV)
            .args(["--text", "@bob please check the refund"]),
    );
    assert!(out.contains("(bob told)"), "{out}");

    // --me on alice's conversation takes it over; alice is told.
    let out = stdout(dmdesk(&cfg).arg("assign").args(CONV).arg("--me"));
    assert!(out.contains("(was alice) (alice is told)"), "{out}");
    let me = dmdesk::control::peer::current_user().unwrap();

    let convs = export(&cfg, "conversations");
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["assignee"], me.as_str());
    assert_eq!(convs[0]["labels"], serde_json::json!(["vip", "refund"]));
    assert_eq!(convs[0]["priority"], "none");
    let notes = export(&cfg, "notes");
    assert_eq!(notes.len(), 1);
    for k in ["account_id", "user_id", "author", "text", "timestamp_ms"] {
        assert!(notes[0].get(k).is_some(), "notes lack {k}: {}", notes[0]);
    }
    assert_eq!(notes[0]["author"], me.as_str());
    assert_eq!(notes[0]["text"], "@bob please check the refund");
    assert_eq!(notes[0]["account_id"], "P");

    // What stayed in the store: mail for bob (mention) and alice (takeover),
    // and the history of it all.
    let db = dmdesk::db::Db::open(&store_path, 8, "test").unwrap();
    let bob = db.mailbox(&AgentName::from("bob")).unwrap();
    assert!(matches!(bob[0].kind, MailKind::Mention { .. }), "{bob:?}");
    let alice: Vec<_> = db
        .mailbox(&AgentName::from("alice"))
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        alice,
        vec![
            MailKind::Assigned,
            MailKind::TakenOver {
                to: Some(AgentName::new(me.clone()))
            }
        ]
    );
    let conv = ConvKey::new(Platform::Messenger, "P", "U1");
    let by: Vec<_> = db
        .history(&conv)
        .unwrap()
        .into_iter()
        .map(|e| e.describe())
        .collect();
    assert_eq!(
        by,
        vec![
            "conversation opened".to_string(),
            format!("{me} assigned nobody → alice"),
            format!("{me} labels +vip +refund"),
            format!("{me} assigned alice → {me}"),
        ]
    );
}
