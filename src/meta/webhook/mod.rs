//! Meta webhook bodies (Messenger `page` and `instagram` objects) into `Change`s.
//!
//! Parsing is deliberately tolerant (see shared/conformance SOURCES.md): ids and
//! timestamps come in several shapes, keys drift, and unknown kinds must be kept
//! rather than fail the whole body.
//!
//! A body holds entries (here), an entry holds items (`item.rs` resolves who
//! and what kind), and each kind has its own reader: `message.rs` (messages,
//! echoes, unsends, edits), `receipts.rs`, `reaction.rs`, `actions.rs`
//! (postbacks, referrals, opt-ins), `thread_control.rs` (handover, standby)
//! and `attachments.rs`.

mod actions;
mod attachments;
mod item;
mod message;
mod reaction;
mod receipts;
mod thread_control;

use crate::change::Change;
use crate::domain::{AccountId, ConvKey, Platform, TimestampMs};
use item::EntryCtx;
use serde_json::Value;

use super::lenient;

/// Our `metadata` prefix on Send API calls; an echo carrying it is ours.
pub const METADATA_PREFIX: &str = "dmdesk:";

/// What the parser needs to know about us.
#[derive(Debug, Clone, Default)]
pub struct ParseCtx {
    /// Our Meta app id, to tell our echoes from other apps' and humans'.
    pub app_id: Option<String>,
    /// Configured Instagram account ids: entries are routed by id first.
    pub instagram_ids: Vec<AccountId>,
    /// Used when a payload carries no timestamp at all.
    pub received: TimestampMs,
}

/// The body as a whole could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("body is empty")]
    Empty,
    #[error("body is not valid UTF-8")]
    NotUtf8,
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("unknown object type `{0}`")]
    UnknownObject(String),
    #[error("no `entry` list")]
    NoEntries,
}

/// The parsed body: changes to apply, plus items that could not be read.
#[derive(Debug, Default)]
pub struct Parsed {
    pub changes: Vec<Change>,
    /// Per-item problems; the event is quarantined with these as its reason
    /// after the readable items are applied.
    pub problems: Vec<String>,
}

pub fn parse_body(body: &[u8], ctx: &ParseCtx) -> Result<Parsed, ParseError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let text = std::str::from_utf8(body).map_err(|_| ParseError::NotUtf8)?;
    let v: Value = serde_json::from_str(text).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let obj = v.as_object().ok_or(ParseError::NotObject)?;
    let default_platform = match obj.get("object").and_then(Value::as_str) {
        Some("page") | None => Platform::Messenger,
        Some("instagram") => Platform::Instagram,
        Some(other) => return Err(ParseError::UnknownObject(other.to_string())),
    };
    let entries = obj
        .get("entry")
        .and_then(Value::as_array)
        .ok_or(ParseError::NoEntries)?;
    let mut out = Parsed::default();
    for entry in entries {
        parse_entry(entry, default_platform, ctx, &mut out);
    }
    // Ids and timestamps are checked before they become keys; what fails
    // is dropped with its reason, and the event is then quarantined.
    out.changes = crate::change::keep_valid(std::mem::take(&mut out.changes), &mut out.problems);
    Ok(out)
}

/// One `entry[]` element (jovo's fixtures are bare entries).
pub fn parse_entry(entry: &Value, default_platform: Platform, ctx: &ParseCtx, out: &mut Parsed) {
    let Some(e) = entry.as_object() else {
        out.problems.push("entry is not an object".into());
        return;
    };
    let account = lenient::id(e.get("id"));
    let platform = match &account {
        Some(a) if ctx.instagram_ids.iter().any(|i| &i.0 == a) => Platform::Instagram,
        _ => default_platform,
    };
    let entry_time = lenient::timestamp(e.get("time"));
    let ectx = |standby| EntryCtx {
        platform,
        account: account.as_deref(),
        entry_time,
        standby,
    };
    for (list, standby) in [("messaging", false), ("standby", true)] {
        if let Some(items) = e.get(list).and_then(Value::as_array) {
            for it in items {
                item::parse_item(it, &ectx(standby), ctx, out);
            }
        }
    }
    if let Some(changes) = e.get("changes").and_then(Value::as_array) {
        for ch in changes {
            let field = ch.get("field").and_then(Value::as_str).unwrap_or("?");
            match (field, ch.get("value")) {
                // The dashboard's "Test" button sends a messaging item here.
                ("messages", Some(v)) if v.get("sender").is_some() => {
                    item::parse_item(v, &ectx(false), ctx, out);
                }
                _ => out.changes.push(Change::Ignored {
                    kind: format!("changes:{field}"),
                }),
            }
        }
    }
}

/// A stable id for items Meta gives none, so replays stay idempotent.
fn synthetic_mid(prefix: &str, conv: &ConvKey, at: TimestampMs) -> String {
    format!("{prefix}:{}:{}:{}", conv.account, conv.user, at.0)
}

/// Wrap a single `messaging[]` item into a full body (for fixtures and tests).
pub fn wrap_item(item: &Value, object: &str) -> Value {
    let account = item
        .get("recipient")
        .and_then(|r| r.get("id"))
        .cloned()
        .unwrap_or(Value::String("0".into()));
    serde_json::json!({"object": object, "entry": [{"id": account, "time": 0, "messaging": [item]}]})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Mid;
    use serde_json::json;

    fn ctx() -> ParseCtx {
        ParseCtx {
            app_id: Some("42".into()),
            instagram_ids: vec![AccountId::new("IG1")],
            received: TimestampMs(5),
        }
    }

    fn parse(v: Value) -> Parsed {
        parse_body(v.to_string().as_bytes(), &ctx()).unwrap()
    }

    #[test]
    fn instagram_routed_by_entry_id() {
        let p = parse(json!({"object":"page","entry":[{"id":"IG1","messaging":[
            {"sender":{"id":"U"},"recipient":{"id":"IG1"},"timestamp":1,"read":{"mid":"x"}}]}]}));
        let Change::Read {
            conv,
            mid,
            watermark,
        } = &p.changes[0]
        else {
            panic!()
        };
        assert_eq!(conv.platform, Platform::Instagram);
        assert_eq!(mid.as_ref().unwrap().as_str(), "x");
        assert!(watermark.is_none());
    }

    #[test]
    fn whole_body_errors() {
        let c = ctx();
        assert_eq!(parse_body(b"", &c).unwrap_err(), ParseError::Empty);
        assert_eq!(
            parse_body(b"\xff\xfe", &c).unwrap_err(),
            ParseError::NotUtf8
        );
        assert!(matches!(
            parse_body(b"{", &c).unwrap_err(),
            ParseError::NotJson(_)
        ));
        assert_eq!(parse_body(b"[]", &c).unwrap_err(), ParseError::NotObject);
        assert_eq!(
            parse_body(br#"{"object":"testValue","entry":[]}"#, &c).unwrap_err(),
            ParseError::UnknownObject("testValue".into())
        );
        assert_eq!(
            parse_body(br#"{"object":"page"}"#, &c).unwrap_err(),
            ParseError::NoEntries
        );
    }

    #[test]
    fn object_instagram_sets_the_platform_and_a_missing_object_means_page() {
        let body = |object: Value| {
            let p = parse(json!({"object":object,"entry":[{"id":"P","messaging":[
                {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"read":{"watermark":1}}]}]}));
            let Change::Read { conv, .. } = &p.changes[0] else {
                panic!("expected a read, got {:?}", p.changes)
            };
            conv.platform
        };
        assert_eq!(body(json!("instagram")), Platform::Instagram);
        assert_eq!(body(json!("page")), Platform::Messenger);
        assert_eq!(body(Value::Null), Platform::Messenger);
    }

    #[test]
    fn standby_items_and_dashboard_test_changes_are_read_like_messaging() {
        let item = json!({"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,
            "message":{"mid":"m1","text":"hi"}});
        let p = parse(json!({"object":"page","entry":[{"id":"P","time":1,
            "standby":[item.clone()],
            "changes":[{"field":"messages","value":item},{"field":"feed","value":{}}]}]}));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let conv = ConvKey::new(Platform::Messenger, "P", "U");
        // standby: the message, then the thread is elsewhere
        assert!(matches!(&p.changes[0], Change::Message { msg, .. } if msg.mid == Mid::from("m1")));
        assert_eq!(
            p.changes[1],
            Change::Handover {
                conv,
                standby: true,
                at: TimestampMs(1000)
            }
        );
        // the dashboard's test message: a message, no handover
        assert!(matches!(&p.changes[2], Change::Message { .. }));
        assert_eq!(
            p.changes[3],
            Change::Ignored {
                kind: "changes:feed".into()
            }
        );
        assert_eq!(p.changes.len(), 4);
    }

    #[test]
    fn an_entry_that_is_not_an_object_is_a_problem_not_an_error() {
        let p = parse(json!({"object":"page","entry":[7,{"id":"P","messaging":[
            {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"read":{"watermark":1}}]}]}));
        assert_eq!(p.problems, vec!["entry is not an object".to_string()]);
        assert_eq!(p.changes.len(), 1);
    }

    #[test]
    fn wrap_item_uses_the_recipient_as_the_entry_id() {
        let item = json!({"sender":{"id":"U"},"recipient":{"id":"P9"},"timestamp":1});
        assert_eq!(
            wrap_item(&item, "instagram"),
            json!({"object":"instagram","entry":[{"id":"P9","time":0,"messaging":[item]}]})
        );
        let no_recipient = json!({"policy_enforcement":{}});
        assert_eq!(wrap_item(&no_recipient, "page")["entry"][0]["id"], "0");
    }
}
