//! `cli_send` and `cli_bulk` exit codes and effects (the lead wires main).

mod common;

use common::send::*;
use dmdesk::cli::SendArgs;
use dmdesk::console::Console;
use dmdesk::domain::TimestampMs;
use dmdesk::oneshot::send::{cli_bulk, cli_send};
use dmdesk::oneshot::{BulkRequest, UsersFile};
use dmdesk::store::CampaignStatus;
use std::io::Write;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

fn bulk_args() -> BulkRequest {
    BulkRequest {
        text: Some("Your order shipped".into()),
        users: None,
        all: false,
        tag: None,
        title: None,
        yes: true,
        resume: None,
        file: None,
    }
}

#[tokio::test]
async fn send_outside_the_window_exits_1_without_calling_meta() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(1)
        .mount(&server)
        .await;
    customer_wrote(&env.store, &messenger("late"), 2 * TimestampMs::DAY);
    customer_wrote(&env.store, &messenger("now"), 60_000);
    let cfg = config(&server.uri(), 20, 4);
    let args = |user: &str, tag: Option<&str>| SendArgs {
        account: PAGE.into(),
        user: user.into(),
        text: Some("hello".into()),
        file: None,
        tag: tag.map(str::to_string),
    };
    let e = cli_send(
        &cfg,
        env.store.clone(),
        &args("late", None),
        &Console::local(None),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 1);
    assert!(e.message.contains("window"), "{}", e.message);
    let e = cli_send(
        &cfg,
        env.store.clone(),
        &args("late", Some("BOGUS")),
        &Console::local(None),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 2);
    let e = cli_send(
        &cfg,
        env.store.clone(),
        &SendArgs {
            account: "unknown-page".into(),
            ..args("now", None)
        },
        &Console::local(None),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 2);
    assert!(e.message.contains("not in the config"));
    cli_send(
        &cfg,
        env.store.clone(),
        &args("now", None),
        &Console::local(None),
        None,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn bulk_refuses_human_agent_with_exit_2() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(0)
        .mount(&server)
        .await;
    let cfg = config(&server.uri(), 20, 4);
    let args = BulkRequest {
        all: true,
        tag: Some("HUMAN_AGENT".into()),
        ..bulk_args()
    };
    let e = cli_bulk(&cfg, env.store.clone(), &args, &Console::local(None), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, 2);
    assert!(env.store.campaigns_list().unwrap().is_empty());
}

#[tokio::test]
async fn retired_tags_exit_2_before_any_call_saying_they_were_retired() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(0)
        .mount(&server)
        .await;
    customer_wrote(&env.store, &messenger("late"), 2 * TimestampMs::DAY);
    let cfg = config(&server.uri(), 20, 4);
    for tag in [
        "CONFIRMED_EVENT_UPDATE",
        "POST_PURCHASE_UPDATE",
        "account_update",
    ] {
        let args = SendArgs {
            account: PAGE.into(),
            user: "late".into(),
            text: Some("hello".into()),
            file: None,
            tag: Some(tag.into()),
        };
        let e = cli_send(&cfg, env.store.clone(), &args, &Console::local(None), None)
            .await
            .unwrap_err();
        assert_eq!(e.code, 2, "{tag}: {}", e.message);
        assert!(e.message.contains("retired"), "{}", e.message);
        assert!(e.message.contains("HUMAN_AGENT"), "{}", e.message);
        assert!(!e.message.contains('\n'), "one line: {}", e.message);
        let bulk = BulkRequest {
            all: true,
            tag: Some(tag.into()),
            ..bulk_args()
        };
        let e = cli_bulk(&cfg, env.store.clone(), &bulk, &Console::local(None), None)
            .await
            .unwrap_err();
        assert_eq!(e.code, 2, "{tag}: {}", e.message);
        assert!(e.message.contains("retired"), "{}", e.message);
        assert!(!e.message.contains('\n'), "one line: {}", e.message);
    }
    // CUSTOMER_FEEDBACK needs a feedback template dmdesk does not send.
    let args = SendArgs {
        account: PAGE.into(),
        user: "late".into(),
        text: Some("hello".into()),
        file: None,
        tag: Some("CUSTOMER_FEEDBACK".into()),
    };
    let e = cli_send(&cfg, env.store.clone(), &args, &Console::local(None), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, 2, "{}", e.message);
    assert!(env.store.campaigns_list().unwrap().is_empty());
    assert!(env.store.outbox_pending().unwrap().is_empty());
}

#[tokio::test]
async fn bulk_from_a_users_file_runs_to_the_end() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 50, 4);
    let fake = MetaFake::default();
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .expect(3)
        .mount(&server)
        .await;
    for u in ["a", "b", "c"] {
        customer_wrote(&env.store, &messenger(u), 60_000);
    }
    customer_wrote(&env.store, &instagram("old"), 3 * TimestampMs::DAY);
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        f,
        "# account user\n{PAGE} a\n{PAGE} b\n{PAGE} c\n{IG} old\n{PAGE} never"
    )
    .unwrap();
    let cfg = config(&server.uri(), 50, 4);
    let args = BulkRequest {
        users: Some(UsersFile {
            path: f.path().display().to_string(),
            text: std::fs::read_to_string(f.path()).unwrap(),
        }),
        ..bulk_args()
    };
    cli_bulk(&cfg, env.store.clone(), &args, &Console::local(None), None)
        .await
        .unwrap();
    let ex = env.store.campaigns_export().unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].status, CampaignStatus::Done);
    assert_eq!((ex[0].counts.sent, ex[0].counts.skipped), (3, 2));
    let line = serde_json::to_value(&ex[0]).unwrap();
    assert_eq!(line["recipients"][3]["state"], "skipped");
    assert!(line["recipients"][3]["reason"]
        .as_str()
        .unwrap()
        .contains("outside the 24-hour window"));
    // Resuming a finished campaign sends nothing more (expect(3) above).
    let resume = BulkRequest {
        text: None,
        resume: Some(ex[0].id.clone()),
        ..bulk_args()
    };
    cli_bulk(
        &cfg,
        env.store.clone(),
        &resume,
        &Console::local(None),
        None,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn bulk_text_variables_are_filled_per_recipient_and_unknown_ones_exit_2() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 50, 4);
    let fake = MetaFake::default();
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .expect(2)
        .mount(&server)
        .await;
    let ann = messenger("ann");
    customer_wrote(&env.store, &ann, 60_000);
    let mut c = dmdesk::domain::Contact::new(ann.clone(), "profile");
    c.name = Some("Ann Lee".into());
    c.first_name = Some("Ann".into());
    env.store.put_contact(&c).unwrap();
    customer_wrote(&env.store, &messenger("nameless"), 60_000);
    let cfg = config(&server.uri(), 50, 4);

    // An unknown variable: exit 2, nothing created, nothing sent.
    let typo = BulkRequest {
        all: true,
        text: Some("Thanks {frist_name}!".into()),
        ..bulk_args()
    };
    let e = cli_bulk(&cfg, env.store.clone(), &typo, &Console::local(None), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, 2, "{}", e.message);
    assert!(e.message.contains("{frist_name}"), "{}", e.message);
    assert!(env.store.campaigns_list().unwrap().is_empty());

    let args = BulkRequest {
        all: true,
        text: Some("Thanks {first_name}! {page_name}".into()),
        ..bulk_args()
    };
    cli_bulk(&cfg, env.store.clone(), &args, &Console::local(None), None)
        .await
        .unwrap();
    let mut texts: Vec<(String, String)> = fake
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| {
            (
                b["recipient"]["id"].as_str().unwrap().to_string(),
                b["message"]["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        vec![
            ("ann".to_string(), "Thanks Ann! Shop".to_string()),
            ("nameless".to_string(), "Thanks there! Shop".to_string()),
        ]
    );
    // The campaign keeps the template; each outbox record the rendered text.
    let ex = env.store.campaigns_export().unwrap();
    assert_eq!(ex[0].text, "Thanks {first_name}! {page_name}");
}

#[tokio::test]
async fn a_malformed_users_line_exits_2_naming_it_and_creates_nothing() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(0)
        .mount(&server)
        .await;
    customer_wrote(&env.store, &messenger("a"), 60_000);
    let cfg = config(&server.uri(), 20, 4);
    let cases = [
        // The reported case: read as an account named "bad".
        ("bad line\n", "line 1"),
        (&*format!("# ok\n{PAGE} a\n\n{PAGE} a b\n"), "line 4"),
        (&*format!("{PAGE} a\n{PAGE} a;rm\n"), "line 2"),
        ("", "no `account_id user_id` line"),
    ];
    for (text, names) in cases {
        let args = BulkRequest {
            users: Some(UsersFile {
                path: "users.txt".into(),
                text: text.to_string(),
            }),
            ..bulk_args()
        };
        let e = cli_bulk(&cfg, env.store.clone(), &args, &Console::local(None), None)
            .await
            .unwrap_err();
        assert_eq!(e.code, 2, "{text:?}: {}", e.message);
        assert!(
            e.message.contains("--users users.txt") && e.message.contains(names),
            "{text:?}: {}",
            e.message
        );
    }
    assert!(env.store.campaigns_list().unwrap().is_empty());
    assert!(env.store.outbox_pending().unwrap().is_empty());
}
