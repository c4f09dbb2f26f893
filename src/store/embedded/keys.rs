//! Key encoding. Big-endian integers so that sled's byte order is time order;
//! ids are separated by NUL (Meta ids never contain it).

use crate::domain::{AccountId, ConvKey, Mid, Platform, TimestampMs, UserId};

/// Map an i64 to bytes that sort like the number (sign bit flipped).
pub fn ts_bytes(t: TimestampMs) -> [u8; 8] {
    ((t.0 as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn ts_from(b: &[u8]) -> TimestampMs {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    TimestampMs((u64::from_be_bytes(a) ^ (1 << 63)) as i64)
}

/// `platform, account \0, user \0`: a prefix of every message key of the conversation.
pub fn conv(k: &ConvKey) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + k.account.0.len() + k.user.0.len() + 1);
    v.push(k.platform.code());
    v.extend_from_slice(k.account.0.as_bytes());
    v.push(0);
    v.extend_from_slice(k.user.0.as_bytes());
    v.push(0);
    v
}

/// Decode a conversation key from the front of `b`; returns it and the rest.
pub fn conv_from(b: &[u8]) -> Option<(ConvKey, &[u8])> {
    let platform = Platform::from_code(*b.first()?)?;
    let rest = &b[1..];
    let a_end = rest.iter().position(|&c| c == 0)?;
    let account = std::str::from_utf8(&rest[..a_end]).ok()?;
    let rest = &rest[a_end + 1..];
    let u_end = rest.iter().position(|&c| c == 0)?;
    let user = std::str::from_utf8(&rest[..u_end]).ok()?;
    Some((
        ConvKey {
            platform,
            account: AccountId(account.to_string()),
            user: UserId(user.to_string()),
        },
        &rest[u_end + 1..],
    ))
}

/// Message key: conversation prefix, timestamp, mid.
pub fn message(k: &ConvKey, ts: TimestampMs, mid: &Mid) -> Vec<u8> {
    let mut v = conv(k);
    v.extend_from_slice(&ts_bytes(ts));
    v.extend_from_slice(mid.0.as_bytes());
    v
}

/// Activity index key: newest first, then the conversation.
pub fn activity(ts: TimestampMs, k: &ConvKey) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    let inv = u64::MAX - u64::from_be_bytes(ts_bytes(ts));
    v.extend_from_slice(&inv.to_be_bytes());
    v.extend_from_slice(&conv(k));
    v
}

pub fn activity_conv(b: &[u8]) -> Option<ConvKey> {
    conv_from(b.get(8..)?).map(|(k, _)| k)
}

/// The team's history by time: `ts, id` (id from the store's counter).
pub fn history(ts: TimestampMs, id: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&ts_bytes(ts));
    v.extend_from_slice(&id.to_be_bytes());
    v
}

/// A conversation's history: `conv, ts, id`; its tail is the time key.
pub fn history_conv(k: &ConvKey, ts: TimestampMs, id: u64) -> Vec<u8> {
    let mut v = conv(k);
    v.extend_from_slice(&history(ts, id));
    v
}

/// A note in its conversation: `conv, ts, id`.
pub fn note(k: &ConvKey, ts: TimestampMs, id: &str) -> Vec<u8> {
    let mut v = conv(k);
    v.extend_from_slice(&ts_bytes(ts));
    v.extend_from_slice(id.as_bytes());
    v
}

/// An agent's mailbox: `agent NUL`, a prefix of its items.
pub fn mailbox(agent: &str) -> Vec<u8> {
    let mut v = agent.as_bytes().to_vec();
    v.push(0);
    v
}

/// One mail item: `agent NUL, ts, id`.
pub fn mail(agent: &str, ts: TimestampMs, id: &str) -> Vec<u8> {
    let mut v = mailbox(agent);
    v.extend_from_slice(&ts_bytes(ts));
    v.extend_from_slice(id.as_bytes());
    v
}

pub fn seq(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn seq_from(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_as_numbers() {
        let xs = [-5i64, 0, 1, 1_000, i64::MAX];
        for w in xs.windows(2) {
            assert!(ts_bytes(TimestampMs(w[0])) < ts_bytes(TimestampMs(w[1])));
            assert_eq!(ts_from(&ts_bytes(TimestampMs(w[0]))), TimestampMs(w[0]));
        }
    }

    #[test]
    fn activity_is_newest_first_and_round_trips() {
        let k = ConvKey::new(Platform::Instagram, "a", "u");
        let old = activity(TimestampMs(1), &k);
        let new = activity(TimestampMs(2), &k);
        assert!(new < old);
        assert_eq!(activity_conv(&new), Some(k.clone()));
        let bytes = conv(&k);
        let (back, rest) = conv_from(&bytes).unwrap();
        assert_eq!(back, k);
        assert!(rest.is_empty());
    }

    #[test]
    fn message_keys_of_one_conversation_share_its_prefix() {
        let k = ConvKey::new(Platform::Messenger, "p", "u");
        let other = ConvKey::new(Platform::Messenger, "p", "u2");
        let m = message(&k, TimestampMs(3), &Mid::from("x"));
        assert!(m.starts_with(&conv(&k)));
        assert!(!m.starts_with(&conv(&other)));
    }
}
