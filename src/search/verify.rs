//! The exact check every candidate passes: the same case-insensitive
//! substring rule as the list's `/` filter.

use crate::domain::Message;

/// A query, lowercased once.
#[derive(Debug, Clone)]
pub struct Needle(String);

impl Needle {
    /// None for an empty query (it finds nothing).
    pub fn new(query: &str) -> Option<Needle> {
        (!query.is_empty()).then(|| Needle(query.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The message's latest text contains the query; unsent messages never do.
    pub fn found_in(&self, m: &Message) -> bool {
        !m.deleted && m.text.as_deref().is_some_and(|t| self.in_text(t))
    }

    /// `text` contains the query, in any case (ASCII text is compared in
    /// place: verification reads many texts, most of them ASCII).
    pub fn in_text(&self, text: &str) -> bool {
        let n = self.0.as_bytes();
        if text.is_ascii() && self.0.is_ascii() {
            return n.len() <= text.len()
                && text
                    .as_bytes()
                    .windows(n.len())
                    .any(|w| w.eq_ignore_ascii_case(n));
        }
        text.to_lowercase().contains(&self.0)
    }
}

/// Where the query first occurs in `text`: a byte range of `text` itself
/// (lowercasing may change lengths, so it is found char by char).
pub fn find(text: &str, needle: &Needle) -> Option<std::ops::Range<usize>> {
    let n = needle.as_str();
    for (i, _) in text.char_indices() {
        let mut lower = String::new();
        for (j, c) in text[i..].char_indices() {
            lower.extend(c.to_lowercase());
            if !n.starts_with(lower.as_str()) {
                break;
            }
            if lower.len() >= n.len() {
                return Some(i..i + j + c.len_utf8());
            }
        }
    }
    None
}

/// The newest message (of messages given newest first) that contains it.
pub fn first_match<I>(needle: &Needle, newest_first: I) -> Option<Message>
where
    I: IntoIterator<Item = Message>,
{
    newest_first.into_iter().find(|m| needle.found_in(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_gives_the_range_in_the_original_text() {
        let q = |s: &str| Needle::new(s).expect("non-empty");
        let t = "Where is my ORDER? 你好 ❤️ ok";
        assert_eq!(find(t, &q("order")).map(|r| &t[r]), Some("ORDER"));
        assert_eq!(find(t, &q("你好")).map(|r| &t[r]), Some("你好"));
        assert_eq!(find(t, &q("❤️")).map(|r| &t[r]), Some("❤️"));
        assert_eq!(find(t, &q("w")).map(|r| &t[r]), Some("W"));
        assert_eq!(find(t, &q("refund")), None);
        // "İ" lowercases to two chars: the range still covers it whole.
        let t = "xİy";
        assert_eq!(find(t, &q("i̇y")).map(|r| &t[r]), Some("İy"));
    }

    #[test]
    fn in_text_ignores_case_in_ascii_and_other_scripts() {
        let q = |s: &str| Needle::new(s).expect("non-empty");
        assert!(q("ORDER").in_text("where is my Order?"));
        assert!(q("order").in_text("ORDER"));
        assert!(!q("order").in_text("orde"));
        assert!(!q("order").in_text("ordre r"));
        assert!(q("CAFÉ").in_text("le café"));
        assert!(q("café").in_text("LE CAFÉ"));
        assert!(!q("café").in_text("le cafe"));
        // A non-ASCII query that lowercases to ASCII (the Kelvin sign).
        assert!(q("\u{212A}m").in_text("5 KM"));
        assert!(q("订").in_text("我的订单"));
    }
}
