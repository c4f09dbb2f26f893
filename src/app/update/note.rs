//! The private note's composer: the composer turning to a note and back
//! (the reply being written waits meanwhile), a half-written note set
//! aside per conversation while the agent is elsewhere, `@name`
//! completion, and saving the note (never sent to Meta).

use super::status::info;
use super::team_requests::{ask, Ask};
use crate::app::command::Command;
use crate::app::state::*;
use crate::domain::ConvKey;
use crate::request::Request;
use crate::team::AgentName;

/// Whom a note can mention (and a conversation go to).
pub(super) fn agents(s: &State) -> Vec<AgentName> {
    s.team.agents(&s.opts.agents, s.opts.me.as_deref())
}

/// The composer becomes a private note's, keeping a reply being written.
pub(super) fn start_note(s: &mut State) {
    if s.composer.mode == ComposeMode::Note {
        return;
    }
    let reply = s.composer.text();
    s.team.reply_stash = (!reply.is_empty()).then_some(reply);
    s.composer = Composer::note();
}

/// Back to the reply (after a note was saved or abandoned), with the reply
/// that was being written; nothing stays set aside in the store.
pub(super) fn end_note(s: &mut State, out: &mut Vec<Command>) {
    if s.composer.mode != ComposeMode::Note {
        return;
    }
    if let Some(conv) = s.open_key().cloned() {
        out.push(Command::Inbox(Request::SaveNoteDraft {
            conv,
            text: String::new(),
        }));
    }
    let reply = s.team.reply_stash.take().unwrap_or_default();
    s.composer = Composer::default();
    if !reply.is_empty() {
        s.composer.set_text(&reply);
    }
}

/// Tab in a note: complete the `@name` before the cursor from the agents.
pub(super) fn complete_mention(s: &mut State) {
    let ratatui_textarea::DataCursor(row, col) = s.composer.textarea.cursor();
    let Some(line) = s.composer.textarea.lines().get(row) else {
        return;
    };
    let before: String = line.chars().take(col).collect();
    let Some(at) = before.rfind('@') else {
        info(s, Level::Info, "type @ and the start of a name, then tab");
        return;
    };
    let partial = &before[at + 1..];
    if partial
        .chars()
        .any(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return;
    }
    let names: Vec<String> = agents(s)
        .into_iter()
        .map(|a| a.0)
        .filter(|a| a.starts_with(partial))
        .collect();
    let Some(first) = names.first() else {
        info(s, Level::Error, &format!("no agent starts with @{partial}"));
        return;
    };
    // The longest start all candidates share.
    let common = names.iter().fold(first.clone(), |acc, n| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let rest = &common[partial.len()..];
    if names.len() == 1 {
        s.composer.textarea.insert_str(format!("{rest} "));
    } else {
        s.composer.textarea.insert_str(rest);
        let msg = format!("@: {}", names.join(", "));
        info(s, Level::Info, &msg);
    }
}

/// Leaving the open conversation for `next`: a note being written there
/// is set aside for it, here and in the store (so it survives a restart),
/// an empty one forgets what was set aside; and the note set aside for
/// `next` is asked for (before its thread, so it is here when the thread
/// arrives).
pub(super) fn switching(s: &mut State, next: &ConvKey, out: &mut Vec<Command>) {
    if let Some(conv) = s.open_key().cloned() {
        if s.composer.mode == ComposeMode::Note {
            let text = s.composer.text();
            let text = if text.trim().is_empty() {
                s.team.notes_aside.remove(&conv);
                String::new()
            } else {
                s.team.notes_aside.insert(conv.clone(), text.clone());
                text
            };
            out.push(Command::Inbox(Request::SaveNoteDraft { conv, text }));
        }
    }
    if !s.team.notes_aside.contains_key(next) {
        out.push(Command::Inbox(Request::NoteDraft { conv: next.clone() }));
    }
}

/// The store's note set aside for `conv` (from an earlier run): it waits
/// with the others; if the thread is already open with nothing written,
/// it comes back now. One set aside in this run is newer and wins.
pub(super) fn stored_note_arrived(s: &mut State, conv: ConvKey, text: Option<String>) {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return;
    };
    if s.team.notes_aside.contains_key(&conv) {
        return;
    }
    let open_here = s.thread.as_ref().is_some_and(|t| t.conv.key == conv);
    let idle = s.composer.mode == ComposeMode::Reply && s.composer.text().is_empty();
    if open_here && idle {
        s.composer = Composer::note();
        s.composer.set_text(&text);
        info(s, Level::Info, "your unfinished note is back");
    } else {
        // It waits for the next visit (the agent is writing something).
        s.team.notes_aside.insert(conv, text);
    }
}

/// A thread arrived with its saved reply draft. A note set aside here
/// comes back in the note composer (the draft waits as its reply), unless
/// the agent already started something else; otherwise the draft fills an
/// empty reply, or waits behind a note being written.
pub(super) fn thread_arrived(s: &mut State, conv: &ConvKey, draft: Option<String>) {
    let draft = draft.filter(|d| !d.is_empty());
    let idle = s.composer.mode == ComposeMode::Reply && s.composer.text().is_empty();
    if idle {
        if let Some(note) = s.team.notes_aside.remove(conv) {
            s.composer = Composer::note();
            s.composer.set_text(&note);
            s.team.reply_stash = draft;
            info(s, Level::Info, "your unfinished note is back");
            return;
        }
    }
    match s.composer.mode {
        ComposeMode::Reply if idle => {
            if let Some(d) = draft {
                s.composer.set_text(&d);
            }
        }
        ComposeMode::Note if s.team.reply_stash.is_none() => s.team.reply_stash = draft,
        _ => {}
    }
}

/// Save the note (never sent to Meta) and go back to the reply, or to the
/// thread when no reply was being written (the next key is not typed into
/// an empty reply).
pub(super) fn send_note(s: &mut State, out: &mut Vec<Command>) {
    let Some(t) = &s.thread else { return };
    let (conv, name) = (t.conv.key.clone(), crate::app::names::who(s, &t.conv));
    let text = s.composer.text().trim().to_string();
    if text.is_empty() {
        info(s, Level::Error, "an empty note: nothing saved");
        return;
    }
    let agents = agents(s);
    let mentions = crate::team::mentions_in(&text);
    let unknown: Vec<String> = mentions
        .iter()
        .filter(|m| !agents.contains(m))
        .map(|m| format!("@{m}"))
        .collect();
    ask(s, Ask::Note(conv, text), out);
    end_note(s, out);
    if s.composer.text().is_empty() {
        super::scroll::focus_thread(s);
    }
    let mut msg = format!("note saved on {name}");
    if !mentions.is_empty() {
        let names: Vec<String> = mentions.iter().map(|m| format!("@{m}")).collect();
        msg.push_str(&format!(" · tells {}", names.join(", ")));
    }
    if !unknown.is_empty() {
        msg.push_str(&format!(
            " ({} not seen as agents here)",
            unknown.join(", ")
        ));
    }
    info(s, Level::Info, &msg);
}

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::event::{Event, Reply, ThreadData};
    use crate::app::fixtures as fx;
    use crate::app::state::*;
    use crate::app::update;
    use crate::domain::Conversation;
    use crate::request::Request;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::KeyCode;
    use ratatui::Terminal;

    /// The thread's answer, with the reply draft the store kept.
    fn arrives(s: &mut State, c: &Conversation, draft: Option<&str>) {
        update(
            s,
            Event::Inbox(Reply::Thread(Some(Box::new(ThreadData {
                conv: c.clone(),
                contact: None,
                messages: vec![],
                limit: 50,
                draft: draft.map(str::to_string),
                notes: vec![],
                history: vec![],
            })))),
        );
    }

    /// From the thread or composer back to the list, then open row `i`.
    fn switch_to(s: &mut State, i: usize) -> Vec<Command> {
        fx::press(s, KeyCode::Esc);
        fx::press(s, KeyCode::Esc);
        assert_eq!(s.focus, Focus::List);
        while s.list.selected > i {
            fx::press(s, KeyCode::Char('k'));
        }
        while s.list.selected < i {
            fx::press(s, KeyCode::Char('j'));
        }
        fx::press(s, KeyCode::Enter)
    }

    fn screen(s: &State) -> String {
        let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
        t.draw(|f| crate::ui::render(s, f)).unwrap();
        format!("{:?}", t.backend())
    }

    #[test]
    fn a_half_written_note_waits_for_its_conversation_and_comes_back_as_a_note() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        fx::load_rows(&mut s, rows.clone());
        let (ann, bo) = (rows[0].clone(), rows[1].clone());
        fx::open_with(&mut s, ann.clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::typ(&mut s, "half a reply");
        fx::press(&mut s, KeyCode::Esc);
        fx::press(&mut s, KeyCode::Char('n'));
        fx::typ(&mut s, "refund ok? @bob");
        // Away to Bo: the reply is the saved draft, the note is set aside.
        let cmds = switch_to(&mut s, 1);
        assert!(cmds.contains(&Command::Inbox(Request::SaveDraft {
            conv: ann.key.clone(),
            text: "half a reply".into(),
        })));
        arrives(&mut s, &bo, None);
        assert_eq!(s.composer.mode, ComposeMode::Reply);
        assert_eq!(
            s.composer.text(),
            "",
            "Bo's composer holds nothing of Ann's"
        );
        // Back to Ann: the note, in the note composer with its title; the
        // reply draft waits behind it.
        switch_to(&mut s, 0);
        arrives(&mut s, &ann, Some("half a reply"));
        assert_eq!(s.composer.mode, ComposeMode::Note);
        assert_eq!(s.composer.text(), "refund ok? @bob");
        assert!(
            screen(&s).contains("Private note — not sent to the customer · Ann Lee"),
            "{}",
            screen(&s)
        );
        fx::press(&mut s, KeyCode::Char('i'));
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert!(cmds.contains(&Command::Inbox(Request::Note {
            conv: ann.key.clone(),
            text: "refund ok? @bob".into(),
        })));
        assert_eq!(s.composer.mode, ComposeMode::Reply);
        assert_eq!(s.composer.text(), "half a reply");
        assert_eq!(
            s.focus,
            Focus::Composer,
            "the reply comes back to be finished"
        );
        // Saved, it is gone: the next visit starts with the reply.
        switch_to(&mut s, 1);
        arrives(&mut s, &bo, None);
        switch_to(&mut s, 0);
        arrives(&mut s, &ann, Some("half a reply"));
        assert_eq!(s.composer.mode, ComposeMode::Reply);
        assert_eq!(s.composer.text(), "half a reply");
    }

    /// From the agent trial: with no reply being written, the key after a
    /// saved note is a command again, not a letter in an empty reply.
    #[test]
    fn a_note_saved_with_no_reply_written_leaves_the_composer() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        fx::load_rows(&mut s, rows.clone());
        fx::open_with(&mut s, rows[0].clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('n'));
        assert_eq!(s.focus, Focus::Composer);
        fx::typ(&mut s, "called her back");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert!(cmds.contains(&Command::Inbox(Request::Note {
            conv: rows[0].key.clone(),
            text: "called her back".into(),
        })));
        assert_eq!(
            (s.composer.mode, s.focus),
            (ComposeMode::Reply, Focus::Thread)
        );
        assert_eq!(s.composer.text(), "");
    }

    #[test]
    fn a_set_aside_note_is_kept_by_the_store_and_comes_back_after_a_restart() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        fx::load_rows(&mut s, rows.clone());
        let ann = rows[0].clone();
        fx::open_with(&mut s, ann.clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('n'));
        fx::typ(&mut s, "refund ok? @bob");
        let cmds = switch_to(&mut s, 1);
        let keep = Command::Inbox(Request::SaveNoteDraft {
            conv: ann.key.clone(),
            text: "refund ok? @bob".into(),
        });
        assert!(cmds.contains(&keep), "{cmds:?}");

        // A restart: nothing in memory; opening Ann asks the store for
        // her note before her thread.
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, rows.clone());
        let cmds = switch_to(&mut s, 0);
        let ask = Command::Inbox(Request::NoteDraft {
            conv: ann.key.clone(),
        });
        let at = |c: &Command| cmds.iter().position(|x| x == c);
        let thread = cmds
            .iter()
            .position(|c| matches!(c, Command::Inbox(Request::Thread { .. })));
        assert!(at(&ask).is_some() && at(&ask) < thread, "{cmds:?}");
        update(
            &mut s,
            Event::Inbox(Reply::NoteDraft {
                conv: ann.key.clone(),
                text: Some("refund ok? @bob".into()),
            }),
        );
        arrives(&mut s, &ann, Some("half a reply"));
        assert_eq!(s.composer.mode, ComposeMode::Note);
        assert_eq!(s.composer.text(), "refund ok? @bob");
        // Saved, the store forgets it.
        fx::press(&mut s, KeyCode::Char('i'));
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert!(cmds.contains(&Command::Inbox(Request::SaveNoteDraft {
            conv: ann.key.clone(),
            text: String::new(),
        })));
        assert_eq!(s.composer.text(), "half a reply");

        // The note's answer after the thread: back if nothing is written.
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, rows.clone());
        switch_to(&mut s, 0);
        arrives(&mut s, &ann, None);
        update(
            &mut s,
            Event::Inbox(Reply::NoteDraft {
                conv: ann.key.clone(),
                text: Some("refund ok? @bob".into()),
            }),
        );
        assert_eq!(s.composer.mode, ComposeMode::Note);
        assert_eq!(s.composer.text(), "refund ok? @bob");
    }

    #[test]
    fn an_emptied_note_is_not_kept_and_a_reload_never_puts_the_reply_in_a_note() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        fx::load_rows(&mut s, rows.clone());
        let (ann, bo) = (rows[0].clone(), rows[1].clone());
        fx::open_with(&mut s, ann.clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('n'));
        // The thread read again (after a lag) while a note is empty: the
        // reply draft is not typed into the note.
        arrives(&mut s, &ann, Some("the reply"));
        assert_eq!(s.composer.mode, ComposeMode::Note);
        assert_eq!(s.composer.text(), "");
        fx::typ(&mut s, "x");
        fx::press(&mut s, KeyCode::Backspace);
        fx::press(&mut s, KeyCode::Esc);
        let cmds = switch_to(&mut s, 1);
        // The reply that waited behind the note is still the draft.
        assert!(cmds.contains(&Command::Inbox(Request::SaveDraft {
            conv: ann.key.clone(),
            text: "the reply".into(),
        })));
        arrives(&mut s, &bo, None);
        switch_to(&mut s, 0);
        arrives(&mut s, &ann, Some("the reply"));
        assert_eq!(s.composer.mode, ComposeMode::Reply);
        assert_eq!(s.composer.text(), "the reply");
    }
}
