//! Byte keys: the embedded backend's encoding, so both backends list
//! conversations and threads in the same order (`bytea` compares bytes).

use crate::domain::ConvKey;
// The conversation prefix and the message key are the embedded backend's.
pub use crate::store::embedded::keys::{conv, conv_from, message};
use sha2::{Digest, Sha256};

/// The first key after every key that starts with `conv(k)`.
pub fn conv_end(k: &ConvKey) -> Vec<u8> {
    let mut v = conv(k);
    *v.last_mut().expect("ends with NUL") = 1;
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
    use crate::domain::{Mid, Platform, TimestampMs};

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
