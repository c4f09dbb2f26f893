//! The reply path against a local fake of the Send API: window edges, tags
//! per platform, each error's mapping, retry, echo/answer races.

mod common;

use common::send::*;
use dmdesk::domain::{Direction, MsgStatus, TimestampMs};
use dmdesk::meta::error::ErrorClass;
use dmdesk::rules::window::Tag;
use dmdesk::send::reply::{self, SendError};
use dmdesk::store::OutboxState;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MIN: i64 = 60_000;
const HOUR: i64 = TimestampMs::HOUR;

fn send_path() -> String {
    format!("/v25.0/{PAGE}/messages")
}

async fn ok_for(server: &MockServer, user: &str, expect: u64) {
    Mock::given(method("POST"))
        .and(path(send_path()))
        .and(body_partial_json(json!({"recipient": {"id": user}})))
        .respond_with(MetaFake::default())
        .expect(expect)
        .mount(server)
        .await;
}

fn outbound(env: &Env, conv: &dmdesk::domain::ConvKey) -> Vec<dmdesk::domain::Message> {
    env.store
        .messages_latest(conv, 50)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Out)
        .collect()
}

#[tokio::test]
async fn inside_the_window_at_23h59_the_call_is_made() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    let conv = messenger("u1");
    customer_wrote(&env.store, &conv, 23 * HOUR + 59 * MIN);
    Mock::given(method("POST"))
        .and(path(send_path()))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(json!({
            "recipient": {"id": "u1"},
            "messaging_type": "RESPONSE",
            "message": {"text": "hello"}
        })))
        .respond_with(MetaFake::default())
        .expect(1)
        .mount(&server)
        .await;
    let mid = reply::reply(&env.ctx, &conv, "hello", None, Some("ann"))
        .await
        .unwrap();
    assert_eq!(mid.as_str(), "m_u1");
    let out = outbound(&env, &conv);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].mid.as_str(), "m_u1");
    assert_eq!(out[0].status, MsgStatus::Sent);
    // The metadata names the outbox record.
    let req = &server.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert!(body["message"]["metadata"]
        .as_str()
        .unwrap()
        .starts_with("dmdesk:"));
    assert!(body.get("tag").is_none());
}

#[tokio::test]
async fn outside_the_window_at_24h01_nothing_is_sent() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    let conv = messenger("u2");
    customer_wrote(&env.store, &conv, 24 * HOUR + MIN);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(0)
        .mount(&server)
        .await;
    let err = reply::reply(&env.ctx, &conv, "hello", None, None)
        .await
        .unwrap_err();
    match err {
        SendError::Refused(r) => assert!(r.0.contains("24-hour window"), "{r}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        outbound(&env, &conv).is_empty(),
        "a refusal writes nothing via reply()"
    );
    // The UI path keeps the text as a failed message with the reason.
    let err = reply::reply_keeping_refused(&env.ctx, &conv, "hello", None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Refused(_)));
    let out = outbound(&env, &conv);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, MsgStatus::Failed);
    assert!(out[0].error.as_deref().unwrap().contains("window"));
}

#[tokio::test]
async fn human_agent_at_6d23h_goes_out_as_message_tag() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    let conv = messenger("u3");
    customer_wrote(&env.store, &conv, 6 * TimestampMs::DAY + 23 * HOUR);
    Mock::given(method("POST"))
        .and(path(send_path()))
        .and(body_partial_json(json!({
            "recipient": {"id": "u3"},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT"
        })))
        .respond_with(MetaFake::default())
        .expect(1)
        .mount(&server)
        .await;
    // Without the tag: refused, no call.
    assert!(matches!(
        reply::reply(&env.ctx, &conv, "late answer", None, None).await,
        Err(SendError::Refused(_))
    ));
    let mid = reply::reply(&env.ctx, &conv, "late answer", Some(Tag::HumanAgent), None)
        .await
        .unwrap();
    assert_eq!(mid.as_str(), "m_u3");
}

#[tokio::test]
async fn tags_per_platform() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 50, 4);
    // Instagram, 2 days out: HUMAN_AGENT goes (to the page's endpoint with the page token),
    // an update tag does not exist there.
    let ig = instagram("i1");
    customer_wrote(&env.store, &ig, 2 * TimestampMs::DAY);
    Mock::given(method("POST"))
        .and(path(send_path()))
        .and(body_partial_json(
            json!({"recipient": {"id": "i1"}, "tag": "HUMAN_AGENT"}),
        ))
        .respond_with(MetaFake::default())
        .expect(1)
        .mount(&server)
        .await;
    let e = reply::reply(&env.ctx, &ig, "x", None, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HUMAN_AGENT"), "{e}");
    reply::reply(&env.ctx, &ig, "x", Some(Tag::HumanAgent), None)
        .await
        .unwrap();
    // Messenger, 10 days out: nothing is left (the update tags were retired),
    // refused before any call (the mock above matches only i1).
    let m = messenger("u4");
    customer_wrote(&env.store, &m, 10 * TimestampMs::DAY);
    assert!(reply::reply(&env.ctx, &m, "x", Some(Tag::HumanAgent), None)
        .await
        .is_err());
    assert!(reply::reply(&env.ctx, &m, "x", None, None).await.is_err());
    // Instagram text limit is bytes, checked before any call.
    let long = "é".repeat(501);
    assert!(
        reply::reply(&env.ctx, &ig, &long, Some(Tag::HumanAgent), None)
            .await
            .is_err()
    );
}

/// Meta answers a tag it no longer accepts with a bare "(#100) Invalid
/// parameter": the failure names the tag rather than "Meta refused".
#[tokio::test]
async fn error_100_on_a_tagged_send_is_reported_as_the_tag() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 50, 4);
    let m = messenger("u9");
    customer_wrote(&env.store, &m, 2 * TimestampMs::DAY);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100, "fbtrace_id": "x"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    match reply::reply(&env.ctx, &m, "x", Some(Tag::HumanAgent), None).await {
        Err(SendError::Failed { reason, class, .. }) => {
            assert_eq!(class, ErrorClass::TagRejected);
            assert!(reason.contains("tag HUMAN_AGENT"), "{reason}");
        }
        other => panic!("expected a failed send, got {other:?}"),
    }
}

/// A message recorded before the update tags were retired is not sent again
/// with one: the retry is refused before any call, saying why.
#[tokio::test]
async fn a_retry_carrying_a_retired_tag_is_refused_before_any_call() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 50, 4);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(0)
        .mount(&server)
        .await;
    let m = messenger("u10");
    customer_wrote(&env.store, &m, 10 * TimestampMs::DAY);
    let rec = env
        .store
        .create_outbound(
            &m,
            "x",
            Some("ACCOUNT_UPDATE"),
            None,
            None,
            TimestampMs::now(),
        )
        .unwrap();
    env.store
        .outbound_failed(&rec.id, "earlier failure")
        .unwrap();
    match reply::retry(&env.ctx, &rec.id).await {
        Err(SendError::Refused(r)) => assert!(r.0.contains("retired"), "{r}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unconfigured_account_is_refused_before_any_call() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    let conv = dmdesk::domain::ConvKey::new(dmdesk::domain::Platform::Messenger, "other", "u9");
    customer_wrote(&env.store, &conv, MIN);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(0)
        .mount(&server)
        .await;
    let e = reply::reply(&env.ctx, &conv, "hi", None, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not in the config"), "{e}");
}

/// Each Send API error → the outbox record failed with its reason, the class
/// the worker acts on, and the thread message failed.
#[tokio::test]
async fn each_send_api_error_is_recorded() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 100, 4);
    let cases: Vec<(&str, ResponseTemplate, ErrorClass, &str)> = vec![
        (
            "e1",
            meta_error(400, 10, Some(2018278)),
            ErrorClass::WindowClosed,
            "10/2018278",
        ),
        (
            "e2",
            meta_error(400, 551, Some(1545041)),
            ErrorClass::UserUnreachable,
            "551/1545041",
        ),
        (
            "e3",
            meta_error(400, 100, Some(2018001)),
            ErrorClass::NoMatchingUser,
            "100/2018001",
        ),
        (
            "e5",
            meta_error(400, 613, None),
            ErrorClass::RateLimited,
            "(613)",
        ),
        (
            "e6",
            ResponseTemplate::new(503).set_body_string("busy"),
            ErrorClass::Transient,
            "temporary",
        ),
        (
            "e7",
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "e7", "message_id": "m_e7"}))
                .set_delay(Duration::from_millis(1500)),
            ErrorClass::Transient,
            "may still have reached",
        ),
        // Last: a dead token stops every later call for the page.
        (
            "e4",
            meta_error(400, 190, Some(460)),
            ErrorClass::TokenInvalid,
            "190/460",
        ),
    ];
    for (user, resp, _, _) in &cases {
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"recipient": {"id": user}})))
            .respond_with(resp.clone())
            .expect(1)
            .mount(&server)
            .await;
    }
    for (user, _, class, needle) in &cases {
        let conv = messenger(user);
        customer_wrote(&env.store, &conv, MIN);
        let err = reply::reply(&env.ctx, &conv, "hello", None, None)
            .await
            .unwrap_err();
        let SendError::Failed {
            outbox_id,
            reason,
            class: got,
        } = err
        else {
            panic!("{user}: expected a failure, got {err:?}");
        };
        assert_eq!(got, *class, "{user}");
        assert!(reason.contains(needle), "{user}: {reason}");
        let rec = env.store.outbox_get(&outbox_id).unwrap().unwrap();
        assert_eq!(rec.state, OutboxState::Failed, "{user}");
        assert_eq!(rec.error.as_deref(), Some(reason.as_str()));
        let out = outbound(&env, &conv);
        assert_eq!(out.len(), 1, "{user}");
        assert_eq!(out[0].status, MsgStatus::Failed, "{user}");
        assert!(!reason.contains(TOKEN), "no token in reasons");
    }
    // After the 190 the page is marked: the next reply is refused with no call.
    let calls = server.received_requests().await.unwrap().len();
    let conv = messenger("after-190");
    customer_wrote(&env.store, &conv, MIN);
    let err = reply::reply(&env.ctx, &conv, "hello", None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("invalid token"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), calls);
    assert!(outbound(&env, &conv).is_empty(), "a refusal writes nothing");
    // The UI's path keeps the typed text as one failed message.
    let err = reply::reply_keeping_refused(&env.ctx, &conv, "hello", None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Refused(_)), "{err:?}");
    let out = outbound(&env, &conv);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, MsgStatus::Failed);
    assert_eq!(server.received_requests().await.unwrap().len(), calls);
}

#[tokio::test]
async fn a_failed_reply_can_be_retried_once_and_then_is_sent() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    let conv = messenger("r1");
    customer_wrote(&env.store, &conv, MIN);
    Mock::given(method("POST"))
        .respond_with(meta_error(500, 2, None))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let SendError::Failed { outbox_id, .. } = reply::reply(&env.ctx, &conv, "again", None, None)
        .await
        .unwrap_err()
    else {
        panic!("expected failure");
    };
    let mid = reply::retry(&env.ctx, &outbox_id).await.unwrap();
    assert_eq!(mid.as_str(), "m_r1");
    // A second retry of a sent message makes no call.
    assert_eq!(reply::retry(&env.ctx, &outbox_id).await.unwrap(), mid);
    let out = outbound(&env, &conv);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, MsgStatus::Sent);
    assert_eq!(out[0].mid, mid);
}

/// The echo arrives while the Send API call is still open.
#[tokio::test]
async fn echo_before_response_gives_one_sent_message() {
    struct EchoFirst {
        store: dmdesk::db::Db,
    }
    impl wiremock::Respond for EchoFirst {
        fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
            let b: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            let user = b["recipient"]["id"].as_str().unwrap();
            echo(
                &self.store,
                &messenger(user),
                &mid_for(user),
                b["message"]["metadata"].as_str().unwrap(),
            );
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": user, "message_id": mid_for(user)}))
        }
    }
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    let conv = messenger("x1");
    customer_wrote(&env.store, &conv, MIN);
    Mock::given(method("POST"))
        .respond_with(EchoFirst {
            store: env.store.clone(),
        })
        .expect(1)
        .mount(&server)
        .await;
    let mid = reply::reply(&env.ctx, &conv, "race", None, None)
        .await
        .unwrap();
    let out = outbound(&env, &conv);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].mid, mid);
    assert_eq!(out[0].status, MsgStatus::Sent);
    assert_eq!(out[0].text.as_deref(), Some("race"));
}

#[tokio::test]
async fn response_before_echo_gives_one_sent_message() {
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    let conv = messenger("x2");
    customer_wrote(&env.store, &conv, MIN);
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(1)
        .mount(&server)
        .await;
    let mid = reply::reply(&env.ctx, &conv, "race", None, None)
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    let b: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    echo(
        &env.store,
        &conv,
        mid.as_str(),
        b["message"]["metadata"].as_str().unwrap(),
    );
    // And a duplicate echo changes nothing.
    echo(
        &env.store,
        &conv,
        mid.as_str(),
        b["message"]["metadata"].as_str().unwrap(),
    );
    let out = outbound(&env, &conv);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].mid, mid);
    assert_eq!(out[0].status, MsgStatus::Sent);
}

#[tokio::test]
async fn the_worker_reports_refusals_and_sends_replies() {
    use dmdesk::update::Update;
    use dmdesk::workers::Job;
    let server = MockServer::start().await;
    let env = env(&server.uri(), 20, 4);
    ok_for(&server, "w1", 1).await;
    let open = messenger("w1");
    customer_wrote(&env.store, &open, MIN);
    let closed = messenger("w2");
    customer_wrote(&env.store, &closed, 2 * TimestampMs::DAY);
    let mut updates = env.store.subscribe();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = tokio_util::sync::CancellationToken::new();
    let worker = {
        let ctx = env.ctx.clone();
        let cancel = cancel.clone();
        let tuning = dmdesk::send::campaign::Tuning::from_config(&ctx.config);
        tokio::spawn(async move {
            dmdesk::send::worker::run_worker_with(ctx, tuning, &mut rx, cancel).await
        })
    };
    tx.send(Job::Reply {
        conv: closed.clone(),
        text: "late".into(),
        tag: None,
        agent: None,
    })
    .unwrap();
    tx.send(Job::Reply {
        conv: open.clone(),
        text: "hi".into(),
        tag: None,
        agent: None,
    })
    .unwrap();
    let mut saw_error = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !saw_error {
        match tokio::time::timeout_at(deadline, updates.recv()).await {
            Ok(Ok(p)) if matches!(&*p.update, Update::Error(_)) => {
                let Update::Error(e) = &*p.update else {
                    unreachable!()
                };
                assert!(e.contains("window"), "{e}");
                // Named as the agent knows the customer, not by the store's key.
                let name = env.store.conversation(&closed).unwrap().unwrap().name;
                assert!(
                    e.starts_with(&format!("reply to {name} (w2) not sent:")),
                    "{e}"
                );
                saw_error = true;
            }
            Ok(_) => {}
            Err(_) => panic!("no error update"),
        }
    }
    // Wait for the open one to be sent.
    common::wait::until(
        "the reply in the open window to be sent",
        Duration::from_secs(10),
        || async {
            outbound(&env, &open)
                .first()
                .is_some_and(|m| m.status == MsgStatus::Sent)
        },
    )
    .await;
    assert_eq!(outbound(&env, &open)[0].mid.as_str(), "m_w1");
    assert_eq!(outbound(&env, &closed)[0].status, MsgStatus::Failed);
    cancel.cancel();
    worker.await.unwrap();
}
