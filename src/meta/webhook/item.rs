//! One `messaging[]` / `standby[]` item: who it is between, which kind it
//! is, and the reader for that kind.

use super::{actions, message, reaction, receipts, thread_control, ParseCtx, Parsed};
use crate::change::Change;
use crate::domain::{ConvKey, Platform, TimestampMs};
use crate::meta::lenient;
use serde_json::{Map, Value};

/// What an item inherits from its entry.
pub(super) struct EntryCtx<'a> {
    pub platform: Platform,
    pub account: Option<&'a str>,
    pub entry_time: Option<TimestampMs>,
    /// The item came in `standby[]`: another app owns the thread.
    pub standby: bool,
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

/// Kinds with a reader, in the order they are looked for.
const KNOWN_KINDS: &[&str] = &[
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

/// Both sides of an item, resolved.
#[derive(Debug, PartialEq)]
struct Parties {
    account: String,
    user: String,
    /// Who acted (the sender), e.g. who reacted.
    sender: String,
}

pub(super) fn parse_item(item: &Value, ectx: &EntryCtx<'_>, ctx: &ParseCtx, out: &mut Parsed) {
    let Some(m) = item.as_object() else {
        out.problems.push("messaging item is not an object".into());
        return;
    };
    if let Some(p) = m
        .get("policy_enforcement")
        .or_else(|| m.get("policy-enforcement"))
    {
        out.changes.push(policy_notice(p, ectx.account));
        return;
    }
    let is_echo = m
        .get("message")
        .map(|msg| lenient::boolean(msg.get("is_echo")))
        .unwrap_or(false);
    let kind = event_kind(m);
    let Some(Parties {
        account,
        user,
        sender,
    }) = parties(m, ectx.account, is_echo)
    else {
        if IGNORED_KINDS.contains(&kind.as_str()) || kind == "unknown" {
            out.changes.push(Change::Ignored { kind });
        } else {
            out.problems
                .push(format!("{kind} item without sender/recipient ids"));
        }
        return;
    };
    let conv = ConvKey::new(ectx.platform, account, user);
    let at = lenient::timestamp(m.get("timestamp"))
        .or(ectx.entry_time)
        .unwrap_or(ctx.received);
    let body = m.get(kind.as_str()).unwrap_or(&Value::Null);

    match kind.as_str() {
        "message" => {
            let it = message::Item {
                conv,
                at,
                is_echo,
                standby: ectx.standby,
            };
            out.changes.extend(message::message(body, it, ctx));
        }
        "message_edit" => match message::edit(body, conv, at) {
            Ok(c) => out.changes.push(c),
            Err(problem) => out.problems.push(problem),
        },
        "delivery" => out.changes.push(receipts::delivery(body, conv)),
        "read" => out.changes.push(receipts::read(body, conv)),
        "reaction" => out.changes.push(reaction::reaction(body, conv, sender, at)),
        "postback" => out.changes.push(actions::postback(body, conv, at)),
        "referral" => out.changes.push(actions::referral(body, conv, at)),
        "optin" => out.changes.push(actions::optin(body, conv, at)),
        "pass_thread_control" | "take_thread_control" => out.changes.push(
            thread_control::handover(&kind, body, conv, at, ctx.app_id.as_deref()),
        ),
        k if IGNORED_KINDS.contains(&k) => out.changes.push(Change::Ignored { kind }),
        // Standby items may carry only sender/recipient: the thread is elsewhere.
        _ if ectx.standby => out.changes.push(thread_control::standby(conv, at)),
        _ => out.changes.push(Change::Ignored { kind }),
    }
}

/// Meta restricted or blocked the page: the agents are told.
fn policy_notice(p: &Value, account: Option<&str>) -> Change {
    let action = p.get("action").and_then(Value::as_str).unwrap_or("?");
    let reason = p.get("reason").and_then(Value::as_str).unwrap_or("").trim();
    Change::Notice {
        text: format!(
            "Meta policy enforcement on account {}: {action} {reason}",
            account.unwrap_or("?")
        ),
    }
}

/// The account is the entry id; the customer is whichever side is not us.
/// None when the item names too little to tell.
fn parties(m: &Map<String, Value>, entry_account: Option<&str>, is_echo: bool) -> Option<Parties> {
    // Checkbox-plugin opt-ins name the person by `user_ref`, not a PSID.
    let sender = lenient::id(m.get("sender").and_then(|s| s.get("id"))).or_else(|| {
        lenient::id(m.get("sender").and_then(|s| s.get("user_ref")))
            .or_else(|| lenient::id(m.get("optin").and_then(|o| o.get("user_ref"))))
            .map(|r| format!("user_ref:{r}"))
    })?;
    let recipient = lenient::id(m.get("recipient").and_then(|s| s.get("id")));
    let account = match entry_account {
        Some(a) => a.to_string(),
        None if is_echo => sender.clone(),
        None => recipient.clone()?,
    };
    let user = match recipient {
        Some(r) if sender == account || is_echo => r,
        _ => sender.clone(),
    };
    Some(Parties {
        account,
        user,
        sender,
    })
}

fn event_kind(m: &Map<String, Value>) -> String {
    for k in KNOWN_KINDS.iter().chain(IGNORED_KINDS) {
        if m.contains_key(*k) {
            return (*k).to_string();
        }
    }
    m.keys()
        .find(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp"))
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> ParseCtx {
        ParseCtx {
            app_id: Some("42".into()),
            instagram_ids: vec![],
            received: TimestampMs(5),
        }
    }

    /// Parse one item as if it came in entry `account`'s `messaging[]`
    /// (or `standby[]`).
    fn parse(item: Value, account: Option<&str>, standby: bool) -> Parsed {
        let ectx = EntryCtx {
            platform: Platform::Messenger,
            account,
            entry_time: Some(TimestampMs(77)),
            standby,
        };
        let mut out = Parsed::default();
        parse_item(&item, &ectx, &ctx(), &mut out);
        out
    }

    fn parties_of(item: Value, entry: Option<&str>, is_echo: bool) -> Option<(String, String)> {
        let p = parties(item.as_object().unwrap(), entry, is_echo)?;
        Some((p.account, p.user))
    }

    fn pair(a: &str, u: &str) -> Option<(String, String)> {
        Some((a.into(), u.into()))
    }

    #[test]
    fn the_customer_is_whichever_side_is_not_the_account() {
        let inbound = json!({"sender":{"id":"U"},"recipient":{"id":"P"}});
        let echo = json!({"sender":{"id":"P"},"recipient":{"id":"U"}});
        assert_eq!(
            parties_of(inbound.clone(), Some("P"), false),
            pair("P", "U")
        );
        assert_eq!(parties_of(echo.clone(), Some("P"), true), pair("P", "U"));
        // The entry id may be missing: the recipient (or the echo's sender) is us.
        assert_eq!(parties_of(inbound, None, false), pair("P", "U"));
        assert_eq!(parties_of(echo.clone(), None, true), pair("P", "U"));
        // A page's own action that is not an echo: the entry says who we are.
        assert_eq!(parties_of(echo, Some("P"), false), pair("P", "U"));
        // Ids may be numbers.
        assert_eq!(
            parties_of(
                json!({"sender":{"id":1},"recipient":{"id":2}}),
                Some("2"),
                false
            ),
            pair("2", "1")
        );
    }

    #[test]
    fn a_checkbox_optin_names_the_person_by_user_ref() {
        let via_sender = json!({"sender":{"user_ref":"r1"},"recipient":{"id":"P"}});
        assert_eq!(
            parties_of(via_sender, Some("P"), false),
            pair("P", "user_ref:r1")
        );
        let via_optin = json!({"recipient":{"id":"P"},"optin":{"user_ref":"r2"}});
        assert_eq!(parties_of(via_optin, None, false), pair("P", "user_ref:r2"));
    }

    #[test]
    fn too_few_ids_name_no_parties() {
        assert_eq!(
            parties_of(json!({"recipient":{"id":"P"}}), Some("P"), false),
            None
        );
        assert_eq!(parties_of(json!({"sender":{"id":"U"}}), None, false), None);
        assert_eq!(
            parties_of(json!({"sender":{"id":""}}), Some("P"), false),
            None
        );
    }

    #[test]
    fn without_ids_a_known_kind_is_a_problem_and_an_ignored_one_is_kept() {
        let p = parse(
            json!({"timestamp":1,"read":{"watermark":1}}),
            Some("P"),
            false,
        );
        assert_eq!(
            p.problems,
            vec!["read item without sender/recipient ids".to_string()]
        );
        assert!(p.changes.is_empty());
        let p = parse(
            json!({"timestamp":1,"app_roles":{"1":["primary_receiver"]}}),
            Some("P"),
            false,
        );
        assert!(p.problems.is_empty());
        assert_eq!(
            p.changes,
            vec![Change::Ignored {
                kind: "app_roles".into()
            }]
        );
        let p = parse(json!({"timestamp":1}), None, false);
        assert_eq!(
            p.changes,
            vec![Change::Ignored {
                kind: "unknown".into()
            }]
        );
    }

    #[test]
    fn unknown_kinds_are_kept_not_fatal() {
        let item = json!({"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1,
            "EVENT_TYPE_THAT_IS_UNSUPPORTED":{}});
        let p = parse(item.clone(), Some("P"), false);
        assert!(p.problems.is_empty());
        assert_eq!(
            p.changes,
            vec![Change::Ignored {
                kind: "EVENT_TYPE_THAT_IS_UNSUPPORTED".into()
            }]
        );
        // In standby, any item says the thread is elsewhere.
        let p = parse(item, Some("P"), true);
        assert_eq!(
            p.changes,
            vec![Change::Handover {
                conv: ConvKey::new(Platform::Messenger, "P", "U"),
                standby: true,
                at: TimestampMs(1000)
            }]
        );
    }

    #[test]
    fn the_time_is_the_item_s_else_the_entry_s_else_when_received() {
        let read = |item: Value, entry_time| {
            let ectx = EntryCtx {
                platform: Platform::Messenger,
                account: Some("P"),
                entry_time,
                standby: true,
            };
            let mut out = Parsed::default();
            parse_item(&item, &ectx, &ctx(), &mut out);
            match &out.changes[..] {
                [Change::Handover { at, .. }] => *at,
                other => panic!("expected one handover, got {other:?}"),
            }
        };
        let ids = json!({"sender":{"id":"U"},"recipient":{"id":"P"}});
        let mut timed = ids.clone();
        timed["timestamp"] = json!("2021-09-08T06:34:04+0000");
        assert_eq!(
            read(timed, Some(TimestampMs(77))),
            TimestampMs(1631082844000)
        );
        assert_eq!(read(ids.clone(), Some(TimestampMs(77))), TimestampMs(77));
        assert_eq!(read(ids, None), TimestampMs(5));
    }

    #[test]
    fn policy_enforcement_becomes_a_notice_in_either_spelling() {
        for key in ["policy_enforcement", "policy-enforcement"] {
            let p = parse(
                json!({"recipient":{"id":"P"},"timestamp":1,
                    key:{"action":"block","reason":" The bot violated our Platform Policies "}}),
                Some("P"),
                false,
            );
            assert_eq!(
                p.changes,
                vec![Change::Notice {
                    text: "Meta policy enforcement on account P: block The bot violated our Platform Policies".into()
                }]
            );
        }
        assert_eq!(
            policy_notice(&json!({}), None),
            Change::Notice {
                text: "Meta policy enforcement on account ?: ? ".into()
            }
        );
    }

    #[test]
    fn an_item_that_is_not_an_object_is_a_problem() {
        let p = parse(json!("x"), Some("P"), false);
        assert_eq!(
            p.problems,
            vec!["messaging item is not an object".to_string()]
        );
    }

    #[test]
    fn kind_is_the_first_known_key_else_the_first_other_key() {
        let kind = |v: Value| event_kind(v.as_object().unwrap());
        // A message that also carries a referral is a message.
        assert_eq!(kind(json!({"referral":{},"message":{}})), "message");
        assert_eq!(kind(json!({"sender":{},"payment":{}})), "payment");
        assert_eq!(
            kind(json!({"sender":{},"timestamp":1,"reaction_v9":{}})),
            "reaction_v9"
        );
        assert_eq!(
            kind(json!({"sender":{},"recipient":{},"timestamp":1})),
            "unknown"
        );
    }
}
