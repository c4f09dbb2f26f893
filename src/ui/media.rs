//! Pictures and links drawn into the thread pane's buffer after its text:
//! each picture over the blank rows the layout reserved for it, each link
//! (every line of a wrapped one) as an OSC 8 hyperlink.

use crate::app::media::{PicState, Pictures};
use crate::app::thread_layout::LaidLine;
use crate::domain::Message;
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

/// Lines above the pane read for a link wrapped into view from above.
pub const LOOKBACK: usize = 64;

/// Turn the links on the visible rows into OSC 8 hyperlinks: the first cell
/// of each line's part of a link carries the escape, that part's text and
/// the closing escape, with a forced width of the part's cells, so
/// ratatui's diff skips the rest and its width arithmetic never counts the
/// escape's bytes.
///
/// `lines` are the layout's lines with their messages (indexes into
/// `messages`), the first `above` of them above the pane (read, not
/// drawn). A link too long for a line is wrapped mid-word onto the next
/// ones; every part links to the whole URL, which is one of its message's
/// (its text's links and attachment URLs), never a piece of it.
pub fn link_cells(
    lines: &[(&LaidLine, Option<usize>)],
    above: usize,
    messages: &[Message],
    area: Rect,
    buf: &mut Buffer,
) {
    // The URL being continued, how much of it is drawn, and its message.
    let mut open: Option<(String, usize, usize)> = None;
    for (i, (l, owner)) in lines.iter().enumerate() {
        let row = i.checked_sub(above).map(|r| area.y + r as u16);
        let LaidLine::Whole(_, text) = l else {
            open = None;
            continue;
        };
        let mut from = 0;
        if let Some((url, done, b)) = open.take().filter(|o| Some(o.2) == *owner) {
            let s = text.len() - text.trim_start().len();
            let run = &text[s..run_end(text, s)];
            let rest = &url[done..];
            let part = if rest.starts_with(run) {
                run
            } else if run.starts_with(rest) {
                rest
            } else {
                ""
            };
            if !part.is_empty() {
                paint(buf, area, row, text, s, part, &url);
                from = s + part.len();
                let done = done + part.len();
                if done < url.len() && from == text.len() {
                    open = Some((url, done, b));
                }
            }
        }
        for (s, e) in links(&text[from..]) {
            let (s, e) = (from + s, from + e);
            let run = &text[s..run_end(text, s)];
            // A run to the line's end that begins one of the message's
            // longer URLs goes on below.
            let message = owner.and_then(|b| Some((b, messages.get(b)?)));
            let longer = message
                .filter(|_| s + run.len() == text.len())
                .and_then(|(b, m)| {
                    let url = urls_of(m).find(|u| u.len() > run.len() && u.starts_with(run))?;
                    Some((b, url))
                });
            match longer {
                Some((b, url)) => {
                    paint(buf, area, row, text, s, run, &url);
                    open = Some((url, run.len(), b));
                }
                _ => paint(buf, area, row, text, s, &text[s..e], &text[s..e]),
            }
        }
    }
}

/// The web links of a message: in its text, and its attachments' URLs.
fn urls_of(m: &Message) -> impl Iterator<Item = String> + '_ {
    let text = m.text.as_deref().unwrap_or_default();
    links(text)
        .map(|(s, e)| text[s..e].to_string())
        .chain(m.attachments.iter().filter_map(|a| a.url.clone()))
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// Where the run of non-blank characters from `s` ends.
fn run_end(text: &str, s: usize) -> usize {
    text[s..]
        .find(char::is_whitespace)
        .map_or(text.len(), |n| s + n)
}

/// Make `part` (at byte `s` of `text`, drawn on `row`) a link to `url`.
fn paint(
    buf: &mut Buffer,
    area: Rect,
    row: Option<u16>,
    text: &str,
    s: usize,
    part: &str,
    url: &str,
) {
    let Some(y) = row else { return };
    // Only printable ASCII goes into the escape: a control character in a
    // customer's URL must not reach the terminal.
    if !url.bytes().all(|b| b.is_ascii_graphic()) || !part.is_ascii() {
        return;
    }
    let x0 = area.x + crate::text::width(&text[..s]) as u16;
    let cols = (part.len() as u16).min((area.x + area.width).saturating_sub(x0));
    let Some(width) = NonZeroU16::new(cols) else {
        return;
    };
    let shown_text: String = (x0..x0 + cols)
        .filter_map(|x| buf.cell((x, y)).map(|c| c.symbol().to_string()))
        .collect();
    if let Some(cell) = buf.cell_mut((x0, y)) {
        cell.set_symbol(&osc8(url, &shown_text))
            .set_diff_option(CellDiffOption::ForcedWidth(width));
    }
}

/// `text` as a hyperlink to `url`.
pub fn osc8(url: &str, text: &str) -> String {
    format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
}
