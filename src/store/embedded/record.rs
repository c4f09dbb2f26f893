//! The compact encoding of the store's large records: messages, `mid_index`
//! entries, conversation summaries, contacts and outbox records.
//!
//! A compact value starts with [`COMPACT_V1`], then postcard. 0xC1 never
//! begins UTF-8 text (so never a JSON record, which starts with `{`) and is
//! no platform code (the first byte of a message key, which an old
//! `mid_index` entry holds). Old JSON values still read; `migrate` rewrites
//! them when a store is opened.
//!
//! A message value leaves out what its key already holds (conversation,
//! timestamp, mid): those are read back from the key. A `mid_index` entry
//! is the message key without its trailing mid, which is the entry's key.
//! JSON stays the format of export and of every other record.

use super::{keys, Result};
use crate::domain::{
    Attachment, ConvKey, Direction, Message, Mid, MsgKind, MsgStatus, Origin, Reaction,
};
use crate::store::StoreError;
use serde::{de::DeserializeOwned, Deserialize, Serialize, Serializer};

/// The first byte of a compact record, version 1.
pub const COMPACT_V1: u8 = 0xC1;

/// Attachments as (type, url, title) tuples: the domain type skips an
/// absent title in JSON, which a format without field names cannot do.
fn attachments<S: Serializer>(a: &[Attachment], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(a.iter().map(|a| (&a.kind, &a.url, &a.title)))
}

fn reactions<S: Serializer>(r: &[Reaction], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(r.iter().map(|r| (&r.emoji, &r.by)))
}

/// What a message value holds, borrowed from the message (field order is
/// the format: append new fields at the end, as a new version).
#[derive(Serialize)]
struct BodyRef<'a> {
    direction: Direction,
    kind: MsgKind,
    text: Option<&'a str>,
    #[serde(serialize_with = "attachments")]
    attachments: &'a [Attachment],
    status: MsgStatus,
    #[serde(serialize_with = "reactions")]
    reactions: &'a [Reaction],
    deleted: bool,
    edited: bool,
    unsupported: bool,
    origin: Option<Origin>,
    reply_to: Option<&'a str>,
    error: Option<&'a str>,
    agent: Option<&'a str>,
    tag: Option<&'a str>,
}

#[derive(Deserialize)]
struct Body {
    direction: Direction,
    kind: MsgKind,
    text: Option<String>,
    attachments: Vec<(String, Option<String>, Option<String>)>,
    status: MsgStatus,
    reactions: Vec<(String, String)>,
    deleted: bool,
    edited: bool,
    unsupported: bool,
    origin: Option<Origin>,
    reply_to: Option<String>,
    error: Option<String>,
    agent: Option<String>,
    tag: Option<String>,
}

/// The head of a message value, up to what search needs: the text is
/// borrowed and the fields after `deleted` are never read.
#[derive(Deserialize)]
struct TextHead<'a> {
    _direction: Direction,
    _kind: MsgKind,
    text: Option<&'a str>,
    _attachments: Vec<(&'a str, Option<&'a str>, Option<&'a str>)>,
    _status: MsgStatus,
    _reactions: Vec<(&'a str, &'a str)>,
    deleted: bool,
}

/// A compact message value's text and whether it was unsent, without
/// decoding the rest (search verifies many messages). None for an old JSON
/// record, which only `decode_message` reads.
pub fn text_and_deleted(v: &[u8]) -> Result<Option<(Option<&str>, bool)>> {
    match v.split_first() {
        Some((&COMPACT_V1, body)) => {
            let (h, _): (TextHead, _) = postcard::take_from_bytes(body)
                .map_err(|e| StoreError::Corrupt(format!("message record: {e}")))?;
            Ok(Some((h.text, h.deleted)))
        }
        _ => Ok(None),
    }
}

/// The value stored under a message's key.
pub fn encode_message(m: &Message) -> Vec<u8> {
    let body = BodyRef {
        direction: m.direction,
        kind: m.kind,
        text: m.text.as_deref(),
        attachments: &m.attachments,
        status: m.status,
        reactions: &m.reactions,
        deleted: m.deleted,
        edited: m.edited,
        unsupported: m.unsupported,
        origin: m.origin,
        reply_to: m.reply_to.as_ref().map(Mid::as_str),
        error: m.error.as_deref(),
        agent: m.agent.as_deref(),
        tag: m.tag.as_deref(),
    };
    let mut out = Vec::with_capacity(64 + m.text.as_ref().map_or(0, String::len));
    out.push(COMPACT_V1);
    postcard::to_extend(&body, out).expect("a Vec takes every write")
}

/// A message from its key and value, in either format.
pub fn decode_message(key: &[u8], v: &[u8]) -> Result<Message> {
    match v.first() {
        Some(b'{') => super::decode(v),
        Some(&COMPACT_V1) => {
            let b: Body = postcard::from_bytes(&v[1..])
                .map_err(|e| StoreError::Corrupt(format!("message record: {e}")))?;
            let (conv, timestamp, mid) = split_message_key(key)?;
            Ok(Message {
                conv,
                mid,
                direction: b.direction,
                kind: b.kind,
                text: b.text,
                attachments: b
                    .attachments
                    .into_iter()
                    .map(|(kind, url, title)| Attachment { kind, url, title })
                    .collect(),
                timestamp,
                status: b.status,
                reactions: b
                    .reactions
                    .into_iter()
                    .map(|(emoji, by)| Reaction { emoji, by })
                    .collect(),
                deleted: b.deleted,
                edited: b.edited,
                unsupported: b.unsupported,
                origin: b.origin,
                reply_to: b.reply_to.map(Mid),
                error: b.error,
                agent: b.agent,
                tag: b.tag,
            })
        }
        other => Err(StoreError::Corrupt(format!(
            "message record of unknown format (first byte {other:?})"
        ))),
    }
}

/// Conversation, timestamp and mid of a message key (`keys::message`).
fn split_message_key(key: &[u8]) -> Result<(ConvKey, crate::domain::TimestampMs, Mid)> {
    let bad = || StoreError::Corrupt(format!("message key {key:02x?}"));
    let (conv, rest) = keys::conv_from(key).ok_or_else(bad)?;
    if rest.len() < 8 {
        return Err(bad());
    }
    let mid = std::str::from_utf8(&rest[8..]).map_err(|_| bad())?;
    Ok((conv, keys::ts_from(rest), Mid(mid.to_string())))
}

/// The `mid_index` value for a message stored under `message_key`.
pub fn mid_entry(message_key: &[u8], mid: &Mid) -> Vec<u8> {
    let head = message_key
        .strip_suffix(mid.as_str().as_bytes())
        .expect("a message key ends with its mid");
    let mut v = Vec::with_capacity(1 + head.len());
    v.push(COMPACT_V1);
    v.extend_from_slice(head);
    v
}

/// The message key a `mid_index` entry points at (`mid`: the entry's key).
pub fn message_key(mid: &[u8], entry: &[u8]) -> Vec<u8> {
    match entry.split_first() {
        Some((&COMPACT_V1, head)) => [head, mid].concat(),
        // Before the compact format: the whole message key.
        _ => entry.to_vec(),
    }
}

/// A summary, contact or outbox record in the compact format.
pub fn encode_compact<V: Serialize>(v: &V) -> Vec<u8> {
    postcard::to_extend(v, vec![COMPACT_V1]).expect("a Vec takes every write")
}

/// A record written by [`encode_compact`] or, before it, as JSON.
pub fn decode_record<V: DeserializeOwned>(v: &[u8]) -> Result<V> {
    match v.split_first() {
        Some((&COMPACT_V1, body)) => {
            postcard::from_bytes(body).map_err(|e| StoreError::Corrupt(format!("record: {e}")))
        }
        _ => serde_json::from_slice(v).map_err(|e| StoreError::Corrupt(e.to_string())),
    }
}

/// A conversation's key and unread count, read without decoding the rest
/// of the summary (the unread total scans every row).
pub fn conversation_unread(v: &[u8]) -> Result<(ConvKey, u32)> {
    /// The summary's fields up to `unread`, in `Conversation`'s order.
    #[derive(Deserialize)]
    struct Head<'a> {
        key: ConvKey,
        #[serde(borrow)]
        _name: &'a str,
        #[serde(borrow)]
        _last_preview: &'a str,
        _last_direction: Option<Direction>,
        _last_activity: crate::domain::TimestampMs,
        _last_inbound: Option<crate::domain::TimestampMs>,
        _last_user_message: Option<crate::domain::TimestampMs>,
        unread: u32,
    }
    #[derive(Deserialize)]
    struct Json {
        key: ConvKey,
        unread: u32,
    }
    match v.split_first() {
        Some((&COMPACT_V1, body)) => {
            let (h, _): (Head, _) = postcard::take_from_bytes(body)
                .map_err(|e| StoreError::Corrupt(format!("conversation record: {e}")))?;
            Ok((h.key, h.unread))
        }
        _ => {
            let r: Json =
                serde_json::from_slice(v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((r.key, r.unread))
        }
    }
}

/// Whether a stored value is already in the compact format.
pub fn is_compact(v: &[u8]) -> bool {
    v.first() == Some(&COMPACT_V1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Platform, TimestampMs};
    use proptest::prelude::*;

    fn sample() -> Message {
        let conv = ConvKey::new(Platform::Instagram, "17841400000000000", "6543210987654321");
        let mut m = Message::inbound(
            conv,
            Mid::from("aWdfZAG1faXRlbToxOklHTWVz"),
            TimestampMs(1_700_000_000_123),
        );
        m.text = Some("hello, is this in stock?".into());
        m.attachments = vec![
            Attachment {
                kind: "image".into(),
                url: Some("https://example.invalid/a.jpg".into()),
                title: None,
            },
            Attachment {
                kind: "fallback".into(),
                url: None,
                title: Some("A link".into()),
            },
        ];
        m.reactions = vec![Reaction {
            emoji: "❤".into(),
            by: "6543210987654321".into(),
        }];
        m.reply_to = Some(Mid::from("m_earlier"));
        m
    }

    fn key(m: &Message) -> Vec<u8> {
        keys::message(&m.conv, m.timestamp, &m.mid)
    }

    #[test]
    fn a_message_round_trips_and_is_smaller_than_json() {
        let m = sample();
        let v = encode_message(&m);
        assert_eq!(v[0], COMPACT_V1);
        assert_eq!(decode_message(&key(&m), &v).unwrap(), m);
        let json = serde_json::to_vec(&m).unwrap();
        assert!(
            v.len() * 3 < json.len(),
            "{} vs JSON {}",
            v.len(),
            json.len()
        );
    }

    #[test]
    fn an_old_json_record_still_reads() {
        let m = sample();
        let json = serde_json::to_vec(&m).unwrap();
        assert_eq!(decode_message(&key(&m), &json).unwrap(), m);
        // Search's shortcut declines it (it decodes the record whole).
        assert_eq!(text_and_deleted(&json).unwrap(), None);
    }

    /// The bytes of version 1 are fixed: reordering a field here or a
    /// variant of the domain's enums would misread every stored record.
    #[test]
    fn version_1_bytes_are_pinned() {
        let conv = ConvKey::new(Platform::Messenger, "1", "2");
        let mut m = Message::inbound(conv, Mid::from("m"), TimestampMs(5));
        m.direction = Direction::Out;
        m.kind = MsgKind::Postback;
        m.text = Some("hi".into());
        m.status = MsgStatus::Read;
        m.origin = Some(Origin::PageInbox);
        m.edited = true;
        m.tag = Some("T".into());
        let v = encode_message(&m);
        assert_eq!(
            v,
            [
                0xC1, // version
                1,    // direction: out
                1,    // kind: postback
                1, 2, b'h', b'i', // text
                0,    // attachments
                5,    // status: read
                0,    // reactions
                0, 1, 0, // deleted, edited, unsupported
                1, 1, // origin: page inbox
                0, 0, 0, // reply_to, error, agent
                1, 1, b'T', // tag
            ]
        );
    }

    #[test]
    fn unknown_formats_are_corrupt_not_a_panic() {
        let m = sample();
        for v in [
            &[][..],
            &[0x02, 1, 2][..],
            &[COMPACT_V1][..],
            &[COMPACT_V1, 9, 9][..],
        ] {
            assert!(decode_message(&key(&m), v).is_err(), "{v:?}");
        }
        assert!(decode_message(b"\x00a", &encode_message(&m)).is_err());
    }

    #[test]
    fn mid_entries_point_at_the_message_key_in_both_formats() {
        let m = sample();
        let k = key(&m);
        let entry = mid_entry(&k, &m.mid);
        assert_eq!(entry.len() + m.mid.as_str().len(), k.len() + 1);
        assert_eq!(message_key(m.mid.as_str().as_bytes(), &entry), k);
        // Before the compact format the entry was the whole key.
        assert_eq!(message_key(m.mid.as_str().as_bytes(), &k), k);
    }

    fn conversation() -> crate::domain::Conversation {
        let mut c = crate::domain::Conversation::new(
            ConvKey::new(Platform::Messenger, "1", "2"),
            "Zoë".into(),
        );
        c.unread = 3;
        c.labels = vec!["vip".into()];
        c
    }

    #[test]
    fn summaries_contacts_and_outbox_records_round_trip_in_both_formats() {
        let c = conversation();
        let contact = crate::domain::Contact::new(c.key.clone(), "webhook");
        let outbox = crate::store::OutboxRecord {
            id: "7".into(),
            conv: c.key.clone(),
            text: "hi".into(),
            tag: None,
            created: TimestampMs(9),
            state: crate::store::OutboxState::Sent,
            mid: Some(Mid::from("m_1")),
            error: None,
            agent: Some("alice".into()),
            campaign: None,
        };
        let v = encode_compact(&c);
        assert_eq!(v[0], COMPACT_V1);
        let json = serde_json::to_vec(&c).unwrap();
        assert!(
            v.len() * 3 < json.len(),
            "{} vs JSON {}",
            v.len(),
            json.len()
        );
        for v in [v, json] {
            assert_eq!(decode_record::<crate::domain::Conversation>(&v).unwrap(), c);
            assert_eq!(conversation_unread(&v).unwrap(), (c.key.clone(), 3));
        }
        for v in [
            encode_compact(&contact),
            serde_json::to_vec(&contact).unwrap(),
        ] {
            assert_eq!(
                decode_record::<crate::domain::Contact>(&v).unwrap(),
                contact
            );
        }
        for v in [
            encode_compact(&outbox),
            serde_json::to_vec(&outbox).unwrap(),
        ] {
            assert_eq!(
                decode_record::<crate::store::OutboxRecord>(&v).unwrap(),
                outbox
            );
        }
        assert!(decode_record::<crate::domain::Contact>(&[COMPACT_V1, 7]).is_err());
    }

    /// A summary's bytes are `Conversation`'s fields in order: a field added
    /// or moved there changes them, and needs a new version byte.
    #[test]
    fn summary_bytes_are_pinned() {
        assert_eq!(
            encode_compact(&conversation()),
            [
                0xC1, // version
                0, 1, b'1', 1, b'2', // key: messenger, "1", "2"
                4, b'Z', b'o', 0xC3, 0xAB, // name
                0,    // last_preview
                0,    // last_direction
                0,    // last_activity
                0, 0, // last_inbound, last_user_message
                3, // unread
                0, // message_count
                0, // status: open
                0, 0, 0, // snooze_until, read and delivered watermarks
                0, // standby
                1, 3, b'v', b'i', b'p', // labels
                0, 0, 0, 0, 0, 0,
                0, // has_draft, assignee, priority, awaiting_since, last_mid, first_reply_due, handle
            ]
        );
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 _\\-é❤\u{1F600}]{0,40}"
    }

    fn id() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_:=\\-]{1,40}"
    }

    fn message() -> impl Strategy<Value = Message> {
        let conv = (any::<bool>(), id(), id()).prop_map(|(ig, a, u)| {
            let p = if ig {
                Platform::Instagram
            } else {
                Platform::Messenger
            };
            ConvKey::new(p, a, u)
        });
        let att = (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
        )
            .prop_map(|(kind, url, title)| Attachment { kind, url, title });
        let reaction = (text(), id()).prop_map(|(emoji, by)| Reaction { emoji, by });
        let enums = (
            prop_oneof![Just(Direction::In), Just(Direction::Out)],
            prop_oneof![
                Just(MsgKind::Message),
                Just(MsgKind::Postback),
                Just(MsgKind::Referral),
                Just(MsgKind::Optin),
                Just(MsgKind::Handover),
                Just(MsgKind::Policy),
                Just(MsgKind::Other),
            ],
            prop_oneof![
                Just(MsgStatus::Received),
                Just(MsgStatus::Failed),
                Just(MsgStatus::Pending),
                Just(MsgStatus::Sent),
                Just(MsgStatus::Delivered),
                Just(MsgStatus::Read),
            ],
            proptest::option::of(prop_oneof![
                Just(Origin::Dmdesk),
                Just(Origin::PageInbox),
                Just(Origin::OtherApp),
            ]),
        );
        let opts = (
            proptest::option::of(text()),
            proptest::option::of(id()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        );
        (
            conv,
            id(),
            any::<i64>(),
            enums,
            opts,
            proptest::collection::vec(att, 0..3),
            proptest::collection::vec(reaction, 0..3),
            any::<[bool; 3]>(),
        )
            .prop_map(
                |(
                    conv,
                    mid,
                    ts,
                    (direction, kind, status, origin),
                    (t, r, e, a, g),
                    atts,
                    reacts,
                    [d, ed, u],
                )| {
                    let mut m = Message::inbound(conv, Mid(mid), TimestampMs(ts));
                    m.direction = direction;
                    m.kind = kind;
                    m.status = status;
                    m.origin = origin;
                    m.text = t;
                    m.reply_to = r.map(Mid);
                    m.error = e;
                    m.agent = a;
                    m.tag = g;
                    m.attachments = atts;
                    m.reactions = reacts;
                    m.deleted = d;
                    m.edited = ed;
                    m.unsupported = u;
                    m
                },
            )
    }

    proptest! {
        #[test]
        fn every_message_round_trips(m in message()) {
            let k = key(&m);
            let v = encode_message(&m);
            prop_assert_eq!(decode_message(&k, &v).unwrap(), m.clone());
            prop_assert_eq!(
                text_and_deleted(&v).unwrap(),
                Some((m.text.as_deref(), m.deleted))
            );
            let entry = mid_entry(&k, &m.mid);
            prop_assert_eq!(message_key(m.mid.as_str().as_bytes(), &entry), k);
        }
    }
}
