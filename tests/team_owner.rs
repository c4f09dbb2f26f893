//! `dmdesk assign`, `label`, `note` through a running owner (the control
//! socket): the owner writes, the agent is the socket peer's Unix user.

use dmdesk::change::Change;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Message, Mid, Platform, TimestampMs};
use dmdesk::team::{AgentName, HistoryKind};
use std::sync::Arc;

fn run(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("DMDESK_APP_SECRET")
        .env_remove("DMDESK_VERIFY_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn team_commands_go_through_the_owner_as_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    // No token in the environment: commands through the owner need none.
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n[store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"http://127.0.0.1:9\"\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token_env = \"DMDESK_TEST_UNSET_TOKEN\"\n[team]\nagents = [\"alice\"]\n",
        dir.path().join("store"),
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &text).unwrap();
    let cfg = Config::from_toml_lenient(&text, &|_| None).unwrap();
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    store
        .apply(&[Change::Message {
            msg: Message::inbound(conv.clone(), Mid::from("m1"), TimestampMs(1_000)),
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();
    let config2 = config.clone();
    let outs = tokio::task::spawn_blocking(move || {
        let c = ["--account", "P1", "--user", "U1"];
        let with = |cmd: &str, extra: &[&str]| {
            let mut v = vec![cmd];
            v.extend(c);
            v.extend(extra);
            run(&config2, &v)
        };
        vec![
            with("assign", &["--to", "alice"]),
            with("assign", &["--to", "not_an_agent_zz"]),
            with("label", &["--add", "vip"]),
            with("note", &["--text", "@alice over to me"]),
            with("assign", &["--me"]),
        ]
    })
    .await
    .unwrap();
    let text_of = |o: &std::process::Output| {
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = text_of(&outs[0]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("assigned to alice (was nobody)"), "{out}");
    let (code, _, err) = text_of(&outs[1]);
    assert_eq!(code, Some(2), "unknown agent: {err}");
    assert!(err.contains("not_an_agent_zz"), "{err}");
    for o in &outs[2..] {
        let (code, _, err) = text_of(o);
        assert_eq!(code, Some(0), "{err}");
    }
    let me = AgentName::new(dmdesk::control::peer::current_user().unwrap());
    let (_, out, _) = text_of(&outs[4]);
    assert!(out.contains("(was alice) (alice is told)"), "{out}");

    // The owner's store has it all, by the peer.
    let c = running.store.conversation(&conv).unwrap().unwrap();
    assert_eq!(c.assignee, Some(me.clone()));
    assert_eq!(c.labels, vec!["vip".to_string()]);
    let notes = running.store.notes(&conv).unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].author, me);
    assert_eq!(notes[0].mentions, vec![AgentName::from("alice")]);
    let history = running.store.history(&conv).unwrap();
    let assigned: Vec<_> = history
        .iter()
        .filter(|e| matches!(e.kind, HistoryKind::Assigned { .. }))
        .map(|e| e.by.clone())
        .collect();
    assert_eq!(assigned, vec![Some(me.clone()), Some(me.clone())]);
    // alice: the mention, being assigned, and the takeover.
    assert_eq!(
        running
            .store
            .mailbox(&AgentName::from("alice"))
            .unwrap()
            .len(),
        3
    );
    running.shutdown().await;
}

#[path = "common/wait.rs"]
mod wait;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attached_clients_race_for_a_conversation_and_new_ones_are_auto_assigned() {
    use dmdesk::control::client::Remote;
    use dmdesk::inbox::{AssignTo, Assigned, Reply, Request};
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n[store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"http://127.0.0.1:9\"\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"P1\"\naccess_token = \"t\"\n[team]\nagents = [\"alice\"]\nauto_assign = \"round-robin\"\nmax_open_per_agent = 2\n",
        dir.path().join("store"),
    );
    let cfg = Config::from_toml(&text, &|_| None).unwrap();
    let socket = dmdesk::control::socket_path(&cfg.store.path);
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    let inbound = |user: &str, mid: &str| Change::Message {
        msg: Message::inbound(
            ConvKey::new(Platform::Messenger, "P1", user),
            Mid::from(mid),
            TimestampMs::now(),
        ),
        metadata: None,
        qualifying: true,
        from_sync: false,
    };
    // Opened before anyone attached: nobody to give it to.
    store.apply(&[inbound("U1", "m1")]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();
    let (a, _, _a_rx) = Remote::attach(&socket).await.unwrap();
    let (b, _, _b_rx) = Remote::attach(&socket).await.unwrap();
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    assert_eq!(
        running.store.conversation(&conv).unwrap().unwrap().assignee,
        None
    );

    // Two attached clients take U1 at once: one wins, the other is told.
    let take = |to| Request::Assign {
        conv: conv.clone(),
        to,
        expect: None,
    };
    let (ra, rb) = futures::join!(
        a.inbox(take(AssignTo::Agent("alice".into()))),
        b.inbox(take(AssignTo::Me))
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let me = AgentName::new(dmdesk::control::peer::current_user().unwrap());
    let winner = running.store.conversation(&conv).unwrap().unwrap().assignee;
    match (&ra, &rb) {
        (
            Reply::Assigned(Assigned::Done { .. }),
            Reply::Assigned(Assigned::Taken { current, .. }),
        ) => {
            assert_eq!(winner, Some(AgentName::from("alice")));
            assert_eq!(current, &winner);
        }
        (
            Reply::Assigned(Assigned::Taken { current, .. }),
            Reply::Assigned(Assigned::Done { .. }),
        ) => {
            assert_eq!(winner, Some(me.clone()));
            assert_eq!(current, &winner);
        }
        other => panic!("exactly one take must win: {other:?}"),
    }

    // A new conversation opens: it goes to the attached agent (this user).
    running.store.apply(&[inbound("U2", "m2")]).unwrap();
    let c2 = ConvKey::new(Platform::Messenger, "P1", "U2");
    wait::until(
        "U2 auto-assigned to the attached agent",
        std::time::Duration::from_secs(10),
        || {
            let got = running
                .store
                .conversation(&c2)
                .unwrap()
                .and_then(|c| c.assignee);
            let me = me.clone();
            async move { got == Some(me) }
        },
    )
    .await;
    // The agent's mailbox over the socket says so.
    let Reply::Mailbox(mail) = a.inbox(Request::Mailbox).await.unwrap() else {
        panic!("no mailbox");
    };
    assert!(mail.iter().any(|m| m.conv == c2), "{mail:?}");
    a.detach().await;
    b.detach().await;
    running.shutdown().await;
}
