//! Conversations API JSON into `Change`s (pure; no I/O).
//!
//! A Graph message `id` is the webhook `mid`, so a message seen by both
//! paths lands once: the apply path is keyed on it.

use crate::change::Change;
use crate::domain::{
    AccountId, Attachment, ConvKey, Direction, Message, Mid, MsgStatus, Platform, TimestampMs,
};
use crate::meta::lenient;
use serde_json::Value;

/// One conversation object from `{page}/conversations` with expanded fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    /// None when no customer could be told apart from the account.
    pub conv: Option<ConvKey>,
    pub updated: Option<TimestampMs>,
    pub changes: Vec<Change>,
    /// The nested `messages.paging.next` link, when the thread has more.
    pub messages_next: Option<String>,
    /// The oldest message on this page of the thread.
    pub oldest: Option<TimestampMs>,
    pub messages: usize,
}

/// `paging.next` of a list answer, if any.
pub fn next_link(v: &Value) -> Option<String> {
    v.get("paging")
        .and_then(|p| p.get("next"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The `data` list of a list answer (empty when missing).
pub fn data(v: &Value) -> &[Value] {
    v.get("data")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn participant_ids(v: &Value) -> Vec<&Value> {
    data(v.get("participants").unwrap_or(&Value::Null))
        .iter()
        .collect()
}

/// The customer in a thread: the participant (or message party) that is not us.
fn customer(v: &Value, account: &AccountId) -> Option<String> {
    let not_us = |p: &Value| lenient::id(p.get("id")).filter(|id| id != account.as_str());
    if let Some(id) = participant_ids(v).into_iter().find_map(not_us) {
        return Some(id);
    }
    let msgs = v.get("messages").map(data).unwrap_or(&[]);
    msgs.iter().find_map(|m| {
        m.get("from").and_then(not_us).or_else(|| {
            m.get("to")
                .map(data)
                .and_then(|to| to.iter().find_map(not_us))
        })
    })
}

pub fn thread(v: &Value, platform: Platform, account: &AccountId) -> Thread {
    let updated = lenient::timestamp(v.get("updated_time"));
    let Some(user) = customer(v, account) else {
        return Thread {
            conv: None,
            updated,
            changes: vec![],
            messages_next: None,
            oldest: None,
            messages: 0,
        };
    };
    let conv = ConvKey::new(platform, account.as_str(), user.clone());
    if let Err(reason) = crate::domain::check_conv(&conv) {
        tracing::warn!(%reason, "sync: conversation skipped");
        return Thread {
            conv: None,
            updated,
            changes: vec![],
            messages_next: None,
            oldest: None,
            messages: 0,
        };
    }
    let mut changes = Vec::new();
    for p in participant_ids(v) {
        if lenient::id(p.get("id")).as_deref() == Some(user.as_str()) {
            let name = lenient::string(p.get("name")).filter(|s| !s.trim().is_empty());
            let username = lenient::string(p.get("username")).filter(|s| !s.trim().is_empty());
            if name.is_some() || username.is_some() {
                changes.push(Change::ContactSeen {
                    conv: conv.clone(),
                    name,
                    username,
                });
            }
        }
    }
    let empty = Value::Null;
    let msgs = v.get("messages").unwrap_or(&empty);
    let (mut more, oldest, n) = messages(msgs, &conv, account);
    changes.append(&mut more);
    Thread {
        conv: Some(conv),
        updated,
        changes,
        messages_next: next_link(msgs),
        oldest,
        messages: n,
    }
}

/// A page of messages (`{"data":[...],"paging":{...}}`): changes, the oldest
/// timestamp seen, and how many messages were read.
pub fn messages(
    page: &Value,
    conv: &ConvKey,
    account: &AccountId,
) -> (Vec<Change>, Option<TimestampMs>, usize) {
    let mut out = Vec::new();
    let mut oldest: Option<TimestampMs> = None;
    let mut n = 0;
    for m in data(page) {
        if let Some(ch) = message(m, conv, account) {
            // Counted even when skipped: paging goes on past a bad message.
            n += 1;
            // Ids and timestamps are checked before they become keys.
            if let Err(reason) = crate::change::check_change(&ch) {
                tracing::warn!(%reason, "sync: message skipped");
                continue;
            }
            if let Change::Message { msg, .. } = &ch {
                oldest = Some(oldest.map_or(msg.timestamp, |o| o.min(msg.timestamp)));
            }
            out.push(ch);
        }
    }
    (out, oldest, n)
}

/// One Graph message object. Outbound when it is from the account.
pub fn message(m: &Value, conv: &ConvKey, account: &AccountId) -> Option<Change> {
    let mid = lenient::id(m.get("id"))?;
    let at = lenient::timestamp(m.get("created_time")).unwrap_or_default();
    let from = m.get("from").and_then(|f| lenient::id(f.get("id")));
    let outbound = from.as_deref() == Some(account.as_str());
    let mut msg = Message::inbound(conv.clone(), Mid(mid), at);
    msg.text = lenient::string(m.get("message")).filter(|t| !t.is_empty());
    msg.attachments = attachments(m.get("attachments"));
    msg.unsupported = lenient::boolean(m.get("is_unsupported"));
    // The message's `sticker` field (a URL): the same sticker as a sticker
    // attachment, or an image attachment with its URL, is not added twice.
    if let Some(s) = lenient::string(m.get("sticker")) {
        match msg
            .attachments
            .iter_mut()
            .find(|a| a.kind == "sticker" || a.url.as_deref() == Some(s.as_str()))
        {
            Some(a) => {
                a.kind = "sticker".into();
                a.url.get_or_insert(s);
            }
            None => msg.attachments.push(Attachment {
                kind: "sticker".into(),
                url: Some(s),
                title: None,
            }),
        }
    }
    one_sticker(&mut msg.attachments);
    if outbound {
        msg.direction = Direction::Out;
        msg.status = MsgStatus::Sent;
        // Graph does not return the Send API metadata: who wrote it is unknown.
        msg.origin = None;
    }
    Some(Change::Message {
        msg,
        metadata: None,
        qualifying: !outbound,
        from_sync: true,
    })
}

/// A message carries one sticker; during Meta's transition (until
/// 2026-08-30) it may come as both the new `sticker` and the older image
/// form: kept once, with a URL if either had one.
fn one_sticker(atts: &mut Vec<Attachment>) {
    let mut first: Option<usize> = None;
    let mut i = 0;
    while i < atts.len() {
        if atts[i].kind != "sticker" {
            i += 1;
            continue;
        }
        match first {
            None => {
                first = Some(i);
                i += 1;
            }
            Some(f) => {
                let twin = atts.remove(i);
                if atts[f].url.is_none() {
                    atts[f].url = twin.url;
                }
            }
        }
    }
}

fn attachments(v: Option<&Value>) -> Vec<Attachment> {
    let Some(v) = v else { return vec![] };
    data(v)
        .iter()
        .map(|a| {
            let url_of = |k: &str| a.get(k).and_then(|d| lenient::string(d.get("url")));
            let mime = a.get("mime_type").and_then(Value::as_str).unwrap_or("");
            // A sticker: `type: "sticker"` with `sticker_id` (2026, the
            // webhook's new form), or an image Meta renders as a sticker.
            let sticker = lenient::string(a.get("type")).as_deref() == Some("sticker")
                || lenient::id(a.get("sticker_id")).is_some()
                || a.get("payload")
                    .is_some_and(|p| lenient::id(p.get("sticker_id")).is_some())
                || a.get("image_data")
                    .is_some_and(|d| lenient::boolean(d.get("render_as_sticker")));
            let (kind, url) = if sticker {
                (
                    "sticker",
                    url_of("image_data")
                        .or_else(|| url_of("payload"))
                        .or_else(|| lenient::string(a.get("url")))
                        .or_else(|| lenient::string(a.get("file_url"))),
                )
            } else if let Some(u) = url_of("image_data") {
                ("image", Some(u))
            } else if let Some(u) = url_of("video_data") {
                ("video", Some(u))
            } else {
                let kind = match mime.split('/').next() {
                    Some("image") => "image",
                    Some("video") => "video",
                    Some("audio") => "audio",
                    _ => "file",
                };
                (kind, lenient::string(a.get("file_url")))
            };
            Attachment {
                kind: kind.into(),
                url,
                title: lenient::string(a.get("name")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn restfb_conversation_fixture() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/conformance/meta/restfb/graph_conversation__with_messages_paging.json"
        ))
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        // Participant Two plays the page here.
        let account = AccountId::from("120042743874449");
        let t = thread(&v, Platform::Messenger, &account);
        let conv = t.conv.clone().unwrap();
        assert_eq!(conv.user.as_str(), "261743132120084");
        assert!(t.messages_next.is_some());
        assert_eq!(t.messages, 2);
        let msgs: Vec<&Message> = t
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Message { msg, .. } => Some(msg),
                _ => None,
            })
            .collect();
        assert_eq!(msgs[0].direction, Direction::In);
        assert_eq!(msgs[0].attachments.len(), 2);
        assert_eq!(msgs[0].attachments[1].kind, "image");
        assert_eq!(msgs[1].direction, Direction::Out);
        assert_eq!(msgs[1].status, MsgStatus::Sent);
        assert!(t.changes.iter().any(
            |c| matches!(c, Change::ContactSeen { name: Some(n), .. } if n == "Participant One")
        ));
        assert_eq!(t.updated, lenient::iso8601("2012-04-10T17:41:10+0000"));
    }

    #[test]
    fn instagram_participants_give_usernames() {
        let v = json!({"id":"t1","participants":{"data":[{"username":"shop","id":"IG1"},{"username":"ann","id":"U1"}]},
            "messages":{"data":[{"id":"m1","created_time":"2025-01-01T12:00:00+0000","from":{"id":"U1","username":"ann"},"message":"hi"}]}});
        let t = thread(&v, Platform::Instagram, &AccountId::from("IG1"));
        assert_eq!(t.conv.unwrap().user.as_str(), "U1");
        assert!(
            matches!(&t.changes[0], Change::ContactSeen { username: Some(u), name: None, .. } if u == "ann")
        );
        assert!(matches!(
            &t.changes[1],
            Change::Message {
                qualifying: true,
                from_sync: true,
                ..
            }
        ));
        assert!(t.messages_next.is_none());
    }

    #[test]
    fn thread_without_customer_yields_nothing() {
        let v = json!({"id":"t1","participants":{"data":[{"id":"P"}]}});
        let t = thread(&v, Platform::Messenger, &AccountId::from("P"));
        assert!(t.conv.is_none() && t.changes.is_empty());
    }
}
