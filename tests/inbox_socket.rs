//! The inbox's one-shot requests (a conversation's summary, export pages,
//! a campaign's preview, record, start and report) travel through the owner's control socket
//! unchanged and answer what the service answers in process.

use dmdesk::change::Change;
use dmdesk::config::Config;
use dmdesk::control::client::{Pushed, Remote};
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Message, Mid, Platform, TimestampMs};
use dmdesk::inbox::{Audience, BulkContent, Reply, Request};
use dmdesk::request::ExportWhat;
use dmdesk::store::CampaignStatus;
use dmdesk::update::Update;
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config_text(dir: &std::path::Path, graph: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n[store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"{graph}\"\ntimeout = \"2s\"\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"page-token\"\n",
        dir.join("store")
    )
}

/// A customer message `ago_ms` before now.
fn wrote(store: &Db, user: &str, ago_ms: i64, mid: &str) -> ConvKey {
    let conv = ConvKey::new(Platform::Messenger, "P1", user);
    let mut m = Message::inbound(
        conv.clone(),
        Mid::from(mid),
        TimestampMs(TimestampMs::now().0 - ago_ms),
    );
    m.text = Some(format!("hello from {user}"));
    store
        .apply(&[Change::Message {
            msg: m,
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .unwrap();
    conv
}

async fn ask(remote: &Remote, r: Request) -> Reply {
    remote.inbox(r).await.expect("the owner answers")
}

/// Every page of `what`, `limit` lines a request.
async fn export(remote: &Remote, what: ExportWhat, limit: usize) -> (Vec<String>, usize) {
    let (mut lines, mut pages) = (Vec::new(), 0);
    loop {
        let page = Request::Export {
            what,
            from: lines.len() as u64,
            limit,
        };
        let Reply::Export { lines: l, done } = ask(remote, page).await else {
            panic!("an export page");
        };
        pages += 1;
        lines.extend(l);
        if done {
            return (lines, pages);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn export_pages_and_a_campaign_round_trip_through_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"recipient_id": "U1", "message_id": "m_out_1"})),
        )
        .mount(&graph)
        .await;
    let text = config_text(dir.path(), &graph.uri());
    let cfg = Config::from_toml(&text, &|_| None).unwrap();
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    let inside = wrote(&store, "U1", 60_000, "m1");
    let outside = wrote(&store, "U2", 30 * TimestampMs::HOUR, "m2");
    for i in 0..5 {
        wrote(&store, "U3", 90_000 + i, &format!("m3_{i}"));
    }
    let expected: Vec<String> = store
        .all_messages()
        .map(|m| dmdesk::inbox::export::message_json(&m.unwrap()).to_string())
        .collect();
    assert_eq!(expected.len(), 7);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store.clone(), Some(listener))
        .await
        .unwrap();
    let path = dmdesk::control::socket_path(&dir.path().join("store"));
    let (a, hello, mut pushed) = Remote::attach(&path).await.unwrap();
    let (b, _, _b_pushed) = Remote::attach(&path).await.unwrap();
    let dmdesk::control::protocol::Reply::Hello { agent, .. } = hello else {
        panic!("a hello");
    };

    // Export: pages of 3 join into the whole export, in store order; a
    // second client's export in between does not disturb the first.
    let first = ask(
        &a,
        Request::Export {
            what: ExportWhat::Messages,
            from: 0,
            limit: 3,
        },
    )
    .await;
    let Reply::Export { lines: head, done } = first else {
        panic!("an export page");
    };
    assert_eq!((head.len(), done), (3, false));
    let (whole_b, pages_b) = export(&b, ExportWhat::Messages, 2).await;
    assert_eq!((whole_b.clone(), pages_b), (expected.clone(), 4));
    let mut rest = Vec::new();
    loop {
        let page = Request::Export {
            what: ExportWhat::Messages,
            from: (head.len() + rest.len()) as u64,
            limit: 3,
        };
        let Reply::Export { lines, done } = ask(&a, page).await else {
            panic!("an export page");
        };
        rest.extend(lines);
        if done {
            break;
        }
    }
    assert_eq!([head, rest].concat(), expected);
    let (conversations, _) = export(&a, ExportWhat::Conversations, 100).await;
    assert_eq!(conversations.len(), 3);

    let Reply::Conversation(Some(c)) = ask(
        &b,
        Request::Conversation {
            conv: inside.clone(),
        },
    )
    .await
    else {
        panic!("the conversation");
    };
    assert_eq!((c.key.clone(), c.unread), (inside.clone(), 1));
    let nobody = ConvKey::new(Platform::Messenger, "P1", "nobody");
    assert_eq!(
        ask(&b, Request::Conversation { conv: nobody }).await,
        Reply::Conversation(None)
    );

    // A campaign: preview, record, start, report, all through the socket.
    let preview = ask(
        &a,
        Request::BulkPreview {
            audience: Audience::Listed(vec![inside.clone(), outside.clone()]),
            content: BulkContent::Text {
                text: "Thanks {first_name}!".into(),
                tag: None,
            },
        },
    )
    .await;
    let Reply::BulkPreview(preview) = preview else {
        panic!("a preview");
    };
    assert_eq!((preview.inside, preview.skipped), (1, 1), "{preview:?}");
    assert_eq!(preview.rows[0].conv, inside);
    let Reply::BulkPreview(everyone) = ask(
        &a,
        Request::BulkPreview {
            audience: Audience::All,
            content: BulkContent::File {
                about: "[image] a.png".into(),
                instagram: Err("not served here".into()),
            },
        },
    )
    .await
    else {
        panic!("a preview");
    };
    assert_eq!(everyone.rows.len(), 3);

    let created = ask(
        &a,
        Request::BulkCreate {
            title: "Thanks".into(),
            text: "Thanks {first_name}!".into(),
            tag: None,
            preview: preview.clone(),
        },
    )
    .await;
    let Reply::Campaign(Some(c)) = created else {
        panic!("a campaign record");
    };
    assert_eq!(
        c.created_by.as_deref(),
        Some(agent.as_str()),
        "the peer made it"
    );
    assert_eq!(
        ask(&b, Request::Campaign { id: c.id.clone() }).await,
        Reply::Campaign(Some(c.clone()))
    );
    assert_eq!(
        ask(
            &b,
            Request::Campaign {
                id: "no-such-campaign".into()
            }
        )
        .await,
        Reply::Campaign(None)
    );

    assert_eq!(
        ask(&a, Request::BulkStart { id: c.id.clone() }).await,
        Reply::Done
    );
    let id = c.id.clone();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(p) = pushed.recv().await {
            if matches!(&p, Pushed::Update(u) if matches!(&**u, Update::Campaign(p) if p.id == id && !p.running))
            {
                return;
            }
        }
        panic!("the update stream ended before the campaign did");
    })
    .await
    .expect("the campaign's end within 20 s");
    let Reply::CampaignReport(report) = ask(&b, Request::CampaignReport { id: c.id.clone() }).await
    else {
        panic!("a campaign report");
    };
    assert_eq!(report.status, CampaignStatus::Done, "{report:?}");
    assert_eq!(
        (
            report.counts.total,
            report.counts.sent,
            report.counts.skipped
        ),
        (2, 1, 1)
    );
    // One send, to the customer inside the window, rendered per recipient.
    let sends: Vec<String> = graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().ends_with("/P1/messages"))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(
        sends[0].contains("\"id\":\"U1\"") && sends[0].contains("Thanks there!"),
        "{sends:?}"
    );

    // An unknown campaign's report is an error sentence, not a hang.
    let err = a
        .inbox(Request::CampaignReport {
            id: "no-such-campaign".into(),
        })
        .await
        .unwrap_err();
    assert!(err.contains("no campaign"), "{err}");
    running.shutdown().await;
}
