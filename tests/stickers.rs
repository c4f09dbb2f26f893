//! Stickers as Meta sends them now (Messenger Platform changelog, 1 June
//! 2026; meta-api.md §2): a `type: "sticker"` attachment with `sticker_id`,
//! alongside the older `type: "image"` one carrying `payload.sticker_id`
//! during a 90-day transition (until 2026-08-30), then alone — in messages,
//! echoes and the Conversations API. Every form is one sticker attachment,
//! through the real webhook path (signed POST → log → ingest → store) and
//! through sync's conversion.

mod common;

use common::{shared, Harness};
use dmdesk::change::Change;
use dmdesk::domain::{AccountId, Attachment, ConvKey, Direction, Mid, Platform};
use dmdesk::sync::convert;
use serde_json::{json, Value};

const CDN: &str =
    "https://scontent.xx.fbcdn.net/v/t39.1997-6/851557_369239266556155_759568595_n.png";
const STICKER_ID: i64 = 369239263222822;

/// A Messenger message (or echo) body from P1's customer U1.
fn body(mid: &str, echo: bool, attachments: Value) -> Vec<u8> {
    let (sender, recipient) = if echo { ("P1", "U1") } else { ("U1", "P1") };
    let mut message = json!({"mid": mid, "attachments": attachments});
    if echo {
        message["is_echo"] = json!(true);
        message["app_id"] = json!(1517776481860111i64);
    }
    json!({"object": "page", "entry": [{"id": "P1", "time": 1780000000000i64, "messaging": [{
        "sender": {"id": sender}, "recipient": {"id": recipient},
        "timestamp": 1780000000000i64, "message": message}]}]})
    .to_string()
    .into_bytes()
}

async fn stored_attachments(h: &Harness, body: &[u8], mid: &str) -> Vec<Attachment> {
    assert_eq!(h.post(body).await, 200);
    h.apply();
    let m = h
        .store
        .message(&Mid::from(mid))
        .unwrap()
        .unwrap_or_else(|| panic!("{mid} stored"));
    m.attachments
}

fn sticker(url: Option<&str>) -> Attachment {
    Attachment {
        kind: "sticker".into(),
        url: url.map(str::to_string),
        title: None,
    }
}

#[tokio::test]
async fn every_webhook_sticker_form_is_one_sticker() {
    let h = Harness::new();
    // After 2026-08-30: the new type alone.
    let new = body(
        "m_new",
        false,
        json!([{"type": "sticker", "payload": {"url": CDN, "sticker_id": STICKER_ID}}]),
    );
    assert_eq!(
        stored_attachments(&h, &new, "m_new").await,
        vec![sticker(Some(CDN))]
    );
    // The transition: both forms for the same sticker, in either order.
    let both = body(
        "m_both",
        false,
        json!([
            {"type": "image", "payload": {"url": CDN, "sticker_id": STICKER_ID}},
            {"type": "sticker", "payload": {"url": CDN, "sticker_id": STICKER_ID}}
        ]),
    );
    assert_eq!(
        stored_attachments(&h, &both, "m_both").await,
        vec![sticker(Some(CDN))]
    );
    // The new form without a url (only its id): the image's url is kept.
    let bare = body(
        "m_bare",
        false,
        json!([
            {"type": "sticker", "payload": {"sticker_id": STICKER_ID.to_string()}},
            {"type": "image", "payload": {"url": CDN, "sticker_id": STICKER_ID}}
        ]),
    );
    assert_eq!(
        stored_attachments(&h, &bare, "m_bare").await,
        vec![sticker(Some(CDN))]
    );
    // Echoes of the page's stickers too.
    let echo = body(
        "m_echo",
        true,
        json!([{"type": "sticker", "payload": {"url": CDN, "sticker_id": STICKER_ID}}]),
    );
    assert_eq!(
        stored_attachments(&h, &echo, "m_echo").await,
        vec![sticker(Some(CDN))]
    );
    let m = h.store.message(&Mid::from("m_echo")).unwrap().unwrap();
    assert_eq!(m.direction, Direction::Out);
    // A plain image stays an image; a sticker beside a photo stays apart.
    let photo = "https://scontent.xx.fbcdn.net/photo.jpg";
    let mixed = body(
        "m_mixed",
        false,
        json!([
            {"type": "image", "payload": {"url": photo}},
            {"type": "sticker", "payload": {"url": CDN, "sticker_id": STICKER_ID}}
        ]),
    );
    let atts = stored_attachments(&h, &mixed, "m_mixed").await;
    assert_eq!(atts.len(), 2, "{atts:?}");
    assert_eq!(
        (atts[0].kind.as_str(), atts[0].url.as_deref()),
        ("image", Some(photo))
    );
    assert_eq!(atts[1], sticker(Some(CDN)));
}

#[tokio::test]
async fn the_older_image_form_in_the_conformance_data_is_a_sticker() {
    let h = Harness::new();
    for (file, mid) in [
        (
            "restfb/webhook_page__messaging-message-sticker.json",
            "mid.12345654332:226a70a704",
        ),
        (
            "restfb/webhook_page__messaging-message-sticker-thumbup.json",
            "mid.1487254148673:a082abc439",
        ),
    ] {
        let raw = std::fs::read(shared(&format!("conformance/meta/{file}"))).unwrap();
        let atts = stored_attachments(&h, &raw, mid).await;
        assert_eq!(atts.len(), 1, "{file}: {atts:?}");
        assert_eq!(atts[0].kind, "sticker", "{file}");
        assert!(
            atts[0]
                .url
                .as_deref()
                .unwrap()
                .starts_with("https://scontent"),
            "{file}"
        );
    }
}

fn synced(m: Value) -> Vec<Attachment> {
    let account = AccountId::from("123456789");
    let conv = ConvKey::new(Platform::Messenger, "123456789", "987654321");
    match convert::message(&m, &conv, &account) {
        Some(Change::Message { msg, .. }) => msg.attachments,
        other => panic!("{other:?}"),
    }
}

#[test]
fn sync_reads_every_sticker_form_once() {
    // The Graph message's `sticker` field (a URL), from the conformance data.
    let text = std::fs::read_to_string(shared(
        "conformance/meta/restfb/graph_message__sticker.json",
    ))
    .unwrap();
    let old: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        synced(old),
        vec![sticker(Some("https://scontent.xx.fbcdn.net/sticker.png"))]
    );
    let base = json!({"id": "m_1", "created_time": "2026-11-01T12:00:00+0000",
        "from": {"id": "987654321"}, "message": ""});
    let with = |extra: Value| {
        let mut m = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    };
    // The new attachment type in the Conversations API.
    assert_eq!(
        synced(with(
            json!({"attachments": {"data": [{"id": "a1", "type": "sticker", "sticker_id": STICKER_ID,
                "image_data": {"url": CDN, "preview_url": CDN, "render_as_sticker": true}}]}})
        )),
        vec![sticker(Some(CDN))]
    );
    // The transition: an image Meta renders as a sticker, the new sticker
    // attachment and the `sticker` field, all for one sticker.
    assert_eq!(
        synced(with(json!({
            "sticker": CDN,
            "attachments": {"data": [
                {"id": "a1", "mime_type": "image/png", "image_data": {"url": CDN, "render_as_sticker": true}},
                {"id": "a2", "type": "sticker", "sticker_id": STICKER_ID.to_string()}
            ]}
        }))),
        vec![sticker(Some(CDN))]
    );
    // An ordinary image stays an image.
    let photo = synced(with(json!({"attachments": {"data": [
        {"id": "a1", "mime_type": "image/jpeg", "image_data": {"url": "https://x/p.jpg", "render_as_sticker": false}}
    ]}})));
    assert_eq!(photo.len(), 1);
    assert_eq!(photo[0].kind, "image");
}
