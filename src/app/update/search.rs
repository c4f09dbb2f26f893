//! Full-text search: `ctrl-f` opens it over the list; typing asks the data
//! worker (each edit a new generation, older answers are dropped); ↑/↓
//! choose a conversation; Enter opens it at the matching message, selected
//! and scrolled to (loading older pages until it is there); esc closes.

use super::scroll::{focus_thread, reveal_cursor};
use super::thread::open_thread;
use crate::app::command::Command;
use crate::app::search::SearchPane;
use crate::app::state::*;
use crate::request::Request;
use crate::search::{SearchResults, PAGE};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn open(s: &mut State) {
    s.search.pane = Some(SearchPane::default());
    s.focus = Focus::List;
}

/// A key while the search pane is open (false: it is not open).
pub(super) fn key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) -> bool {
    let Some(p) = s.search.pane.as_mut() else {
        return false;
    };
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let hits = p.results.as_ref().map_or(0, |r| r.hits.len());
    match k.code {
        KeyCode::Esc => s.search.pane = None,
        KeyCode::Enter => open_hit(s, out),
        KeyCode::Up => p.selected = p.selected.saturating_sub(1),
        KeyCode::Char('p') if ctrl => p.selected = p.selected.saturating_sub(1),
        KeyCode::Down => down(p, hits, out),
        KeyCode::Char('n') if ctrl => down(p, hits, out),
        KeyCode::Backspace => {
            p.input.pop();
            ask(p, out);
        }
        KeyCode::Char(c) if !ctrl => {
            p.input.push(c);
            ask(p, out);
        }
        _ => {}
    }
    true
}

fn down(p: &mut SearchPane, hits: usize, out: &mut Vec<Command>) {
    p.selected = (p.selected + 1).min(hits.saturating_sub(1));
    if p.selected + PAGE / 2 >= hits {
        ask_more(p, out);
    }
}

fn ask(p: &mut SearchPane, out: &mut Vec<Command>) {
    p.generation += 1;
    p.selected = 0;
    p.extending = None;
    if p.input.is_empty() {
        p.results = Some(SearchResults::default());
        p.answered = p.generation;
        return;
    }
    out.push(Command::Inbox(Request::Search {
        query: p.input.clone(),
        generation: p.generation,
        from: None,
    }));
}

/// The next page of the answered query, unless it is on its way or there
/// is none.
fn ask_more(p: &mut SearchPane, out: &mut Vec<Command>) {
    if p.extending.is_some() || p.answered != p.generation {
        return;
    }
    let Some(from) = p.results.as_ref().and_then(|r| r.next.clone()) else {
        return;
    };
    p.extending = Some(from.clone());
    out.push(Command::Inbox(Request::Search {
        query: p.input.clone(),
        generation: p.generation,
        from: Some(from),
    }));
}

/// A page arrived: the first replaces, a next one appends. Fewer than a
/// screenful (the search stopped at its time budget) asks for the next at
/// once, so the screen fills while the agent reads the first.
pub(super) fn results_loaded(
    s: &mut State,
    generation: u64,
    mut results: SearchResults,
    out: &mut Vec<Command>,
) {
    let Some(p) = s
        .search
        .pane
        .as_mut()
        .filter(|p| p.generation == generation)
    else {
        return;
    };
    if p.extending.take().is_some() {
        if let Some(r) = p.results.as_mut() {
            r.hits.append(&mut results.hits);
            r.next = results.next;
            r.indexing = results.indexing;
        }
    } else {
        p.results = Some(results);
    }
    p.answered = generation;
    let hits = p.results.as_ref().map_or(0, |r| r.hits.len());
    p.selected = p.selected.min(hits.saturating_sub(1));
    if hits < PAGE {
        ask_more(p, out);
    }
}

fn open_hit(s: &mut State, out: &mut Vec<Command>) {
    let Some(hit) = s.search.pane.as_ref().and_then(|p| {
        p.results
            .as_ref()
            .and_then(|r| r.hits.get(p.selected))
            .cloned()
    }) else {
        return;
    };
    s.search.pane = None;
    s.search.jump = Some((hit.conv.key.clone(), hit.message.mid.clone()));
    open_thread(s, hit.conv, out);
    if let Some(t) = s.thread.as_mut() {
        // Kept by the load when the message is among the newest.
        t.cursor = Some(hit.message.mid);
    }
    focus_thread(s);
    jump(s, out);
}

/// After a thread load: finish the jump Enter started, or load further
/// back towards its message.
pub(super) fn jump(s: &mut State, out: &mut Vec<Command>) {
    let Some((key, mid)) = s.search.jump.clone() else {
        return;
    };
    let Some(t) = s.thread.as_mut() else {
        s.search.jump = None;
        return;
    };
    if t.conv.key != key {
        s.search.jump = None; // the agent went elsewhere
        return;
    }
    if t.loading_older {
        return; // its messages are on their way
    }
    if t.messages.iter().any(|m| m.mid == mid) {
        t.cursor = Some(mid);
        s.search.jump = None;
        s.focus = Focus::Thread;
        reveal_cursor(s);
        return;
    }
    match t.messages.first() {
        Some(first) if !t.reached_start => {
            t.loading_older = true;
            out.push(Command::Inbox(Request::Older {
                conv: key,
                before: Box::new(first.clone()),
                limit: THREAD_PAGE,
            }));
        }
        // Gone since the search (unsent, or another thread): stay at the newest.
        _ => s.search.jump = None,
    }
}
