//! Render only: `render(&State, &mut Frame)`. No state changes, no I/O.

pub mod attach;
pub mod composer;
pub mod list;
pub mod media;
pub mod picker;
pub mod popup;
pub mod report;
pub mod search;
pub mod status;
pub mod symbols;
pub mod theme;
pub mod thread;

use crate::app::state::{Overlay, State};
use ratatui::Frame;
use theme::Theme;

pub fn render(s: &State, f: &mut Frame) {
    let th = Theme::new(s.opts.no_color);
    let area = f.area();
    let p = crate::app::layout::panes(area, s.opts.demo);
    match &s.search.pane {
        Some(pane) => search::render(s, pane, f, p.list, th),
        None => list::render(s, f, p.list, th),
    }
    thread::render(s, f, p.thread, th);
    composer::render(s, f, p.composer, th);
    status::render(s, f, p.status, th);
    match &s.overlay {
        None => {}
        Some(Overlay::Help(page)) => popup::help(s, *page, f, area, th),
        Some(Overlay::ConfirmSend(p)) => popup::confirm_send(p, f, area, th),
        Some(Overlay::Search { input }) => popup::search(input, f, p.list, th),
        Some(Overlay::StatusMenu(c)) => {
            popup::status_menu(c, &crate::app::names::who(s, c), f, area, th)
        }
        Some(Overlay::Bulk(b)) => popup::bulk(s, b, f, area, th),
        Some(Overlay::CancelCampaign(c)) => popup::cancel_campaign(c, f, area, th),
        Some(Overlay::Canned(c)) => popup::canned_picker(s, c, f, area, th),
        Some(Overlay::Notices { scroll }) => popup::notices(s, *scroll, f, area, th),
        Some(Overlay::Pick(p)) => picker::render(s, p, f, area, th),
        Some(Overlay::Report(r)) => report::render(r, f, area, th),
        Some(Overlay::Attach(p)) => {
            attach::render(p, &crate::app::names::who(s, &p.conv), f, area, th)
        }
    }
    if s.opts.ascii {
        symbols::to_ascii(f.buffer_mut());
    }
}
