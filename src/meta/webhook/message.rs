//! `message` items (inbound, echoes of what the page sent, Instagram
//! unsends) and `message_edit`.

use super::attachments::attachments;
use super::{actions, ParseCtx, METADATA_PREFIX};
use crate::change::Change;
use crate::domain::{Attachment, ConvKey, Direction, Message, Mid, MsgStatus, Origin, TimestampMs};
use crate::meta::lenient;
use serde_json::Value;

/// What a message item needs besides its payload.
pub(super) struct Item {
    pub conv: ConvKey,
    pub at: TimestampMs,
    pub is_echo: bool,
    pub standby: bool,
}

/// The changes one `message` payload makes: a message (or its deletion),
/// and for a customer's message in standby, that another app owns the thread.
pub(super) fn message(msg: &Value, it: Item, ctx: &ParseCtx) -> Vec<Change> {
    let Item {
        conv,
        at,
        is_echo,
        standby,
    } = it;
    let mid = Mid(mid_or_stand_in(msg, &conv, at));
    if lenient::boolean(msg.get("is_deleted")) {
        return vec![Change::Delete { conv, mid, at }];
    }
    let mut message = content(msg, conv.clone(), mid, at);
    let metadata = lenient::string(msg.get("metadata"));
    if is_echo {
        message.direction = Direction::Out;
        message.status = MsgStatus::Sent;
        let app_id = lenient::id(msg.get("app_id"));
        message.origin = Some(echo_origin(app_id.as_deref(), metadata.as_deref(), ctx));
    } else if let Some(t) = msg.get("referral").and_then(actions::referral_text) {
        // An ad or shop referral riding on the first message.
        message.attachments.push(Attachment {
            kind: "referral".into(),
            url: None,
            title: Some(t),
        });
    }
    let mut changes = vec![Change::Message {
        msg: message,
        metadata,
        qualifying: !is_echo,
        from_sync: false,
    }];
    if standby && !is_echo {
        changes.push(Change::Handover {
            conv,
            standby: true,
            at,
        });
    }
    changes
}

/// Meta always sends a mid; some test payloads do not. A stable stand-in
/// keeps replays idempotent.
fn mid_or_stand_in(msg: &Value, conv: &ConvKey, at: TimestampMs) -> String {
    lenient::id(msg.get("mid")).unwrap_or_else(|| {
        format!(
            "{}:{:x}",
            super::synthetic_mid("nomid", conv, at),
            fnv1a(msg.to_string().as_bytes())
        )
    })
}

/// What the customer (or the page) wrote: text, attachments, the message
/// it answers.
fn content(msg: &Value, conv: ConvKey, mid: Mid, at: TimestampMs) -> Message {
    let mut message = Message::inbound(conv, mid, at);
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
        // A quick-reply tap with no text shows its payload.
        message.text = msg
            .get("quick_reply")
            .and_then(|q| lenient::string(q.get("payload")));
    }
    message
}

/// Whose send an echo reports: ours (metadata or app id), another app's,
/// or a person's in Meta's own inbox (no app id).
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

/// `message_edit`: the new text of a message; an error names what is missing.
pub(super) fn edit(e: &Value, conv: ConvKey, at: TimestampMs) -> Result<Change, String> {
    match (lenient::id(e.get("mid")), lenient::string(e.get("text"))) {
        (Some(mid), Some(text)) => Ok(Change::Edit {
            conv,
            mid: Mid(mid),
            text,
            at,
        }),
        _ => Err("message_edit without mid or text".into()),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Platform};
    use crate::meta::webhook::{parse_body, Parsed};
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

    fn conv() -> ConvKey {
        ConvKey::new(Platform::Messenger, "P", "U")
    }

    fn inbound(msg: Value) -> Vec<Change> {
        let it = Item {
            conv: conv(),
            at: TimestampMs(9),
            is_echo: false,
            standby: false,
        };
        message(&msg, it, &ctx())
    }

    /// The one message a payload makes.
    fn only_message(changes: Vec<Change>) -> Message {
        match <[Change; 1]>::try_from(changes) {
            Ok([Change::Message { msg, .. }]) => msg,
            Ok(other) => panic!("expected one message, got {other:?}"),
            Err(v) => panic!("expected one change, got {v:?}"),
        }
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
    fn echo_origin_without_our_app_id_trusts_only_the_metadata() {
        let no_app = ParseCtx::default();
        assert_eq!(
            echo_origin(Some("42"), Some("dmdesk:o1"), &no_app),
            Origin::Dmdesk
        );
        assert_eq!(echo_origin(Some("42"), None, &no_app), Origin::OtherApp);
        assert_eq!(
            echo_origin(Some("42"), Some("someone:else"), &ctx()),
            Origin::Dmdesk
        );
        assert_eq!(echo_origin(None, Some("x"), &ctx()), Origin::PageInbox);
    }

    #[test]
    fn an_unsend_deletes_the_message_it_names() {
        assert_eq!(
            inbound(json!({"mid":"m7","is_deleted":true})),
            vec![Change::Delete {
                conv: conv(),
                mid: Mid::from("m7"),
                at: TimestampMs(9)
            }]
        );
        // "true" as a string counts too (lenient booleans)
        assert!(matches!(
            &inbound(json!({"mid":"m7","is_deleted":"true"}))[..],
            [Change::Delete { .. }]
        ));
    }

    #[test]
    fn a_message_without_mid_gets_a_stable_stand_in() {
        let a = only_message(inbound(json!({"text":"no id"})));
        let again = only_message(inbound(json!({"text":"no id"})));
        let other = only_message(inbound(json!({"text":"other text"})));
        assert!(a.mid.as_str().starts_with("nomid:P:U:9:"), "{}", a.mid);
        assert_eq!(a.mid, again.mid, "a replay must give the same mid");
        assert_ne!(a.mid, other.mid, "different payloads at one instant differ");
    }

    #[test]
    fn quick_reply_payload_stands_in_for_missing_text() {
        let tap = only_message(inbound(json!({"mid":"m","quick_reply":{"payload":"YES"}})));
        assert_eq!(tap.text.as_deref(), Some("YES"));
        let typed = only_message(inbound(
            json!({"mid":"m","text":"Yes!","quick_reply":{"payload":"YES"}}),
        ));
        assert_eq!(typed.text.as_deref(), Some("Yes!"));
    }

    #[test]
    fn story_replies_and_unsupported_attachments_are_marked() {
        let m = only_message(inbound(json!({"mid":"m","text":"nice",
            "reply_to":{"story":{"url":"https://cdn/s","id":"s1"}}})));
        assert_eq!(m.reply_to, None);
        assert_eq!(
            m.attachments,
            vec![Attachment {
                kind: "story_reply".into(),
                url: Some("https://cdn/s".into()),
                title: None
            }]
        );
        assert!(!m.unsupported);
        let u = only_message(inbound(
            json!({"mid":"m","attachments":[{"type":"unsupported_type","payload":null}]}),
        ));
        assert!(u.unsupported);
        let flagged = only_message(inbound(json!({"mid":"m","is_unsupported":true})));
        assert!(flagged.unsupported);
    }

    #[test]
    fn a_referral_riding_on_an_inbound_message_is_shown_but_not_on_an_echo() {
        let msg = json!({"mid":"m","text":"hi","referral":{"source":"ADS","ad_id":"123"}});
        let m = only_message(inbound(msg.clone()));
        assert_eq!(
            m.attachments,
            vec![Attachment {
                kind: "referral".into(),
                url: None,
                title: Some("via ADS, ad 123".into())
            }]
        );
        let it = Item {
            conv: conv(),
            at: TimestampMs(9),
            is_echo: true,
            standby: false,
        };
        assert!(only_message(message(&msg, it, &ctx()))
            .attachments
            .is_empty());
    }

    #[test]
    fn in_standby_a_customer_message_says_another_app_owns_the_thread() {
        let msg = json!({"mid":"m","text":"hi"});
        let standby = |is_echo| Item {
            conv: conv(),
            at: TimestampMs(9),
            is_echo,
            standby: true,
        };
        let changes = message(&msg, standby(false), &ctx());
        assert!(matches!(
            changes[0],
            Change::Message {
                qualifying: true,
                ..
            }
        ));
        assert_eq!(
            changes[1..],
            [Change::Handover {
                conv: conv(),
                standby: true,
                at: TimestampMs(9)
            }]
        );
        // The page's own echo in standby changes no ownership.
        assert_eq!(message(&msg, standby(true), &ctx()).len(), 1);
    }

    #[test]
    fn an_edit_needs_both_mid_and_text() {
        assert_eq!(
            edit(
                &json!({"mid":"m","text":"fixed","num_edit":1}),
                conv(),
                TimestampMs(3)
            ),
            Ok(Change::Edit {
                conv: conv(),
                mid: Mid::from("m"),
                text: "fixed".into(),
                at: TimestampMs(3)
            })
        );
        assert_eq!(
            edit(&json!({"mid":"m"}), conv(), TimestampMs(3)),
            Err("message_edit without mid or text".to_string())
        );
        assert!(edit(&json!({"text":"x"}), conv(), TimestampMs(3)).is_err());
    }
}
