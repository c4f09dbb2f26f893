//! Pictures and links drawn into the thread pane's buffer after its text:
//! each picture over the blank rows the layout reserved for it, each link
//! as an OSC 8 hyperlink.

use crate::app::media::{PicState, Pictures};
use crate::app::thread_layout::LaidLine;
use crate::media::open::links;
use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use ratatui_image::sliced::{SignedPosition, SlicedImage};
use std::num::NonZeroU16;

/// Draw every picture with a row among `shown` (the visible lines, drawn
/// from `area.y`). A picture cut by the top or bottom edge draws only its
/// visible rows (the sliced protocol clips).
pub fn draw_pictures(pictures: &Pictures, shown: &[LaidLine], area: Rect, buf: &mut Buffer) {
    let mut done = Vec::new();
    for (i, l) in shown.iter().enumerate() {
        let LaidLine::Picture { key, row, x } = l else {
            continue;
        };
        if done.contains(&key) {
            continue;
        }
        done.push(key);
        let Some(PicState::Ready(d)) = pictures.map.get(key) else {
            continue;
        };
        let top = i as i16 - *row as i16;
        let pos = SignedPosition {
            x: *x as i16,
            y: top,
        };
        SlicedImage::new(&d.0, pos).render(area, buf);
    }
}

/// Turn the links on the visible rows into OSC 8 hyperlinks: the first cell
/// of a link carries the escape, the link's text and the closing escape,
/// with a forced width of the text's cells, so ratatui's diff skips the
/// rest and its width arithmetic never counts the escape's bytes.
pub fn link_cells(shown: &[LaidLine], area: Rect, buf: &mut Buffer) {
    for (i, l) in shown.iter().enumerate() {
        let LaidLine::Whole(_, text) = l else {
            continue;
        };
        let y = area.y + i as u16;
        for (s, e) in links(text) {
            let url = &text[s..e];
            // Only printable ASCII goes into the escape: a control character
            // in a customer's URL must not reach the terminal.
            if !url.bytes().all(|b| b.is_ascii_graphic()) {
                continue;
            }
            let x0 = area.x + crate::text::width(&text[..s]) as u16;
            let cols = (url.len() as u16).min((area.x + area.width).saturating_sub(x0));
            let Some(width) = NonZeroU16::new(cols) else {
                continue;
            };
            let shown_text: String = (x0..x0 + cols)
                .filter_map(|x| buf.cell((x, y)).map(|c| c.symbol().to_string()))
                .collect();
            if let Some(cell) = buf.cell_mut((x0, y)) {
                cell.set_symbol(&osc8(url, &shown_text))
                    .set_diff_option(CellDiffOption::ForcedWidth(width));
            }
        }
    }
}

/// `text` as a hyperlink to `url`.
pub fn osc8(url: &str, text: &str) -> String {
    format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
}
