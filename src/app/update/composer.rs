//! The reply composer: its keys, its draft, typing presence, the HUMAN_AGENT choice,
//! and sending (with the ask-first when a colleague just replied).

use super::note::{complete_mention, end_note, send_note};
use super::scroll::{focus_thread, scroll_view, thread_height};
use super::status::info;
use crate::app::command::Command;
use crate::app::keymap::{Action, Scope};
use crate::app::state::*;
use crate::domain::{ConvKey, Direction};
use crate::job::Job;
use crate::request::Request;
use crate::rules::window::{check_text, plan, Purpose, Tag, Window};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn save_draft(s: &mut State, out: &mut Vec<Command>) {
    if let Some(conv) = s.open_key().cloned() {
        // Writing a note, the draft is the reply set aside for it.
        let text = match s.composer.mode {
            ComposeMode::Reply => s.composer.text(),
            ComposeMode::Note => s.team.reply_stash.clone().unwrap_or_default(),
        };
        draft_saved(s, conv, text, out);
    }
}

/// Save (or, empty, clear) a draft, and mark the row at once: the store
/// keeps the flag too, but sends no update for it.
fn draft_saved(s: &mut State, conv: ConvKey, text: String, out: &mut Vec<Command>) {
    let has = !text.is_empty();
    let rows = s.list.rows.iter_mut().filter(|c| c.key == conv);
    let open = s
        .thread
        .iter_mut()
        .map(|t| &mut t.conv)
        .filter(|c| c.key == conv);
    for c in rows.chain(open) {
        c.has_draft = has;
    }
    out.push(Command::Inbox(Request::SaveDraft { conv, text }));
}

/// Quit, keeping the draft.
pub(super) fn quit(s: &mut State, out: &mut Vec<Command>) {
    save_draft(s, out);
    s.quit = true;
    out.push(Command::Quit);
}

/// Keys that move or delete inside the text: the text area has them before
/// any action (← would otherwise leave the composer as `back`).
fn is_editing_key(k: &KeyEvent) -> bool {
    use KeyCode::*;
    matches!(
        k.code,
        Left | Right | Up | Down | Home | End | Backspace | Delete
    )
}

fn is_plain_char(k: &KeyEvent) -> bool {
    matches!(k.code, KeyCode::Char(_))
        && !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

pub(super) fn composer_key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) {
    let note = s.composer.mode == ComposeMode::Note;
    let scope = if note { Scope::Note } else { Scope::Reply };
    let typed = is_plain_char(&k) || is_editing_key(&k);
    let action = s
        .opts
        .keymap
        .action(scope, &k)
        // Typing goes to the text, except a note's own key (complete @name).
        .filter(|a| !typed || *a == Action::Mention);
    let page = thread_height(s).saturating_sub(2).max(1) as isize;
    match action {
        Some(Action::Mention) => complete_mention(s),
        Some(Action::Send) if note => send_note(s, out),
        Some(Action::Canned | Action::ToggleTag) if note => info(
            s,
            Level::Error,
            "a note stays with the team: no canned replies or tags",
        ),
        Some(Action::Back) if note && s.composer.text().trim().is_empty() => {
            end_note(s, out);
            focus_thread(s);
        }
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
        Some(Action::Attach) if !note => super::attach::open(s, out),
        Some(Action::Editor) => out.push(Command::OpenEditor {
            text: s.composer.text(),
        }),
        Some(Action::Quit) => quit(s, out),
        Some(Action::Back) | Some(Action::Compose) => focus_thread(s),
        Some(Action::PageUp) => scroll_view(s, page, out),
        Some(Action::PageDown) => scroll_view(s, -page, out),
        Some(Action::Undo) => {
            s.composer.textarea.undo();
        }
        Some(Action::Redo) => {
            s.composer.textarea.redo();
        }
        Some(Action::ClearText) => {
            // Cut rather than replace, so undo brings the text back.
            s.composer.textarea.select_all();
            s.composer.textarea.cut();
            s.composer.refusal = None;
        }
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
const COLLISION_MS: i64 = 120_000;

fn report_typing(s: &mut State, out: &mut Vec<Command>) {
    let Some(t) = &s.thread else { return };
    if s.composer.mode == ComposeMode::Note {
        return; // colleagues would read "typing" as a reply on its way
    }
    if s.typing_reported
        .is_some_and(|at| s.now.0 - at.0 < TYPING_REPORT_MS)
    {
        return;
    }
    s.typing_reported = Some(s.now);
    out.push(Command::Inbox(Request::Presence {
        conv: Some(t.conv.key.clone()),
        typing: true,
    }));
}

/// The latest reply in the thread by another agent within `COLLISION_MS`.
fn colleague_reply(s: &State) -> Option<(String, i64)> {
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
pub(super) fn send(s: &mut State, out: &mut Vec<Command>) {
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

pub(super) fn dispatch_reply(
    s: &mut State,
    conv: ConvKey,
    text: String,
    tag: Option<Tag>,
    out: &mut Vec<Command>,
) {
    out.push(Command::Inbox(Request::Job {
        job: Job::Reply {
            conv: conv.clone(),
            text,
            tag,
            agent: s.opts.me.clone(),
        },
    }));
    draft_saved(s, conv, String::new(), out);
    s.composer = Composer::default();
    // A success replaces an earlier refusal on the status bar.
    let name = s
        .thread
        .as_ref()
        .map(|t| crate::app::names::who(s, &t.conv));
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

pub(super) fn paste(s: &mut State, text: &str) {
    match &mut s.overlay {
        Some(Overlay::Bulk(b)) if b.stage == BulkStage::Edit => {
            b.text.insert_str(text);
            b.preview = None;
        }
        Some(_) => {}
        None if s.focus == Focus::Composer => {
            s.composer.textarea.insert_str(text);
        }
        None => {}
    }
}

/// The external editor returned (None: it failed or was cancelled).
pub(super) fn editor_done(s: &mut State, text: Option<String>) {
    match text {
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
    }
}

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::fixtures as fx;
    use crate::app::state::{Focus, Level};
    use crate::domain::*;
    use crate::request::Request;
    use crate::rules::window::Tag;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn reply_inside_window_emits_job() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        fx::open_with(
            &mut s,
            c.clone(),
            vec![fx::inbound(&c.key, "m1", 5, "hello")],
        );
        fx::press(&mut s, KeyCode::Char('i'));
        assert_eq!(s.focus, Focus::Composer);
        fx::typ(&mut s, "hi there");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert_eq!(
            fx::jobs(&cmds),
            vec![&crate::job::Job::Reply {
                conv: c.key.clone(),
                text: "hi there".into(),
                tag: None,
                agent: Some("alice".into())
            }]
        );
        assert!(cmds.contains(&Command::Inbox(Request::SaveDraft {
            conv: c.key,
            text: String::new()
        })));
        assert_eq!(s.composer.text(), "");
    }

    #[test]
    fn reply_outside_window_is_refused_until_human_agent_chosen() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u3", "Cy Diaz", 30 * 60, 0);
        fx::open_with(
            &mut s,
            c.clone(),
            vec![fx::inbound(&c.key, "m1", 30 * 60, "hello?")],
        );
        fx::press(&mut s, KeyCode::Tab);
        fx::typ(&mut s, "sorry for the wait");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert!(fx::jobs(&cmds).is_empty(), "refused sends emit no job");
        assert!(s
            .composer
            .refusal
            .as_deref()
            .unwrap_or("")
            .contains("HUMAN_AGENT"));
        assert!(matches!(&s.status.message, Some((Level::Error, m)) if m.starts_with("not sent")));
        assert_eq!(
            s.composer.text(),
            "sorry for the wait",
            "text kept after a refusal"
        );
        fx::ctrl(&mut s, 't');
        assert_eq!(s.composer.tag, Some(Tag::HumanAgent));
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert_eq!(
            fx::jobs(&cmds),
            vec![&crate::job::Job::Reply {
                conv: c.key,
                text: "sorry for the wait".into(),
                tag: Some(Tag::HumanAgent),
                agent: Some("alice".into())
            }]
        );
    }

    #[test]
    fn closed_and_empty_and_unconfigured_are_refused() {
        // Past 7 days: even HUMAN_AGENT is refused.
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Instagram, "u9", "Old", 8 * 24 * 60, 0);
        fx::open_with(&mut s, c.clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::typ(&mut s, "hello");
        assert!(fx::jobs(&fx::press(&mut s, KeyCode::Enter)).is_empty());
        fx::ctrl(&mut s, 't');
        assert!(fx::jobs(&fx::press(&mut s, KeyCode::Enter)).is_empty());

        // Empty text.
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        fx::open_with(&mut s, c, vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        assert!(fx::jobs(&fx::press(&mut s, KeyCode::Enter)).is_empty());
        assert!(s.composer.refusal.is_some());

        // An account with no configured page.
        let mut c = fx::conv(Platform::Messenger, "u5", "Eve", 5, 0);
        c.key.account = AccountId::new("999");
        fx::open_with(&mut s, c, vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::typ(&mut s, "hi");
        assert!(fx::jobs(&fx::press(&mut s, KeyCode::Enter)).is_empty());
        assert!(s
            .composer
            .refusal
            .as_deref()
            .unwrap_or("")
            .contains("not configured"));
    }
}
