//! Full-text search over every message, with the `/` filter's semantics:
//! a case-insensitive substring of a message's (latest) text, in any script.
//!
//! The index is one signature a conversation: a 2048-bit Bloom filter of
//! the lowercased one- and two-character grams of all its messages' texts,
//! OR-ed in by the apply path as messages arrive or are edited (one read
//! and one write a conversation per apply, not one a gram). A query's grams
//! must all be set for a conversation to be a candidate; each candidate is
//! then verified by reading its messages, so a false positive (a full
//! signature, an edited-away or unsent text) costs time, never a wrong
//! answer. Grams are characters, not words, so CJK and emoji work, and a
//! one-character query is a one-gram lookup.

mod pending;
mod signature;
mod verify;

pub use pending::{bench_set_indexing, BuildProgress, Pending};
pub use signature::{Probe, Signature, SIG_BYTES};
pub use verify::{find, first_match, Needle};

use crate::domain::{ConvKey, Conversation, Message, TimestampMs};

/// Conversations a search asks for at a time: one screenful, so the first
/// come before a long list has been verified; scrolling asks for more.
pub const PAGE: usize = 25;
/// Once a search has found something it stops after this long and says
/// where to go on from: the first results are worth more than a full page.
pub const BUDGET: std::time::Duration = std::time::Duration::from_millis(200);

/// One conversation found: its summary and its newest matching message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchHit {
    pub conv: Conversation,
    pub message: Message,
}

/// Where a search stopped in the list's order (newest activity first): the
/// last conversation it looked at. The next page starts after it, so a
/// conversation that has moved to the top since is not listed twice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SearchFrom {
    pub activity: TimestampMs,
    pub conv: ConvKey,
}

/// What a search found, newest activity first.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// More conversations may match (the page was full, or the search
    /// stopped at its time budget): ask again from here.
    pub next: Option<SearchFrom>,
    /// The index of messages written before it existed is still being
    /// built: the percentage done (results may miss older messages).
    pub indexing: Option<u8>,
}

impl SearchResults {
    pub fn more(&self) -> bool {
        self.next.is_some()
    }
}
