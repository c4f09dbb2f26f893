//! Webhook bodies shaped like Meta's (meta-api.md §2–3), serialised the way
//! Meta does: non-ASCII as `\uXXXX` escapes and `/` as `\/`, so a receiver
//! that re-serialises instead of hashing the raw bytes fails verification.

use super::ids::Ids;
use super::world::{Customer, SimMessage};
use crate::domain::Platform;
use serde_json::{json, Value};

fn object(p: Platform) -> &'static str {
    match p {
        Platform::Messenger => "page",
        Platform::Instagram => "instagram",
    }
}

/// `{"object":..,"entry":[{"id":account,"time":..,"messaging":[item]}]}`
pub fn envelope(p: Platform, account: &str, time: i64, items: Vec<Value>) -> Value {
    json!({"object": object(p), "entry": [{"id": account, "time": time, "messaging": items}]})
}

/// Meta sends app ids as JSON numbers; keep it a number when it fits.
fn app_id_value(app_id: &str) -> Value {
    app_id
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(app_id.into()))
}

fn message_object(m: &SimMessage) -> Value {
    let mut msg = json!({"mid": m.mid});
    if let Some(t) = &m.text {
        msg["text"] = json!(t);
    }
    if !m.attachments.is_empty() {
        msg["attachments"] = m
            .attachments
            .iter()
            .map(|a| json!({"type": a.kind, "payload": {"url": a.url}}))
            .collect();
    }
    msg
}

/// A customer's message.
pub fn customer_message(c: &Customer, m: &SimMessage) -> Value {
    let item = json!({
        "sender": {"id": c.user_id},
        "recipient": {"id": c.account},
        "timestamp": m.ts_ms,
        "message": message_object(m),
    });
    envelope(c.platform, &c.account, m.ts_ms, vec![item])
}

/// The echo of a page (or app) send.
pub fn echo(ids: &Ids, c: &Customer, m: &SimMessage) -> Value {
    let mut msg = message_object(m);
    msg["is_echo"] = json!(true);
    msg["app_id"] = app_id_value(&ids.app_id);
    if let Some(md) = &m.metadata {
        msg["metadata"] = json!(md);
    }
    let item = json!({
        "sender": {"id": c.account},
        "recipient": {"id": c.user_id},
        "timestamp": m.ts_ms,
        "message": msg,
    });
    envelope(c.platform, &c.account, m.ts_ms, vec![item])
}

/// Messenger delivery receipt (Instagram has none).
pub fn delivery(c: &Customer, mid: &str, watermark: i64, at: i64) -> Value {
    let item = json!({
        "sender": {"id": c.user_id},
        "recipient": {"id": c.account},
        "timestamp": at,
        "delivery": {"mids": [mid], "watermark": watermark},
    });
    envelope(c.platform, &c.account, at, vec![item])
}

/// Read receipt: a watermark on Messenger, `messaging_seen` with a mid on Instagram.
pub fn read(c: &Customer, mid: &str, watermark: i64, at: i64) -> Value {
    let read = match c.platform {
        Platform::Messenger => json!({"watermark": watermark}),
        Platform::Instagram => json!({"mid": mid}),
    };
    let item = json!({
        "sender": {"id": c.user_id},
        "recipient": {"id": c.account},
        "timestamp": at,
        "read": read,
    });
    envelope(c.platform, &c.account, at, vec![item])
}

/// A customer's reaction to a message in their thread.
pub fn reaction(c: &Customer, target: &str, name: &str, emoji: &str, at: i64) -> Value {
    let item = json!({
        "sender": {"id": c.user_id},
        "recipient": {"id": c.account},
        "timestamp": at,
        "reaction": {"reaction": name, "emoji": emoji, "action": "react", "mid": target},
    });
    envelope(c.platform, &c.account, at, vec![item])
}

/// A Messenger edit of the customer's own message.
pub fn edit(c: &Customer, mid: &str, text: &str, num_edit: u32, at: i64) -> Value {
    let item = json!({
        "sender": {"id": c.user_id},
        "recipient": {"id": c.account},
        "timestamp": at,
        "message_edit": {"mid": mid, "text": text, "num_edit": num_edit},
    });
    envelope(c.platform, &c.account, at, vec![item])
}

/// An Instagram unsend: the same mid with `is_deleted`.
pub fn unsend(c: &Customer, mid: &str, at: i64) -> Value {
    let item = json!({
        "sender": {"id": c.user_id},
        "recipient": {"id": c.account},
        "timestamp": at,
        "message": {"mid": mid, "is_deleted": true},
    });
    envelope(c.platform, &c.account, at, vec![item])
}

/// Serialise like Meta: ASCII only, `\uXXXX` (surrogate pairs above the
/// BMP) and escaped slashes. Non-ASCII and `/` only occur inside strings.
pub fn to_meta_bytes(v: &Value) -> Vec<u8> {
    let plain = v.to_string();
    let mut out = String::with_capacity(plain.len() + 16);
    for ch in plain.chars() {
        if ch == '/' {
            out.push_str("\\/");
        } else if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut buf = [0u16; 2];
            for unit in ch.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_serialisation_is_ascii_and_round_trips() {
        let v = json!({"t": "café ☕ 😀 日本", "u": "https://x.example/a"});
        let b = to_meta_bytes(&v);
        assert!(b.is_ascii());
        let s = std::str::from_utf8(&b).unwrap();
        assert!(
            s.contains("\\u00e9") && s.contains("\\ud83d\\ude00") && s.contains("https:\\/\\/")
        );
        let back: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(back, v);
    }
}
