//! `update(&mut State, Event) -> Vec<Command>`: the only place state changes.
//! Pure: time comes from `Event::Tick`, data from `*Loaded` events.

use super::bulk;
use super::canned;
use super::clock;
use super::command::Command;
use super::event::{Event, ListRows, ThreadData};
use super::keymap::Action;
use super::state::*;
use crate::domain::{
    ConvKey, ConvStatus, Conversation, Direction, Message, MsgStatus, Platform, TimestampMs,
};
use crate::job::Job;
use crate::send::window::{check_text, plan, Purpose, Tag, Window, HUMAN_AGENT_MS, STANDARD_MS};
use crate::update::Update;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

/// Commands to run once at start.
pub fn init(s: &mut State) -> Vec<Command> {
    vec![load_list(s, true), load_unread(s)]
}

pub fn update(s: &mut State, ev: Event) -> Vec<Command> {
    let mut out = Vec::new();
    match ev {
        Event::Key(k) => {
            if k.kind == KeyEventKind::Press {
                key(s, k, &mut out);
            }
        }
        Event::Mouse(m) => mouse(s, m, &mut out),
        Event::Paste(text) => paste(s, &text),
        Event::Resize { width, height } => {
            s.size = (width, height);
            let v = super::layout::list_rows(&s.panes());
            if v != s.list.visible {
                s.list.visible = v;
                keep_selection_visible(s);
                out.push(load_list(s, false));
            }
            scroll_thread(s, 0, &mut out);
            if s.focus == Focus::Thread {
                reveal_cursor(s);
            }
        }
        Event::Tick { now } => {
            s.now = now;
            let expired = now.0 - s.status.message_at.0 >= NOTICE_MS;
            if expired && matches!(s.status.message, Some((Level::Info, _))) {
                s.status.message = None;
            }
            let today = clock::day_key(now, s.opts.zone);
            if today != s.status.events_today.0 {
                s.status.events_today = (today, 0);
            }
        }
        Event::Update(u) => on_update(s, u, &mut out),
        Event::Lagged => {
            out.push(load_list(s, true));
            // Conversation updates were dropped: count the unread again.
            out.push(load_unread(s));
            if let Some(k) = s.open_key() {
                out.push(Command::LoadThread {
                    conv: k.clone(),
                    limit: THREAD_PAGE,
                });
            }
        }
        Event::ListLoaded(rows) => list_loaded(s, rows, &mut out),
        Event::ThreadLoaded(d) => thread_loaded(s, *d),
        Event::OlderLoaded {
            conv,
            messages,
            limit,
        } => {
            if let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == conv) {
                t.loading_older = false;
                t.reached_start = messages.len() < limit;
                let first = t.messages.first().map(|m| (m.timestamp, m.mid.clone()));
                let older = messages.into_iter().filter(|m| {
                    first
                        .as_ref()
                        .is_none_or(|(ts, mid)| (m.timestamp, &m.mid) < (*ts, mid))
                });
                // Prepending leaves the view where it was: the scroll counts
                // lines from the newest, and the cursor is held by mid.
                let mut v: Vec<Message> = older.collect();
                v.append(&mut t.messages);
                t.messages = v;
                t.rev += 1;
            }
        }
        Event::EditorDone { text } => match text {
            Some(t) if s.thread.is_some() => {
                s.composer.set_text(t.trim_end_matches('\n'));
                s.focus = Focus::Composer;
            }
            Some(_) => {}
            None => info(
                s,
                Level::Error,
                "editor failed or was cancelled; the draft is unchanged",
            ),
        },
        Event::UrgentFound(c) => match c {
            Some(c) => {
                let closes = super::urgent::closes_at(&c, s.human_agent_allowed(&c), s.now);
                let length = match s.window_of(&c) {
                    Window::Open { .. } => STANDARD_MS,
                    _ => HUMAN_AGENT_MS,
                };
                let msg = match closes {
                    Some(t) => format!(
                        "most urgent: {} (window closes in {})",
                        c.name,
                        clock::window_left(t, s.now, length)
                    ),
                    None => format!("most urgent: {}", c.name),
                };
                if let Some(i) = s.list.rows.iter().position(|r| r.key == c.key) {
                    s.list.selected = s.list.rows_top + i;
                    s.list.selected_key = Some(c.key.clone());
                }
                open_thread(s, c, &mut out);
                // The jump shows the conversation in the thread; focus goes
                // there so that s, r, R and Enter act on it, not on a list
                // row that may be elsewhere (the row can be off-screen).
                focus_thread(s);
                info(s, Level::Info, &msg);
            }
            None => info(
                s,
                Level::Info,
                "no customer is waiting inside an open window",
            ),
        },
    }
    title(s, &mut out);
    out
}

// ---- helpers -----------------------------------------------------------

fn info(s: &mut State, level: Level, text: &str) {
    s.status.message = Some((level, text.to_string()));
    s.status.message_at = s.now;
    if s.status.log.len() >= NOTICE_LOG {
        s.status.log.pop_front();
    }
    s.status.log.push_back(Notice {
        at: s.now,
        level,
        text: text.to_string(),
    });
}

fn load_list(s: &State, count: bool) -> Command {
    Command::LoadList {
        filter: s.list.filter.clone(),
        offset: s.list.top,
        limit: s.list.visible.max(1),
        count,
        generation: s.list.generation,
    }
}

fn title(s: &mut State, out: &mut Vec<Command>) {
    if !s.opts.title {
        return;
    }
    let n = s.unread_conversations();
    let t = if n > 0 {
        format!("dmdesk ({n} unread)")
    } else {
        "dmdesk".to_string()
    };
    if t != s.last_title {
        s.last_title = t.clone();
        out.push(Command::SetTitle(t));
    }
}

/// Ask the edge for every unread conversation; counts that change while the
/// scan runs are remembered so its answer cannot undo them.
fn load_unread(s: &mut State) -> Command {
    s.unread_requests += 1;
    s.unread_load = Some(UnreadLoad {
        request: s.unread_requests,
        fresh: Default::default(),
    });
    Command::LoadUnread {
        request: s.unread_requests,
    }
}

/// Record a conversation's unread count as read now from the store.
fn set_unread(s: &mut State, key: &ConvKey, n: u32) {
    if n > 0 {
        s.unread.insert(key.clone(), n);
    } else {
        s.unread.remove(key);
    }
    if let Some(l) = s.unread_load.as_mut() {
        l.fresh.insert(key.clone());
    }
}

/// The scan's answer: it replaces the counts, except those updated since
/// the request (newer than what the scan read).
fn unread_loaded(s: &mut State, request: u64, counts: Vec<(ConvKey, u32)>) {
    let Some(load) = s.unread_load.take_if(|l| l.request == request) else {
        return; // an older scan; a newer one is on its way
    };
    let fresh = load.fresh;
    s.unread.retain(|k, _| fresh.contains(k));
    for (k, n) in counts {
        if n > 0 && !fresh.contains(&k) {
            s.unread.insert(k, n);
        }
    }
}

/// The conversation an action applies to: the open one in the thread or
/// composer, the selected row in the list.
fn target(s: &State) -> Option<Conversation> {
    match s.focus {
        Focus::List => s.list.selected_row().cloned(),
        _ => s.thread.as_ref().map(|t| t.conv.clone()),
    }
}

/// With the list focused, whether its selected row is the open conversation
/// (always true with the thread or composer focused).
fn list_row_is_open(s: &State) -> bool {
    s.focus != Focus::List
        || s.open_key().is_some() && s.list.selected_row().map(|c| &c.key) == s.open_key()
}

/// From the list, a composing key (i, tab, e) is about the selected row:
/// open it first when another conversation is open.
fn open_selected(s: &mut State, out: &mut Vec<Command>) {
    if s.focus != Focus::List {
        return;
    }
    if let Some(c) = s.list.selected_row().cloned() {
        open_thread(s, c, out);
    }
}

fn keep_selection_visible(s: &mut State) {
    let vis = s.list.visible.max(1);
    if s.list.selected < s.list.top {
        s.list.top = s.list.selected;
    } else if s.list.selected >= s.list.top + vis {
        s.list.top = s.list.selected + 1 - vis;
    }
}

fn move_selection(s: &mut State, delta: isize, out: &mut Vec<Command>) {
    let max = s.list.max_index();
    let new = (s.list.selected as isize + delta).clamp(0, max as isize) as usize;
    select_row(s, new, None, out);
}

/// Select row `new`; with `top`, show the window from there (paging),
/// else scroll as little as needed. The selected key is the row's as
/// loaded, or none until the window's rows arrive: never the row that
/// used to sit at that screen position.
fn select_row(s: &mut State, new: usize, top: Option<usize>, out: &mut Vec<Command>) {
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
fn page_list(s: &mut State, pages: isize, out: &mut Vec<Command>) {
    let vis = s.list.visible.max(1) as isize;
    let max = s.list.max_index() as isize;
    let top = (s.list.top as isize + pages * vis).clamp(0, (max + 1 - vis).max(0));
    let sel = (s.list.selected as isize + pages * vis).clamp(0, max);
    select_row(s, sel as usize, Some(top as usize), out);
}

fn filter_changed(s: &mut State, out: &mut Vec<Command>) {
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

fn save_draft(s: &State, out: &mut Vec<Command>) {
    if let Some(t) = &s.thread {
        out.push(Command::SaveDraft {
            conv: t.conv.key.clone(),
            text: s.composer.text(),
        });
    }
}

fn open_thread(s: &mut State, c: Conversation, out: &mut Vec<Command>) {
    if s.open_key() == Some(&c.key) {
        return;
    }
    save_draft(s, out);
    s.composer = Composer::default();
    out.push(Command::LoadThread {
        conv: c.key.clone(),
        limit: THREAD_PAGE,
    });
    if c.unread > 0 {
        out.push(Command::MarkRead(c.key.clone()));
    }
    out.push(Command::Presence {
        conv: Some(c.key.clone()),
        typing: false,
    });
    s.typing_reported = None;
    s.thread = Some(ThreadPane {
        conv: c,
        contact: None,
        messages: Vec::new(),
        scroll: 0,
        new_below: 0,
        reached_start: false,
        loading_older: true,
        cursor: None,
        rev: 0,
        memo: Default::default(),
    });
}

// ---- loads ---------------------------------------------------------------

fn list_loaded(s: &mut State, r: ListRows, out: &mut Vec<Command>) {
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
    }
    s.list.rows = r.rows;
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
}

/// The next page of "mark all matching".
fn marking_page(s: &State) -> Command {
    let offset = s.list.marking.as_ref().map_or(0, |m| m.offset);
    Command::LoadList {
        filter: s.list.filter.clone(),
        offset,
        limit: MARK_PAGE,
        count: false,
        generation: s.list.generation | MARKING,
    }
}

fn mark_matching(s: &mut State, out: &mut Vec<Command>) {
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

fn thread_loaded(s: &mut State, d: ThreadData) {
    let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == d.conv.key) else {
        return;
    };
    t.reached_start = d.messages.len() < d.limit;
    t.loading_older = false;
    // A reload (after a lag) keeps the selected message when it is still there.
    let keep = t
        .cursor
        .take()
        .filter(|c| d.messages.iter().any(|m| &m.mid == c));
    t.messages = d.messages;
    t.conv = d.conv;
    t.contact = d.contact;
    t.rev += 1;
    t.scroll = 0;
    t.new_below = 0;
    t.cursor = keep.or_else(|| t.messages.last().map(|m| m.mid.clone()));
    let (key, unread) = (t.conv.key.clone(), t.conv.unread);
    set_unread(s, &key, unread);
    if let Some(draft) = d.draft.filter(|d| !d.is_empty()) {
        if s.composer.text().is_empty() {
            s.composer.set_text(&draft);
        }
    }
    if s.focus == Focus::Thread {
        reveal_cursor(s);
    }
}

// ---- store updates ---------------------------------------------------------

fn on_update(s: &mut State, u: Update, out: &mut Vec<Command>) {
    match u {
        Update::Conversation(c) => {
            set_unread(s, &c.key, c.unread);
            if let Some(m) = s.marked.get_mut(&c.key) {
                *m = (*c).clone();
            }
            // The status menu shows its conversation's current status.
            if let Some(Overlay::StatusMenu(m)) = &mut s.overlay {
                if m.key == c.key {
                    **m = (*c).clone();
                }
            }
            if let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == c.key) {
                t.conv = (*c).clone();
                t.rev += 1;
            }
            if let Some(row) = s.list.rows.iter_mut().find(|r| r.key == c.key) {
                *row = *c;
            }
            // Re-read the window so the list reorders (the edge coalesces bursts).
            out.push(load_list(s, false));
        }
        Update::Message(m) => on_message(s, *m, out),
        Update::Contact(c) => {
            if let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == c.conv) {
                t.contact = Some(*c);
                t.rev += 1;
            }
        }
        Update::EventReceived { at } => {
            let day = clock::day_key(at, s.opts.zone);
            if day == s.status.events_today.0 {
                s.status.events_today.1 += 1;
            } else if day > s.status.events_today.0 {
                s.status.events_today = (day, 1);
            }
        }
        Update::Notice(n) => info(s, Level::Info, &n),
        Update::Error(e) => info(s, Level::Error, &e),
        Update::Presence(v) => s.presence = v,
        Update::Digest {
            events,
            inbound,
            changed,
            more,
            unread_conversations,
        } => {
            if unread_conversations.is_some() {
                s.unread_total = unread_conversations;
            }
            let day = clock::day_key(s.now, s.opts.zone);
            if day == s.status.events_today.0 {
                s.status.events_today.1 += events;
            } else if day > s.status.events_today.0 {
                s.status.events_today = (day, events);
            }
            for (k, n) in &changed {
                set_unread(s, k, *n);
            }
            if inbound > 0 && s.opts.bell {
                out.push(Command::Bell);
            }
            if more || !changed.is_empty() {
                out.push(load_list(s, false));
            }
        }
        Update::Sync(p) => {
            if !p.running && p.errors > 0 {
                info(
                    s,
                    Level::Error,
                    &format!("sync finished with {} error(s)", p.errors),
                );
            }
            s.status.sync = Some(p);
        }
        Update::Unread { request, counts } => unread_loaded(s, request, counts),
        Update::Campaign(p) => {
            if p.running {
                s.status.campaigns.insert(p.id.clone(), p);
            } else {
                s.status.campaigns.remove(&p.id);
                info(
                    s,
                    Level::Info,
                    &format!(
                        "campaign \"{}\" ended: {} sent, {} failed, {} skipped of {}",
                        p.title, p.sent, p.failed, p.skipped, p.total
                    ),
                );
            }
        }
    }
}

fn on_message(s: &mut State, m: Message, out: &mut Vec<Command>) {
    let inbound = m.direction == Direction::In;
    let is_new_inbound = inbound && m.timestamp >= s.started && !s.seen_inbound.contains(&m.mid);
    if is_new_inbound {
        s.seen_inbound.push_back(m.mid.clone());
        if s.seen_inbound.len() > 512 {
            s.seen_inbound.pop_front();
        }
        if s.opts.bell {
            out.push(Command::Bell);
        }
    }
    let width = thread_width(s);
    let zone = s.opts.zone;
    let now = s.now;
    let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == m.conv) else {
        return;
    };
    // Hold the selection on the message it is on, so an arrival never moves it.
    if t.cursor.is_none() {
        t.cursor = t.messages.last().map(|x| x.mid.clone());
    }
    let before = t.line_count(width, zone, now);
    let following = t.scroll == 0;
    let mut appended = false;
    t.rev += 1;
    if let Some(i) = t.messages.iter().position(|x| x.mid == m.mid) {
        t.messages[i] = m;
    } else {
        if m.direction == Direction::Out && !m.mid.as_str().starts_with("local:") {
            // Our pending copy became Meta's message: drop the local one.
            if let Some(i) = t.messages.iter().position(|x| {
                x.mid.as_str().starts_with("local:")
                    && x.timestamp == m.timestamp
                    && x.text == m.text
            }) {
                let local = t.messages.remove(i);
                if t.cursor.as_ref() == Some(&local.mid) {
                    t.cursor = Some(m.mid.clone());
                }
            }
        }
        let older_than_loaded = t
            .messages
            .first()
            .is_some_and(|f| m.timestamp < f.timestamp);
        if older_than_loaded && !t.reached_start {
            return; // outside the loaded window; it appears when scrolled to
        }
        let pos = t.messages.partition_point(|x| x.timestamp <= m.timestamp);
        appended = pos == t.messages.len();
        t.messages.insert(pos, m);
    }
    if !following {
        // Keep the agent's place when lines were added below it.
        let after = t.line_count(width, zone, now);
        t.scroll = (t.scroll + after).saturating_sub(before);
    } else if s.focus == Focus::Thread {
        // Follow the newest only while the selected message stays on screen.
        reveal_cursor(s);
    }
    let Some(t) = s.thread.as_mut() else { return };
    if appended && t.scroll > 0 {
        t.new_below += 1;
    }
    if appended && inbound && t.scroll == 0 && is_new_inbound {
        out.push(Command::MarkRead(t.conv.key.clone()));
    }
}

// ---- thread scrolling --------------------------------------------------------

fn thread_width(s: &State) -> u16 {
    super::layout::thread_inner(&s.panes()).0
}

fn thread_height(s: &State) -> usize {
    super::layout::thread_inner(&s.panes()).1 as usize
}

/// Scroll the thread by `delta` lines (positive = older), clamped; ask for
/// older messages when the top of what is loaded comes near.
fn scroll_thread(s: &mut State, delta: isize, out: &mut Vec<Command>) {
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
            out.push(Command::LoadOlder {
                conv: t.conv.key.clone(),
                before: Box::new(first.clone()),
                limit: THREAD_PAGE,
            });
        }
    }
}

/// Scroll the view (page keys, wheel); with the thread focused the
/// selection moves along to stay on screen.
fn scroll_view(s: &mut State, delta: isize, out: &mut Vec<Command>) {
    scroll_thread(s, delta, out);
    if s.focus == Focus::Thread {
        cursor_into_view(s, false);
    }
}

/// The thread's line owners and the view height.
fn thread_geometry(s: &State) -> Option<(Vec<Option<usize>>, usize)> {
    let t = s.thread.as_ref()?;
    let owners = t.line_owners(thread_width(s), s.opts.zone, s.now);
    Some((owners, thread_height(s)))
}

/// Scroll as little as needed to show the selected message (its head when
/// it is taller than the view).
fn reveal_cursor(s: &mut State) {
    let Some((owners, h)) = thread_geometry(s) else {
        return;
    };
    let Some(t) = s.thread.as_mut() else { return };
    let Some((a, b)) = t
        .cursor_index()
        .and_then(|i| super::thread_layout::message_lines(&owners, i))
    else {
        return;
    };
    let total = owners.len();
    let (start, end) = super::thread_layout::view_range(total, h, t.scroll);
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
    let Some((owners, h)) = thread_geometry(s) else {
        return;
    };
    let Some(t) = s.thread.as_mut() else { return };
    let (start, end) = super::thread_layout::view_range(owners.len(), h, t.scroll);
    let mut shown = owners[start..end].iter().flatten();
    let Some(&lo) = shown.next() else { return };
    let hi = shown.last().copied().unwrap_or(lo);
    let Some(i) = t.cursor_index() else { return };
    let j = match i.clamp(lo, hi) {
        j if j != i && to_bottom => hi,
        j => j,
    };
    t.cursor = t.messages.get(j).map(|m| m.mid.clone());
}

/// Move the selection `delta` messages (positive = newer) and scroll to it.
fn move_cursor(s: &mut State, delta: isize, out: &mut Vec<Command>) {
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
fn focus_thread(s: &mut State) {
    s.focus = Focus::Thread;
    cursor_into_view(s, true);
}

/// Select the message drawn on this row of the thread pane (a click).
fn select_at_row(s: &mut State, row: usize) {
    let Some((owners, h)) = thread_geometry(s) else {
        return;
    };
    let Some(t) = s.thread.as_mut() else { return };
    let (start, end) = super::thread_layout::view_range(owners.len(), h, t.scroll);
    if let Some(i) = owners[start..end].get(row).copied().flatten() {
        t.cursor = t.messages.get(i).map(|m| m.mid.clone());
    }
}

/// What copy and retry act on: with the thread focused, the selected
/// message; otherwise the message at the bottom of the view.
pub fn selected_message(s: &State) -> Option<&Message> {
    let t = s.thread.as_ref()?;
    if s.focus == Focus::Thread {
        return t.cursor_index().and_then(|i| t.messages.get(i));
    }
    let width = thread_width(s);
    let owners = t.line_owners(width, s.opts.zone, s.now);
    let bottom = owners.len().checked_sub(1 + t.scroll)?;
    owners[..=bottom]
        .iter()
        .rev()
        .flatten()
        .next()
        .and_then(|i| t.messages.get(*i))
}

// ---- keys ------------------------------------------------------------------

const NORMAL: &[Action] = &[
    Action::Quit,
    Action::Down,
    Action::Up,
    Action::Open,
    Action::Back,
    Action::Compose,
    Action::Help,
    Action::Search,
    Action::FilterUnread,
    Action::FilterPlatform,
    Action::FilterWindow,
    Action::FilterStatus,
    Action::ClearFilter,
    Action::MarkRead,
    Action::MarkUnread,
    Action::Status,
    Action::Editor,
    Action::Sync,
    Action::Mark,
    Action::MarkAll,
    Action::MarkMatching,
    Action::UnmarkAll,
    Action::Bulk,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::Retry,
    Action::Urgent,
    Action::Copy,
    Action::Notices,
];

const COMPOSER: &[Action] = &[
    Action::Send,
    Action::Newline,
    Action::Canned,
    Action::ToggleTag,
    Action::Editor,
    Action::Quit,
    Action::Back,
    Action::Compose,
    Action::PageUp,
    Action::PageDown,
];

fn is_plain_char(k: &KeyEvent) -> bool {
    matches!(k.code, KeyCode::Char(_))
        && !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

fn key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        quit(s, out);
        return;
    }
    if s.overlay.is_some() {
        overlay_key(s, k, out);
        return;
    }
    if s.focus == Focus::Composer {
        composer_key(s, k, out);
        return;
    }
    let Some(action) = s.opts.keymap.action(&k, NORMAL) else {
        return;
    };
    let page = thread_height(s).saturating_sub(2).max(1) as isize;
    match action {
        Action::Quit => quit(s, out),
        Action::Down if s.focus == Focus::Thread => move_cursor(s, 1, out),
        Action::Up if s.focus == Focus::Thread => move_cursor(s, -1, out),
        Action::Down => move_selection(s, 1, out),
        Action::Up => move_selection(s, -1, out),
        Action::Open => {
            if s.focus == Focus::List {
                if let Some(c) = s.list.selected_row().cloned() {
                    open_thread(s, c, out);
                    focus_thread(s);
                }
            } else if s.thread.is_some() {
                s.focus = Focus::Composer;
            }
        }
        Action::Back => {
            if s.focus == Focus::Thread {
                s.focus = Focus::List;
            } else {
                s.status.message = None;
            }
        }
        Action::Compose => {
            open_selected(s, out);
            if s.thread.is_some() {
                s.focus = Focus::Composer;
            }
        }
        Action::Help => s.overlay = Some(Overlay::Help),
        Action::Notices => s.overlay = Some(Overlay::Notices { scroll: 0 }),
        Action::Search => {
            let input = s.list.filter.text.clone().unwrap_or_default();
            s.overlay = Some(Overlay::Search { input });
        }
        Action::FilterUnread => {
            s.list.filter.unread_only = !s.list.filter.unread_only;
            filter_changed(s, out);
        }
        Action::FilterPlatform => {
            s.list.filter.platform = match s.list.filter.platform {
                None => Some(Platform::Messenger),
                Some(Platform::Messenger) => Some(Platform::Instagram),
                Some(Platform::Instagram) => None,
            };
            filter_changed(s, out);
        }
        Action::FilterWindow => {
            s.list.filter.window_open_at = match s.list.filter.window_open_at {
                None => Some(s.now),
                Some(_) => None,
            };
            filter_changed(s, out);
        }
        Action::FilterStatus => {
            s.list.filter.status = match s.list.filter.status {
                None => Some(ConvStatus::Open),
                Some(ConvStatus::Open) => Some(ConvStatus::Pending),
                Some(ConvStatus::Pending) => Some(ConvStatus::Resolved),
                Some(ConvStatus::Resolved) => Some(ConvStatus::Snoozed),
                Some(ConvStatus::Snoozed) => None,
            };
            filter_changed(s, out);
        }
        Action::ClearFilter => {
            s.list.filter = Default::default();
            filter_changed(s, out);
        }
        Action::MarkRead => {
            if let Some(c) = target(s) {
                info(s, Level::Info, &format!("{}: marked read", c.name));
                out.push(Command::MarkRead(c.key));
            }
        }
        Action::MarkUnread => {
            if let Some(c) = target(s) {
                info(s, Level::Info, &format!("{}: marked unread", c.name));
                out.push(Command::MarkUnread(c.key));
            }
        }
        Action::Status => {
            if let Some(c) = target(s) {
                s.overlay = Some(Overlay::StatusMenu(Box::new(c)));
            }
        }
        Action::Editor => {
            open_selected(s, out);
            if s.thread.is_some() {
                out.push(Command::OpenEditor {
                    text: s.composer.text(),
                });
            }
        }
        Action::Sync => {
            out.push(Command::Job(Job::Sync { account: None }));
            info(s, Level::Info, "sync requested");
        }
        Action::Mark => {
            if let Some(c) = target(s) {
                let msg = if s.marked.remove(&c.key).is_none() {
                    let msg = format!("marked {}", c.name);
                    s.marked.insert(c.key.clone(), c);
                    msg
                } else {
                    format!("unmarked {}", c.name)
                };
                info(s, Level::Info, &msg);
                if s.focus == Focus::List {
                    move_selection(s, 1, out);
                }
            }
        }
        Action::MarkAll => {
            let shown: Vec<Conversation> = s.list.shown().map(|(_, c)| c.clone()).collect();
            let n = shown.len();
            for c in shown {
                s.marked.insert(c.key.clone(), c);
            }
            let more = match s.list.total {
                Some(t) if t as usize > n => format!(" of {t} matching"),
                _ => String::new(),
            };
            let msg = format!(
                "marked {n} shown{more} · {}: all matching",
                s.opts.keymap.label(Action::MarkMatching)
            );
            info(s, Level::Info, &msg);
        }
        Action::MarkMatching => mark_matching(s, out),
        Action::UnmarkAll => {
            let n = s.marked.len();
            s.marked.clear();
            let stopped = if s.list.marking.take().is_some() {
                " (marking all matching stopped)"
            } else {
                ""
            };
            info(
                s,
                Level::Info,
                &format!("unmarked {n} conversation(s){stopped}"),
            );
        }
        Action::Bulk if s.list.marking.is_some() => info(
            s,
            Level::Error,
            "still marking all matching conversations; press B when done",
        ),
        Action::Bulk => {
            if s.marked.is_empty() {
                info(
                    s,
                    Level::Error,
                    "mark conversations first (space, or a to mark all shown)",
                );
            } else {
                let text = text_area(
                    Vec::new(),
                    "The message to send to every marked conversation…",
                );
                s.overlay = Some(Overlay::Bulk(Box::new(BulkState {
                    text,
                    tag_index: 0,
                    stage: BulkStage::Edit,
                })));
            }
        }
        Action::PageUp if s.focus == Focus::List => page_list(s, -1, out),
        Action::PageDown if s.focus == Focus::List => page_list(s, 1, out),
        Action::Top if s.focus == Focus::List => select_row(s, 0, Some(0), out),
        Action::Bottom if s.focus == Focus::List => {
            let max = s.list.max_index();
            let top = (max + 1).saturating_sub(s.list.visible.max(1));
            select_row(s, max, Some(top), out);
        }
        Action::PageUp => scroll_view(s, page, out),
        Action::PageDown => scroll_view(s, -page, out),
        Action::Top => {
            scroll_thread(s, isize::MAX / 2, out);
            if let Some(t) = s.thread.as_mut() {
                t.cursor = t.messages.first().map(|m| m.mid.clone());
            }
        }
        Action::Bottom => {
            scroll_thread(s, isize::MIN / 2, out);
            if let Some(t) = s.thread.as_mut() {
                t.cursor = None; // the newest, also when more arrive
            }
        }
        Action::Retry | Action::Copy if !list_row_is_open(s) => {
            // From the list they would act on another conversation's
            // messages than the row the agent has selected.
            let name = s.list.selected_row().map(|c| c.name.clone());
            let msg = format!(
                "{} acts on a message of the open conversation: open {} first ({})",
                s.opts.keymap.label(action),
                name.as_deref().unwrap_or("one"),
                s.opts.keymap.label(Action::Open)
            );
            info(s, Level::Error, &msg);
        }
        Action::Retry => retry(s, out),
        Action::Urgent => out.push(Command::FindUrgent),
        Action::Copy => {
            if let Some(m) = selected_message(s) {
                let mut text = m.text.clone().unwrap_or_default();
                for a in &m.attachments {
                    if let Some(u) = &a.url {
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(u);
                    }
                }
                // OSC 52 has no answer: the terminal (or tmux) may drop it,
                // so say what was done, not that it reached the clipboard.
                let msg = format!(
                    "copy handed to the terminal (OSC 52, {} characters)",
                    text.chars().count()
                );
                out.push(Command::Copy(text));
                info(s, Level::Info, &msg);
            }
        }
        _ => {}
    }
}

fn quit(s: &mut State, out: &mut Vec<Command>) {
    save_draft(s, out);
    s.quit = true;
    out.push(Command::Quit);
}

/// Retry the selected message when it is a failed send. From the list
/// (no visible selection) the newest failed send of the open thread.
fn retry(s: &mut State, out: &mut Vec<Command>) {
    let failed =
        |m: &Message| m.status == MsgStatus::Failed && m.mid.as_str().starts_with("local:");
    let selected = selected_message(s);
    let any_failed = s
        .thread
        .as_ref()
        .and_then(|t| t.messages.iter().rev().find(|m| failed(m)));
    let pick = match selected.filter(|m| failed(m)) {
        Some(m) => Some(m),
        // With the thread focused the agent sees what is selected: never
        // retry another message than that one.
        None if s.focus == Focus::Thread => None,
        None => any_failed,
    }
    .map(|m| m.mid.as_str().trim_start_matches("local:").to_string());
    match pick {
        Some(outbox_id) => {
            out.push(Command::Job(Job::Retry { outbox_id }));
            info(s, Level::Info, "retrying the failed message");
        }
        None if any_failed.is_some() => {
            let km = &s.opts.keymap;
            let msg = format!(
                "the selected message is not a failed send; select it with {} / {}",
                km.label(Action::Up),
                km.label(Action::Down)
            );
            info(s, Level::Error, &msg);
        }
        None => info(s, Level::Error, "no failed message to retry in this thread"),
    }
}

fn composer_key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) {
    let action = if is_plain_char(&k) {
        None
    } else {
        s.opts.keymap.action(&k, COMPOSER)
    };
    let page = thread_height(s).saturating_sub(2).max(1) as isize;
    match action {
        Some(Action::Send) => send(s, out),
        Some(Action::Newline) => s.composer.textarea.insert_newline(),
        Some(Action::Canned) => {
            if s.opts.canned.is_empty() {
                info(
                    s,
                    Level::Error,
                    "no canned replies configured ([[canned]] in the config)",
                );
            } else {
                s.overlay = Some(Overlay::Canned(CannedPicker::default()));
            }
        }
        Some(Action::ToggleTag) => toggle_tag(s),
        Some(Action::Editor) => out.push(Command::OpenEditor {
            text: s.composer.text(),
        }),
        Some(Action::Quit) => quit(s, out),
        Some(Action::Back) | Some(Action::Compose) => focus_thread(s),
        Some(Action::PageUp) => scroll_view(s, page, out),
        Some(Action::PageDown) => scroll_view(s, -page, out),
        _ => {
            if s.composer.textarea.input(k) {
                s.composer.refusal = None;
                report_typing(s, out);
            }
        }
    }
}

/// How often typing is reported while it goes on; it shows for
/// `presence::TYPING_FOR_MS` after the last report.
const TYPING_REPORT_MS: i64 = 3_000;
/// A reply this soon after a colleague's in the same thread asks first.
pub const COLLISION_MS: i64 = 120_000;

fn report_typing(s: &mut State, out: &mut Vec<Command>) {
    let Some(t) = &s.thread else { return };
    if s.typing_reported
        .is_some_and(|at| s.now.0 - at.0 < TYPING_REPORT_MS)
    {
        return;
    }
    s.typing_reported = Some(s.now);
    out.push(Command::Presence {
        conv: Some(t.conv.key.clone()),
        typing: true,
    });
}

/// The latest reply in the thread by another agent within `COLLISION_MS`.
pub fn colleague_reply(s: &State) -> Option<(String, i64)> {
    let t = s.thread.as_ref()?;
    let m = t
        .messages
        .iter()
        .rev()
        .take_while(|m| s.now.0 - m.timestamp.0 < COLLISION_MS)
        .find(|m| {
            m.direction == Direction::Out
                && m.agent.is_some()
                && m.agent.as_deref() != s.opts.me.as_deref()
        })?;
    let by = m.agent.clone()?;
    Some((by, ((s.now.0 - m.timestamp.0) / 1000).max(0)))
}

fn toggle_tag(s: &mut State) {
    let Some(t) = &s.thread else { return };
    let allowed = s.human_agent_allowed(&t.conv);
    match s.window_of(&t.conv) {
        Window::Open { .. } => info(s, Level::Info, "inside the 24-hour window: no tag needed"),
        _ if !allowed => info(
            s,
            Level::Error,
            "this page has no HUMAN_AGENT permission (human_agent = true in its [[pages]] block)",
        ),
        _ => {
            s.composer.tag = match s.composer.tag {
                Some(_) => None,
                None => Some(Tag::HumanAgent),
            };
            // The refusal was about the reply without this choice: the
            // composer's window line shows the new one at once.
            s.composer.refusal = None;
            let msg = match s.composer.tag {
                Some(_) => "HUMAN_AGENT on: this reply goes out as a person's reply",
                None => "HUMAN_AGENT off",
            };
            info(s, Level::Info, msg);
        }
    }
}

/// Validate, then hand the reply to the workers. A refusal emits no job.
fn send(s: &mut State, out: &mut Vec<Command>) {
    let Some(t) = &s.thread else { return };
    let conv = t.conv.clone();
    let text = s.composer.text();
    let refuse = |s: &mut State, why: String| {
        s.composer.refusal = Some(why.clone());
        info(s, Level::Error, &format!("not sent: {why}"));
    };
    if !s.opts.configured.contains(&conv.key.account) {
        let why = format!(
            "account {} is not configured; add its [[pages]] block with a token to reply",
            conv.key.account
        );
        return refuse(s, why);
    }
    if let Err(r) = check_text(conv.key.platform, &text) {
        return refuse(s, r.0);
    }
    let facts = s.facts(&conv);
    match plan(&facts, s.now, s.composer.tag, Purpose::Reply) {
        Err(r) => refuse(s, r.0),
        Ok(p) => match colleague_reply(s) {
            // Two agents answering one customer at once: ask first.
            Some((by, ago_s)) => {
                s.overlay = Some(Overlay::ConfirmSend(Box::new(PendingSend {
                    conv: conv.key,
                    text,
                    tag: p.tag(),
                    by,
                    ago_s,
                })))
            }
            None => dispatch_reply(s, conv.key, text, p.tag(), out),
        },
    }
}

fn dispatch_reply(
    s: &mut State,
    conv: ConvKey,
    text: String,
    tag: Option<Tag>,
    out: &mut Vec<Command>,
) {
    out.push(Command::Job(Job::Reply {
        conv: conv.clone(),
        text,
        tag,
        agent: s.opts.me.clone(),
    }));
    out.push(Command::SaveDraft {
        conv,
        text: String::new(),
    });
    s.composer = Composer::default();
    // A success replaces an earlier refusal on the status bar.
    let name = s.thread.as_ref().map(|t| t.conv.name.clone());
    let msg = format!(
        "reply to {} queued",
        name.as_deref().unwrap_or("the customer")
    );
    info(s, Level::Info, &msg);
    if let Some(t) = s.thread.as_mut() {
        t.scroll = 0;
        t.new_below = 0;
    }
}

fn overlay_key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) {
    let Some(overlay) = s.overlay.take() else {
        return;
    };
    let esc = k.code == KeyCode::Esc;
    s.overlay = match overlay {
        Overlay::Help => None,
        // j/k (or the arrows) scroll through older notices; any other key closes.
        Overlay::Notices { scroll } => {
            match s.opts.keymap.action(&k, &[Action::Down, Action::Up]) {
                Some(Action::Down) => Some(Overlay::Notices {
                    scroll: scroll.saturating_sub(1),
                }),
                Some(Action::Up) => Some(Overlay::Notices {
                    scroll: (scroll + 1).min(s.status.log.len().saturating_sub(1)),
                }),
                _ => None,
            }
        }
        Overlay::ConfirmSend(p) => {
            // Only y sends; anything else keeps the text in the composer.
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                let p = *p;
                dispatch_reply(s, p.conv, p.text, p.tag, out);
            } else {
                info(
                    s,
                    Level::Info,
                    "not sent; the reply is still in the composer",
                );
            }
            None
        }
        Overlay::Search { mut input } => match k.code {
            KeyCode::Esc => {
                if s.list.filter.text.take().is_some() {
                    filter_changed(s, out);
                }
                None
            }
            KeyCode::Enter => None,
            KeyCode::Backspace => {
                input.pop();
                set_search(s, &input, out);
                Some(Overlay::Search { input })
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                input.push(c);
                set_search(s, &input, out);
                Some(Overlay::Search { input })
            }
            _ => Some(Overlay::Search { input }),
        },
        Overlay::StatusMenu(c) => {
            let choice = match k.code {
                KeyCode::Char('o') => Some((ConvStatus::Open, None)),
                KeyCode::Char('p') => Some((ConvStatus::Pending, None)),
                KeyCode::Char('r') => Some((ConvStatus::Resolved, None)),
                KeyCode::Char('1') => {
                    Some((ConvStatus::Snoozed, Some(s.now.plus_ms(TimestampMs::HOUR))))
                }
                KeyCode::Char('t') => Some((
                    ConvStatus::Snoozed,
                    Some(clock::tomorrow_at(s.now, s.opts.zone, 9)),
                )),
                KeyCode::Char('w') => Some((
                    ConvStatus::Snoozed,
                    Some(clock::next_week(s.now, s.opts.zone)),
                )),
                _ => None,
            };
            match choice {
                Some((status, snooze_until)) => {
                    let msg = match snooze_until {
                        Some(t) => format!(
                            "{}: snoozed until {} {}",
                            c.name,
                            clock::day_label(t, s.now, s.opts.zone),
                            clock::clock(t, s.opts.zone)
                        ),
                        None => format!("{}: status {}", c.name, status.as_str()),
                    };
                    out.push(Command::SetStatus {
                        conv: c.key,
                        status,
                        snooze_until,
                    });
                    info(s, Level::Info, &msg);
                    None
                }
                None if esc => None,
                None => Some(Overlay::StatusMenu(c)),
            }
        }
        Overlay::Canned(mut p) => {
            let found = canned::matches(&s.opts.canned, &p.query);
            match k.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    if let Some(c) = found.get(p.selected).and_then(|i| s.opts.canned.get(*i)) {
                        let (contact, name) = match &s.thread {
                            Some(t) => (t.contact.clone(), t.conv.name.clone()),
                            None => (None, String::new()),
                        };
                        let text = canned::fill(&c.text, contact.as_ref(), &name);
                        s.composer.textarea.insert_str(text);
                    }
                    None
                }
                KeyCode::Down => {
                    p.selected = (p.selected + 1).min(found.len().saturating_sub(1));
                    Some(Overlay::Canned(p))
                }
                KeyCode::Up => {
                    p.selected = p.selected.saturating_sub(1);
                    Some(Overlay::Canned(p))
                }
                KeyCode::Backspace => {
                    p.query.pop();
                    p.selected = 0;
                    Some(Overlay::Canned(p))
                }
                KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                    p.query.push(c);
                    p.selected = 0;
                    Some(Overlay::Canned(p))
                }
                _ => Some(Overlay::Canned(p)),
            }
        }
        Overlay::Bulk(b) => bulk_key(s, b, k, out),
    };
}

fn set_search(s: &mut State, input: &str, out: &mut Vec<Command>) {
    s.list.filter.text = Some(input.to_string()).filter(|t| !t.is_empty());
    filter_changed(s, out);
}

/// The preview of the open bulk popup's text (the campaign's own rule).
pub fn bulk_preview(s: &State, tag: Option<Tag>) -> bulk::Preview {
    let text = match &s.overlay {
        Some(Overlay::Bulk(b)) => b.text.lines().join("\n"),
        _ => String::new(),
    };
    bulk_preview_of(s, &text, tag)
}

fn bulk_preview_of(s: &State, text: &str, tag: Option<Tag>) -> bulk::Preview {
    // Before anything is typed, show who a short message would reach
    // (sending an empty text is refused on Enter).
    let text = if text.trim().is_empty() { "…" } else { text };
    let pages = crate::send::eligibility::Pages::new(s.opts.pages.clone());
    bulk::preview(&pages, s.marked.values(), text, tag, s.now)
}

fn bulk_key(
    s: &mut State,
    mut b: Box<BulkState>,
    k: KeyEvent,
    out: &mut Vec<Command>,
) -> Option<Overlay> {
    match b.stage {
        BulkStage::Edit => match k.code {
            KeyCode::Esc => None,
            KeyCode::Tab => {
                // No tag is left for campaigns (Meta retired the update tags
                // in 2026; HUMAN_AGENT is for a person): say so.
                b.tag_index = (b.tag_index + 1) % (Tag::CAMPAIGN_TAGS.len() + 1);
                if Tag::CAMPAIGN_TAGS.is_empty() {
                    info(s, Level::Info, crate::send::window::CAMPAIGN_OUTSIDE_WINDOW);
                }
                Some(Overlay::Bulk(b))
            }
            KeyCode::Enter if !k.modifiers.contains(KeyModifiers::ALT) => {
                let text = b.text.lines().join("\n");
                let p = bulk_preview_of(s, &text, b.tag());
                if text.trim().is_empty() {
                    info(s, Level::Error, "write the message first");
                } else if let Err(e) = crate::send::template::Template::parse(&text) {
                    // Nothing goes out with a literal {variable} in it.
                    info(s, Level::Error, &format!("not sent: {e}"));
                } else if p.recipients.is_empty() {
                    info(
                        s,
                        Level::Error,
                        "nobody marked can receive this campaign; see the preview",
                    );
                } else {
                    b.stage = BulkStage::Confirm;
                    // One rendered example (the popup shows the template).
                    if let Some((_, example)) = &p.example {
                        let one_line = example.replace('\n', " ");
                        info(s, Level::Info, &format!("example: {one_line}"));
                    }
                }
                Some(Overlay::Bulk(b))
            }
            KeyCode::Enter => {
                b.text.insert_newline();
                Some(Overlay::Bulk(b))
            }
            _ => {
                b.text.input(k);
                Some(Overlay::Bulk(b))
            }
        },
        BulkStage::Confirm => match k.code {
            KeyCode::Char('y') | KeyCode::Enter => {
                let text = b.text.lines().join("\n");
                let tag = b.tag();
                let p = bulk_preview_of(s, &text, tag);
                let title: String = text.chars().take(40).collect();
                let n = p.recipients.len();
                out.push(Command::Job(Job::Campaign {
                    title: title.replace('\n', " "),
                    text,
                    tag,
                    recipients: p.recipients,
                    agent: None,
                }));
                s.marked.clear();
                info(
                    s,
                    Level::Info,
                    &format!("campaign started for {n} conversation(s)"),
                );
                None
            }
            KeyCode::Char('n') | KeyCode::Esc => {
                b.stage = BulkStage::Edit;
                Some(Overlay::Bulk(b))
            }
            _ => Some(Overlay::Bulk(b)),
        },
    }
}

fn paste(s: &mut State, text: &str) {
    match &mut s.overlay {
        Some(Overlay::Bulk(b)) if b.stage == BulkStage::Edit => {
            b.text.insert_str(text);
        }
        Some(_) => {}
        None if s.focus == Focus::Composer => {
            s.composer.textarea.insert_str(text);
        }
        None => {}
    }
}

// ---- mouse -------------------------------------------------------------------

fn inside(r: Rect, m: &MouseEvent) -> bool {
    r.contains(Position {
        x: m.column,
        y: m.row,
    })
}

fn mouse(s: &mut State, m: MouseEvent, out: &mut Vec<Command>) {
    if s.overlay.is_some() {
        return;
    }
    let p = s.panes();
    match m.kind {
        MouseEventKind::ScrollDown if inside(p.list, &m) => move_selection(s, 1, out),
        MouseEventKind::ScrollUp if inside(p.list, &m) => move_selection(s, -1, out),
        MouseEventKind::ScrollDown if inside(p.thread, &m) => scroll_view(s, -3, out),
        MouseEventKind::ScrollUp if inside(p.thread, &m) => scroll_view(s, 3, out),
        MouseEventKind::Down(MouseButton::Left) => {
            if inside(p.list, &m) {
                let y = m.row.saturating_sub(p.list.y + 1);
                let idx = s.list.top + (y / super::layout::ROW_HEIGHT) as usize;
                if m.row > p.list.y && s.list.row(idx).is_some() {
                    s.list.selected = idx;
                    s.list.selected_key = s.list.selected_row().map(|c| c.key.clone());
                    if let Some(c) = s.list.selected_row().cloned() {
                        open_thread(s, c, out);
                    }
                    s.focus = Focus::List;
                }
            } else if inside(p.thread, &m) && s.thread.is_some() {
                focus_thread(s);
                select_at_row(s, m.row.saturating_sub(p.thread.y + 1) as usize);
            } else if inside(p.composer, &m) && s.thread.is_some() {
                s.focus = Focus::Composer;
            }
        }
        _ => {}
    }
}
