//! `update(&mut State, Event) -> Vec<Command>`: the only place state changes.
//! Pure: time comes from `Event::Tick`, data from `Event::Inbox` answers. This
//! file dispatches; each part below has one concern.

pub mod attach;
mod bulk_popup;
mod composer;
mod keys;
mod list;
mod live;
mod media;
mod mouse;
mod note;
mod overlays;
mod scroll;
mod search;
mod status;
mod team;
mod team_requests;
mod thread;
mod view_counts;

use super::command::Command;
use super::event::{Event, Reply};
use super::state::*;
use ratatui::crossterm::event::KeyEventKind;

/// Commands to run once at start.
pub fn init(s: &mut State) -> Vec<Command> {
    vec![
        list::load_list(s, true),
        status::load_unread(s),
        // Mentions and takeovers that waited while this agent was away.
        team_requests::load_mailbox(),
    ]
}

pub fn update(s: &mut State, ev: Event) -> Vec<Command> {
    let mut out = Vec::new();
    match ev {
        Event::Key(k) => {
            if k.kind == KeyEventKind::Press {
                keys::key(s, k, &mut out);
            }
        }
        Event::Mouse(m) => mouse::mouse(s, m, &mut out),
        Event::Paste(text) => match s.overlay {
            Some(Overlay::Attach(_)) => attach::paste(s, &text, &mut out),
            _ => composer::paste(s, &text),
        },
        Event::Resize { width, height } => resize(s, width, height, &mut out),
        Event::Tick { now } => {
            let before = s.now;
            status::tick(s, now);
            list::clock_moved(s, before, &mut out);
            view_counts::clock_moved(s, before, &mut out);
        }
        Event::Update(u) => {
            match &u {
                crate::update::Update::Conversation(c) => view_counts::conversation(s, c),
                // An attached UI hears of other conversations only as keys:
                // any of them may have changed hands.
                crate::update::Update::Digest { changed, more, .. }
                    if *more || !changed.is_empty() =>
                {
                    view_counts::changed(s)
                }
                _ => {}
            }
            media::on_update(s, &u, &mut out);
            live::on_update(s, u, &mut out)
        }
        Event::Picture { key, outcome } => media::picture_done(s, key, outcome),
        Event::Focus(f) => media::focus(s, f),
        Event::Lagged => live::lagged(s, &mut out),
        Event::Reattached { session } => live::reattached(s, session, &mut out),
        Event::Inbox(Reply::List(rows)) => list::list_loaded(s, rows, &mut out),
        Event::Inbox(Reply::Thread(Some(d))) => {
            thread::thread_loaded(s, *d);
            search::jump(s, &mut out);
        }
        Event::Inbox(Reply::Unread { request, counts }) => {
            status::unread_loaded(s, request, counts)
        }
        // Pictures come to the picture worker, never through the data port.
        Event::Inbox(Reply::Thread(None) | Reply::Done | Reply::Upload(_) | Reply::Picture(_)) => {}
        // The one-shot commands' answers: the UI asks for none of them.
        Event::Inbox(
            Reply::Conversation(_)
            | Reply::Export { .. }
            | Reply::Campaign(_)
            | Reply::CampaignReport(_)
            | Reply::Synced { .. }
            | Reply::EventDeleted { .. }
            | Reply::Replayed { .. }
            | Reply::StoreChecks(_)
            | Reply::Sent(_),
        ) => {}
        Event::Inbox(Reply::BulkPreview(p)) => bulk_popup::preview_loaded(s, p),
        Event::Inbox(Reply::Assigned(a)) => team_requests::assigned(s, a),
        Event::Inbox(Reply::Note(n)) => live::note_arrived(s, *n),
        Event::Inbox(Reply::NoteDraft { conv, text }) => note::stored_note_arrived(s, conv, text),
        Event::Inbox(Reply::History {
            conv,
            notes,
            history,
        }) => thread::team_loaded(s, conv, notes, history),
        Event::Inbox(Reply::Mailbox(items)) => team_requests::mail(s, items, &mut out),
        Event::Inbox(Reply::Older {
            conv,
            messages,
            limit,
        }) => {
            thread::older_loaded(s, conv, messages, limit);
            search::jump(s, &mut out);
        }
        Event::EditorDone { text } => composer::editor_done(s, text),
        Event::FileLooked(look) => attach::looked(s, look),
        Event::Inbox(Reply::Urgent(c)) => thread::urgent_found(s, c, &mut out),
        Event::Inbox(Reply::Report(r)) => s.overlay = Some(Overlay::Report(r)),
        Event::Inbox(Reply::ViewCounts {
            mine,
            unassigned,
            all,
        }) => view_counts::loaded(
            s,
            crate::app::team::ViewCounts {
                mine,
                unassigned,
                all,
            },
        ),
        Event::Inbox(Reply::Search {
            generation,
            results,
            ..
        }) => search::results_loaded(s, generation, *results, &mut out),
    }
    media::want_pictures(s, &mut out);
    status::title(s, &mut out);
    out
}

/// The terminal was resized: both panes fit themselves to it.
fn resize(s: &mut State, width: u16, height: u16, out: &mut Vec<Command>) {
    s.size = (width, height);
    let v = super::layout::list_rows(&s.panes());
    if v != s.list.visible {
        s.list.visible = v;
        list::keep_selection_visible(s);
        out.push(list::load_list(s, false));
    }
    scroll::scroll_thread(s, 0, out);
    if s.focus == Focus::Thread {
        scroll::reveal_cursor(s);
    }
}

#[cfg(test)]
mod tests {
    use super::{init, update};
    use crate::app::command::Command;
    use crate::app::event::Event;
    use crate::app::fixtures as fx;
    use crate::request::Request;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

    #[test]
    fn init_loads_the_first_window_with_a_count_and_scans_unread() {
        let mut s = fx::state(100, 30);
        let cmds = init(&mut s);
        assert_eq!(
            cmds,
            vec![
                Command::Inbox(Request::List {
                    // The open view, judged now.
                    filter: crate::filter::ConvFilter {
                        view: crate::filter::View::Open { at: fx::NOW },
                        ..Default::default()
                    },
                    offset: 0,
                    limit: s.list.visible,
                    count: true,
                    generation: 0,
                }),
                Command::Inbox(Request::Unread { request: 1 }),
                Command::Inbox(Request::Mailbox),
            ]
        );
        assert_eq!(s.unread_load.as_ref().map(|l| l.request), Some(1));
    }

    #[test]
    fn only_key_presses_act() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let mut release = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert!(update(&mut s, Event::Key(release)).is_empty());
        assert_eq!(s.list.selected, 0);
        fx::press(&mut s, KeyCode::Char('j'));
        assert_eq!(s.list.selected, 1);
    }

    #[test]
    fn a_taller_terminal_shows_more_rows_and_reloads_the_window() {
        let mut s = fx::state(100, 30);
        let before = s.list.visible;
        let cmds = update(
            &mut s,
            Event::Resize {
                width: 100,
                height: 50,
            },
        );
        assert!(s.list.visible > before, "{} rows", s.list.visible);
        assert_eq!(s.size, (100, 50));
        assert!(cmds.iter().any(
            |c| matches!(c, Command::Inbox(Request::List { limit, count: false, .. }) if *limit == s.list.visible)
        ));
        // The same size again changes nothing.
        let again = update(
            &mut s,
            Event::Resize {
                width: 100,
                height: 50,
            },
        );
        assert!(!again
            .iter()
            .any(|c| matches!(c, Command::Inbox(Request::List { .. }))));
    }
}
