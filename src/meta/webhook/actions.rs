//! Customer actions that are not typed messages — a button tap
//! (`postback`), arriving through a link or an ad (`referral`), a plugin
//! opt-in (`optin`) — shown as lines in the thread.

use super::synthetic_mid;
use crate::change::Change;
use crate::domain::{Attachment, ConvKey, Message, Mid, MsgKind, TimestampMs};
use crate::meta::lenient;
use serde_json::Value;

/// A button tap: its title, else its payload.
pub(super) fn postback(p: &Value, conv: ConvKey, at: TimestampMs) -> Change {
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
    Change::Message {
        msg,
        metadata: None,
        qualifying: true,
        from_sync: false,
    }
}

/// The customer came through a link, an ad or the shop.
pub(super) fn referral(r: &Value, conv: ConvKey, at: TimestampMs) -> Change {
    let mut msg = Message::inbound(conv.clone(), Mid(synthetic_mid("ref", &conv, at)), at);
    msg.kind = MsgKind::Referral;
    msg.text = Some(referral_text(r).unwrap_or_else(|| "referral".into()));
    Change::Message {
        msg,
        metadata: None,
        qualifying: true,
        from_sync: false,
    }
}

pub(super) fn optin(o: &Value, conv: ConvKey, at: TimestampMs) -> Change {
    let mut msg = Message::inbound(conv.clone(), Mid(synthetic_mid("optin", &conv, at)), at);
    msg.kind = MsgKind::Optin;
    let what = lenient::string(o.get("type"))
        .or_else(|| lenient::string(o.get("ref")))
        .unwrap_or_else(|| "opt-in".into());
    msg.text = Some(format!("opted in: {what}"));
    // Opt-ins alone do not open the standard window (they grant a
    // notification token, which dmdesk does not use).
    Change::Message {
        msg,
        metadata: None,
        qualifying: false,
        from_sync: false,
    }
}

/// One line naming where a referral came from, or None if it names nothing.
pub(super) fn referral_text(r: &Value) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use serde_json::json;

    fn conv() -> ConvKey {
        ConvKey::new(Platform::Messenger, "P", "U")
    }

    /// The message a change carries and whether it opens the window.
    fn message(c: Change) -> (Message, bool) {
        match c {
            Change::Message {
                msg, qualifying, ..
            } => (msg, qualifying),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_postback_shows_its_title_else_its_payload() {
        let at = TimestampMs(7);
        let (m, qualifying) = message(postback(
            &json!({"title":"Track order","payload":"TRACK","mid":"pb1"}),
            conv(),
            at,
        ));
        assert!(qualifying);
        assert_eq!(m.kind, MsgKind::Postback);
        assert_eq!(m.mid, Mid::from("pb1"));
        assert_eq!(m.text.as_deref(), Some("Track order"));
        let (m, _) = message(postback(&json!({"title":"","payload":"TRACK"}), conv(), at));
        assert_eq!(m.text.as_deref(), Some("TRACK"));
        assert_eq!(m.mid, Mid::from("pb:P:U:7"));
        let (m, _) = message(postback(&json!({}), conv(), at));
        assert_eq!(m.text.as_deref(), Some("(button)"));
    }

    #[test]
    fn a_postback_from_an_ad_keeps_the_referral() {
        let (m, _) = message(postback(
            &json!({"payload":"GET_STARTED","referral":{"ref":"summer","source":"SHORTLINK"}}),
            conv(),
            TimestampMs(1),
        ));
        assert_eq!(
            m.attachments,
            vec![Attachment {
                kind: "referral".into(),
                url: None,
                title: Some("via SHORTLINK, ref summer".into())
            }]
        );
    }

    #[test]
    fn a_referral_is_a_qualifying_line_with_a_stable_id() {
        let r = json!({"source":"ADS","type":"OPEN_THREAD","ad_id":6045246247433i64,
            "ads_context_data":{"ad_title":"Autumn beans"}});
        let (m, qualifying) = message(referral(&r, conv(), TimestampMs(4)));
        assert!(qualifying);
        assert_eq!(m.kind, MsgKind::Referral);
        assert_eq!(m.mid, Mid::from("ref:P:U:4"));
        assert_eq!(
            m.text.as_deref(),
            Some("via ADS, ad 6045246247433, Autumn beans")
        );
        let (m, _) = message(referral(
            &json!({"type":"OPEN_THREAD"}),
            conv(),
            TimestampMs(4),
        ));
        assert_eq!(m.text.as_deref(), Some("referral"));
    }

    #[test]
    fn an_optin_is_shown_but_does_not_open_the_window() {
        let (m, qualifying) = message(optin(
            &json!({"type":"notification_messages","payload":"x"}),
            conv(),
            TimestampMs(2),
        ));
        assert!(!qualifying);
        assert_eq!(m.kind, MsgKind::Optin);
        assert_eq!(m.mid, Mid::from("optin:P:U:2"));
        assert_eq!(m.text.as_deref(), Some("opted in: notification_messages"));
        let (m, _) = message(optin(
            &json!({"ref":"PASS_THROUGH"}),
            conv(),
            TimestampMs(2),
        ));
        assert_eq!(m.text.as_deref(), Some("opted in: PASS_THROUGH"));
        let (m, _) = message(optin(&json!({}), conv(), TimestampMs(2)));
        assert_eq!(m.text.as_deref(), Some("opted in: opt-in"));
    }

    #[test]
    fn referral_text_names_nothing_when_the_referral_names_nothing() {
        assert_eq!(referral_text(&json!({"type":"OPEN_THREAD"})), None);
        assert_eq!(referral_text(&json!("not an object")), None);
    }
}
