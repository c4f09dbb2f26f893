//! Black-box checks of the command-line contracts: exit codes, error lines
//! that name the config key, the held-store message, export fields.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn dmdesk() -> Command {
    let mut c = Command::cargo_bin("dmdesk").expect("binary built");
    // Keep the user's real config and data out of the tests.
    c.env("XDG_CONFIG_HOME", "/nonexistent-dmdesk-test")
        .env("XDG_DATA_HOME", "/nonexistent-dmdesk-test")
        .env_remove("DMDESK_APP_SECRET")
        .env_remove("DMDESK_VERIFY_TOKEN");
    c
}

#[test]
fn help_works_for_every_command() {
    dmdesk()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("serve"));
    for cmd in [
        "serve", "export", "replay", "sync", "send", "bulk", "doctor", "sim", "demo", "assign",
        "label", "note",
    ] {
        dmdesk().args([cmd, "--help"]).assert().success();
    }
}

#[test]
fn invalid_configs_exit_2_naming_the_key() {
    let cases = [
        ("bad_listen.toml", "server.listen"),
        ("zero_rate.toml", "send.max_per_second"),
        ("missing_token_env.toml", "pages[0].access_token_env"),
        ("bad_interval.toml", "sync.interval"),
        ("unknown_key.toml", "listen_port"),
        ("syntax.toml", "syntax.toml"),
        ("zero_interval.toml", "sync.interval"),
        ("path_healthz.toml", "server.path"),
        ("blank_secret.toml", "server.app_secret"),
        ("unknown_variable.toml", "canned[0].text"),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_configs");
    for (file, key) in cases {
        dmdesk()
            .arg("--config")
            .arg(dir.join(file))
            .args(["export"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(key));
    }
}

#[test]
fn an_endless_config_file_is_refused_not_read_to_the_end() {
    dmdesk()
        .args(["--config", "/dev/zero", "export"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/dev/zero"))
        .stderr(predicate::str::contains("larger than"));
}

#[test]
fn serve_without_secrets_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("[store]\npath = {:?}\n", tmp.path().join("s")),
    )
    .unwrap();
    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("server.app_secret"));
}

#[test]
fn missing_explicit_config_is_an_error() {
    dmdesk()
        .args(["--config", "/nonexistent/dmdesk.toml", "export"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/dmdesk.toml"));
}

#[test]
fn export_of_an_empty_store_prints_nothing_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("[store]\npath = {:?}\n", tmp.path().join("s")),
    )
    .unwrap();
    for what in [
        "messages",
        "contacts",
        "conversations",
        "campaigns",
        "events",
        "notes",
    ] {
        dmdesk()
            .arg("--config")
            .arg(&cfg)
            .args(["export", "--what", what])
            .assert()
            .success()
            .stdout("");
    }
}

#[test]
fn a_held_store_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let store_path = tmp.path().join("s");
    let _held = dmdesk::db::Db::open(&store_path, 8, "serve").unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, format!("[store]\npath = {store_path:?}\n")).unwrap();
    let out = dmdesk()
        .arg("--config")
        .arg(&cfg)
        .arg("export")
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("held by another dmdesk process"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
}

#[test]
fn export_messages_carry_the_contract_fields_and_no_secrets() {
    use dmdesk::change::Change;
    use dmdesk::domain::*;
    let tmp = tempfile::tempdir().unwrap();
    let store_path = tmp.path().join("s");
    {
        let store = dmdesk::db::Db::open(&store_path, 8, "test").unwrap();
        let conv = ConvKey::new(Platform::Instagram, "IG1", "U1");
        let mut m = Message::inbound(conv, Mid::from("m_1"), TimestampMs(1_700_000_000_000));
        m.text = Some("hola 👋".into());
        m.attachments.push(Attachment {
            kind: "image".into(),
            url: Some("https://x/1.jpg".into()),
            title: None,
        });
        store
            .apply(&[Change::Message {
                msg: m,
                metadata: None,
                qualifying: true,
                from_sync: false,
            }])
            .unwrap();
        store.flush().unwrap();
    }
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("[server]\napp_secret = \"topsecret-app\"\nverify_token = \"topsecret-verify\"\n[store]\npath = {store_path:?}\n[[pages]]\nid = \"P\"\naccess_token = \"topsecret-token\"\n"),
    )
    .unwrap();
    for what in ["messages", "contacts", "conversations", "events"] {
        let out = dmdesk()
            .arg("--config")
            .arg(&cfg)
            .args(["export", "--what", what])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("topsecret"), "{what}: {text}");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let keys: &[&str] = match what {
                "messages" => &[
                    "platform",
                    "account_id",
                    "user_id",
                    "mid",
                    "direction",
                    "text",
                    "attachments",
                    "timestamp_ms",
                    "status",
                    "reactions",
                    "deleted",
                ],
                "contacts" => &["platform", "account_id", "user_id", "name"],
                "conversations" => &[
                    "platform",
                    "account_id",
                    "user_id",
                    "name",
                    "last_inbound_ms",
                    "unread",
                    "status",
                    "assignee",
                    "labels",
                    "priority",
                ],
                _ => &["seq", "received_ms", "state", "reason", "body"],
            };
            for k in keys {
                assert!(v.get(*k).is_some(), "{what} lacks {k}: {line}");
            }
            if what == "messages" {
                assert_eq!(v["platform"], "instagram");
                assert_eq!(v["direction"], "in");
                assert_eq!(v["status"], "received");
                assert_eq!(v["attachments"][0]["type"], "image");
                assert_eq!(v["timestamp_ms"], 1_700_000_000_000i64);
            }
        }
    }
}

#[test]
fn config_example_parses() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .unwrap();
    let cfg = dmdesk::config::Config::from_toml(&text, &|k| {
        (k == "DMDESK_PAGE_TOKEN").then(|| "tok".to_string())
    })
    .unwrap();
    assert_eq!(cfg.pages.len(), 1);
    assert_eq!(cfg.canned.len(), 2);
}

#[test]
fn a_bad_key_binding_exits_2_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nenabled = false\n[store]\npath = {:?}\n[ui.keys]\nquit = \"hyper-x-y\"\n",
            tmp.path().join("s")
        ),
    )
    .unwrap();
    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ui.keys.quit"));
}

#[test]
fn two_key_bindings_on_one_key_exit_2_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nenabled = false\n[store]\npath = {:?}\n[ui.keys]\nsync = \"x\"\ntake = [\"x\"]\n",
            tmp.path().join("s")
        ),
    )
    .unwrap();
    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "config key ui.keys.take: key `x` is also bound to ui.keys.sync",
        ));
}

#[test]
fn an_unknown_control_group_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\napp_secret = \"s\"\nverify_token = \"v\"\nlisten = \"127.0.0.1:0\"\n[store]\npath = {:?}\n[control]\ngroup = \"no-such-group-dmdesk\"\n",
            dir.path().join("store")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("control.group"), "{err}");
}

#[test]
fn a_named_socket_with_no_owner_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [vec!["attach"], vec![], vec!["export"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"))
            .arg("--socket")
            .arg(dir.path().join("nobody.sock"))
            .args(&args)
            .env("XDG_CONFIG_HOME", dir.path().join("no-config"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("nobody.sock") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
}

#[test]
fn bulk_with_a_malformed_users_line_or_a_retired_tag_exits_2_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = {:?}\n[graph]\nbase_url = \"http://127.0.0.1:9\"\n[[pages]]\nid = \"p1\"\nname = \"Shop\"\naccess_token = \"t\"\n",
            tmp.path().join("s")
        ),
    )
    .unwrap();
    let users = tmp.path().join("users.txt");
    std::fs::write(&users, "p1 u1\nbad line\n").unwrap();
    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .args(["bulk", "--text", "hi", "--yes", "--users"])
        .arg(&users)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2"));
    std::fs::write(&users, "p1 u1\n").unwrap();
    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .args([
            "bulk",
            "--text",
            "hi",
            "--yes",
            "--tag",
            "ACCOUNT_UPDATE",
            "--users",
        ])
        .arg(&users)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("retired"));
    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .args(["bulk", "--text", "Hi {firstname}", "--yes", "--users"])
        .arg(&users)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("{firstname}"));
    dmdesk()
        .arg("--config")
        .arg(&cfg)
        .args(["export", "--what", "campaigns"])
        .assert()
        .success()
        .stdout("");
}

/// Every subcommand (nested ones too) with its long flags.
fn subcommands_and_flags() -> Vec<(String, Vec<String>)> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, Vec<String>)>) {
        for c in cmd.get_subcommands() {
            let name = format!("{prefix}{}", c.get_name());
            let flags = c
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect();
            out.push((name.clone(), flags));
            walk(c, &format!("{name}-"), out);
        }
    }
    let mut out = Vec::new();
    walk(
        &<dmdesk::cli::Cli as clap::CommandFactory>::command(),
        "",
        &mut out,
    );
    out
}

#[test]
fn completions_name_every_subcommand_and_flag() {
    let all = subcommands_and_flags();
    assert!(all
        .iter()
        .any(|(n, f)| n == "bulk" && f.contains(&"users".to_string())));
    for shell in ["bash", "zsh", "fish"] {
        let out = dmdesk().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for (name, flags) in &all {
            let leaf = name.rsplit('-').next().unwrap();
            assert!(text.contains(leaf), "{shell}: no subcommand {name}");
            for f in flags {
                let shown = if shell == "fish" {
                    format!("-l {f}")
                } else {
                    format!("--{f}")
                };
                assert!(text.contains(&shown), "{shell}: no {shown} for {name}");
            }
        }
        for global in ["config", "socket"] {
            assert!(text.contains(global), "{shell}: no --{global}");
        }
    }
}

#[test]
fn man_pages_name_every_subcommand_and_flag() {
    let top = dmdesk().args(["man"]).output().unwrap();
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains(".TH dmdesk"), "a roff page");
    let all = subcommands_and_flags();
    for (name, flags) in &all {
        if !name.contains('-') {
            assert!(top.contains(name.as_str()), "dmdesk.1 lists {name}");
        }
        let page = dmdesk().args(["man", name]).output().unwrap();
        assert!(page.status.success(), "dmdesk man {name}");
        let page = String::from_utf8(page.stdout).unwrap();
        for f in flags {
            // roff escapes the dashes.
            let roff = format!("\\-\\-{}", f.replace('-', "\\-"));
            assert!(page.contains(&roff), "dmdesk-{name}.1: no --{f}");
        }
    }
    dmdesk()
        .args(["man", "nonsense"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nonsense"));
    let dir = tempfile::tempdir().unwrap();
    dmdesk()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(dir.path().join("dmdesk.1").exists());
    assert!(dir.path().join("dmdesk-sim-populate.1").exists());
}
