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

/// The newest message (of messages given newest first) that contains it.
pub fn first_match<I>(needle: &Needle, newest_first: I) -> Option<Message>
where
    I: IntoIterator<Item = Message>,
{
    newest_first.into_iter().find(|m| needle.found_in(m))
}
