//! Keys with no popup open and the composer unfocused: the keymap's
//! action for the list or the thread (popups: overlays.rs; the composer:
//! composer.rs).

use super::composer::{composer_key, quit};
use super::list::{
    filter_changed, list_row_is_open, mark_matching, move_selection, page_list, select_row, target,
};
use super::overlays::overlay_key;
use super::scroll::{
    focus_thread, move_cursor, scroll_thread, scroll_view, selected_message, thread_height,
};
use super::status::info;
use super::team::{team_key, TEAM};
use super::thread::{open_selected, open_thread, retry};
use crate::app::command::Command;
use crate::app::keymap::{Action, Scope};
use crate::app::state::*;
use crate::domain::{Conversation, Platform};
use crate::filter::ConvFilter;
use crate::job::Job;
use crate::request::Request;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        quit(s, out);
        return;
    }
    if s.overlay.is_some() {
        overlay_key(s, k, out);
        return;
    }
    if super::search::key(s, k, out) {
        return;
    }
    if s.focus == Focus::Composer {
        composer_key(s, k, out);
        return;
    }
    // One lookup: whichever action the key is bound to here.
    let Some(action) = s.opts.keymap.action(Scope::Main, &k) else {
        return;
    };
    if TEAM.contains(&action) {
        return team_key(s, action, out);
    }
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
        Action::Help => s.overlay = Some(Overlay::Help(HelpPage::Keys)),
        Action::Notices => s.overlay = Some(Overlay::Notices { scroll: 0 }),
        Action::Report => {
            // Computed by the store's owner off the event loop; the pane
            // opens when it arrives.
            info(s, Level::Info, "computing the team report…");
            out.push(Command::Inbox(Request::Report {
                since_ms: crate::report::DEFAULT_SINCE_MS,
                utc_offset_s: s.opts.zone.offset_at(s.now).local_minus_utc(),
            }));
        }
        Action::SearchMessages => super::search::open(s),
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
        Action::View => {
            s.list.filter.view = s.list.filter.view.next(s.now);
            filter_changed(s, out);
        }
        Action::ClearFilter => {
            // The view is where the agent is, not a filter: it stays.
            s.list.filter = ConvFilter {
                view: s.list.filter.view,
                ..Default::default()
            };
            filter_changed(s, out);
        }
        Action::MarkRead => {
            if let Some(c) = target(s) {
                info(
                    s,
                    Level::Info,
                    &format!("{}: marked read", crate::app::names::who(s, &c)),
                );
                out.push(Command::Inbox(Request::MarkRead { conv: c.key }));
            }
        }
        Action::MarkUnread => {
            if let Some(c) = target(s) {
                info(
                    s,
                    Level::Info,
                    &format!("{}: marked unread", crate::app::names::who(s, &c)),
                );
                out.push(Command::Inbox(Request::MarkUnread { conv: c.key }));
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
            out.push(Command::Inbox(Request::Job {
                job: Job::Sync { account: None },
            }));
            info(s, Level::Info, "sync requested");
        }
        Action::Mark => {
            if let Some(c) = target(s) {
                let msg = if s.marked.remove(&c.key).is_none() {
                    let msg = format!("marked {}", crate::app::names::who(s, &c));
                    s.marked.insert(c.key.clone(), c);
                    msg
                } else {
                    format!("unmarked {}", crate::app::names::who(s, &c))
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
                s.overlay = Some(Overlay::Bulk(Box::new(BulkState::new(text))));
            }
        }
        Action::CancelCampaign => super::bulk_popup::cancel_campaign(s),
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
        Action::Retry | Action::Copy | Action::OpenLink if !list_row_is_open(s) => {
            // From the list they would act on another conversation's
            // messages than the row the agent has selected.
            let name = s.list.selected_row().map(|c| crate::app::names::who(s, c));
            let msg = format!(
                "{} acts on a message of the open conversation: open {} first ({})",
                s.opts.keymap.label(action),
                name.as_deref().unwrap_or("one"),
                s.opts.keymap.label(Action::Open)
            );
            info(s, Level::Error, &msg);
        }
        Action::Retry => retry(s, out),
        Action::OpenLink => super::media::open_link(s, out),
        Action::Urgent => out.push(Command::Inbox(Request::Urgent)),
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

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::fixtures as fx;
    use crate::domain::*;
    use crate::request::Request;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn a_team_key_rebound_to_another_action_does_that_action() {
        let mut o = fx::options();
        let user = [("sync".to_string(), vec!["T".to_string()])].into();
        o.keymap = crate::app::keymap::Keymap::with_overrides(&user).unwrap();
        let mut s = crate::app::state::State::new(o, fx::NOW, (100, 30));
        fx::load_rows(&mut s, fx::three());
        let cmds = fx::press(&mut s, KeyCode::Char('T'));
        assert_eq!(
            fx::jobs(&cmds),
            [&crate::job::Job::Sync { account: None }],
            "{cmds:?}"
        );
        assert!(!cmds
            .iter()
            .any(|c| matches!(c, Command::Inbox(Request::Assign { .. }))));
    }

    #[test]
    fn quit_saves_draft() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        fx::open_with(&mut s, c.clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::typ(&mut s, "half a thought");
        let cmds = fx::ctrl(&mut s, 'c');
        assert_eq!(
            cmds,
            vec![
                Command::Inbox(Request::SaveDraft {
                    conv: c.key,
                    text: "half a thought".into()
                }),
                Command::Quit
            ]
        );
        assert!(s.quit);
    }
}
