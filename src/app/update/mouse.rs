//! The mouse: the wheel scrolls the pane under it, a click selects there.

use super::list::move_selection;
use super::scroll::{focus_thread, scroll_view, select_at_row};
use super::thread::open_thread;
use crate::app::command::Command;
use crate::app::layout;
use crate::app::state::*;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

pub(super) fn inside(r: Rect, m: &MouseEvent) -> bool {
    r.contains(Position {
        x: m.column,
        y: m.row,
    })
}

pub(super) fn mouse(s: &mut State, m: MouseEvent, out: &mut Vec<Command>) {
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
                let idx = s.list.top + (y / layout::ROW_HEIGHT) as usize;
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

#[cfg(test)]
mod tests {
    use crate::app::event::Event;
    use crate::app::fixtures as fx;
    use crate::app::state::Focus;
    use crate::app::state::Overlay;
    use crate::app::update;
    use crate::domain::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

    #[test]
    fn click_selects_the_message_under_the_mouse() {
        use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        let msgs = vec![
            fx::inbound(&c.key, "m1", 9, "first"),
            fx::inbound(&c.key, "m2", 8, "second"),
        ];
        fx::open_with(&mut s, c, msgs);
        fx::press(&mut s, KeyCode::Esc);
        let t = s.thread.as_ref().unwrap();
        let p = s.panes();
        let (w, h) = crate::app::layout::thread_inner(&p);
        let owners = t.line_owners(w, s.opts.zone, s.now);
        let (start, _) = crate::app::thread_layout::view_range(owners.len(), h as usize, t.scroll);
        let (first, _) = crate::app::thread_layout::message_lines(&owners, 0).unwrap();
        let row = p.thread.y + 1 + (first - start) as u16;
        update(
            &mut s,
            Event::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: p.thread.x + 5,
                row,
                modifiers: KeyModifiers::NONE,
            }),
        );
        assert_eq!(s.focus, Focus::Thread);
        let t = s.thread.as_ref().unwrap();
        let selected = t.cursor_index().map(|i| t.messages[i].mid.as_str());
        assert_eq!(selected, Some("m1"));
    }

    fn at(kind: MouseEventKind, column: u16, row: u16) -> Event {
        Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    #[test]
    fn the_wheel_over_the_list_moves_the_selection() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let l = s.panes().list;
        update(&mut s, at(MouseEventKind::ScrollDown, l.x + 2, l.y + 2));
        update(&mut s, at(MouseEventKind::ScrollDown, l.x + 2, l.y + 2));
        assert_eq!(s.list.selected, 2);
        update(&mut s, at(MouseEventKind::ScrollUp, l.x + 2, l.y + 2));
        assert_eq!(s.list.selected, 1);
    }

    #[test]
    fn a_click_on_a_row_opens_it_and_a_popup_ignores_the_mouse() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let l = s.panes().list;
        // Row 1 (Bo Chen) is drawn on the second pair of lines.
        let row = l.y + 1 + crate::app::layout::ROW_HEIGHT;
        s.overlay = Some(Overlay::Help(crate::app::state::HelpPage::Keys));
        update(
            &mut s,
            at(MouseEventKind::Down(MouseButton::Left), l.x + 2, row),
        );
        assert_eq!(s.list.selected, 0, "the popup has the input");
        s.overlay = None;
        let cmds = update(
            &mut s,
            at(MouseEventKind::Down(MouseButton::Left), l.x + 2, row),
        );
        assert_eq!(s.list.selected, 1);
        assert_eq!(s.focus, Focus::List);
        assert_eq!(s.open_key(), Some(&fx::three()[1].key));
        assert!(cmds.iter().any(|c| matches!(
            c,
            crate::app::command::Command::Inbox(crate::request::Request::Thread { .. })
        )));
    }
}
