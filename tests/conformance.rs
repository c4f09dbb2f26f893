//! Every webhook-shaped payload in shared/conformance/meta goes through the
//! real webhook path (signed POST → durable log → ingest) and is applied;
//! the messages it carries are in the store afterwards.

mod common;

use common::{shared, Harness};
use dmdesk::change::Change;
use dmdesk::domain::{Direction, Mid, Platform, TimestampMs};
use dmdesk::meta::webhook::{parse_body, ParseCtx};
use dmdesk::store::EventState;
use dmdesk::webhook::signature;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Bodies whose `object` is not a messaging product: logged with 200 and
/// quarantined (design.md Decisions), never applied.
const EXPECT_QUARANTINE: &[&str] = &["object\":\"testValue", "object\":\"user"];

fn all_files() -> Vec<PathBuf> {
    let root = shared("conformance/meta");
    let mut v = Vec::new();
    for d in std::fs::read_dir(&root).expect("conformance dir exists") {
        let d = d.expect("entry").path();
        if d.is_dir() {
            for f in std::fs::read_dir(&d).expect("dir") {
                let f = f.expect("entry").path();
                if f.extension().is_some_and(|e| e == "json") {
                    v.push(f);
                }
            }
        }
    }
    v.sort();
    v
}

const ITEM_KEYS: &[&str] = &[
    "sender",
    "recipient",
    "policy_enforcement",
    "policy-enforcement",
];

/// The body to POST for a fixture, or None when it is not webhook-shaped
/// (Graph replies and Send API bodies are the Graph client's tests).
fn webhook_body(raw: &[u8]) -> Option<Vec<u8>> {
    let v: Value = serde_json::from_slice(raw).expect("fixture is JSON");
    let obj = v.as_object()?;
    if obj.contains_key("entry") {
        return Some(raw.to_vec()); // exact bytes: signatures are over the wire form
    }
    if let Some(body) = obj.get("body").filter(|b| b.get("entry").is_some()) {
        return Some(body.to_string().into_bytes());
    }
    if obj.contains_key("messaging") || obj.contains_key("standby") || obj.contains_key("changes") {
        let object = if raw.windows(9).any(|w| w == b"instagram") {
            "instagram"
        } else {
            "page"
        };
        return Some(
            json!({"object": object, "entry": [v]})
                .to_string()
                .into_bytes(),
        );
    }
    if obj.contains_key("messaging_type") || obj.contains_key("sender_action") {
        return None; // a Send API request body
    }
    if ITEM_KEYS
        .iter()
        .any(|k| obj.get(*k).is_some_and(Value::is_object))
    {
        let is_ig = obj
            .get("message")
            .and_then(|m| m.get("attachments"))
            .is_some_and(|a| {
                a.to_string().contains("story_mention") || a.to_string().contains("ig_")
            });
        let wrapped =
            dmdesk::meta::webhook::wrap_item(&v, if is_ig { "instagram" } else { "page" });
        return Some(wrapped.to_string().into_bytes());
    }
    if obj.contains_key("field") && obj.contains_key("value")
        || obj.len() == 1 && obj.contains_key("value")
    {
        return Some(
            json!({"object":"page","entry":[{"id":"0","time":0,"changes":[v]}]})
                .to_string()
                .into_bytes(),
        );
    }
    if obj.get("type").is_some() && obj.contains_key("payload") {
        // A bare attachment: deliver it inside a message.
        return Some(
            json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":[{"sender":{"id":"U"},"recipient":{"id":"P1"},
                "timestamp":1700000000000i64,"message":{"mid":"m_fragment","attachments":[v]}}]}]})
            .to_string()
            .into_bytes(),
        );
    }
    None
}

#[tokio::test]
async fn every_webhook_fixture_is_logged_applied_and_its_messages_stored() {
    let h = Harness::new();
    let ctx = ParseCtx {
        app_id: Some("42".into()),
        instagram_ids: h.config.instagram_ids(),
        received: TimestampMs(1),
    };
    let mut posted = 0;
    let mut messages_checked = 0;
    let mut seen = std::collections::HashSet::new();
    let mut expected_quarantines = 0;
    for path in all_files() {
        let name = path.display().to_string();
        if name.contains("hmac_vector") {
            continue;
        }
        let raw = std::fs::read(&path).expect("read fixture");
        let Some(body) = webhook_body(&raw) else {
            continue;
        };
        let before = h.event_count();
        assert_eq!(h.post(&body).await, 200, "{name}");
        assert_eq!(h.event_count(), before + 1, "{name} logged");
        posted += 1;
        h.apply();
        let seq = h.store.all_events().last().expect("event").expect("ok").seq;
        let ev = h.store.get_event(seq).expect("read").expect("present");
        let text = String::from_utf8_lossy(&body).replace(' ', "");
        if EXPECT_QUARANTINE.iter().any(|q| text.contains(q)) {
            expected_quarantines += 1;
            assert!(
                matches!(ev.state, EventState::Quarantined(_)),
                "{name}: {:?}",
                ev.state
            );
            continue;
        }
        assert_eq!(ev.state, EventState::Applied, "{name}");
        // Every message the body carries is in the store, in the right direction.
        let parsed = parse_body(&body, &ctx).expect("parses");
        for ch in &parsed.changes {
            if let Change::Message { msg, .. } = ch {
                let stored = h
                    .store
                    .message(&msg.mid)
                    .expect("read")
                    .unwrap_or_else(|| panic!("{name}: {} missing", msg.mid));
                // Fixtures reuse some mids; the first delivery of a mid wins.
                if seen.insert(msg.mid.clone()) {
                    assert_eq!(stored.direction, msg.direction, "{name}");
                    assert_eq!(stored.conv, msg.conv, "{name}");
                }
                messages_checked += 1;
            }
        }
    }
    eprintln!("posted {posted}, messages {messages_checked}");
    assert!(posted >= 220, "only {posted} webhook fixtures found");
    assert!(
        messages_checked >= 140,
        "only {messages_checked} messages checked"
    );
    let quarantined = h.store.quarantined().expect("list").len();
    assert!(expected_quarantines >= 1);
    assert_eq!(
        quarantined, expected_quarantines,
        "only the unknown-object bodies are quarantined"
    );
}

#[test]
fn hmac_vector_from_messenger4j_verifies_and_its_tampered_twin_fails() {
    let dir = shared("conformance/meta/messenger4j");
    let vector: Value =
        serde_json::from_slice(&std::fs::read(dir.join("hmac_vector__sha1.json")).expect("vector"))
            .expect("json");
    let secret = vector["app_secret"].as_str().expect("secret");
    let good = std::fs::read(dir.join(vector["valid"]["body_file"].as_str().expect("file")))
        .expect("body");
    let header = vector["valid"]["x_hub_signature_256_computed_here"]
        .as_str()
        .expect("sig");
    assert_eq!(
        good.len() as u64,
        vector["valid"]["body_len"].as_u64().expect("len")
    );
    assert!(signature::verify(secret.as_bytes(), &good, header));
    let bad = std::fs::read(dir.join(vector["invalid"]["body_file"].as_str().expect("file")))
        .expect("body");
    assert!(!signature::verify(secret.as_bytes(), &bad, header));
}

fn fixture(rel: &str) -> Vec<u8> {
    let raw = std::fs::read(shared("conformance/meta").join(rel)).expect("fixture");
    webhook_body(&raw).expect("webhook-shaped")
}

#[tokio::test]
async fn specific_fixtures_land_as_expected() {
    let h = Harness::new();
    for f in [
        "jgorset-facebook-messenger/message_echo__payload.json",
        "restfb/webhook_instagram__messaging-attachment-unsupported.json",
        "chatwoot/ig_webhook__instagram_message_unsend_event.json",
        "airy/webhook_page__reaction_love_emoji_brace_escape.json",
        "restfb/webhook_page__messaging-message-edits.json",
    ] {
        assert_eq!(h.post(&fixture(f)).await, 200, "{f}");
    }
    h.apply();
    // Echo: outbound, from another app (app_id is not ours).
    let echo = h
        .store
        .message(&Mid::from("mid.1457764197618:41d102a3e1ae206a38"))
        .unwrap()
        .unwrap();
    assert_eq!(echo.direction, Direction::Out);
    assert_eq!(echo.origin, Some(dmdesk::domain::Origin::OtherApp));
    // restfb's edit fixture edits this very mid.
    assert_eq!(echo.text.as_deref(), Some("hello, world!"));
    assert!(echo.edited);
    // Instagram: stored on the Instagram platform, marked unsupported.
    let msgs: Vec<_> = h.store.all_messages().map(|m| m.unwrap()).collect();
    assert!(msgs
        .iter()
        .any(|m| m.conv.platform == Platform::Instagram && m.unsupported));
    // The brace-escaped emoji became the emoji itself on the reacted message or waits for it.
    let quarantined = h.store.quarantined().unwrap();
    assert!(quarantined.is_empty(), "{quarantined:?}");
}
