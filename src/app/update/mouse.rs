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
