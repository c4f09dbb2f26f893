//! Store updates arriving from the bus: conversations, messages, contacts,
//! counters, progress; and a lagged bus, which reloads what was shown.

use super::list::load_list;
use super::scroll::{reveal_cursor, thread_width};
use super::status::{info, load_unread, set_unread, unread_loaded};
use crate::app::clock;
use crate::app::command::Command;
use crate::app::state::*;
use crate::domain::{Direction, Message};
use crate::update::Update;

pub(super) fn on_update(s: &mut State, u: Update, out: &mut Vec<Command>) {
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

/// Updates were dropped on the bus: load what is shown again.
pub(super) fn lagged(s: &mut State, out: &mut Vec<Command>) {
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
