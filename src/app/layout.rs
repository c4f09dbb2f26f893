//! Screen geometry, shared by the renderer and by `update` (mouse clicks,
//! page sizes), so both agree on where each pane is.

use ratatui::layout::Rect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    pub list: Rect,
    pub thread: Rect,
    pub composer: Rect,
    pub status: Rect,
}

/// Lines per list row (name line + preview line).
pub const ROW_HEIGHT: u16 = 2;
/// Two lines for the window state or refusal, two for the text.
pub const COMPOSER_HEIGHT: u16 = 6;

pub fn panes(area: Rect, demo: bool) -> Panes {
    let status_h = if demo { 2 } else { 1 }.min(area.height);
    let main_h = area.height - status_h;
    let list_w = (area.width * 35 / 100).clamp(26.min(area.width), 48.min(area.width));
    let right_w = area.width - list_w;
    let composer_h = COMPOSER_HEIGHT.min(main_h);
    let list = Rect::new(area.x, area.y, list_w, main_h);
    let thread = Rect::new(area.x + list_w, area.y, right_w, main_h - composer_h);
    let composer = Rect::new(
        area.x + list_w,
        area.y + main_h - composer_h,
        right_w,
        composer_h,
    );
    let status = Rect::new(area.x, area.y + main_h, area.width, status_h);
    Panes {
        list,
        thread,
        composer,
        status,
    }
}

/// How many conversations fit in the list pane.
pub fn list_rows(p: &Panes) -> usize {
    (p.list.height.saturating_sub(2) / ROW_HEIGHT) as usize
}

/// Inner width and height of the thread pane (inside its border).
pub fn thread_inner(p: &Panes) -> (u16, u16) {
    (
        p.thread.width.saturating_sub(2),
        p.thread.height.saturating_sub(2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_fill_80x24_without_overlap() {
        let p = panes(Rect::new(0, 0, 80, 24), false);
        assert_eq!(p.list.width + p.thread.width, 80);
        assert_eq!(p.thread.height + p.composer.height + p.status.height, 24);
        assert_eq!(list_rows(&p), 10);
        let d = panes(Rect::new(0, 0, 80, 24), true);
        assert_eq!(d.status.height, 2);
    }

    #[test]
    fn tiny_terminal_does_not_underflow() {
        let p = panes(Rect::new(0, 0, 10, 3), true);
        assert!(p.status.height <= 3);
        // Panes smaller than their borders hold no rows, not a wrapped-around count.
        assert!(list_rows(&p) <= p.list.height as usize);
        let (w, h) = thread_inner(&p);
        assert!(w <= p.thread.width && h <= p.thread.height);
        let none = panes(Rect::new(0, 0, 1, 1), true);
        assert_eq!(list_rows(&none), 0);
        assert_eq!(thread_inner(&none).1, 0);
    }
}
