//! Store updates arriving from the bus: conversations, messages, contacts,
//! counters, progress; and a lagged bus, which reloads what was shown.

use super::list::load_list;
use super::scroll::{reveal_cursor, thread_width};
use super::status::{info, load_unread, set_unread};
use crate::app::command::Command;
use crate::app::state::*;
use crate::app::thread_layout::Edit;
use crate::clock;
use crate::domain::{Direction, Message};
use crate::request::Request;
use crate::update::Update;

pub(super) fn on_update(s: &mut State, u: Update, out: &mut Vec<Command>) {
    match u {
        Update::Conversation(c) => {
            set_unread(s, &c.key, c.unread);
            super::team::saw(s, &c);
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
                bump(t, Vec::new());
            }
            // A filtered count changes when a conversation enters or leaves
            // the view (resolved, reopened, new): count again unless the
            // loaded row shows it stayed where it was.
            let f = s.list.filter.at(s.now);
            let recount = !f.is_empty()
                && s.list
                    .rows
                    .iter()
                    .find(|r| r.key == c.key)
                    .is_none_or(|old| f.matches(old) != f.matches(&c));
            if let Some(row) = s.list.rows.iter_mut().find(|r| r.key == c.key) {
                *row = *c;
            }
            // Re-read the window so the list reorders (the edge coalesces bursts).
            out.push(load_list(s, recount));
        }
        Update::Message(m) => on_message(s, *m, out),
        Update::Contact(c) => {
            if let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == c.conv) {
                t.contact = Some(*c);
                bump(t, Vec::new());
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
        Update::TokenWarnings(w) => s.status.tokens = w,
        Update::TokenDead(d) => {
            s.status.add_dead(d);
            mark_dead_thread(s);
        }
        Update::OwnerStatus(o) => {
            // The owner's numbers replace this UI's own (an attached UI
            // saw only what happened since it attached).
            s.opts.listen = Some(crate::app::state::attached_label(
                o.listen.as_deref(),
                o.pid,
            ));
            s.status.events_today = (clock::day_key(s.now, s.opts.zone), o.events_today);
            s.status.sync = o.sync;
            for d in o.dead {
                s.status.add_dead(d);
            }
            mark_dead_thread(s);
        }
        Update::Error(e) => info(s, Level::Error, &e),
        Update::Presence(v) => s.presence = v,
        Update::History(h) => {
            if let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == h.conv) {
                if !t.history.contains(&h) {
                    let at = t.history.partition_point(|x| x.at <= h.at);
                    t.history.insert(at, *h);
                    t.rev += 1;
                }
            }
        }
        Update::Note(n) => note_arrived(s, *n),
        Update::Mail(m) => super::team_requests::mail(s, vec![*m], out),
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
            // A digest counts inbound messages without naming theirs: stay
            // quiet only when every conversation it names is someone else's.
            let rings = more
                || changed.is_empty()
                || changed.iter().any(|(k, _)| super::team::rings_here(s, k));
            if inbound > 0 && s.opts.bell && rings {
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
        // Someone else's conversation rings only its assignee's bell.
        if s.opts.bell && super::team::rings_here(s, &m.conv) {
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
    // What changed, for the layout memo: only those messages are laid out again.
    let mut edits = Vec::new();
    // The newest are the likeliest to change: search from the end.
    if let Some(i) = t.messages.iter().rposition(|x| x.mid == m.mid) {
        t.messages[i] = m;
        edits.push(Edit::Changed(i));
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
                edits.push(Edit::Removed(i, local.mid));
            }
        }
        let older_than_loaded = t
            .messages
            .first()
            .is_some_and(|f| m.timestamp < f.timestamp);
        if older_than_loaded && !t.reached_start {
            bump(t, edits);
            return; // outside the loaded window; it appears when scrolled to
        }
        let pos = t.messages.partition_point(|x| x.timestamp <= m.timestamp);
        appended = pos == t.messages.len();
        t.messages.insert(pos, m);
        edits.push(Edit::Inserted(pos));
    }
    bump(t, edits);
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
        out.push(Command::Inbox(Request::MarkRead {
            conv: t.conv.key.clone(),
        }));
    }
}

/// A note, from the bus or the answer to our own: into the open thread,
/// once (both bring our own).
pub(super) fn note_arrived(s: &mut State, n: crate::team::Note) {
    s.team.saw_note(&n);
    if let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == n.conv) {
        if !t.notes.iter().any(|x| x.id == n.id) {
            let at = t.notes.partition_point(|x| x.at <= n.at);
            t.notes.insert(at, n);
            t.rev += 1;
        }
    }
}

/// Updates were dropped on the bus: load what is shown again.
/// Back at a restarted owner under a new presence session: the old one is
/// not this UI's any more (else it would see itself as another viewer).
pub(super) fn reattached(s: &mut State, session: u64, out: &mut Vec<Command>) {
    s.opts.session = session;
    info(s, Level::Info, "reconnected to the owner");
    lagged(s, out);
}

pub(super) fn lagged(s: &mut State, out: &mut Vec<Command>) {
    // Missed updates may have moved the view's counts too.
    super::view_counts::changed(s);
    out.push(load_list(s, true));
    // Conversation updates were dropped: count the unread again.
    out.push(load_unread(s));
    if let Some(k) = s.open_key() {
        out.push(Command::Inbox(Request::Thread {
            conv: k.clone(),
            limit: THREAD_PAGE,
        }));
    }
}

/// The open thread stops offering a retry once its page's token is dead.
fn mark_dead_thread(s: &mut State) {
    let Some(t) = s.thread.as_mut() else { return };
    let dead = s.status.token_dead(&t.conv.key.account).is_some();
    if t.token_dead != dead {
        t.token_dead = dead;
        bump(t, Vec::new());
    }
}

/// The open thread changed: a new rev, and what changed for its layout memo.
fn bump(t: &mut ThreadPane, edits: Vec<Edit>) {
    t.rev += 1;
    t.memo.edited(t.rev, edits);
}

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::event::Event;
    use crate::app::fixtures::{self as fx, NOW};
    use crate::app::update;
    use crate::domain::*;
    use crate::request::Request;
    use crate::update::Update;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn token_warnings_replace_the_last_list() {
        let mut s = fx::state(100, 30);
        let warn = "token of Shop (P1) expires in 3 day(s): generate a new Page access token";
        update::update(
            &mut s,
            Event::Update(Update::TokenWarnings(vec![warn.into()])),
        );
        assert_eq!(s.status.tokens, vec![warn.to_string()]);
        update::update(&mut s, Event::Update(Update::TokenWarnings(vec![])));
        assert!(s.status.tokens.is_empty(), "renewed: the warning goes");
    }

    #[test]
    fn live_message_follows_or_counts_new_when_scrolled_up() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        let msgs: Vec<Message> = (0..40)
            .map(|i| fx::inbound(&c.key, &format!("m{i}"), 200 - i, "line"))
            .collect();
        fx::open_with(&mut s, c.clone(), msgs);
        let mut m = fx::inbound(&c.key, "new1", 0, "are you there?");
        m.timestamp = NOW;
        let cmds = update(&mut s, Event::Update(Update::Message(Box::new(m))));
        assert!(cmds.contains(&Command::Bell));
        assert!(cmds.contains(&Command::Inbox(Request::MarkRead {
            conv: c.key.clone()
        })));
        assert_eq!(s.thread.as_ref().map(|t| t.messages.len()), Some(41));
        assert_eq!(s.thread.as_ref().map(|t| t.scroll), Some(0));

        fx::press(&mut s, KeyCode::PageUp);
        let before = s.thread.as_ref().map(|t| t.scroll).unwrap_or(0);
        assert!(before > 0);
        let mut m = fx::inbound(&c.key, "new2", 0, "hello??");
        m.timestamp = NOW.plus_ms(1000);
        let cmds = update(&mut s, Event::Update(Update::Message(Box::new(m))));
        assert!(
            !cmds.contains(&Command::Inbox(Request::MarkRead {
                conv: c.key.clone()
            })),
            "scrolled up: not read yet"
        );
        let t = s.thread.as_ref().unwrap();
        assert_eq!(t.new_below, 1);
        assert!(t.scroll > before, "the view stays where the agent was");
        fx::press(&mut s, KeyCode::Char('G'));
        assert_eq!(
            s.thread.as_ref().map(|t| (t.scroll, t.new_below)),
            Some((0, 0))
        );
    }

    #[test]
    fn pending_copy_is_replaced_by_sent_message() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        let local = fx::outbound(&c.key, "local:o1", 1, "hi", MsgStatus::Pending);
        fx::open_with(&mut s, c.clone(), vec![local.clone()]);
        let mut sent = local.clone();
        sent.mid = Mid::new("m_real");
        sent.status = MsgStatus::Sent;
        update(&mut s, Event::Update(Update::Message(Box::new(sent))));
        let t = s.thread.as_ref().unwrap();
        assert_eq!(t.messages.len(), 1);
        assert_eq!(t.messages[0].mid.as_str(), "m_real");
    }

    #[test]
    fn conversation_update_reloads_list_and_follows_selection() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('j'));
        fx::press(&mut s, KeyCode::Char('j')); // Cy Diaz selected
        let mut cy = fx::three()[2].clone();
        cy.last_activity = NOW;
        cy.unread = 2;
        let cmds = update(
            &mut s,
            Event::Update(Update::Conversation(Box::new(cy.clone()))),
        );
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Command::Inbox(Request::List { offset: 0, .. }))));
        // The store answers with Cy on top: the selection follows Cy.
        let mut rows = fx::three();
        rows.remove(2);
        rows.insert(0, cy);
        fx::load_rows(&mut s, rows);
        assert_eq!(s.list.selected, 0);
        assert_eq!(
            s.list.selected_row().map(|c| c.name.as_str()),
            Some("Cy Diaz")
        );
    }

    #[test]
    fn presence_updates_reach_the_state() {
        let mut s = fx::state(100, 30);
        let k = fx::key(Platform::Messenger, "u1");
        let v = vec![crate::update::Viewer {
            agent: "bob".into(),
            session: 7,
            conv: k.clone(),
            typing_at: Some(NOW),
        }];
        update(&mut s, Event::Update(Update::Presence(v.clone())));
        assert_eq!(s.presence, v);
        let others = crate::update::others_in(&s.presence, &k, s.opts.session, s.now);
        assert_eq!(others, vec![("bob".to_string(), true)]);
        // Our own session is not a colleague; typing expires.
        assert!(crate::update::others_in(&s.presence, &k, 7, s.now).is_empty());
        let later = crate::update::others_in(&s.presence, &k, 1, NOW.plus_ms(60_000));
        assert_eq!(later, vec![("bob".to_string(), false)]);
    }

    /// The wave-2 trial's defect: after the owner restarted, an attached UI
    /// listed its own new session as a colleague viewing the thread.
    #[test]
    fn a_ui_back_at_a_restarted_owner_does_not_see_itself_as_another_viewer() {
        let mut s = fx::state(100, 30);
        s.opts.session = 3;
        fx::load_rows(&mut s, fx::three());
        let k = s.list.rows[0].key.clone();
        let me_again = crate::update::Viewer {
            agent: "alice".into(),
            session: 5,
            conv: k.clone(),
            typing_at: None,
        };
        update(&mut s, Event::Update(Update::Presence(vec![me_again])));
        let out = update(&mut s, Event::Reattached { session: 5 });
        assert_eq!(s.opts.session, 5);
        assert!(crate::update::others_in(&s.presence, &k, s.opts.session, s.now).is_empty());
        assert_eq!(
            s.status.message,
            Some((
                crate::app::state::Level::Info,
                "reconnected to the owner".to_string()
            ))
        );
        assert!(
            out.iter()
                .any(|c| matches!(c, Command::Inbox(Request::List { .. }))),
            "what is shown is reloaded: {out:?}"
        );
    }
}
