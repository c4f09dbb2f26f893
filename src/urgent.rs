//! "Most urgent": a customer waiting for an answer (their message is the
//! last one) whose window closes soonest.

use crate::domain::{Conversation, Direction, TimestampMs};
use crate::send::window::{window, Window, WindowFacts};

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
        .filter_map(|c| closes_at(&c, human_agent(&c), now).map(|t| (t, c)))
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
            pick(convs, |_| true, now).map(|c| c.name),
            Some("closing".into())
        );
    }
}
