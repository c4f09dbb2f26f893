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

use crate::domain::{Platform, TimestampMs};
use std::fmt;

pub const STANDARD_MS: i64 = 24 * TimestampMs::HOUR;
pub const HUMAN_AGENT_MS: i64 = 7 * TimestampMs::DAY;

/// Message tags dmdesk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Tag {
    HumanAgent,
    ConfirmedEventUpdate,
    PostPurchaseUpdate,
    AccountUpdate,
}

impl Tag {
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::HumanAgent => "HUMAN_AGENT",
            Tag::ConfirmedEventUpdate => "CONFIRMED_EVENT_UPDATE",
            Tag::PostPurchaseUpdate => "POST_PURCHASE_UPDATE",
            Tag::AccountUpdate => "ACCOUNT_UPDATE",
        }
    }
    pub fn parse(s: &str) -> Option<Tag> {
        match s.to_ascii_uppercase().as_str() {
            "HUMAN_AGENT" => Some(Tag::HumanAgent),
            "CONFIRMED_EVENT_UPDATE" => Some(Tag::ConfirmedEventUpdate),
            "POST_PURCHASE_UPDATE" => Some(Tag::PostPurchaseUpdate),
            "ACCOUNT_UPDATE" => Some(Tag::AccountUpdate),
            _ => None,
        }
    }
    /// What the tag allows, for the confirmation an agent reads.
    pub fn allows(self) -> &'static str {
        match self {
            Tag::HumanAgent => "a person answering this customer's question, up to 7 days after their last message; no automation",
            Tag::ConfirmedEventUpdate => "reminders or updates about an event the customer has registered for; no promotions",
            Tag::PostPurchaseUpdate => "updates about a purchase the customer made (shipping, order status); no promotions",
            Tag::AccountUpdate => "a non-recurring change to the customer's account or application; no promotions",
        }
    }
    /// Tags a campaign may carry (never HUMAN_AGENT: it is for a person).
    pub const CAMPAIGN_TAGS: [Tag; 3] = [
        Tag::ConfirmedEventUpdate,
        Tag::PostPurchaseUpdate,
        Tag::AccountUpdate,
    ];
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
    /// Nothing standard; Messenger tags other than HUMAN_AGENT may still apply.
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

/// Decide whether and how a message may go out. `tag` is what the agent chose.
pub fn plan(
    f: &WindowFacts,
    now: TimestampMs,
    tag: Option<Tag>,
    purpose: Purpose,
) -> Result<Plan, Refusal> {
    let w = window(f, now);
    if let Some(t) = tag {
        if t == Tag::HumanAgent && purpose == Purpose::Campaign {
            return Err(Refusal("HUMAN_AGENT is for a person answering a customer; it is never allowed on a campaign".into()));
        }
        if f.platform == Platform::Instagram && t != Tag::HumanAgent {
            return Err(Refusal(format!(
                "{t} does not exist on Instagram; only HUMAN_AGENT does"
            )));
        }
        if t == Tag::HumanAgent && !f.human_agent_allowed {
            return Err(Refusal("this page has no HUMAN_AGENT permission (set human_agent = true once Meta granted it)".into()));
        }
    }
    match (w, tag) {
        (Window::Open { .. }, _) => Ok(Plan::Response),
        (Window::Never, _) => Err(Refusal("the customer has never written to this account; Meta allows no first message".into())),
        (Window::HumanAgent { .. }, Some(Tag::HumanAgent)) => Ok(Plan::Tagged(Tag::HumanAgent)),
        (Window::HumanAgent { closes_at }, _) if purpose == Purpose::Reply && tag.is_none() => Err(Refusal(format!(
            "the 24-hour window closed; a person may still reply with the HUMAN_AGENT tag until {}",
            crate::send::window::describe_time(closes_at)
        ))),
        (Window::Closed, Some(Tag::HumanAgent)) => Err(Refusal("outside the 7-day HUMAN_AGENT window: the customer must write first".into())),
        (Window::Closed | Window::HumanAgent { .. }, Some(t)) if f.platform == Platform::Messenger => Ok(Plan::Tagged(t)),
        (_, None) if f.platform == Platform::Instagram => Err(Refusal(
            "outside Instagram's 24-hour window; only a person's HUMAN_AGENT reply within 7 days is allowed".into(),
        )),
        _ => Err(Refusal(
            "outside the 24-hour window; a non-promotional tag (CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE) is needed".into(),
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
    fn instagram_accepts_only_human_agent() {
        let f = facts(Platform::Instagram, true);
        let at = T0.plus_ms(2 * TimestampMs::DAY);
        assert!(plan(&f, at, Some(Tag::PostPurchaseUpdate), Purpose::Reply).is_err());
        assert_eq!(
            plan(&f, at, Some(Tag::HumanAgent), Purpose::Reply),
            Ok(Plan::Tagged(Tag::HumanAgent))
        );
        assert!(plan(&f, at, None, Purpose::Campaign).is_err());
    }

    #[test]
    fn campaigns_never_use_human_agent_but_may_use_update_tags() {
        let f = facts(Platform::Messenger, true);
        let at = T0.plus_ms(3 * TimestampMs::DAY);
        assert!(plan(&f, at, Some(Tag::HumanAgent), Purpose::Campaign).is_err());
        assert!(plan(&f, T0, Some(Tag::HumanAgent), Purpose::Campaign).is_err());
        assert_eq!(
            plan(&f, at, Some(Tag::PostPurchaseUpdate), Purpose::Campaign),
            Ok(Plan::Tagged(Tag::PostPurchaseUpdate))
        );
        assert_eq!(plan(&f, T0, None, Purpose::Campaign), Ok(Plan::Response));
    }

    #[test]
    fn never_wrote_means_no_send() {
        let mut f = facts(Platform::Messenger, true);
        f.last_inbound = None;
        f.last_user_message = None;
        assert_eq!(window(&f, T0), Window::Never);
        assert!(plan(&f, T0, Some(Tag::AccountUpdate), Purpose::Reply).is_err());
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
