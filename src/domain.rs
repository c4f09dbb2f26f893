//! Plain types shared by every layer: ids, timestamps, platform, messages,
//! contacts, conversations. No I/O here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which Meta product a conversation lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Messenger,
    Instagram,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Messenger => "messenger",
            Platform::Instagram => "instagram",
        }
    }
    pub fn code(self) -> u8 {
        match self {
            Platform::Messenger => 0,
            Platform::Instagram => 1,
        }
    }
    pub fn from_code(c: u8) -> Option<Platform> {
        match c {
            0 => Some(Platform::Messenger),
            1 => Some(Platform::Instagram),
            _ => None,
        }
    }
    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "messenger" | "page" | "facebook" => Some(Platform::Messenger),
            "instagram" | "ig" => Some(Platform::Instagram),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

string_id!(
    /// A Facebook Page id or an Instagram professional account id.
    AccountId
);
string_id!(
    /// A customer's page-scoped id (PSID) or Instagram-scoped id (IGSID).
    UserId
);
string_id!(
    /// Meta's message id. A Graph API message `id` equals the webhook `mid`.
    Mid
);

/// Milliseconds since the Unix epoch.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct TimestampMs(pub i64);

impl TimestampMs {
    pub const HOUR: i64 = 3_600_000;
    pub const DAY: i64 = 24 * Self::HOUR;

    pub fn now() -> TimestampMs {
        TimestampMs(chrono::Utc::now().timestamp_millis())
    }
    pub fn plus_ms(self, ms: i64) -> TimestampMs {
        TimestampMs(self.0.saturating_add(ms))
    }
}

/// One conversation: a customer on one account of one platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConvKey {
    pub platform: Platform,
    pub account: AccountId,
    pub user: UserId,
}

impl ConvKey {
    pub fn new(platform: Platform, account: impl Into<String>, user: impl Into<String>) -> Self {
        ConvKey {
            platform,
            account: AccountId(account.into()),
            user: UserId(user.into()),
        }
    }
}

impl fmt::Display for ConvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.platform, self.account, self.user)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "in")]
    In,
    #[serde(rename = "out")]
    Out,
}

/// Delivery state of a message. Ordered: a status only moves forward,
/// except into `Failed` from `Pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MsgStatus {
    Received,
    Failed,
    Pending,
    Sent,
    Delivered,
    Read,
}

/// Who wrote an outbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Sent by dmdesk (our app id or our metadata).
    Dmdesk,
    /// A person in Meta's Page inbox / Business Suite (an echo with no app id).
    PageInbox,
    /// Another app subscribed to the page.
    OtherApp,
}

/// What an inbound item was. Postbacks, referrals and the like are kept in the
/// thread as messages so the agent sees everything the customer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MsgKind {
    #[default]
    Message,
    Postback,
    Referral,
    Optin,
    Handover,
    Policy,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    /// The user id of the reacting person, or the account id for the business.
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub conv: ConvKey,
    pub mid: Mid,
    pub direction: Direction,
    #[serde(default)]
    pub kind: MsgKind,
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub timestamp: TimestampMs,
    pub status: MsgStatus,
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub edited: bool,
    #[serde(default)]
    pub unsupported: bool,
    pub origin: Option<Origin>,
    pub reply_to: Option<Mid>,
    /// Why a send failed, shown in the thread.
    #[serde(default)]
    pub error: Option<String>,
    /// The agent who sent it (teams), when known.
    #[serde(default)]
    pub agent: Option<String>,
    /// Message tag used for the send, if any.
    #[serde(default)]
    pub tag: Option<String>,
}

impl Message {
    pub fn inbound(conv: ConvKey, mid: Mid, timestamp: TimestampMs) -> Message {
        Message {
            conv,
            mid,
            direction: Direction::In,
            kind: MsgKind::Message,
            text: None,
            attachments: vec![],
            timestamp,
            status: MsgStatus::Received,
            reactions: vec![],
            deleted: false,
            edited: false,
            unsupported: false,
            origin: None,
            reply_to: None,
            error: None,
            agent: None,
            tag: None,
        }
    }

    /// One line for list previews and notifications.
    pub fn preview(&self) -> String {
        if self.deleted {
            return "(unsent)".into();
        }
        if let Some(t) = self.text.as_deref().filter(|t| !t.is_empty()) {
            return t.replace(['\n', '\r'], " ");
        }
        if let Some(a) = self.attachments.first() {
            return format!("[{}]", a.kind);
        }
        if self.unsupported {
            return "(unsupported message)".into();
        }
        format!("({:?})", self.kind).to_lowercase()
    }
}

/// Where a contact's profile stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProfileState {
    /// Not fetched yet.
    #[default]
    Missing,
    Fetched,
    /// Fetch failed; retried later.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub conv: ConvKey,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub profile_pic: Option<String>,
    pub profile_state: ProfileState,
    /// When the profile was last fetched (or attempted).
    pub fetched_at: Option<TimestampMs>,
    pub fetch_attempts: u32,
    /// Where the name came from: "webhook", "profile", "sync".
    pub source: String,
}

impl Contact {
    pub fn new(conv: ConvKey, source: &str) -> Contact {
        Contact {
            conv,
            name: None,
            first_name: None,
            last_name: None,
            username: None,
            profile_pic: None,
            profile_state: ProfileState::Missing,
            fetched_at: None,
            fetch_attempts: 0,
            source: source.into(),
        }
    }

    /// A name to show; never empty.
    pub fn display_name(&self) -> String {
        display_name(
            self.name.as_deref(),
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.username.as_deref(),
            &self.conv.user,
        )
    }
}

pub fn display_name(
    name: Option<&str>,
    first: Option<&str>,
    last: Option<&str>,
    username: Option<&str>,
    user: &UserId,
) -> String {
    if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
        return n.to_string();
    }
    let full = [first, last]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !full.is_empty() {
        return full;
    }
    if let Some(u) = username.filter(|u| !u.is_empty()) {
        return format!("@{u}");
    }
    format!("Unknown ({user})")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConvStatus {
    #[default]
    Open,
    Pending,
    Resolved,
    Snoozed,
}

impl ConvStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConvStatus::Open => "open",
            ConvStatus::Pending => "pending",
            ConvStatus::Resolved => "resolved",
            ConvStatus::Snoozed => "snoozed",
        }
    }
}

/// The list pane's row and the window's source of truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub key: ConvKey,
    pub name: String,
    pub last_preview: String,
    pub last_direction: Option<Direction>,
    pub last_activity: TimestampMs,
    /// The customer's last qualifying action (opens the 24 h window).
    pub last_inbound: Option<TimestampMs>,
    /// The customer's last message (HUMAN_AGENT's 7 days count from it).
    pub last_user_message: Option<TimestampMs>,
    pub unread: u32,
    pub message_count: u64,
    pub status: ConvStatus,
    pub snooze_until: Option<TimestampMs>,
    /// Messenger read/delivery watermarks that may arrive before the message.
    pub read_watermark: Option<TimestampMs>,
    pub delivered_watermark: Option<TimestampMs>,
    /// The page inbox handed the thread to another app (standby).
    pub standby: bool,
    #[serde(default)]
    pub labels: Vec<String>,
}

impl Conversation {
    pub fn new(key: ConvKey, name: String) -> Conversation {
        Conversation {
            key,
            name,
            last_preview: String::new(),
            last_direction: None,
            last_activity: TimestampMs(0),
            last_inbound: None,
            last_user_message: None,
            unread: 0,
            message_count: 0,
            status: ConvStatus::Open,
            snooze_until: None,
            read_watermark: None,
            delivered_watermark: None,
            standby: false,
            labels: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_falls_back_to_unknown_with_id() {
        let u = UserId::from("123");
        assert_eq!(display_name(None, None, None, None, &u), "Unknown (123)");
        assert_eq!(
            display_name(None, Some("Ann"), Some("Lee"), None, &u),
            "Ann Lee"
        );
        assert_eq!(display_name(None, None, None, Some("ann"), &u), "@ann");
        assert_eq!(display_name(Some("A B"), Some("x"), None, None, &u), "A B");
    }

    #[test]
    fn status_order_moves_forward() {
        assert!(MsgStatus::Sent > MsgStatus::Pending);
        assert!(MsgStatus::Read > MsgStatus::Delivered);
        assert!(MsgStatus::Pending > MsgStatus::Failed);
    }
}
