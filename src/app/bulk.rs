//! The bulk-send preview: who a campaign would reach, and why not the others.

use crate::domain::{ConvKey, Conversation, TimestampMs};
use crate::send::window::{plan, window, Purpose, Tag, Window, WindowFacts};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// Inside the 24 h window: a standard message.
    pub inside: usize,
    /// Outside the window but the chosen tag covers them.
    pub tagged: usize,
    /// Outside the window with no tag chosen (Messenger: a tag would do).
    pub needs_tag: usize,
    /// Nothing may be sent; (name, why).
    pub unreachable: Vec<(String, String)>,
    /// Who the campaign will be sent to.
    pub recipients: Vec<ConvKey>,
}

pub fn preview<'a>(
    convs: impl IntoIterator<Item = &'a Conversation>,
    human_agent: impl Fn(&Conversation) -> bool,
    now: TimestampMs,
    tag: Option<Tag>,
) -> Preview {
    let mut p = Preview::default();
    for c in convs {
        let facts = WindowFacts::of(c, human_agent(c));
        if plan(&facts, now, None, Purpose::Campaign).is_ok() {
            p.inside += 1;
            p.recipients.push(c.key.clone());
            continue;
        }
        if window(&facts, now) == Window::Never {
            p.unreachable
                .push((c.name.clone(), "the customer never wrote".into()));
            continue;
        }
        match tag {
            Some(t) => match plan(&facts, now, Some(t), Purpose::Campaign) {
                Ok(_) => {
                    p.tagged += 1;
                    p.recipients.push(c.key.clone());
                }
                Err(r) => p.unreachable.push((c.name.clone(), r.0)),
            },
            None => {
                // Would any campaign tag reach them?
                let some_tag = Tag::CAMPAIGN_TAGS
                    .iter()
                    .any(|t| plan(&facts, now, Some(*t), Purpose::Campaign).is_ok());
                if some_tag {
                    p.needs_tag += 1;
                } else {
                    let why = plan(&facts, now, None, Purpose::Campaign)
                        .err()
                        .map(|r| r.0)
                        .unwrap_or_default();
                    p.unreachable.push((c.name.clone(), why));
                }
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    const NOW: TimestampMs = TimestampMs(1_700_000_000_000);

    fn conv(p: Platform, user: &str, inbound_ago_h: Option<i64>) -> Conversation {
        let mut c = Conversation::new(ConvKey::new(p, "acc", user), user.to_string());
        c.last_inbound = inbound_ago_h.map(|h| NOW.plus_ms(-h * TimestampMs::HOUR));
        c.last_user_message = c.last_inbound;
        c
    }

    #[test]
    fn counts_inside_needs_tag_and_unreachable() {
        let convs = vec![
            conv(Platform::Messenger, "a", Some(1)),
            conv(Platform::Messenger, "b", Some(30)),
            conv(Platform::Instagram, "c", Some(30)),
            conv(Platform::Messenger, "d", None),
            conv(Platform::Instagram, "e", Some(2)),
        ];
        let p = preview(&convs, |_| true, NOW, None);
        // No tag is left for campaigns: outside the window is unreachable.
        assert_eq!(p.inside, 2);
        assert_eq!(p.needs_tag, 0);
        assert_eq!(p.unreachable.len(), 3);
        assert_eq!(p.recipients.len(), 2);
        assert!(p
            .unreachable
            .iter()
            .any(|(n, why)| n == "b" && why.contains("retired")));
    }
}
