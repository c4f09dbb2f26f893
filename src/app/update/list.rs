//! The conversation list: its window of rows, the selection, filters,
//! and marking every conversation that matches.

use super::status::{info, set_unread};
use crate::app::command::Command;
use crate::app::event::ListRows;
use crate::app::state::*;
use crate::domain::{Conversation, TimestampMs};
use crate::filter::View;
use crate::request::Request;

pub(super) fn load_list(s: &State, count: bool) -> Command {
    Command::Inbox(Request::List {
        filter: s.list.filter.at(s.now),
        offset: s.list.top,
        limit: s.list.visible.max(1),
        count,
        generation: s.list.generation,
    })
}

/// The conversation an action applies to: the open one in the thread or
/// composer, the selected row in the list.
pub(super) fn target(s: &State) -> Option<Conversation> {
    match s.focus {
        Focus::List => s.list.selected_row().cloned(),
        _ => s.thread.as_ref().map(|t| t.conv.clone()),
    }
}

/// With the list focused, whether its selected row is the open conversation
/// (always true with the thread or composer focused).
pub(super) fn list_row_is_open(s: &State) -> bool {
    s.focus != Focus::List
        || s.open_key().is_some() && s.list.selected_row().map(|c| &c.key) == s.open_key()
}

pub(super) fn keep_selection_visible(s: &mut State) {
    let vis = s.list.visible.max(1);
    if s.list.selected < s.list.top {
        s.list.top = s.list.selected;
    } else if s.list.selected >= s.list.top + vis {
        s.list.top = s.list.selected + 1 - vis;
    }
}

pub(super) fn move_selection(s: &mut State, delta: isize, out: &mut Vec<Command>) {
    let max = s.list.max_index();
    let new = (s.list.selected as isize + delta).clamp(0, max as isize) as usize;
    select_row(s, new, None, out);
}

/// Select row `new`; with `top`, show the window from there (paging),
/// else scroll as little as needed. The selected key is the row's as
/// loaded, or none until the window's rows arrive: never the row that
/// used to sit at that screen position.
pub(super) fn select_row(s: &mut State, new: usize, top: Option<usize>, out: &mut Vec<Command>) {
    let old_top = s.list.top;
    if new == s.list.selected && top.is_none_or(|t| t == old_top) {
        return;
    }
    s.list.selected = new;
    s.list.selected_key = s.list.row(new).map(|c| c.key.clone());
    if let Some(t) = top {
        s.list.top = t;
    }
    keep_selection_visible(s);
    if s.list.top != old_top {
        out.push(load_list(s, false));
    }
}

/// PgUp/PgDn in the list: the window and the selection move a page.
pub(super) fn page_list(s: &mut State, pages: isize, out: &mut Vec<Command>) {
    let vis = s.list.visible.max(1) as isize;
    let max = s.list.max_index() as isize;
    let top = (s.list.top as isize + pages * vis).clamp(0, (max + 1 - vis).max(0));
    let sel = (s.list.selected as isize + pages * vis).clamp(0, max);
    select_row(s, sel as usize, Some(top as usize), out);
}

/// Snoozes run out as time passes and nothing writes when they do: a view
/// that judges them loads again (with its count) when the minute turns.
pub(super) fn clock_moved(s: &State, before: TimestampMs, out: &mut Vec<Command>) {
    let judges_snoozes = matches!(s.list.filter.view, View::Open { .. } | View::Snoozed { .. });
    if judges_snoozes && s.now.0 / 60_000 != before.0 / 60_000 {
        out.push(load_list(s, true));
    }
}

pub(super) fn filter_changed(s: &mut State, out: &mut Vec<Command>) {
    if s.list.marking.take().is_some() {
        info(
            s,
            Level::Error,
            "marking all matching stopped: the filter changed",
        );
    }
    s.list.generation += 1;
    s.list.top = 0;
    s.list.selected = 0;
    s.list.selected_key = None;
    s.list.total = None;
    out.push(load_list(s, true));
}

pub(super) fn list_loaded(s: &mut State, r: ListRows, out: &mut Vec<Command>) {
    if r.generation & MARKING != 0 {
        return marking_loaded(s, r, out);
    }
    if r.generation != s.list.generation || r.offset != s.list.top {
        return; // a stale answer to an older request
    }
    if s.list.marking.is_some() {
        // A later list load supersedes an earlier one at the edge, so the
        // marking page may have been dropped: ask again (a repeated page
        // is recognised by its offset and ignored).
        out.push(marking_page(s));
    }
    for c in &r.rows {
        set_unread(s, &c.key, c.unread);
        s.team.saw(c);
    }
    s.list.rows = r.rows;
    sort_rows(s);
    s.list.rows_top = r.offset;
    s.list.rows_generation = r.generation;
    if let Some(t) = r.total {
        s.list.total = Some(t);
    }
    if s.list.rows.len() < s.list.visible {
        s.list.total = Some((s.list.top + s.list.rows.len()) as u64);
    }
    if let Some(i) = s
        .list
        .selected_key
        .as_ref()
        .and_then(|k| s.list.rows.iter().position(|c| &c.key == k))
    {
        s.list.selected = r.offset + i;
    }
    s.list.selected = s.list.selected.min(s.list.max_index());
    if s.list.selected < s.list.top {
        // The list shrank under the window: show the last rows.
        s.list.top = s.list.selected;
        out.push(load_list(s, false));
    }
    s.list.selected_key = s.list.selected_row().map(|c| c.key.clone());
    super::view_counts::ask_if_due(s, out);
}

/// With "by priority", the loaded rows are ordered by priority, highest
/// first, keeping activity order among equals: the store returns them so,
/// and this keeps rows changed live in that order until the next load.
pub(super) fn sort_rows(s: &mut State) {
    if s.list.sort == Sort::Priority {
        s.list.rows.sort_by_key(|c| std::cmp::Reverse(c.priority));
    }
}

/// The next page of "mark all matching".
fn marking_page(s: &State) -> Command {
    let offset = s.list.marking.as_ref().map_or(0, |m| m.offset);
    Command::Inbox(Request::List {
        filter: s.list.filter.at(s.now),
        offset,
        limit: MARK_PAGE,
        count: false,
        generation: s.list.generation | MARKING,
    })
}

pub(super) fn mark_matching(s: &mut State, out: &mut Vec<Command>) {
    let l = &s.list;
    let all_loaded = l.rows_top == 0 && l.total.is_some_and(|t| l.rows.len() as u64 >= t);
    if all_loaded {
        // Everything matching is on screen already.
        let rows = s.list.rows.clone();
        let n = rows.len();
        for c in rows {
            s.marked.insert(c.key.clone(), c);
        }
        let msg = format!("marked all {n} matching conversation(s)");
        info(s, Level::Info, &msg);
        return;
    }
    s.list.marking = Some(Marking {
        generation: s.list.generation,
        offset: 0,
        seen: 0,
    });
    out.push(marking_page(s));
    let msg = match s.list.total {
        Some(n) => format!("marking all {n} matching conversations…"),
        None => "marking all matching conversations…".to_string(),
    };
    info(s, Level::Info, &msg);
}

fn marking_loaded(s: &mut State, r: ListRows, out: &mut Vec<Command>) {
    let Some(m) = s.list.marking.as_mut() else {
        return;
    };
    if r.generation != m.generation | MARKING || r.offset != m.offset {
        return; // another filter, or a page already counted
    }
    let last = r.rows.len() < MARK_PAGE;
    m.offset += r.rows.len();
    m.seen += r.rows.len();
    let seen = m.seen;
    for c in r.rows {
        s.marked.insert(c.key.clone(), c);
    }
    if last {
        s.list.marking = None;
        let msg = format!("marked all {seen} matching conversation(s)");
        info(s, Level::Info, &msg);
        // A window load may have given way to the pages: load it again.
        out.push(load_list(s, false));
    } else {
        out.push(marking_page(s));
    }
}

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::fixtures as fx;
    use crate::domain::Platform;
    use crate::request::Request;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn selection_stays_in_bounds() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('k'));
        assert_eq!(s.list.selected, 0);
        for _ in 0..5 {
            fx::press(&mut s, KeyCode::Char('j'));
        }
        assert_eq!(s.list.selected, 2);
        fx::press(&mut s, KeyCode::Up);
        assert_eq!(s.list.selected, 1);
        assert_eq!(
            s.list.selected_key.as_ref().map(|k| k.user.as_str()),
            Some("u2")
        );
    }

    #[test]
    fn a_filter_change_starts_a_new_generation_from_the_top() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('j'));
        let cmds = fx::press(&mut s, KeyCode::Char('p'));
        assert_eq!(s.list.filter.platform, Some(Platform::Messenger));
        assert_eq!((s.list.generation, s.list.selected, s.list.top), (1, 0, 0));
        assert!(cmds.iter().any(|c| matches!(
            c,
            Command::Inbox(Request::List { offset: 0, count: true, generation: 1, filter, .. })
                if filter.platform == Some(Platform::Messenger)
        )));
        fx::press(&mut s, KeyCode::Char('p'));
        fx::press(&mut s, KeyCode::Char('p'));
        assert_eq!(s.list.filter.platform, None, "the cycle ends at no filter");
        assert_eq!(s.list.generation, 3);
    }
}
