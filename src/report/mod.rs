//! Reports on how fast customers are answered, computed from the team's
//! history (`HistoryEvent`s) in one streaming pass: first response time,
//! resolution time, replies, conversations opened and resolved, and the
//! share of replies inside the 24-hour window — in total, per agent, per
//! page and per day, plus the last 7 and 30 days for charts.
//!
//! Pure: the caller hands in the events (time order), the conversations and
//! the clock; `format` prints the result as a table, JSON or CSV.

mod build;
pub mod facts;
pub mod fixture;
pub mod format;
mod times;

pub use build::{compute, Builder, Params, CONTEXT_MS};
pub use facts::{Fact, FactKind};
pub use format::Format;
pub use times::{Times, BUCKETS_SECONDS};

use serde::{Deserialize, Serialize};

/// Where the report starts by default (`dmdesk report` without `--since`).
pub const DEFAULT_SINCE_MS: i64 = 7 * crate::domain::TimestampMs::DAY;

/// The figures of one group of events (everything, an agent, a page, a day).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Conversations a customer message opened (new, or after resolved).
    pub opened: u64,
    /// Changes of status to resolved.
    pub resolved: u64,
    /// Agents' replies (campaign messages are not replies).
    pub replies: u64,
    /// Of those, sent inside the 24-hour window.
    pub replies_in_window: u64,
    /// `replies_in_window / replies`; null without replies.
    pub in_window_share: Option<f64>,
    /// From the customer's first unanswered message to the first reply.
    pub first_response: Times,
    /// From opened to resolved.
    pub resolution: Times,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRow {
    /// None: replies from Meta's page inbox and changes dmdesk made itself.
    pub agent: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRow {
    pub platform: String,
    pub account_id: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    /// The local date (`YYYY-MM-DD`, in the report's time zone).
    pub date: String,
    /// None: the day is before the history began (no figures, not zero).
    pub figures: Option<Figures>,
}

/// How much of the store the history covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// When the history began (its first event); None: nothing recorded yet.
    pub history_start_ms: Option<i64>,
    /// Conversations in the store.
    pub conversations: u64,
    /// Of those, last active before the history began: no figures at all.
    pub predating: u64,
    /// Resolutions in the period whose opening is not in the history (it
    /// predates it): counted as resolved, without a resolution time.
    pub resolved_without_opening: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub generated_ms: i64,
    /// The period: `[from_ms, to_ms]` (`--since` before the generation).
    pub from_ms: i64,
    pub to_ms: i64,
    /// Days are local days at this UTC offset (the agent's `TZ`).
    pub utc_offset: String,
    pub totals: Figures,
    /// Sorted by name, the no-agent row last.
    pub agents: Vec<AgentRow>,
    /// Sorted by platform, then account id.
    pub pages: Vec<PageRow>,
    /// Each local day of the period, oldest first (the first may be partial).
    pub days: Vec<DayRow>,
    /// Today and the 6 days before, whole days, oldest first (charts).
    pub last_7_days: Vec<DayRow>,
    /// Today and the 29 days before.
    pub last_30_days: Vec<DayRow>,
    pub coverage: Coverage,
    /// What the figures mean and what they leave out, in sentences.
    pub notes: Vec<String>,
}
