//! "Most urgent": a customer waiting for an answer (their message is the
//! last one) whose window closes soonest, with the conversation's priority
//! moving it forward: it counts as closing that much sooner.

use crate::domain::{Conversation, Direction, TimestampMs};
use crate::rules::window::{window, Window, WindowFacts};
use crate::team::Priority;

/// How much sooner a conversation of this priority counts as closing: an
/// urgent one with 20 hours left goes before a plain one with 5 hours, not
/// before one about to close in minutes.
pub fn head_start(p: Priority) -> i64 {
    TimestampMs::HOUR
        * match p {
            Priority::None => 0,
            Priority::Low => 1,
            Priority::Medium => 3,
            Priority::High => 8,
            Priority::Urgent => 16,
        }
}

/// When this conversation's window closes, if the customer is waiting.
pub fn closes_at(c: &Conversation, human_agent: bool, now: TimestampMs) -> Option<TimestampMs> {
    if c.last_direction != Some(Direction::In) {
        return None;
    }
    match window(&WindowFacts::of(c, human_agent), now) {
        Window::Open { closes_at } | Window::HumanAgent { closes_at } => Some(closes_at),
        Window::Closed | Window::Never => None,
    }
}

/// The most urgent of `convs`.
pub fn pick(
    convs: impl IntoIterator<Item = Conversation>,
    human_agent: impl Fn(&Conversation) -> bool,
    now: TimestampMs,
) -> Option<Conversation> {
    convs
        .into_iter()
        .filter_map(|c| {
            closes_at(&c, human_agent(&c), now).map(|t| (t.0 - head_start(c.priority), c))
        })
        .min_by_key(|(t, _)| *t)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConvKey, Platform};

    #[test]
    fn picks_waiting_customer_closing_soonest() {
        let now = TimestampMs(10 * TimestampMs::DAY);
        let mk = |u: &str, ago_h: i64, dir: Direction| {
            let mut c = Conversation::new(ConvKey::new(Platform::Messenger, "p", u), u.into());
            c.last_inbound = Some(now.plus_ms(-ago_h * TimestampMs::HOUR));
            c.last_user_message = c.last_inbound;
            c.last_direction = Some(dir);
            c
        };
        let convs = vec![
            mk("answered", 23, Direction::Out),
            mk("fresh", 1, Direction::In),
            mk("closing", 20, Direction::In),
            mk("closed", 30, Direction::In),
        ];
        assert_eq!(
            pick(convs.clone(), |_| false, now).map(|c| c.name),
            Some("closing".into())
        );
        // With HUMAN_AGENT the closed-standard one is still reachable, but closes later.
        assert_eq!(
            pick(convs.clone(), |_| true, now).map(|c| c.name),
            Some("closing".into())
        );
        // "fresh" closes in 23 h, "closing" in 4 h: urgent moves fresh
        // forward 16 h (to 7 h), still after; high priority on "closing"
        // keeps it first; urgent on a 1 h-old one beats a plain 20 h-old
        // one only within its head start.
        let mut v = convs.clone();
        v[1].priority = Priority::Urgent;
        assert_eq!(
            pick(v.clone(), |_| false, now).map(|c| c.name),
            Some("closing".into())
        );
        let mut late = mk("late", 12, Direction::In); // closes in 12 h
        late.priority = Priority::Urgent; // counts as closing in -4 h
        v.push(late);
        assert_eq!(pick(v, |_| false, now).map(|c| c.name), Some("late".into()));
        // Not waiting (answered) stays out whatever its priority.
        let mut answered = convs[0].clone();
        answered.priority = Priority::Urgent;
        assert_eq!(pick(vec![answered], |_| false, now), None);
    }
}
