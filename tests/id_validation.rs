//! Ids and timestamps from Meta are checked before they become keys: a NUL
//! or a megabyte in an id, or a timestamp of i64::MAX, quarantines the event
//! with a reason (the valid items of the same body still apply), and the
//! sync converter skips the same values.

mod common;

use axum::http::StatusCode;
use common::Harness;
use dmdesk::domain::{AccountId, Mid, Platform, UserId};
use dmdesk::store::EventState;
use serde_json::{json, Value};

/// A body with one valid message (U_ok) and one carrying `bad` as given.
fn body_with(bad_item: Value) -> Vec<u8> {
    json!({"object":"page","entry":[{"id":"P1","time":1_700_000_000_000i64,"messaging":[
        {"sender":{"id":"U_ok"},"recipient":{"id":"P1"},"timestamp":1_700_000_000_000i64,
         "message":{"mid":"m_ok","text":"fine"}},
        bad_item
    ]}]})
    .to_string()
    .into_bytes()
}

fn item(sender: &str, mid: &str, ts: Value) -> Value {
    json!({"sender":{"id":sender},"recipient":{"id":"P1"},"timestamp":ts,
           "message":{"mid":mid,"text":"hi"}})
}

/// POST the body, apply it, and return the event's quarantine reason.
async fn quarantine_reason(body: Vec<u8>) -> (Harness, String) {
    let h = Harness::new();
    assert_eq!(h.post(&body).await, StatusCode::OK);
    let report = h.apply();
    assert_eq!(report.quarantined, 1, "the event is quarantined");
    let ev = h.store.get_event(1).unwrap().expect("logged event");
    let EventState::Quarantined(reason) = ev.state else {
        panic!("expected quarantined, got {:?}", ev.state)
    };
    // The valid item was applied, the bad one was not.
    assert_eq!(
        h.store.conversation_count().unwrap(),
        1,
        "only U_ok's conversation"
    );
    assert!(h.store.message(&Mid::from("m_ok")).unwrap().is_some());
    assert!(
        reason.len() < 300,
        "reason stays short: {} bytes",
        reason.len()
    );
    (h, reason)
}

#[tokio::test]
async fn nul_in_a_sender_id_is_quarantined() {
    let (h, reason) = quarantine_reason(body_with(item(
        "U\u{0}1",
        "m_nul",
        json!(1_700_000_000_001i64),
    )))
    .await;
    assert!(reason.contains("user id"), "{reason}");
    assert!(reason.contains("not printable ASCII"), "{reason}");
    assert!(h.store.message(&Mid::from("m_nul")).unwrap().is_none());
}

#[tokio::test]
async fn a_megabyte_sender_id_is_quarantined() {
    let huge = "7".repeat(1_000_000);
    let (h, reason) = quarantine_reason(body_with(item(
        &huge,
        "m_huge",
        json!(1_700_000_000_001i64),
    )))
    .await;
    assert!(reason.contains("longer than 64"), "{reason}");
    assert!(h.store.message(&Mid::from("m_huge")).unwrap().is_none());
}

#[tokio::test]
async fn timestamps_out_of_range_are_quarantined() {
    for ts in [json!(i64::MAX), json!("9223372036854775807"), json!(-5)] {
        let (h, reason) = quarantine_reason(body_with(item("U2", "m_time", ts.clone()))).await;
        assert!(
            reason.contains("timestamp") && reason.contains("outside"),
            "{ts}: {reason}"
        );
        assert!(
            h.store.message(&Mid::from("m_time")).unwrap().is_none(),
            "{ts}"
        );
    }
}

#[tokio::test]
async fn an_overlong_mid_is_quarantined_and_a_long_real_one_is_not() {
    let (_, reason) = quarantine_reason(body_with(item(
        "U2",
        &"m".repeat(600),
        json!(1_700_000_000_001i64),
    )))
    .await;
    assert!(reason.contains("message id"), "{reason}");
    // Instagram's mids are long base64; 164 characters with `=`, `+`, `/`.
    let ig_like = format!("aWdf{}+/==", "Z".repeat(160));
    let h = Harness::new();
    assert_eq!(
        h.post(&body_with(item(
            "U2",
            &ig_like,
            json!(1_700_000_000_001i64)
        )))
        .await,
        StatusCode::OK
    );
    assert_eq!(h.apply().quarantined, 0);
    assert!(h
        .store
        .message(&Mid::from(ig_like.as_str()))
        .unwrap()
        .is_some());
}

#[test]
fn the_sync_converter_applies_the_same_checks() {
    use dmdesk::sync::convert::thread;
    let account = AccountId::from("P1");
    let nul_user =
        json!({"id":"t1","participants":{"data":[{"id":"P1"},{"id":"U\u{0}x","name":"Bad"}]}});
    let t = thread(&nul_user, Platform::Messenger, &account);
    assert!(t.conv.is_none() && t.changes.is_empty(), "{t:?}");

    let far = json!({"id":"t2","participants":{"data":[{"id":"P1"},{"id":"U1"}]},
        "messages":{"data":[
            {"id":"m_far","created_time":"9223372036854775807","from":{"id":"U1"},"message":"x"},
            {"id":"m_fine","created_time":"2025-01-01T12:00:00+0000","from":{"id":"U1"},"message":"y"}]}});
    let t = thread(&far, Platform::Messenger, &account);
    let mids: Vec<String> = t
        .changes
        .iter()
        .filter_map(|c| match c {
            dmdesk::change::Change::Message { msg, .. } => Some(msg.mid.0.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(mids, vec!["m_fine".to_string()]);
    assert_eq!(t.messages, 2, "both were read: paging goes on");
}

#[test]
fn checked_constructors() {
    assert!(UserId::checked("1234567890").is_ok());
    assert!(UserId::checked("user_ref:abc-DEF.1").is_ok());
    assert!(UserId::checked("").is_err());
    assert!(UserId::checked("a\u{0}b").is_err());
    assert!(UserId::checked("a\nb").is_err());
    assert!(UserId::checked("é").is_err());
    assert!(AccountId::checked("x".repeat(64)).is_ok());
    assert!(AccountId::checked("x".repeat(65)).is_err());
    assert!(Mid::checked("m_".to_string() + &"a".repeat(510)).is_ok());
    assert!(Mid::checked("m_".to_string() + &"a".repeat(511)).is_err());
}
