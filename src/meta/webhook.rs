//! Meta webhook bodies (Messenger `page` and `instagram` objects) into `Change`s.
//!
//! Parsing is deliberately tolerant (see shared/conformance SOURCES.md): ids and
//! timestamps come in several shapes, keys drift, and unknown kinds must be kept
//! rather than fail the whole body.

use super::lenient;
use crate::change::Change;
use crate::domain::{
    AccountId, Attachment, ConvKey, Direction, Message, Mid, MsgKind, MsgStatus, Origin, Platform,
    TimestampMs,
};
use serde_json::{Map, Value};

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
    for (list, standby) in [("messaging", false), ("standby", true)] {
        if let Some(items) = e.get(list).and_then(Value::as_array) {
            for item in items {
                let ectx = EntryCtx {
                    platform,
                    account: account.as_deref(),
                    entry_time,
                    standby,
                };
                parse_item(item, &ectx, ctx, out);
            }
        }
    }
    if let Some(changes) = e.get("changes").and_then(Value::as_array) {
        for ch in changes {
            let field = ch.get("field").and_then(Value::as_str).unwrap_or("?");
            match (field, ch.get("value")) {
                // The dashboard's "Test" button sends a messaging item here.
                ("messages", Some(v)) if v.get("sender").is_some() => {
                    let ectx = EntryCtx {
                        platform,
                        account: account.as_deref(),
                        entry_time,
                        standby: false,
                    };
                    parse_item(v, &ectx, ctx, out);
                }
                _ => out.changes.push(Change::Ignored {
                    kind: format!("changes:{field}"),
                }),
            }
        }
    }
}

struct EntryCtx<'a> {
    platform: Platform,
    account: Option<&'a str>,
    entry_time: Option<TimestampMs>,
    standby: bool,
}

/// Kinds we know and keep only in the event log.
const IGNORED_KINDS: &[&str] = &[
    "account_linking",
    "payment",
    "checkout_update",
    "pre_checkout",
    "game_play",
    "app_roles",
    "message_request",
    "request_thread_control",
    "customer_matching",
    "prior_message",
];

/// One `messaging[]` / `standby[]` item.
fn parse_item(item: &Value, ectx: &EntryCtx<'_>, ctx: &ParseCtx, out: &mut Parsed) {
    let Some(m) = item.as_object() else {
        out.problems.push("messaging item is not an object".into());
        return;
    };
    if let Some(p) = m
        .get("policy_enforcement")
        .or_else(|| m.get("policy-enforcement"))
    {
        let action = p.get("action").and_then(Value::as_str).unwrap_or("?");
        let reason = p.get("reason").and_then(Value::as_str).unwrap_or("").trim();
        out.changes.push(Change::Notice {
            text: format!(
                "Meta policy enforcement on account {}: {action} {reason}",
                ectx.account.unwrap_or("?")
            ),
        });
        return;
    }
    // Checkbox-plugin opt-ins name the person by `user_ref`, not a PSID.
    let sender = lenient::id(m.get("sender").and_then(|s| s.get("id"))).or_else(|| {
        lenient::id(m.get("sender").and_then(|s| s.get("user_ref")))
            .or_else(|| lenient::id(m.get("optin").and_then(|o| o.get("user_ref"))))
            .map(|r| format!("user_ref:{r}"))
    });
    let recipient = lenient::id(m.get("recipient").and_then(|s| s.get("id")));
    let at = lenient::timestamp(m.get("timestamp"))
        .or(ectx.entry_time)
        .unwrap_or(ctx.received);
    let is_echo = m
        .get("message")
        .map(|msg| lenient::boolean(msg.get("is_echo")))
        .unwrap_or(false);

    // The account is the entry id; the customer is whichever side is not us.
    let account = ectx.account.map(str::to_string).or_else(|| {
        if is_echo {
            sender.clone()
        } else {
            recipient.clone()
        }
    });
    let user = match (&sender, &recipient, &account) {
        (Some(s), Some(r), Some(a)) if s == a => Some(r.clone()),
        (Some(_), Some(r), _) if is_echo => Some(r.clone()),
        (Some(s), _, _) => Some(s.clone()),
        _ => None,
    };
    let kind = event_kind(m);
    let (Some(account), Some(user)) = (account, user) else {
        if IGNORED_KINDS.contains(&kind.as_str()) || kind == "unknown" {
            out.changes.push(Change::Ignored { kind });
        } else {
            out.problems
                .push(format!("{kind} item without sender/recipient ids"));
        }
        return;
    };
    let conv = ConvKey::new(ectx.platform, account.clone(), user.clone());

    match kind.as_str() {
        "message" => {
            let msg = &m["message"];
            // Meta always sends a mid; some test payloads do not. A stable
            // stand-in keeps replays idempotent.
            let mid = lenient::id(msg.get("mid")).unwrap_or_else(|| {
                format!(
                    "{}:{:x}",
                    synthetic_mid("nomid", &conv, at),
                    fnv1a(msg.to_string().as_bytes())
                )
            });
            if lenient::boolean(msg.get("is_deleted")) {
                out.changes.push(Change::Delete {
                    conv,
                    mid: Mid(mid),
                    at,
                });
                return;
            }
            let mut message = Message::inbound(conv, Mid(mid), at);
            message.text = lenient::string(msg.get("text"));
            message.attachments = attachments(msg.get("attachments"));
            message.unsupported = lenient::boolean(msg.get("is_unsupported"))
                || message
                    .attachments
                    .iter()
                    .any(|a| a.kind == "unsupported_type");
            message.reply_to = msg
                .get("reply_to")
                .and_then(|r| lenient::id(r.get("mid")))
                .map(Mid);
            if let Some(story) = msg.get("reply_to").and_then(|r| r.get("story")) {
                message.attachments.push(Attachment {
                    kind: "story_reply".into(),
                    url: lenient::string(story.get("url")),
                    title: None,
                });
            }
            if message.text.is_none() {
                if let Some(qr) = msg
                    .get("quick_reply")
                    .and_then(|q| lenient::string(q.get("payload")))
                {
                    message.text = Some(qr);
                }
            }
            let metadata = lenient::string(msg.get("metadata"));
            if is_echo {
                message.direction = Direction::Out;
                message.status = MsgStatus::Sent;
                let app_id = lenient::id(msg.get("app_id"));
                message.origin = Some(echo_origin(app_id.as_deref(), metadata.as_deref(), ctx));
            } else if let Some(r) = msg.get("referral") {
                // An ad or shop referral riding on the first message.
                if let Some(t) = referral_text(r) {
                    message.attachments.push(Attachment {
                        kind: "referral".into(),
                        url: None,
                        title: Some(t),
                    });
                }
            }
            out.changes.push(Change::Message {
                msg: message,
                metadata,
                qualifying: !is_echo,
                from_sync: false,
            });
            if ectx.standby && !is_echo {
                out.changes.push(Change::Handover {
                    conv: ConvKey::new(ectx.platform, account, user),
                    standby: true,
                    at,
                });
            }
        }
        "delivery" => {
            let d = &m["delivery"];
            let mids = d
                .get("mids")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| lenient::id(Some(x)))
                        .map(Mid)
                        .collect()
                })
                .unwrap_or_default();
            out.changes.push(Change::Delivery {
                conv,
                mids,
                watermark: lenient::timestamp(d.get("watermark")),
            });
        }
        "read" => {
            let r = &m["read"];
            out.changes.push(Change::Read {
                conv,
                watermark: lenient::timestamp(r.get("watermark")),
                mid: lenient::id(r.get("mid")).map(Mid),
            });
        }
        "reaction" => {
            let r = &m["reaction"];
            let Some(target) = lenient::id(r.get("mid")) else {
                // Old payloads name no target; there is nothing to attach it to.
                out.changes.push(Change::Ignored {
                    kind: "reaction without target mid".into(),
                });
                return;
            };
            let unreact = r.get("action").and_then(Value::as_str) == Some("unreact");
            let emoji = if unreact {
                None
            } else {
                Some(
                    lenient::string(r.get("emoji"))
                        .map(|e| lenient::decode_brace_escapes(&e))
                        .or_else(|| lenient::string(r.get("reaction")))
                        .unwrap_or_else(|| "?".into()),
                )
            };
            let by = sender.unwrap_or(user);
            out.changes.push(Change::Reaction {
                conv,
                target: Mid(target),
                emoji,
                by,
                at,
            });
        }
        "message_edit" => {
            let e = &m["message_edit"];
            match (lenient::id(e.get("mid")), lenient::string(e.get("text"))) {
                (Some(mid), Some(text)) => out.changes.push(Change::Edit {
                    conv,
                    mid: Mid(mid),
                    text,
                    at,
                }),
                _ => out.problems.push("message_edit without mid or text".into()),
            }
        }
        "postback" => {
            let p = &m["postback"];
            let title = lenient::string(p.get("title")).filter(|t| !t.is_empty());
            let payload = lenient::string(p.get("payload"));
            let mid = lenient::id(p.get("mid")).unwrap_or_else(|| synthetic_mid("pb", &conv, at));
            let mut msg = Message::inbound(conv, Mid(mid), at);
            msg.kind = MsgKind::Postback;
            msg.text = Some(match (title, payload) {
                (Some(t), _) => t,
                (None, Some(p)) => p,
                (None, None) => "(button)".into(),
            });
            if let Some(t) = p.get("referral").and_then(referral_text) {
                msg.attachments.push(Attachment {
                    kind: "referral".into(),
                    url: None,
                    title: Some(t),
                });
            }
            out.changes.push(Change::Message {
                msg,
                metadata: None,
                qualifying: true,
                from_sync: false,
            });
        }
        "referral" => {
            let mut msg = Message::inbound(conv.clone(), Mid(synthetic_mid("ref", &conv, at)), at);
            msg.kind = MsgKind::Referral;
            msg.text = Some(referral_text(&m["referral"]).unwrap_or_else(|| "referral".into()));
            out.changes.push(Change::Message {
                msg,
                metadata: None,
                qualifying: true,
                from_sync: false,
            });
        }
        "optin" => {
            let o = &m["optin"];
            let mut msg =
                Message::inbound(conv.clone(), Mid(synthetic_mid("optin", &conv, at)), at);
            msg.kind = MsgKind::Optin;
            let what = lenient::string(o.get("type"))
                .or_else(|| lenient::string(o.get("ref")))
                .unwrap_or_else(|| "opt-in".into());
            msg.text = Some(format!("opted in: {what}"));
            // Opt-ins alone do not open the standard window (they grant a
            // notification token, which dmdesk does not use).
            out.changes.push(Change::Message {
                msg,
                metadata: None,
                qualifying: false,
                from_sync: false,
            });
        }
        "pass_thread_control" | "take_thread_control" => {
            let h = &m[kind.as_str()];
            let new_owner = lenient::id(h.get("new_owner_app_id"));
            let ours = match (&new_owner, &ctx.app_id) {
                (Some(n), Some(a)) => n == a,
                // Without our app id, a pass names the receiver: assume us.
                _ => kind == "pass_thread_control",
            };
            out.changes.push(Change::Handover {
                conv,
                standby: !ours,
                at,
            });
        }
        k if IGNORED_KINDS.contains(&k) => out.changes.push(Change::Ignored { kind }),
        _ => {
            if ectx.standby {
                // Standby items may carry only sender/recipient: the thread is elsewhere.
                out.changes.push(Change::Handover {
                    conv,
                    standby: true,
                    at,
                });
            } else {
                out.changes.push(Change::Ignored { kind });
            }
        }
    }
}

fn event_kind(m: &Map<String, Value>) -> String {
    const KNOWN: &[&str] = &[
        "message",
        "delivery",
        "read",
        "reaction",
        "message_edit",
        "postback",
        "referral",
        "optin",
        "pass_thread_control",
        "take_thread_control",
    ];
    for k in KNOWN.iter().chain(IGNORED_KINDS) {
        if m.contains_key(*k) {
            return (*k).to_string();
        }
    }
    m.keys()
        .find(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp"))
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

fn echo_origin(app_id: Option<&str>, metadata: Option<&str>, ctx: &ParseCtx) -> Origin {
    if metadata.is_some_and(|m| m.starts_with(METADATA_PREFIX)) {
        return Origin::Dmdesk;
    }
    match (app_id, ctx.app_id.as_deref()) {
        (Some(a), Some(ours)) if a == ours => Origin::Dmdesk,
        (Some(_), _) => Origin::OtherApp,
        (None, _) => Origin::PageInbox,
    }
}

/// A stable id for items Meta gives none, so replays stay idempotent.
fn synthetic_mid(prefix: &str, conv: &ConvKey, at: TimestampMs) -> String {
    format!("{prefix}:{}:{}:{}", conv.account, conv.user, at.0)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

fn referral_text(r: &Value) -> Option<String> {
    let source = lenient::string(r.get("source"));
    let refp = lenient::string(r.get("ref"));
    let ad = lenient::id(r.get("ad_id"));
    let title = r
        .get("ads_context_data")
        .and_then(|a| lenient::string(a.get("ad_title")));
    let parts: Vec<String> = [
        source.map(|s| format!("via {s}")),
        refp.map(|s| format!("ref {s}")),
        ad.map(|s| format!("ad {s}")),
        title,
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn attachments(v: Option<&Value>) -> Vec<Attachment> {
    let Some(list) = v.and_then(Value::as_array) else {
        return vec![];
    };
    let parsed = list
        .iter()
        .filter_map(|a| {
            let a = a.as_object()?;
            let mut kind = lenient::string(a.get("type")).unwrap_or_else(|| "unknown".into());
            let payload = a.get("payload").filter(|p| !p.is_null());
            // A sticker: `type: "sticker"` (2026), or the older `image`
            // carrying `sticker_id`.
            let sticker = payload
                .and_then(|p| lenient::id(p.get("sticker_id")))
                .or_else(|| lenient::id(a.get("sticker_id")));
            if kind == "sticker" || (kind == "image" && sticker.is_some()) {
                kind = "sticker".into();
            }
            let url = payload
                .and_then(|p| {
                    lenient::string(p.get("url"))
                        .or_else(|| lenient::string(p.get("URL")))
                        .or_else(|| lenient::string(p.get("story_media_url")))
                })
                .or_else(|| lenient::string(a.get("url")))
                .or_else(|| lenient::string(a.get("URL")));
            let title = lenient::string(a.get("title")).or_else(|| {
                payload.and_then(|p| {
                    lenient::string(p.get("title")).or_else(|| {
                        let c = p.get("coordinates")?;
                        Some(format!(
                            "{}, {}",
                            lenient::string(c.get("lat"))?,
                            lenient::string(c.get("long"))?
                        ))
                    })
                })
            });
            Some((Attachment { kind, url, title }, sticker))
        })
        .collect();
    one_per_sticker(parsed)
}

/// During Meta's sticker transition (until 2026-08-30) a sticker arrives
/// as both a `sticker` and an `image` attachment: one attachment per
/// sticker (the first, with the other's url if it had none).
fn one_per_sticker(parsed: Vec<(Attachment, Option<String>)>) -> Vec<Attachment> {
    let mut out: Vec<(Attachment, Option<String>)> = Vec::with_capacity(parsed.len());
    for (a, id) in parsed {
        let twin = out.iter_mut().find(|(b, bid)| {
            a.kind == "sticker"
                && b.kind == "sticker"
                && match (&id, bid) {
                    (Some(x), Some(y)) => x == y,
                    // The new form may lack the id or the url: an id-less
                    // sticker is the other one's twin when the urls agree
                    // or one of them has none.
                    _ => a.url.is_none() || b.url.is_none() || a.url == b.url,
                }
        });
        match twin {
            Some((b, bid)) => {
                if b.url.is_none() {
                    b.url = a.url;
                }
                if bid.is_none() {
                    *bid = id;
                }
            }
            None => out.push((a, id)),
        }
    }
    out.into_iter().map(|(a, _)| a).collect()
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
    fn inbound_text_message() {
        let p = parse(
            json!({"object":"page","entry":[{"id":"P","time":1,"messaging":[
            {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1458692752478i64,
             "message":{"mid":"m1","text":"hello","reply_to":{"mid":"m0"}}}]}]}),
        );
        assert!(p.problems.is_empty());
        let Change::Message {
            msg, qualifying, ..
        } = &p.changes[0]
        else {
            panic!()
        };
        assert!(qualifying);
        assert_eq!(msg.conv, ConvKey::new(Platform::Messenger, "P", "U"));
        assert_eq!(msg.text.as_deref(), Some("hello"));
        assert_eq!(msg.reply_to, Some(Mid::from("m0")));
        assert_eq!(msg.timestamp, TimestampMs(1458692752478));
    }

    #[test]
    fn echoes_by_origin() {
        let echo = |app: Value, meta: Value| {
            let p = parse(json!({"object":"page","entry":[{"id":"P","messaging":[
                {"sender":{"id":"P"},"recipient":{"id":"U"},"timestamp":2000000000000i64,
                 "message":{"is_echo":true,"app_id":app,"metadata":meta,"mid":"m","text":"hi"}}]}]}));
            let Change::Message {
                msg, qualifying, ..
            } = &p.changes[0]
            else {
                panic!()
            };
            assert!(!qualifying);
            assert_eq!(msg.direction, Direction::Out);
            assert_eq!(msg.conv.user, "U".into());
            msg.origin.unwrap()
        };
        assert_eq!(echo(json!(42), json!(null)), Origin::Dmdesk);
        assert_eq!(echo(json!(7), json!("dmdesk:abc")), Origin::Dmdesk);
        assert_eq!(
            echo(json!(184719329217930000u64), json!(null)),
            Origin::OtherApp
        );
        assert_eq!(echo(json!(null), json!(null)), Origin::PageInbox);
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
    fn unknown_kinds_are_kept_not_fatal() {
        let p = parse(json!({"object":"page","entry":[{"id":"P","messaging":[
            {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,"EVENT_TYPE_THAT_IS_UNSUPPORTED":{}}]}]}));
        assert!(p.problems.is_empty());
        assert!(
            matches!(&p.changes[0], Change::Ignored { kind } if kind == "EVENT_TYPE_THAT_IS_UNSUPPORTED")
        );
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
    fn unreact_has_no_emoji_and_brace_escapes_decode() {
        let p = parse(json!({"object":"page","entry":[{"id":"P","messaging":[
            {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,
             "reaction":{"mid":"m","action":"react","reaction":"love","emoji":"\\u{2764}\\u{FE0F}"}},
            {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":2,
             "reaction":{"mid":"m","action":"unreact"}}]}]}));
        let Change::Reaction { emoji, .. } = &p.changes[0] else {
            panic!()
        };
        assert_eq!(emoji.as_deref(), Some("\u{2764}\u{FE0F}"));
        let Change::Reaction { emoji, .. } = &p.changes[1] else {
            panic!()
        };
        assert!(emoji.is_none());
    }
}
