//! Byte keys: the embedded backend's encoding, so both backends list
//! conversations and threads in the same order (`bytea` compares bytes).

use crate::domain::{ConvKey, Mid, TimestampMs};
use sha2::{Digest, Sha256};

/// `platform code, account NUL, user NUL`: a prefix of its messages' skeys.
pub fn conv(k: &ConvKey) -> Vec<u8> {
    let mut v = Vec::with_capacity(3 + k.account.0.len() + k.user.0.len());
    v.push(k.platform.code());
    v.extend_from_slice(k.account.0.as_bytes());
    v.push(0);
    v.extend_from_slice(k.user.0.as_bytes());
    v.push(0);
    v
}

/// The first key after every key that starts with `conv(k)`.
pub fn conv_end(k: &ConvKey) -> Vec<u8> {
    let mut v = conv(k);
    *v.last_mut().expect("ends with NUL") = 1;
    v
}

/// A message's place in its thread: conversation, time, mid.
pub fn message(k: &ConvKey, ts: TimestampMs, mid: &Mid) -> Vec<u8> {
    let mut v = conv(k);
    v.extend_from_slice(&((ts.0 as u64) ^ (1 << 63)).to_be_bytes());
    v.extend_from_slice(mid.0.as_bytes());
    v
}

/// The advisory lock that serialises applies touching one conversation.
pub fn lock_id(conv: &[u8]) -> i64 {
    let h = Sha256::digest(conv);
    i64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    #[test]
    fn a_thread_is_one_range_in_time_order() {
        let k = ConvKey::new(Platform::Messenger, "p", "u");
        let other = ConvKey::new(Platform::Messenger, "p", "u2");
        let early = message(&k, TimestampMs(-5), &Mid::from("z"));
        let late = message(&k, TimestampMs(7), &Mid::from("a"));
        assert!(conv(&k) < early && early < late && late < conv_end(&k));
        let o = message(&other, TimestampMs(1), &Mid::from("a"));
        assert!(!(conv(&k) <= o && o < conv_end(&k)));
    }
}
