//! The bulk-send preview: who a campaign would reach, and why not the others.
//! The rule is the campaign's own (src/rules/eligibility.rs), so the counts
//! here are what the campaign does with the same facts.

use crate::domain::{ConvKey, Conversation, TimestampMs};
use crate::rules::eligibility::{self, Pages, Recipient, Skip, Verdict};
use crate::rules::window::Tag;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// Inside the 24 h window: a standard message.
    pub inside: usize,
    /// Outside the window but a tag covers them: always 0 since Meta
    /// retired the update tags (kept for the popup's layout).
    pub tagged: usize,
    /// Outside the window with no tag chosen: always 0, as above.
    pub needs_tag: usize,
    /// Outside the 24-hour window (also counted in `unreachable`).
    pub outside_window: usize,
    /// Nothing may be sent; (name, why).
    pub unreachable: Vec<(String, String)>,
    /// Who the campaign will be sent to.
    pub recipients: Vec<ConvKey>,
    /// (name, text): the message as the first recipient will read it.
    pub example: Option<(String, String)>,
}

/// `text` is the template the agent typed; each recipient gets it rendered.
/// `pages.dead` holds the dead tokens the owner reported (a token that dies
/// later stops the campaign, resumably).
pub fn preview<'a>(
    pages: &Pages,
    convs: impl IntoIterator<Item = &'a Conversation>,
    text: &str,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Preview {
    let mut p = Preview::default();
    for c in convs {
        // The terminal holds the list rows, not contacts: names come from
        // the row (the campaign renders from the contact when it has one).
        let r = Recipient {
            key: &c.key,
            conv: Some(c),
            contact: None,
        };
        match eligibility::check_text(pages, r, text, tag, now) {
            Verdict::Send { text, .. } => {
                p.inside += 1;
                p.recipients.push(c.key.clone());
                if p.example.is_none() {
                    p.example = Some((c.name.clone(), text));
                }
            }
            Verdict::Skip(s) => {
                if matches!(s, Skip::Window(_)) {
                    p.outside_window += 1;
                }
                p.unreachable.push((c.name.clone(), s.to_string()));
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PageInfo;
    use crate::domain::{AccountId, Platform};

    const NOW: TimestampMs = TimestampMs(1_700_000_000_000);

    fn pages() -> Pages {
        Pages::new(vec![PageInfo {
            id: AccountId::new("acc"),
            name: "Shop".into(),
            instagram_id: Some(AccountId::new("ig")),
            human_agent: true,
        }])
    }

    fn conv(p: Platform, user: &str, inbound_ago_h: Option<i64>) -> Conversation {
        let acc = if p == Platform::Messenger {
            "acc"
        } else {
            "ig"
        };
        let mut c = Conversation::new(ConvKey::new(p, acc, user), format!("{user} Smith"));
        c.last_inbound = inbound_ago_h.map(|h| NOW.plus_ms(-h * TimestampMs::HOUR));
        c.last_user_message = c.last_inbound;
        c
    }

    #[test]
    fn counts_inside_and_unreachable_with_reasons() {
        let mut standby = conv(Platform::Messenger, "f", Some(1));
        standby.standby = true;
        let mut other = conv(Platform::Messenger, "g", Some(1));
        other.key.account = AccountId::new("elsewhere");
        let convs = vec![
            conv(Platform::Messenger, "a", Some(1)),
            conv(Platform::Messenger, "b", Some(30)),
            conv(Platform::Instagram, "c", Some(30)),
            conv(Platform::Messenger, "d", None),
            conv(Platform::Instagram, "e", Some(2)),
            standby,
            other,
        ];
        let p = preview(&pages(), &convs, "Thanks {first_name}!", None, NOW);
        assert_eq!(p.inside, 2);
        assert_eq!(p.recipients.len(), 2);
        assert_eq!((p.tagged, p.needs_tag), (0, 0));
        assert_eq!(p.outside_window, 2);
        assert_eq!(p.unreachable.len(), 5);
        let why = |n: &str| {
            p.unreachable
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, w)| w.clone())
                .unwrap()
        };
        assert!(why("b Smith").contains("retired"));
        assert!(why("d Smith").contains("never wrote"));
        assert!(why("f Smith").contains("standby"));
        assert!(why("g Smith").contains("not in the config"));
        assert_eq!(
            p.example,
            Some(("a Smith".to_string(), "Thanks a!".to_string()))
        );
    }

    #[test]
    fn an_unknown_variable_reaches_nobody() {
        let convs = vec![conv(Platform::Messenger, "a", Some(1))];
        let p = preview(&pages(), &convs, "Thanks {frist_name}!", None, NOW);
        assert_eq!(p.inside, 0);
        assert!(p.unreachable[0].1.contains("unknown variable {frist_name}"));
    }
}
