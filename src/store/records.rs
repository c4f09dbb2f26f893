//! The records the store keeps besides messages and conversations: outbox,
//! campaigns, token health, the webhook event log. Plain types shared by
//! every backend.

use crate::domain::{ConvKey, Mid, TimestampMs};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sent,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub id: String,
    pub conv: ConvKey,
    pub text: String,
    pub tag: Option<String>,
    pub created: TimestampMs,
    pub state: OutboxState,
    /// Meta's mid once known.
    pub mid: Option<Mid>,
    pub error: Option<String>,
    pub agent: Option<String>,
    pub campaign: Option<String>,
}

impl OutboxRecord {
    /// Whether this is a file's record (a text record is never empty:
    /// `rules::window::check_text` refuses an empty text).
    pub fn is_file(&self) -> bool {
        self.text.is_empty()
    }

    /// The placeholder mid of the message until Meta names it.
    pub fn local_mid(&self) -> Mid {
        Mid(format!("local:{}", self.id))
    }
    /// What the Send API call carries as `metadata`.
    pub fn metadata(&self) -> String {
        format!("{}{}", crate::meta::webhook::METADATA_PREFIX, self.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Running,
    Done,
    Cancelled,
    /// Stopped by something that needs the operator (dead token, rate limit
    /// that would not lift); `dmdesk bulk --resume ID` continues it.
    Stopped,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Running => "running",
            CampaignStatus::Done => "done",
            CampaignStatus::Cancelled => "cancelled",
            CampaignStatus::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: String,
    pub title: String,
    pub text: String,
    pub tag: Option<String>,
    pub created_by: Option<String>,
    pub created_at: TimestampMs,
    pub status: CampaignStatus,
    /// Why it stopped or was cancelled.
    pub status_reason: Option<String>,
    pub total: u64,
    pub finished_at: Option<TimestampMs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    Queued,
    /// Written durably just before the Send API call.
    InFlight,
    Sent,
    Failed,
    Skipped,
    /// The process died during the call and no echo proved the send: the
    /// agent decides (never re-sent automatically).
    Unknown,
}

impl RecipientState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Queued => "queued",
            RecipientState::InFlight => "in_flight",
            RecipientState::Sent => "sent",
            RecipientState::Failed => "failed",
            RecipientState::Skipped => "skipped",
            RecipientState::Unknown => "unknown",
        }
    }
    pub fn is_final(self) -> bool {
        !matches!(self, RecipientState::Queued | RecipientState::InFlight)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRecord {
    pub campaign: String,
    pub index: u32,
    pub conv: ConvKey,
    pub state: RecipientState,
    pub reason: Option<String>,
    pub mid: Option<Mid>,
    /// The outbox record of this recipient's message (its echo binds it).
    pub outbox_id: Option<String>,
    /// Send API calls made for this recipient (refused ones included).
    pub attempts: u32,
    pub updated_at: TimestampMs,
}

/// Recipients per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignCounts {
    pub total: u64,
    pub queued: u64,
    pub in_flight: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub unknown: u64,
}

impl CampaignCounts {
    pub fn add(&mut self, s: RecipientState) {
        self.total += 1;
        match s {
            RecipientState::Queued => self.queued += 1,
            RecipientState::InFlight => self.in_flight += 1,
            RecipientState::Sent => self.sent += 1,
            RecipientState::Failed => self.failed += 1,
            RecipientState::Skipped => self.skipped += 1,
            RecipientState::Unknown => self.unknown += 1,
        }
    }
    pub fn done(&self) -> u64 {
        self.total - self.queued - self.in_flight
    }
}

/// One recipient as `dmdesk export --what campaigns` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientExport {
    pub platform: String,
    pub account_id: String,
    pub user_id: String,
    pub state: RecipientState,
    pub reason: Option<String>,
    pub mid: Option<String>,
}

/// One campaign line of `dmdesk export --what campaigns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignExport {
    pub id: String,
    pub title: String,
    pub status: CampaignStatus,
    pub status_reason: Option<String>,
    pub text: String,
    pub tag: Option<String>,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub counts: CampaignCounts,
    pub recipients: Vec<RecipientExport>,
}

/// A new recipient: its conversation and, when the preview already ruled it
/// out, the reason it is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecipient {
    pub conv: ConvKey,
    pub skip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadToken {
    pub at: TimestampMs,
    /// Meta's words, without the token.
    pub reason: String,
    /// A short hash of the dead token (never the token).
    pub fingerprint: String,
}

/// One logged webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: u64,
    pub received_ms: i64,
    pub state: EventState,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventState {
    Pending,
    Applied,
    Quarantined(String),
    /// A quarantined event the operator deleted (`dmdesk replay --delete`):
    /// never applied, its body no longer kept or shown.
    Deleted,
}

impl EventState {
    pub fn name(&self) -> &'static str {
        match self {
            EventState::Pending => "pending",
            EventState::Applied => "applied",
            EventState::Quarantined(_) => "quarantined",
            EventState::Deleted => "deleted",
        }
    }
    pub fn reason(&self) -> Option<&str> {
        match self {
            EventState::Quarantined(r) => Some(r),
            _ => None,
        }
    }
}
