//! A conversation's search signature: a Bloom filter of character grams.

/// Bytes of one signature (2048 bits). A thread of ~10 messages of ~50
/// characters sets about 15 % of the bits, so a four-gram query passes a
/// conversation that lacks it about once in 2,000.
pub const SIG_BYTES: usize = 256;
const SIG_BITS: u64 = (SIG_BYTES * 8) as u64;

#[derive(Clone, PartialEq, Eq)]
pub struct Signature(pub [u8; SIG_BYTES]);

impl Default for Signature {
    fn default() -> Self {
        Signature([0; SIG_BYTES])
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({} bits set)", self.bits_set())
    }
}

impl Signature {
    /// Decode stored bytes (a wrong length reads as "matches everything",
    /// which verification makes safe).
    pub fn from_bytes(b: &[u8]) -> Signature {
        match <[u8; SIG_BYTES]>::try_from(b) {
            Ok(a) => Signature(a),
            Err(_) => Signature([0xff; SIG_BYTES]),
        }
    }

    /// The grams of a message text (one- and two-character, lowercased).
    pub fn of_text(text: &str) -> Signature {
        let mut s = Signature::default();
        s.add_text(text);
        s
    }

    pub fn add_text(&mut self, text: &str) {
        let lower = text.to_lowercase();
        let mut prev: Option<char> = None;
        for c in lower.chars() {
            self.set(gram_hash(&[c]));
            if let Some(p) = prev {
                self.set(gram_hash(&[p, c]));
            }
            prev = Some(c);
        }
    }

    /// The grams a text containing `query` must have: its characters and
    /// its bigrams (the characters too, so that a two-character query
    /// tests three bits, not one). None for an empty query.
    pub fn of_query(query: &str) -> Option<Signature> {
        let chars: Vec<char> = query.to_lowercase().chars().collect();
        if chars.is_empty() {
            return None;
        }
        let mut s = Signature::default();
        chars.iter().for_each(|c| s.set(gram_hash(&[*c])));
        chars.windows(2).for_each(|w| s.set(gram_hash(w)));
        Some(s)
    }

    pub fn union(&mut self, other: &Signature) {
        self.0
            .iter_mut()
            .zip(other.0.iter())
            .for_each(|(a, b)| *a |= b);
    }

    /// Every bit of `query` is set here.
    pub fn may_contain(&self, query: &Signature) -> bool {
        self.0.iter().zip(query.0.iter()).all(|(a, q)| a & q == *q)
    }

    /// The set bits, to test stored signatures without copying them.
    pub fn probe(&self) -> Probe {
        Probe(
            self.0
                .iter()
                .enumerate()
                .filter(|(_, b)| **b != 0)
                .map(|(i, b)| (i, *b))
                .collect(),
        )
    }

    pub fn bits_set(&self) -> u32 {
        self.0.iter().map(|b| b.count_ones()).sum()
    }

    fn set(&mut self, h: u64) {
        let bit = h % SIG_BITS;
        self.0[(bit / 8) as usize] |= 1 << (bit % 8);
    }
}

/// A query's set bytes (index, bits).
#[derive(Debug, Clone)]
pub struct Probe(Vec<(usize, u8)>);

impl Probe {
    /// The stored signature has every bit of the query (bytes of a wrong
    /// length match: verification decides).
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() != SIG_BYTES || self.0.iter().all(|&(i, m)| stored[i] & m == m)
    }
}

/// FNV-1a over the gram's characters: stored signatures depend on it, so
/// it must never change (std's hasher may between releases).
fn gram_hash(gram: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in gram {
        for b in (c as u32).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // Mix the high bits down: the modulo keeps only the low ones.
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_may_contain_its_substrings_in_any_case_and_script() {
        let s = Signature::of_text("Hello Wörld, 你好世界 ❤️ 👍🏽");
        for q in ["hello", "WÖRLD", "好世", "你", "❤️", "👍🏽", "o w", "d"] {
            let q = Signature::of_query(q).expect("non-empty");
            assert!(s.may_contain(&q));
            assert!(q.probe().matches(&s.0));
        }
    }

    #[test]
    fn a_different_text_is_mostly_rejected() {
        let s = Signature::of_text("the order arrived yesterday");
        let q = Signature::of_query("refund please").expect("non-empty");
        assert!(!s.may_contain(&q));
        assert!(Signature::of_query("").is_none());
    }

    #[test]
    fn stored_bytes_round_trip_and_bad_ones_match_everything() {
        let s = Signature::of_text("abc");
        assert_eq!(Signature::from_bytes(&s.0), s);
        let q = Signature::of_query("zz").expect("non-empty");
        assert!(Signature::from_bytes(b"short").may_contain(&q));
    }
}
