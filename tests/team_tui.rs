//! Two attached agents' UIs assign one conversation at the same moment
//! through the owner's control socket: the store's compare-and-set lets
//! one win, and the other's status bar says who won.

use dmdesk::app::command::Command;
use dmdesk::app::event::Event;
use dmdesk::app::fixtures as fx;
use dmdesk::app::state::{Level, State};
use dmdesk::app::update;
use dmdesk::config::Config;
use dmdesk::control::client::{Pushed, Remote};
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Platform};
use dmdesk::inbox::{AssignTo, Assigned, ListRows, Reply, Request};
use dmdesk::update::Update;
use dmdesk::webhook::signature;
use ratatui::crossterm::event::KeyCode;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "team-tui-secret";

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
[team]
agents = ["alice", "bob"]
[[pages]]
id = "P1"
name = "Shop"
access_token = "page-token"
"#,
        dir.join("store").display()
    )
}

fn body(user: &str, mid: &str, text: &str) -> Vec<u8> {
    let ts = dmdesk::domain::TimestampMs::now().0;
    serde_json::json!({"object":"page","entry":[{"id":"P1","time":ts,"messaging":[
        {"sender":{"id":user},"recipient":{"id":"P1"},"timestamp":ts,"message":{"mid":mid,"text":text}}]}]})
    .to_string()
    .into_bytes()
}

/// A lead's UI (not alice or bob themselves, so the picker names them).
fn ui(me: &str) -> State {
    let mut o = fx::options();
    o.me = Some(me.into());
    o.agents = vec!["alice".into(), "bob".into()];
    State::new(o, fx::NOW, (100, 30))
}

/// The one request a key sequence produced.
fn the_request(cmds: Vec<Command>) -> Request {
    let mut v: Vec<Request> = cmds
        .into_iter()
        .filter_map(|c| match c {
            Command::Inbox(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(v.len(), 1, "one request: {v:?}");
    v.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_attached_agents_assign_at_once_one_wins_the_other_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), "http://127.0.0.1:9");
    let cfg = Config::from_toml(&text, &|_| None).unwrap();
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();
    let path = dmdesk::control::socket_path(&dir.path().join("store"));
    let (a, _, mut a_rx) = Remote::attach(&path).await.unwrap();
    let (b, _, _b_rx) = Remote::attach(&path).await.unwrap();

    // A customer writes; A views the thread and hears the message.
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    a.inbox(Request::Presence {
        conv: Some(conv.clone()),
        typing: false,
    })
    .await
    .unwrap();
    let b1 = body("U1", "m_in_1", "who is helping me?");
    let status = reqwest::Client::new()
        .post(format!("http://{addr}/webhook"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            signature::sign(SECRET.as_bytes(), &b1),
        )
        .body(b1)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(p) = a_rx.recv().await {
            if matches!(&p, Pushed::Update(u) if matches!(&**u, Update::Message(_))) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(heard, Ok(true), "waiting for the customer's message at A");

    // Both UIs load the list and see it unassigned.
    let Reply::List(rows) = b
        .inbox(Request::List {
            filter: Default::default(),
            offset: 0,
            limit: 10,
            count: true,
            generation: 0,
        })
        .await
        .unwrap()
    else {
        panic!("a list")
    };
    let ListRows { rows, .. } = rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].assignee, None);
    let (mut ui_a, mut ui_b) = (ui("lead-a"), ui("lead-b"));
    fx::load_rows(&mut ui_a, rows.clone());
    fx::load_rows(&mut ui_b, rows);
    // Each assigns it through the picker: A to alice, B to bob.
    fx::press(&mut ui_a, KeyCode::Char('@'));
    fx::typ(&mut ui_a, "ali");
    let ask_a = the_request(fx::press(&mut ui_a, KeyCode::Enter));
    fx::press(&mut ui_b, KeyCode::Char('@'));
    fx::typ(&mut ui_b, "bo");
    let ask_b = the_request(fx::press(&mut ui_b, KeyCode::Enter));
    assert_eq!(
        ask_a,
        Request::Assign {
            conv: conv.clone(),
            to: AssignTo::Agent("alice".into()),
            expect: None
        }
    );

    // At once, through the socket.
    let (ra, rb) = tokio::join!(a.inbox(ask_a), b.inbox(ask_b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let outcome = |r: &Reply| match r {
        Reply::Assigned(a) => a.clone(),
        other => panic!("an assignment's answer: {other:?}"),
    };
    let (oa, ob) = (outcome(&ra), outcome(&rb));
    let a_won = matches!(oa, Assigned::Done { .. });
    let b_won = matches!(ob, Assigned::Done { .. });
    assert!(a_won != b_won, "exactly one wins: {oa:?} / {ob:?}");
    let winner = if a_won { "alice" } else { "bob" };

    // The answers go into the UIs' update: the loser's status bar names
    // the winner; the winner's says it is done.
    update(&mut ui_a, Event::Inbox(ra));
    update(&mut ui_b, Event::Inbox(rb));
    let (won, lost) = if a_won {
        (&ui_a, &ui_b)
    } else {
        (&ui_b, &ui_a)
    };
    let name = &lost.list.rows[0].name;
    assert_eq!(
        lost.status.message,
        Some((
            Level::Error,
            format!("{name}: {winner} took it first — it is {winner}'s now")
        ))
    );
    assert_eq!(
        won.status.message,
        Some((Level::Info, format!("{name}: assigned to {winner}")))
    );

    // The store agrees, and nothing of the loser's was written.
    let Reply::Thread(Some(t)) = b
        .inbox(Request::Thread {
            conv: conv.clone(),
            limit: 10,
        })
        .await
        .unwrap()
    else {
        panic!("the thread")
    };
    assert_eq!(t.conv.assignee.as_ref().map(|a| a.as_str()), Some(winner));
    let assigned: Vec<_> = t
        .history
        .iter()
        .filter(|h| matches!(h.kind, dmdesk::team::HistoryKind::Assigned { .. }))
        .collect();
    assert_eq!(assigned.len(), 1, "{:?}", t.history);

    drop((a, b));
    running.shutdown().await;
}
