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
    /// An agent saved a draft reply here (kept by the store with the draft).
    #[serde(default)]
    pub has_draft: bool,
    /// The agent the conversation belongs to (None: unassigned).
    #[serde(default)]
    pub assignee: Option<AgentName>,
    #[serde(default)]
    pub priority: Priority,
    /// The customer's first message not answered yet by an agent (first
    /// response time counts from it; None: nothing is waiting).
    #[serde(default)]
    pub awaiting_since: Option<TimestampMs>,
    /// The thread's last message (thread order is time, then mid): the one
    /// whose preview the row shows, also when two share a millisecond.
    #[serde(default)]
    pub last_mid: Option<Mid>,
    /// Opened and not answered yet: the next reply is its first response.
    #[serde(default)]
    pub first_reply_due: bool,
    /// The customer's handle on the platform (their contact's username),
    /// which tells two customers of one name apart in the list.
    #[serde(default)]
    pub handle: Option<String>,
}

impl Conversation {
    /// A new conversation named (and handled) as its contact.
    pub fn of_contact(key: ConvKey, contact: &Contact) -> Conversation {
        let mut c = Conversation::new(key, contact.display_name());
        c.handle = contact.username.clone().filter(|u| !u.trim().is_empty());
        c
    }

    pub fn new(key: ConvKey, name: String) -> Conversation {
        Conversation {
            handle: None,
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
            has_draft: false,
            assignee: None,
            priority: Priority::None,
            awaiting_since: None,
            last_mid: None,
            first_reply_due: false,
        }
    }
}

/// What Meta's ids and timestamps may look like before they become store
/// keys (keys separate ids with NUL; list replies carry them). Checked in one
/// place, [`check_change`], by both the webhook parser and the sync
/// converter; what fails is dropped from the event with a reason (the event
/// is then quarantined), never a panic. The bounds accept every payload in
/// shared/conformance/meta: ids there are at most 47 characters and
/// message ids 164, all printable ASCII.
pub mod bounds {
    /// Page, Instagram account and user ids (PSID, IGSID, `user_ref:…`).
    pub const MAX_ID_LEN: usize = 64;
    /// Message ids (Instagram's are base64 of a long triple).
    pub const MAX_MID_LEN: usize = 512;
    /// The earliest timestamp taken: the Unix epoch.
    pub const MIN_TIMESTAMP_MS: i64 = 0;
    /// The latest timestamp taken: 2100-01-01T00:00:00Z.
    pub const MAX_TIMESTAMP_MS: i64 = 4_102_444_800_000;
}

/// A short, printable rendering of a rejected value for a reason text (an
/// id may be a megabyte long or hold control characters).
fn shown(s: &str) -> String {
    let head: String = s.chars().take(24).collect();
    let head = format!("{head:?}");
    if s.chars().count() > 24 {
        format!("{head}… ({} bytes)", s.len())
    } else {
        head
    }
}

fn check_text_id(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if s.len() > max {
        return Err(format!(
            "{what} {} is longer than {max} characters",
            shown(s)
        ));
    }
    // Printable ASCII only: no NUL (the key separator), no control
    // characters, nothing a terminal would interpret.
    if let Some(c) = s.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!(
            "{what} {} holds the character {:?}, not printable ASCII",
            shown(s),
            c
        ));
    }
    Ok(())
}

/// An account, user or reacting party's id from Meta.
pub fn check_id(what: &str, s: &str) -> Result<(), String> {
    check_text_id(what, s, bounds::MAX_ID_LEN)
}

/// A message id from Meta.
pub fn check_mid(mid: &Mid) -> Result<(), String> {
    check_text_id("message id", mid.as_str(), bounds::MAX_MID_LEN)
}

/// A timestamp within [`bounds::MIN_TIMESTAMP_MS`, `bounds::MAX_TIMESTAMP_MS`].
pub fn check_timestamp(what: &str, t: TimestampMs) -> Result<(), String> {
    if (bounds::MIN_TIMESTAMP_MS..=bounds::MAX_TIMESTAMP_MS).contains(&t.0) {
        Ok(())
    } else {
        Err(format!("{what} {} ms is outside 1970..2100", t.0))
    }
}

pub fn check_conv(conv: &ConvKey) -> Result<(), String> {
    check_id("account id", conv.account.as_str())?;
    check_id("user id", conv.user.as_str())
}

impl AccountId {
    /// An account id checked against [`bounds`].
    pub fn checked(s: impl Into<String>) -> Result<AccountId, String> {
        let s = s.into();
        check_id("account id", &s).map(|_| AccountId(s))
    }
}

impl UserId {
    /// A user id checked against [`bounds`].
    pub fn checked(s: impl Into<String>) -> Result<UserId, String> {
        let s = s.into();
        check_id("user id", &s).map(|_| UserId(s))
    }
}

impl Mid {
    /// A message id checked against [`bounds`].
    pub fn checked(s: impl Into<String>) -> Result<Mid, String> {
        let m = Mid(s.into());
        check_mid(&m).map(|_| m)
    }
}

/// A configured page as every front end may see it: no token (an attached
/// UI gets these in `hello`; the eligibility rule works from them).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PageInfo {
    pub id: AccountId,
    pub name: String,
    pub instagram_id: Option<AccountId>,
    pub human_agent: bool,
}

/// A configured page's two account ids, whichever side holds the page
/// (`config::PageConfig` with its token, [`PageInfo`] without).
pub trait PageIds {
    fn ids(&self) -> (&AccountId, Option<&AccountId>);
}

impl PageIds for PageInfo {
    fn ids(&self) -> (&AccountId, Option<&AccountId>) {
        (&self.id, self.instagram_id.as_ref())
    }
}

/// The page answering for `account` (a page's Instagram account is
/// answered with the page's token), and the account's platform. An
/// account connected both ways answers through Instagram Login.
pub fn page_for<'a, P: PageIds>(pages: &'a [P], account: &AccountId) -> Option<(&'a P, Platform)> {
    if let Some(p) = pages.iter().find(|p| p.ids() == (account, Some(account))) {
        return Some((p, Platform::Instagram));
    }
    pages.iter().find_map(|p| match p.ids() {
        (id, _) if id == account => Some((p, Platform::Messenger)),
        (_, Some(ig)) if ig == account => Some((p, Platform::Instagram)),
        _ => None,
    })
}

impl PageInfo {
    /// An Instagram Login account (no Page): its only account is its
    /// Instagram one, so `instagram_id == id` (see `config::PageConfig`).
    pub fn is_instagram_login(&self) -> bool {
        self.instagram_id.as_ref() == Some(&self.id)
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

/// An agent: a Unix user (peer credentials) or a name from `[team] agents`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct AgentName(pub String);

impl AgentName {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AgentName {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

/// How soon a conversation needs an answer (a sort key and part of `!`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::None,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::None => "none",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
