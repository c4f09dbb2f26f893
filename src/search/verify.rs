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
        !m.deleted
            && m.text
                .as_deref()
                .is_some_and(|t| t.to_lowercase().contains(&self.0))
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
}
