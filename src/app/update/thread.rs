//! The open thread: opening it, its loads, the urgent jump, and retrying
//! a failed send.

use super::composer::save_draft;
use super::note;
use super::scroll::{focus_thread, reveal_cursor, selected_message};
use super::status::{info, set_unread};
use crate::app::command::Command;
use crate::app::event::ThreadData;
use crate::app::keymap::Action;
use crate::app::state::*;
use crate::clock;
use crate::domain::{ConvKey, Conversation, Message, MsgStatus};
use crate::job::Job;
use crate::request::Request;
use crate::rules::window::{Window, HUMAN_AGENT_MS, STANDARD_MS};

pub(super) fn open_thread(s: &mut State, c: Conversation, out: &mut Vec<Command>) {
    if s.open_key() == Some(&c.key) {
        return;
    }
    note::switching(s, &c.key, out);
    save_draft(s, out);
    s.composer = Composer::default();
    s.team.reply_stash = None;
    out.push(Command::Inbox(Request::Thread {
        conv: c.key.clone(),
        limit: THREAD_PAGE,
    }));
    if c.unread > 0 {
        out.push(Command::Inbox(Request::MarkRead {
            conv: c.key.clone(),
        }));
    }
    out.push(Command::Inbox(Request::Presence {
        conv: Some(c.key.clone()),
        typing: false,
    }));
    s.typing_reported = None;
    let token_dead = s.status.token_dead(&c.key.account).is_some();
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
        token_dead,
        pictures: Default::default(),
        notes: Vec::new(),
        history: Vec::new(),
    });
}

/// From the list, a composing key (i, tab, e, n) is about the selected
/// row: open it first when another conversation is open.
pub(super) fn open_selected(s: &mut State, out: &mut Vec<Command>) {
    if s.focus != Focus::List {
        return;
    }
    if let Some(c) = s.list.selected_row().cloned() {
        open_thread(s, c, out);
    }
}

pub(super) fn thread_loaded(s: &mut State, d: ThreadData) {
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
    t.notes = d.notes;
    t.history = d.history;
    for n in &t.notes {
        s.team.saw_note(n);
    }
    s.team.saw(&d.conv);
    t.conv = d.conv;
    t.contact = d.contact;
    t.rev += 1;
    t.scroll = 0;
    t.new_below = 0;
    t.cursor = keep.or_else(|| t.messages.last().map(|m| m.mid.clone()));
    let (key, unread) = (t.conv.key.clone(), t.conv.unread);
    set_unread(s, &key, unread);
    note::thread_arrived(s, &key, d.draft);
    if s.focus == Focus::Thread {
        reveal_cursor(s);
    }
}

/// The open thread's notes and history, read again.
pub(super) fn team_loaded(
    s: &mut State,
    conv: ConvKey,
    notes: Vec<crate::team::Note>,
    history: Vec<crate::team::HistoryEvent>,
) {
    if let Some(t) = s.thread.as_mut().filter(|t| t.conv.key == conv) {
        t.notes = notes;
        t.history = history;
        t.rev += 1;
    }
}

/// An older page of the open thread arrived: put it above what is loaded.
pub(super) fn older_loaded(s: &mut State, conv: ConvKey, messages: Vec<Message>, limit: usize) {
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

/// The edge found the most urgent conversation (or none): open it.
pub(super) fn urgent_found(s: &mut State, c: Option<Box<Conversation>>, out: &mut Vec<Command>) {
    match c.map(|c| *c) {
        Some(c) => {
            let closes = crate::urgent::closes_at(&c, s.human_agent_allowed(&c), s.now);
            let length = match s.window_of(&c) {
                Window::Open { .. } => STANDARD_MS,
                _ => HUMAN_AGENT_MS,
            };
            let prio = match c.priority {
                crate::team::Priority::None => String::new(),
                p => format!("priority {p}, "),
            };
            let msg = match closes {
                Some(t) => format!(
                    "most urgent: {} ({prio}window closes in {})",
                    c.name,
                    clock::window_left(t, s.now, length)
                ),
                None => format!("most urgent: {}", c.name),
            };
            if let Some(i) = s.list.rows.iter().position(|r| r.key == c.key) {
                s.list.selected = s.list.rows_top + i;
                s.list.selected_key = Some(c.key.clone());
            }
            open_thread(s, c, out);
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
    }
}

/// Retry the selected message when it is a failed send. From the list
/// (no visible selection) the newest failed send of the open thread.
pub(super) fn retry(s: &mut State, out: &mut Vec<Command>) {
    let dead = s
        .thread
        .as_ref()
        .and_then(|t| s.status.token_dead(&t.conv.key.account));
    if let Some(d) = dead {
        let msg = format!("no retry: {}", d.text);
        info(s, Level::Error, &msg);
        return;
    }
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
            out.push(Command::Inbox(Request::Job {
                job: Job::Retry { outbox_id },
            }));
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

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::fixtures as fx;
    use crate::app::state::{Focus, Level};
    use crate::domain::*;
    use crate::request::Request;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn enter_opens_thread_and_marks_read() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let cmds = fx::press(&mut s, KeyCode::Enter);
        let k = fx::key(Platform::Messenger, "u1");
        assert!(cmds.contains(&Command::Inbox(Request::Thread {
            conv: k.clone(),
            limit: 200
        })));
        assert!(cmds.contains(&Command::Inbox(Request::MarkRead { conv: k.clone() })));
        assert_eq!(s.focus, Focus::Thread);
        assert_eq!(s.open_key(), Some(&k));
    }

    #[test]
    fn retry_sends_outbox_id_of_failed_message() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        let mut failed = fx::outbound(&c.key, "local:o42", 1, "hi", MsgStatus::Failed);
        failed.error = Some("(#10) outside window".into());
        fx::open_with(&mut s, c, vec![failed]);
        let cmds = fx::press(&mut s, KeyCode::Char('t'));
        assert_eq!(
            fx::jobs(&cmds),
            vec![&crate::job::Job::Retry {
                outbox_id: "o42".into()
            }]
        );
    }

    #[test]
    fn retry_acts_on_the_selected_failed_message() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        let mut f1 = fx::outbound(&c.key, "local:o1", 9, "one", MsgStatus::Failed);
        f1.error = Some("(#10) outside window".into());
        let mut f2 = fx::outbound(&c.key, "local:o2", 8, "two", MsgStatus::Failed);
        f2.error = Some("(#10) outside window".into());
        let msgs = vec![f1, f2, fx::inbound(&c.key, "m3", 7, "still there?")];
        fx::open_with(&mut s, c, msgs);
        // The selected message (the newest) is not a failed send: nothing retried.
        let cmds = fx::press(&mut s, KeyCode::Char('t'));
        assert!(fx::jobs(&cmds).is_empty());
        assert!(matches!(&s.status.message, Some((Level::Error, m)) if m.contains("k/↑")));
        fx::press(&mut s, KeyCode::Char('k'));
        let cmds = fx::press(&mut s, KeyCode::Char('t'));
        assert_eq!(
            fx::jobs(&cmds),
            vec![&crate::job::Job::Retry {
                outbox_id: "o2".into()
            }]
        );
        fx::press(&mut s, KeyCode::Char('k'));
        let cmds = fx::press(&mut s, KeyCode::Char('t'));
        assert_eq!(
            fx::jobs(&cmds),
            vec![&crate::job::Job::Retry {
                outbox_id: "o1".into()
            }]
        );
        // From the list there is no visible selection: the newest failed send.
        fx::press(&mut s, KeyCode::Esc);
        assert_eq!(s.focus, Focus::List);
        let cmds = fx::press(&mut s, KeyCode::Char('t'));
        assert_eq!(
            fx::jobs(&cmds),
            vec![&crate::job::Job::Retry {
                outbox_id: "o2".into()
            }]
        );
    }
}
