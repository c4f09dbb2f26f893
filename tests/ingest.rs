//! Apply semantics: duplicates and replays change nothing, receipts may come
//! before their message, our own echo matches its outbox record, and events
//! logged but not applied before a restart are applied at start-up.

mod common;

use common::{config_for, text_body, Harness};
use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, ConvStatus, Direction, Mid, MsgStatus, Platform, TimestampMs};
use serde_json::json;

const T: i64 = 1_700_000_000_000;

fn body(items: serde_json::Value) -> Vec<u8> {
    json!({"object":"page","entry":[{"id":"P1","time":T,"messaging":items}]})
        .to_string()
        .into_bytes()
}

fn export_messages(store: &Db) -> String {
    let mut out = Vec::new();
    dmdesk::oneshot::export::export(store, dmdesk::request::ExportWhat::Messages, &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn duplicates_and_replays_change_nothing() {
    let h = Harness::new();
    let b = text_body("P1", "U1", "m_1", T, "hello");
    h.post(&b).await;
    h.apply();
    let snapshot = export_messages(&h.store);
    let conv = h
        .store
        .conversation(&ConvKey::new(Platform::Messenger, "P1", "U1"))
        .unwrap()
        .unwrap();
    // Meta redelivers the same body twice more.
    h.post(&b).await;
    h.post(&b).await;
    h.apply();
    assert_eq!(export_messages(&h.store), snapshot);
    let again = h.store.conversation(&conv.key).unwrap().unwrap();
    assert_eq!(again.unread, 1);
    assert_eq!(again.message_count, 1);
    // Replaying the whole log from the start changes nothing either.
    h.store.set_applied_seq(0).unwrap();
    h.apply();
    assert_eq!(export_messages(&h.store), snapshot);
    assert_eq!(
        h.store
            .conversation(&conv.key)
            .unwrap()
            .unwrap()
            .message_count,
        1
    );
}

#[tokio::test]
async fn receipts_before_their_message_apply_when_it_lands() {
    let h = Harness::new();
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    // Delivery and read watermarks first, then the echo of a page send.
    h.post(&body(json!([{"sender":{"id":"U1"},"recipient":{"id":"P1"},"delivery":{"mids":["m_out"],"watermark":T + 10}}]))).await;
    h.post(&body(json!([{"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":T + 20,"read":{"watermark":T + 10}}]))).await;
    h.post(&body(
        json!([{"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":T + 5,
        "message":{"is_echo":true,"mid":"m_out","text":"we shipped it"}}]),
    ))
    .await;
    // An Instagram reaction and read by mid before the message too.
    h.apply();
    let m = h.store.message(&Mid::from("m_out")).unwrap().unwrap();
    assert_eq!(m.direction, Direction::Out);
    assert_eq!(m.status, MsgStatus::Read);
    assert_eq!(m.origin, Some(dmdesk::domain::Origin::PageInbox));
    // An echo never opens the window or counts as unread.
    let c = h.store.conversation(&conv).unwrap().unwrap();
    assert_eq!(c.last_inbound, None);
    assert_eq!(c.unread, 0);

    let ig = |items: serde_json::Value| {
        json!({"object":"instagram","entry":[{"id":"IG1","time":T,"messaging":items}]})
            .to_string()
            .into_bytes()
    };
    h.post(&ig(
        json!([{"sender":{"id":"IGU"},"recipient":{"id":"IG1"},"timestamp":T + 30,
        "reaction":{"mid":"ig_m","action":"react","reaction":"love","emoji":"❤️"}}]),
    ))
    .await;
    h.post(&ig(
        json!([{"sender":{"id":"IG1"},"recipient":{"id":"IGU"},"timestamp":T + 1,
        "message":{"is_echo":true,"mid":"ig_m","text":"hi from the shop"}}]),
    ))
    .await;
    h.post(&ig(json!([{"sender":{"id":"IGU"},"recipient":{"id":"IG1"},"timestamp":T + 40,"read":{"mid":"ig_m"}}]))).await;
    h.apply();
    let m = h.store.message(&Mid::from("ig_m")).unwrap().unwrap();
    assert_eq!(m.conv.platform, Platform::Instagram);
    assert_eq!(m.reactions.len(), 1);
    assert_eq!(m.reactions[0].emoji, "❤️");
    assert_eq!(m.reactions[0].by, "IGU");
    assert_eq!(m.status, MsgStatus::Read);
    // The reaction is a customer action: it opened the window.
    let c = h
        .store
        .conversation(&ConvKey::new(Platform::Instagram, "IG1", "IGU"))
        .unwrap()
        .unwrap();
    assert_eq!(c.last_inbound, Some(TimestampMs(T + 30)));
}

#[tokio::test]
async fn edits_unreacts_and_unsends() {
    let h = Harness::new();
    h.post(&text_body("P1", "U1", "m_1", T, "helo")).await;
    h.post(&body(json!([{"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":T + 1,"message_edit":{"mid":"m_1","text":"hello","num_edit":1}}]))).await;
    h.post(&body(json!([{"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":T + 2,"reaction":{"mid":"m_1","action":"react","emoji":"👍"}}]))).await;
    h.post(&body(json!([{"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":T + 3,"reaction":{"mid":"m_1","action":"unreact"}}]))).await;
    h.apply();
    let m = h.store.message(&Mid::from("m_1")).unwrap().unwrap();
    assert_eq!(m.text.as_deref(), Some("hello"));
    assert!(m.edited);
    assert!(m.reactions.is_empty());
    let conv = h.store.conversation(&m.conv).unwrap().unwrap();
    assert_eq!(conv.last_preview, "hello");

    let ig = json!({"object":"instagram","entry":[{"id":"IG1","time":T,"messaging":[
        {"sender":{"id":"IGU"},"recipient":{"id":"IG1"},"timestamp":T,"message":{"mid":"ig_1","text":"oops"}},
        {"sender":{"id":"IGU"},"recipient":{"id":"IG1"},"timestamp":T + 1,"message":{"mid":"ig_1","is_deleted":true}}]}]});
    h.post(ig.to_string().as_bytes()).await;
    h.apply();
    let m = h.store.message(&Mid::from("ig_1")).unwrap().unwrap();
    assert!(m.deleted);
    assert_eq!(m.text, None);
}

#[tokio::test]
async fn our_own_echo_matches_the_outbox_record_either_order() {
    let h = Harness::new();
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    h.post(&text_body("P1", "U1", "m_in", T, "question")).await;
    h.apply();

    // Echo before the API answer.
    let a = h
        .store
        .create_outbound(
            &conv,
            "answer one",
            None,
            Some("alice"),
            None,
            TimestampMs(T + 100),
        )
        .unwrap();
    let echo = |mid: &str, meta: &str| {
        body(
            json!([{"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":T + 101,
            "message":{"is_echo":true,"app_id":42,"mid":mid,"metadata":meta,"text":"answer one"}}]),
        )
    };
    h.post(&echo("m_a", &a.metadata())).await;
    h.apply();
    h.store.outbound_sent(&a.id, &Mid::from("m_a")).unwrap();

    // API answer before the echo.
    let b = h
        .store
        .create_outbound(&conv, "answer two", None, None, None, TimestampMs(T + 200))
        .unwrap();
    h.store.outbound_sent(&b.id, &Mid::from("m_b")).unwrap();
    h.post(&echo("m_b", &b.metadata())).await;
    h.apply();

    let msgs = h.store.messages_latest(&conv, 10).unwrap();
    let mids: Vec<_> = msgs.iter().map(|m| m.mid.as_str().to_string()).collect();
    assert_eq!(
        mids,
        ["m_in", "m_a", "m_b"],
        "one message per send, none left as local:"
    );
    let a_msg = h.store.message(&Mid::from("m_a")).unwrap().unwrap();
    assert_eq!(a_msg.status, MsgStatus::Sent);
    assert_eq!(a_msg.agent.as_deref(), Some("alice"));
    assert_eq!(
        h.store.conversation(&conv).unwrap().unwrap().message_count,
        3
    );
}

#[tokio::test]
async fn events_logged_but_not_applied_are_applied_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path());
    {
        let store = Db::open(&config.store.path, 16, "test").unwrap();
        let h = common::Harness::with(tempfile::tempdir().unwrap(), config.clone(), store.clone());
        // Logged (200 given) but the process dies before ingest runs.
        assert_eq!(
            h.post(&text_body("P1", "U9", "m_late", T, "are you there?"))
                .await,
            200
        );
        assert!(store.message(&Mid::from("m_late")).unwrap().is_none());
    }
    let store = Db::open(&config.store.path, 16, "test").unwrap();
    let running = dmdesk::runtime::start(std::sync::Arc::new(config), store.clone(), false)
        .await
        .unwrap();
    assert!(
        store.message(&Mid::from("m_late")).unwrap().is_some(),
        "applied before start() returned"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn customer_message_reopens_a_snoozed_conversation() {
    let h = Harness::new();
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    h.post(&text_body("P1", "U1", "m_1", T, "hi")).await;
    h.apply();
    h.store
        .set_status(
            &conv,
            ConvStatus::Snoozed,
            Some(TimestampMs(T + 86_400_000)),
        )
        .unwrap();
    h.post(&text_body("P1", "U1", "m_2", T + 5, "still there?"))
        .await;
    h.apply();
    let c = h.store.conversation(&conv).unwrap().unwrap();
    assert_eq!(c.status, ConvStatus::Open);
    assert_eq!(c.snooze_until, None);
}

#[test]
fn sync_and_webhook_deliver_the_same_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 16, "test").unwrap();
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    let mut m = dmdesk::domain::Message::inbound(conv.clone(), Mid::from("m_same"), TimestampMs(T));
    m.text = Some("both ways".into());
    let change = |from_sync| Change::Message {
        msg: m.clone(),
        metadata: None,
        qualifying: true,
        from_sync,
    };
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let s = store.clone();
            let c = change(i % 2 == 0);
            std::thread::spawn(move || s.apply(&[c]).unwrap())
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.messages_latest(&conv, 10).unwrap().len(), 1);
    assert_eq!(store.conversation(&conv).unwrap().unwrap().message_count, 1);
}
