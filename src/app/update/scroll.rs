//! Scrolling the thread and the message selection in it, measured with
//! the thread's layout (app::thread_layout).

use crate::app::command::Command;
use crate::app::layout;
use crate::app::state::*;
use crate::app::thread_layout::{view_range, Layout};
use crate::domain::Message;
use crate::request::Request;
use std::sync::Arc;

pub(super) fn thread_width(s: &State) -> u16 {
    layout::thread_inner(&s.panes()).0
}

pub(super) fn thread_height(s: &State) -> usize {
    layout::thread_inner(&s.panes()).1 as usize
}

/// Scroll the thread by `delta` lines (positive = older), clamped; ask for
/// older messages when the top of what is loaded comes near.
pub(super) fn scroll_thread(s: &mut State, delta: isize, out: &mut Vec<Command>) {
    let width = thread_width(s);
    let h = thread_height(s);
    let zone = s.opts.zone;
    let now = s.now;
    let Some(t) = s.thread.as_mut() else {
        return;
    };
    let total = t.line_count(width, zone, now);
    let max = total.saturating_sub(h);
    t.scroll = (t.scroll as isize + delta).clamp(0, max as isize) as usize;
    if t.scroll == 0 {
        t.new_below = 0;
    }
    if delta > 0 {
        load_older_near_top(t, total, h, out);
    }
}

fn load_older_near_top(t: &mut ThreadPane, total: usize, h: usize, out: &mut Vec<Command>) {
    if !t.reached_start && !t.loading_older && t.scroll + 2 * h >= total {
        if let Some(first) = t.messages.first() {
            t.loading_older = true;
            out.push(Command::Inbox(Request::Older {
                conv: t.conv.key.clone(),
                before: Box::new(first.clone()),
                limit: THREAD_PAGE,
            }));
        }
    }
}

/// Scroll the view (page keys, wheel); with the thread focused the
/// selection moves along to stay on screen.
pub(super) fn scroll_view(s: &mut State, delta: isize, out: &mut Vec<Command>) {
    scroll_thread(s, delta, out);
    if s.focus == Focus::Thread {
        cursor_into_view(s, false);
    }
}

/// The thread's layout and the view height.
fn thread_geometry(s: &State) -> Option<(Arc<Layout>, usize)> {
    let t = s.thread.as_ref()?;
    let l = t
        .memo
        .measure(&t.layout_source(), thread_width(s), s.opts.zone, s.now);
    Some((l, thread_height(s)))
}

/// Scroll as little as needed to show the selected message (its head when
/// it is taller than the view).
pub(super) fn reveal_cursor(s: &mut State) {
    let Some((l, h)) = thread_geometry(s) else {
        return;
    };
    let Some(t) = s.thread.as_mut() else { return };
    let Some((a, b)) = t.cursor_index().and_then(|i| l.message_lines(i)) else {
        return;
    };
    let total = l.len();
    let (start, end) = view_range(total, h, t.scroll);
    let new_end = if a < start {
        (a + h).min(total)
    } else if b > end {
        b.min(a + h)
    } else {
        return;
    };
    t.scroll = total - new_end;
    if t.scroll == 0 {
        t.new_below = 0;
    }
}

/// Put the selection on a message that is on screen: the nearest one after
/// a scroll, the bottom one when focus comes back to a view that moved on.
fn cursor_into_view(s: &mut State, to_bottom: bool) {
    let Some((l, h)) = thread_geometry(s) else {
        return;
    };
    let Some(t) = s.thread.as_mut() else { return };
    let (start, end) = view_range(l.len(), h, t.scroll);
    let shown = l.slice(start, end);
    let mut shown = shown.iter().filter_map(|(_, o)| *o);
    let Some(lo) = shown.next() else { return };
    let hi = shown.next_back().unwrap_or(lo);
    let Some(i) = t.cursor_index() else { return };
    let j = match i.clamp(lo, hi) {
        j if j != i && to_bottom => hi,
        j => j,
    };
    t.cursor = t.messages.get(j).map(|m| m.mid.clone());
}

/// Move the selection `delta` messages (positive = newer) and scroll to it.
pub(super) fn move_cursor(s: &mut State, delta: isize, out: &mut Vec<Command>) {
    let Some(t) = s.thread.as_mut() else { return };
    let Some(i) = t.cursor_index() else { return };
    let last = t.messages.len().saturating_sub(1);
    let j = (i as isize + delta).clamp(0, last as isize) as usize;
    t.cursor = t.messages.get(j).map(|m| m.mid.clone());
    if delta < 0 && j == i {
        // Already on the oldest loaded: show what is above it, and load it.
        let h = thread_height(s) as isize;
        scroll_view(s, h, out);
        return;
    }
    reveal_cursor(s);
    if delta < 0 {
        let width = thread_width(s);
        let h = thread_height(s);
        let (zone, now) = (s.opts.zone, s.now);
        if let Some(t) = s.thread.as_mut() {
            let total = t.line_count(width, zone, now);
            load_older_near_top(t, total, h, out);
        }
    }
}

/// Focus moves to the thread: the selection is shown, so it must be on screen.
pub(super) fn focus_thread(s: &mut State) {
    s.focus = Focus::Thread;
    cursor_into_view(s, true);
}

/// Select the message drawn on this row of the thread pane (a click).
pub(super) fn select_at_row(s: &mut State, row: usize) {
    let Some((l, h)) = thread_geometry(s) else {
        return;
    };
    let Some(t) = s.thread.as_mut() else { return };
    let (start, end) = view_range(l.len(), h, t.scroll);
    if let Some(i) = (start + row < end).then(|| l.owner(start + row)).flatten() {
        t.cursor = t.messages.get(i).map(|m| m.mid.clone());
    }
}

/// What copy and retry act on: with the thread focused, the selected
/// message; otherwise the message at the bottom of the view.
pub(super) fn selected_message(s: &State) -> Option<&Message> {
    let t = s.thread.as_ref()?;
    if s.focus == Focus::Thread {
        return t.cursor_index().and_then(|i| t.messages.get(i));
    }
    let l = t
        .memo
        .measure(&t.layout_source(), thread_width(s), s.opts.zone, s.now);
    let bottom = l.len().checked_sub(1 + t.scroll)?;
    l.owner_at_or_above(bottom).and_then(|i| t.messages.get(i))
}

#[cfg(test)]
mod tests {
    use super::{selected_message, thread_height};
    use crate::app::command::Command;
    use crate::app::fixtures as fx;
    use crate::app::state::{Focus, State};
    use crate::domain::*;
    use crate::request::Request;
    use ratatui::crossterm::event::KeyCode;

    /// A thread of `n` short messages whose start is not loaded yet.
    fn open(s: &mut State, n: i64) -> Conversation {
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        let msgs = (0..n)
            .map(|i| fx::inbound(&c.key, &format!("m{i}"), n - i, &format!("message {i}")))
            .collect();
        fx::open_with(s, c.clone(), msgs);
        if let Some(t) = s.thread.as_mut() {
            t.reached_start = false; // more history before these
        }
        c
    }

    fn scroll(s: &State) -> usize {
        s.thread.as_ref().map_or(0, |t| t.scroll)
    }

    #[test]
    fn page_keys_scroll_by_a_page_and_never_past_the_ends() {
        let mut s = fx::state(100, 30);
        open(&mut s, 60);
        let page = thread_height(&s) - 2;
        fx::press(&mut s, KeyCode::PageUp);
        assert_eq!(scroll(&s), page);
        fx::press(&mut s, KeyCode::PageDown);
        fx::press(&mut s, KeyCode::PageDown);
        assert_eq!(scroll(&s), 0, "not below the newest");
        for _ in 0..100 {
            fx::press(&mut s, KeyCode::PageUp);
        }
        let t = s.thread.as_ref().unwrap();
        let (w, h) = crate::app::layout::thread_inner(&s.panes());
        let most = t.line_count(w, s.opts.zone, s.now) - h as usize;
        assert_eq!(scroll(&s), most, "not above the oldest loaded line");
    }

    #[test]
    fn nearing_the_top_asks_once_for_the_older_page() {
        let mut s = fx::state(100, 30);
        let c = open(&mut s, 60);
        let mut asked = Vec::new();
        for _ in 0..10 {
            asked.extend(fx::press(&mut s, KeyCode::PageUp));
        }
        let older: Vec<_> = asked
            .iter()
            .filter_map(|c| match c {
                Command::Inbox(Request::Older { conv, before, .. }) => {
                    Some((conv, before.mid.as_str()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            older,
            vec![(&c.key, "m0")],
            "one request, before the oldest"
        );
        assert!(s.thread.as_ref().is_some_and(|t| t.loading_older));
    }

    #[test]
    fn the_selection_moves_by_message_and_g_and_shift_g_jump() {
        let mut s = fx::state(100, 30);
        open(&mut s, 5);
        assert_eq!(s.focus, Focus::Thread);
        let mid = |s: &State| selected_message(s).map(|m| m.mid.as_str().to_string());
        assert_eq!(mid(&s).as_deref(), Some("m4"));
        fx::press(&mut s, KeyCode::Char('k'));
        fx::press(&mut s, KeyCode::Char('k'));
        assert_eq!(mid(&s).as_deref(), Some("m2"));
        fx::press(&mut s, KeyCode::Char('j'));
        assert_eq!(mid(&s).as_deref(), Some("m3"));
        fx::press(&mut s, KeyCode::Char('g'));
        assert_eq!(mid(&s).as_deref(), Some("m0"));
        fx::press(&mut s, KeyCode::Char('G'));
        assert_eq!(mid(&s).as_deref(), Some("m4"));
        assert_eq!(scroll(&s), 0);
    }
}
