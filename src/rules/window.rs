//! Meta's messaging windows as one pure function, and the text limits.
//!
//! Standard window: 24 h from the customer's last qualifying action. What
//! qualifies (meta-api.md §5): a message, a postback (button, Get Started,
//! menu, quick reply), a referral (m.me ref, ad, plugin) — and a reaction,
//! which is **unconfirmed** on Meta's current policy page: we count it, as
//! Meta's entry-point table did. Opt-ins do not qualify (they grant a
//! notification token instead). Business sends and echoes never extend it.
//!
//! HUMAN_AGENT: a person may answer up to 7 days after the customer's last
//! message, only on pages with the permission (`human_agent = true`); it is
//! the only tag Instagram accepts. It is never used for campaigns.
//!
//! Meta retired CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE and
//! ACCOUNT_UPDATE in 2026 (sends carrying them fail with error 100), so
//! outside the windows above nothing may be sent; `Tag::parse` names them.

use crate::domain::{Platform, TimestampMs};
use std::fmt;

pub const STANDARD_MS: i64 = 24 * TimestampMs::HOUR;
pub const HUMAN_AGENT_MS: i64 = 7 * TimestampMs::DAY;

/// Message tags Meta still accepts from this app. Only HUMAN_AGENT is left:
/// Meta retired the update tags in 2026 (see `RetiredTag`), and
/// CUSTOMER_FEEDBACK carries only Meta's feedback template, which dmdesk
/// does not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Tag {
    HumanAgent,
}

/// Tags Meta retired in 2026: a send carrying one fails with error 100
/// "Invalid parameter", so dmdesk refuses them before any call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetiredTag {
    ConfirmedEventUpdate,
    PostPurchaseUpdate,
    AccountUpdate,
}

impl RetiredTag {
    pub const ALL: [RetiredTag; 3] = [
        RetiredTag::ConfirmedEventUpdate,
        RetiredTag::PostPurchaseUpdate,
        RetiredTag::AccountUpdate,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RetiredTag::ConfirmedEventUpdate => "CONFIRMED_EVENT_UPDATE",
            RetiredTag::PostPurchaseUpdate => "POST_PURCHASE_UPDATE",
            RetiredTag::AccountUpdate => "ACCOUNT_UPDATE",
        }
    }
}

/// Why a tag name is not accepted; one sentence with what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagError {
    Retired(RetiredTag),
    /// CUSTOMER_FEEDBACK: only for Meta's customer feedback template.
    FeedbackTemplateOnly,
    Unknown(String),
}

impl fmt::Display for TagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagError::Retired(t) => write!(
                f,
                "{t} was retired by Meta in 2026 (sends carrying it fail with error 100); send inside the 24-hour window instead, or use HUMAN_AGENT for a person's reply within 7 days",
                t = t.as_str()
            ),
            TagError::FeedbackTemplateOnly => f.write_str(
                "CUSTOMER_FEEDBACK only carries Meta's customer feedback template, which dmdesk does not send; send inside the 24-hour window, or use HUMAN_AGENT for a person's reply within 7 days",
            ),
            TagError::Unknown(s) => write!(
                f,
                "unknown tag `{s}`: the only tag Meta still accepts here is HUMAN_AGENT (a person's reply within 7 days)"
            ),
        }
    }
}

impl Tag {
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::HumanAgent => "HUMAN_AGENT",
        }
    }
    /// A tag name as typed (any case). Retired and unusable tags say why.
    pub fn parse(s: &str) -> Result<Tag, TagError> {
        let up = s.trim().to_ascii_uppercase();
        if up == "HUMAN_AGENT" {
            return Ok(Tag::HumanAgent);
        }
        if let Some(r) = RetiredTag::ALL.into_iter().find(|r| r.as_str() == up) {
            return Err(TagError::Retired(r));
        }
        if up == "CUSTOMER_FEEDBACK" {
            return Err(TagError::FeedbackTemplateOnly);
        }
        Err(TagError::Unknown(s.to_string()))
    }
    /// What the tag allows, for the confirmation an agent reads.
    pub fn allows(self) -> &'static str {
        match self {
            Tag::HumanAgent => "a person answering this customer's question, up to 7 days after their last message; no automation",
        }
    }
    /// Tags a campaign may carry: none. HUMAN_AGENT is for a person, and the
    /// update tags campaigns used were retired, so campaigns go only to
    /// customers inside the 24-hour window. (The bulk popup cycles over it.)
    pub const CAMPAIGN_TAGS: [Tag; 0] = [];
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a conversation stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Standard messages allowed until `closes_at`.
    Open { closes_at: TimestampMs },
    /// Only a person's reply with HUMAN_AGENT, until `closes_at`.
    HumanAgent { closes_at: TimestampMs },
    /// Nothing may be sent (the update tags that once applied here were
    /// retired by Meta in 2026).
    Closed,
    /// The customer never wrote: nothing may be sent first.
    Never,
}

/// Facts about one conversation the rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowFacts {
    pub platform: Platform,
    pub last_inbound: Option<TimestampMs>,
    pub last_user_message: Option<TimestampMs>,
    pub human_agent_allowed: bool,
}

impl WindowFacts {
    pub fn of(c: &crate::domain::Conversation, human_agent_allowed: bool) -> WindowFacts {
        WindowFacts {
            platform: c.key.platform,
            last_inbound: c.last_inbound,
            last_user_message: c.last_user_message,
            human_agent_allowed,
        }
    }
}

pub fn window(f: &WindowFacts, now: TimestampMs) -> Window {
    let Some(last) = f.last_inbound else {
        return Window::Never;
    };
    let std_close = last.plus_ms(STANDARD_MS);
    if now < std_close {
        return Window::Open {
            closes_at: std_close,
        };
    }
    let ha_close = f.last_user_message.unwrap_or(last).plus_ms(HUMAN_AGENT_MS);
    if f.human_agent_allowed && now < ha_close {
        return Window::HumanAgent {
            closes_at: ha_close,
        };
    }
    Window::Closed
}

/// Who is sending: a person replying, or a campaign/automation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Reply,
    Campaign,
}

/// How a send goes out: Send API `messaging_type` and `tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Response,
    Tagged(Tag),
}

impl Plan {
    pub fn messaging_type(self) -> &'static str {
        match self {
            Plan::Response => "RESPONSE",
            Plan::Tagged(_) => "MESSAGE_TAG",
        }
    }
    pub fn tag(self) -> Option<Tag> {
        match self {
            Plan::Response => None,
            Plan::Tagged(t) => Some(t),
        }
    }
}

/// Why nothing may be sent; said to the agent before any call to Meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Outside the 24-hour window a campaign has nothing left: the update tags
/// were retired and HUMAN_AGENT is for a person.
pub const CAMPAIGN_OUTSIDE_WINDOW: &str = "outside the 24-hour window: campaigns go only to customers inside it (Meta retired the update tags in 2026; HUMAN_AGENT is only for a person's reply)";

/// Decide whether and how a message may go out. `tag` is what the agent chose.
pub fn plan(
    f: &WindowFacts,
    now: TimestampMs,
    tag: Option<Tag>,
    purpose: Purpose,
) -> Result<Plan, Refusal> {
    let w = window(f, now);
    if tag == Some(Tag::HumanAgent) {
        if purpose == Purpose::Campaign {
            return Err(Refusal("HUMAN_AGENT is for a person answering a customer; it is never allowed on a campaign".into()));
        }
        if !f.human_agent_allowed {
            return Err(Refusal("this page has no HUMAN_AGENT permission (set human_agent = true once Meta granted it)".into()));
        }
    }
    match (w, tag) {
        (Window::Open { .. }, _) => Ok(Plan::Response),
        (Window::Never, _) => Err(Refusal("the customer has never written to this account; Meta allows no first message".into())),
        (Window::HumanAgent { .. }, Some(Tag::HumanAgent)) => Ok(Plan::Tagged(Tag::HumanAgent)),
        (Window::Closed, Some(Tag::HumanAgent)) => Err(Refusal("outside the 7-day HUMAN_AGENT window: the customer must write first".into())),
        (_, None) if purpose == Purpose::Campaign => Err(Refusal(CAMPAIGN_OUTSIDE_WINDOW.into())),
        (Window::HumanAgent { closes_at }, None) => Err(Refusal(format!(
            "the 24-hour window closed; a person may still reply with the HUMAN_AGENT tag until {}",
            describe_time(closes_at)
        ))),
        (Window::Closed, None) if f.platform == Platform::Instagram => Err(Refusal(
            "outside Instagram's 24-hour window; only a person's HUMAN_AGENT reply within 7 days is allowed".into(),
        )),
        (Window::Closed, None) => Err(Refusal(
            "outside the 24-hour window; Meta allows nothing more until the customer writes again (HUMAN_AGENT: a person's reply within 7 days, on pages with the permission)".into(),
        )),
    }
}

/// A UTC time for messages (the UI formats local times itself).
pub fn describe_time(t: TimestampMs) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| t.0.to_string())
}

/// Messenger: fewer than 2000 characters. Instagram: at most 1000 bytes.
pub fn check_text(platform: Platform, text: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(Refusal("the message is empty".into()));
    }
    match platform {
        Platform::Messenger => {
            let n = text.chars().count();
            if n >= 2000 {
                return Err(Refusal(format!(
                    "Messenger text must be under 2000 characters; this is {n}"
                )));
            }
        }
        Platform::Instagram => {
            let n = text.len();
            if n > 1000 {
                return Err(Refusal(format!(
                    "Instagram text may be at most 1000 bytes; this is {n}"
                )));
            }
        }
    }
    Ok(())
}

/// (used, limit) for the composer's counter: characters on Messenger, bytes on Instagram.
pub fn text_usage(platform: Platform, text: &str) -> (usize, usize) {
    match platform {
        Platform::Messenger => (text.chars().count(), 1999),
        Platform::Instagram => (text.len(), 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const T0: TimestampMs = TimestampMs(1_700_000_000_000);

    fn facts(p: Platform, ha: bool) -> WindowFacts {
        WindowFacts {
            platform: p,
            last_inbound: Some(T0),
            last_user_message: Some(T0),
            human_agent_allowed: ha,
        }
    }

    #[test]
    fn standard_window_edges() {
        let f = facts(Platform::Messenger, false);
        let at = |ms| T0.plus_ms(ms);
        assert!(matches!(
            window(&f, at(23 * 60 * MIN + 59 * MIN)),
            Window::Open { .. }
        ));
        assert_eq!(window(&f, at(24 * 60 * MIN + MIN)), Window::Closed);
        assert_eq!(
            plan(&f, at(23 * 60 * MIN + 59 * MIN), None, Purpose::Reply),
            Ok(Plan::Response)
        );
        assert!(plan(&f, at(24 * 60 * MIN + MIN), None, Purpose::Reply).is_err());
    }

    #[test]
    fn human_agent_up_to_seven_days_only_with_permission() {
        let at = T0.plus_ms(6 * TimestampMs::DAY + 23 * TimestampMs::HOUR);
        let ok = facts(Platform::Messenger, true);
        assert!(matches!(window(&ok, at), Window::HumanAgent { .. }));
        assert_eq!(
            plan(&ok, at, Some(Tag::HumanAgent), Purpose::Reply),
            Ok(Plan::Tagged(Tag::HumanAgent))
        );
        let no = facts(Platform::Messenger, false);
        assert!(plan(&no, at, Some(Tag::HumanAgent), Purpose::Reply).is_err());
        let late = T0.plus_ms(7 * TimestampMs::DAY + MIN);
        assert!(plan(&ok, late, Some(Tag::HumanAgent), Purpose::Reply).is_err());
    }

    #[test]
    fn instagram_outside_the_window_only_human_agent() {
        let f = facts(Platform::Instagram, true);
        let at = T0.plus_ms(2 * TimestampMs::DAY);
        assert!(plan(&f, at, None, Purpose::Reply).is_err());
        assert_eq!(
            plan(&f, at, Some(Tag::HumanAgent), Purpose::Reply),
            Ok(Plan::Tagged(Tag::HumanAgent))
        );
        assert!(plan(&f, at, None, Purpose::Campaign).is_err());
    }

    #[test]
    fn campaigns_never_use_a_tag_and_stay_inside_the_window() {
        let f = facts(Platform::Messenger, true);
        let at = T0.plus_ms(3 * TimestampMs::DAY);
        assert!(plan(&f, at, Some(Tag::HumanAgent), Purpose::Campaign).is_err());
        assert!(plan(&f, T0, Some(Tag::HumanAgent), Purpose::Campaign).is_err());
        assert_eq!(
            plan(&f, at, None, Purpose::Campaign),
            Err(Refusal(CAMPAIGN_OUTSIDE_WINDOW.into()))
        );
        assert_eq!(plan(&f, T0, None, Purpose::Campaign), Ok(Plan::Response));
        // A Messenger reply 10 days out has no tag left either.
        let late = T0.plus_ms(10 * TimestampMs::DAY);
        assert!(plan(&f, late, None, Purpose::Reply).is_err());
        assert!(plan(&f, late, Some(Tag::HumanAgent), Purpose::Reply).is_err());
    }

    #[test]
    fn retired_tags_are_named_as_retired() {
        for name in [
            "CONFIRMED_EVENT_UPDATE",
            "post_purchase_update",
            "ACCOUNT_UPDATE",
        ] {
            let e = Tag::parse(name).unwrap_err();
            assert!(matches!(e, TagError::Retired(_)), "{name}");
            let line = e.to_string();
            assert!(line.contains("retired"), "{line}");
            assert!(line.contains("HUMAN_AGENT") && line.contains("inside the 24-hour window"));
            assert!(!line.contains('\n'));
        }
        assert_eq!(
            Tag::parse("CUSTOMER_FEEDBACK"),
            Err(TagError::FeedbackTemplateOnly)
        );
        assert!(matches!(Tag::parse("NOPE"), Err(TagError::Unknown(_))));
        assert_eq!(Tag::parse("human_agent"), Ok(Tag::HumanAgent));
    }

    #[test]
    fn never_wrote_means_no_send() {
        let mut f = facts(Platform::Messenger, true);
        f.last_inbound = None;
        f.last_user_message = None;
        assert_eq!(window(&f, T0), Window::Never);
        assert!(plan(&f, T0, Some(Tag::HumanAgent), Purpose::Reply).is_err());
    }

    #[test]
    fn text_limits() {
        assert!(check_text(Platform::Messenger, &"a".repeat(1999)).is_ok());
        assert!(check_text(Platform::Messenger, &"a".repeat(2000)).is_err());
        assert!(check_text(Platform::Messenger, &"é".repeat(1999)).is_ok());
        assert!(check_text(Platform::Instagram, &"a".repeat(1000)).is_ok());
        assert!(check_text(Platform::Instagram, &"é".repeat(501)).is_err());
        assert!(check_text(Platform::Instagram, "  ").is_err());
    }
}
