//! The open view's sizes by whose (mine, unassigned, all), shown side by
//! side in the list's title. Read with one request after a list window
//! arrives, never in front of one, and only again after something that
//! may change them: a conversation entering or leaving the open view or
//! changing hands.

use crate::app::command::Command;
use crate::app::state::*;
use crate::app::team::ViewCounts;
use crate::domain::{Conversation, TimestampMs};
use crate::filter::View;
use crate::request::Request;
use crate::team::AgentName;

/// A list window arrived (or the clock moved): ask for the counts when they
/// may have changed, the open view is shown, and none is on its way.
pub(super) fn ask_if_due(s: &mut State, out: &mut Vec<Command>) {
    if !matches!(s.list.filter.view, View::Open { .. }) || !s.team.counts.due(s.now) {
        return;
    }
    s.team.counts.asked(s.now);
    out.push(Command::Inbox(Request::ViewCounts {
        me: s.opts.me.as_deref().map(AgentName::new),
    }));
}

pub(super) fn loaded(s: &mut State, counts: ViewCounts) {
    s.team.counts.answered(counts);
}

/// Something may have moved the counts.
pub(super) fn changed(s: &mut State) {
    s.team.counts.fresh = false;
}

/// Snoozes wake as the minute turns, and nothing writes when they do.
/// Counts that became due with no list window to wait for are asked now;
/// the first ones always wait for the first window.
pub(super) fn clock_moved(s: &mut State, before: TimestampMs, out: &mut Vec<Command>) {
    if s.now.0 / 60_000 != before.0 / 60_000 {
        changed(s);
    }
    if s.team.counts.asked_at.is_some() {
        ask_if_due(s, out);
    }
}

/// A conversation changed: the counts move when it is new here, enters or
/// leaves the open view, or changes hands.
pub(super) fn conversation(s: &mut State, c: &Conversation) {
    let open = View::Open { at: s.now };
    let was = s
        .list
        .rows
        .iter()
        .chain(s.thread.as_ref().map(|t| &t.conv))
        .find(|r| r.key == c.key);
    let moved = was.is_none_or(|o| o.assignee != c.assignee || open.matches(o) != open.matches(c));
    if moved {
        changed(s);
    }
}

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::event::{Event, Reply};
    use crate::app::fixtures::{self as fx, NOW};
    use crate::app::state::State;
    use crate::app::update;
    use crate::request::Request;
    use crate::update::Update;
    use ratatui::crossterm::event::KeyCode;

    fn asks(cmds: &[Command]) -> usize {
        let ask = Command::Inbox(Request::ViewCounts {
            me: Some("alice".into()),
        });
        cmds.iter().filter(|c| **c == ask).count()
    }

    /// The list window's answer, as the store would send it.
    fn window(s: &mut State) -> Vec<Command> {
        let rows = fx::three();
        update(
            s,
            Event::Inbox(Reply::List(crate::request::ListRows {
                offset: 0,
                rows,
                total: None,
                generation: s.list.generation,
            })),
        )
    }

    /// The inbox answers the counts: nobody's 3 of 3.
    fn answer(s: &mut State) -> Vec<Command> {
        update(
            s,
            Event::Inbox(Reply::ViewCounts {
                mine: 0,
                unassigned: 3,
                all: 3,
            }),
        )
    }

    fn tick(s: &mut State, ms: i64) -> Vec<Command> {
        update(
            s,
            Event::Tick {
                now: s.now.plus_ms(ms),
            },
        )
    }

    #[test]
    fn counts_are_asked_once_after_the_first_window_never_with_the_list_load() {
        let mut s = fx::state(100, 30);
        let start = update::init(&mut s);
        assert_eq!(asks(&start), 0, "not in front of the first list load");
        assert_eq!(asks(&tick(&mut s, 1_000)), 0, "nor before its window");
        assert_eq!(asks(&window(&mut s)), 1);
        // Answered: shown, and nothing changed, so no more asking.
        update(
            &mut s,
            Event::Inbox(Reply::ViewCounts {
                mine: 1,
                unassigned: 2,
                all: 3,
            }),
        );
        assert_eq!(s.team.counts.shown.map(|c| c.all), Some(3));
        assert_eq!(asks(&window(&mut s)), 0);
        assert_eq!(asks(&tick(&mut s, 10_000)), 0);
        // Switching whose moves nothing the counts hold.
        let cmds = fx::press(&mut s, KeyCode::Char('m'));
        assert_eq!(asks(&cmds), 0);
        assert_eq!(asks(&window(&mut s)), 0);
    }

    #[test]
    fn a_conversation_changing_hands_or_views_asks_again_after_the_window_at_most_every_5s() {
        let mut s = fx::state(100, 30);
        window(&mut s);
        answer(&mut s);
        // A new message in a loaded row that stays open and nobody's.
        let mut c = s.list.rows[0].clone();
        c.unread += 1;
        update(
            &mut s,
            Event::Update(Update::Conversation(Box::new(c.clone()))),
        );
        assert_eq!(asks(&window(&mut s)), 0, "nothing moved");
        // Taken by bob: asked after the window, once the 5 s have passed.
        c.assignee = Some("bob".into());
        let cmds = update(
            &mut s,
            Event::Update(Update::Conversation(Box::new(c.clone()))),
        );
        assert_eq!(asks(&cmds), 0, "the list loads first");
        assert_eq!(asks(&window(&mut s)), 0, "5 s since the last ask");
        s.now = NOW.plus_ms(5_000);
        assert_eq!(asks(&window(&mut s)), 1);
        // One at a time: another change waits for the answer.
        c.status = crate::domain::ConvStatus::Resolved;
        update(&mut s, Event::Update(Update::Conversation(Box::new(c))));
        s.now = s.now.plus_ms(5_000);
        assert_eq!(asks(&window(&mut s)), 0, "one on its way");
        answer(&mut s);
        assert_eq!(
            asks(&tick(&mut s, 1)),
            1,
            "asked when due, with no window to wait for"
        );
        // A conversation never seen here may be new.
        answer(&mut s);
        s.now = s.now.plus_ms(5_000);
        let new = fx::conv(crate::domain::Platform::Messenger, "u9", "Nia", 1, 1);
        update(&mut s, Event::Update(Update::Conversation(Box::new(new))));
        assert_eq!(asks(&window(&mut s)), 1);
    }

    /// From the team trial: an attached UI's counts stayed stale, since it
    /// hears of other conversations only as a digest of keys.
    #[test]
    fn a_digest_of_changed_conversations_or_a_reload_asks_again() {
        let mut s = fx::state(100, 30);
        window(&mut s);
        answer(&mut s);
        s.now = NOW.plus_ms(5_000);
        let digest = |changed: Vec<_>| Update::Digest {
            events: 1,
            inbound: 0,
            changed,
            more: false,
            unread_conversations: None,
        };
        update(&mut s, Event::Update(digest(vec![])));
        assert_eq!(asks(&window(&mut s)), 0, "a digest naming nothing");
        let k = s.list.rows[1].key.clone();
        update(&mut s, Event::Update(digest(vec![(k, 0)])));
        assert_eq!(asks(&window(&mut s)), 1);
        answer(&mut s);
        s.now = s.now.plus_ms(5_000);
        update(&mut s, Event::Lagged);
        assert_eq!(asks(&window(&mut s)), 1, "missed updates: counted again");
    }

    #[test]
    fn other_views_do_not_ask_and_the_open_view_asks_on_return() {
        let mut s = fx::state(100, 30);
        fx::press(&mut s, KeyCode::Char('f'));
        assert_eq!(asks(&window(&mut s)), 0, "the counts are the open view's");
        for _ in 0..3 {
            fx::press(&mut s, KeyCode::Char('f'));
        }
        assert_eq!(s.list.filter.view.name(), "open");
        assert_eq!(asks(&window(&mut s)), 1);
    }
}
