//! The search pane, drawn in place of the list while search is open: the
//! query in the title, then two lines per conversation found (who, and the
//! matching message's text with the match underlined and bold).

use super::theme::Theme;
use crate::app::search::SearchPane;
use crate::app::state::State;
use crate::clock;
use crate::domain::Platform;
use crate::search::{find, Needle, SearchHit};
use crate::text::{fit, line, truncate, width};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// The match inside a snippet: distinct without colour and on the
/// selected (reversed) row.
fn matched(th: Theme) -> Style {
    th.bold().add_modifier(Modifier::UNDERLINED)
}

fn title(p: &SearchPane) -> String {
    let state = match &p.results {
        _ if p.input.is_empty() => "type to search all messages".to_string(),
        Some(r) if p.answered == p.generation => {
            let n = if p.extending.is_some() {
                format!("{}, searching…", r.hits.len())
            } else if r.more() {
                format!("{}+ found", r.hits.len())
            } else {
                format!("{} found", r.hits.len())
            };
            match r.indexing {
                Some(pct) => format!("{n}, indexing older messages {pct}%"),
                None => n,
            }
        }
        _ => "searching…".to_string(),
    };
    format!(" Search: {}▏ {state} ", p.input)
}

/// The message's text around the match, cut to `w` columns, as spans.
fn snippet(text: &str, needle: Option<&Needle>, w: usize, th: Theme) -> Vec<Span<'static>> {
    let text = line(text);
    let Some(r) = needle.and_then(|n| find(&text, n)) else {
        return vec![Span::styled(fit(&text, w), th.dim())];
    };
    // Keep at most a third of the width before the match.
    let lead = w / 3;
    let before = &text[..r.start];
    let before = if width(before) > lead {
        let mut kept: Vec<char> = Vec::new();
        let mut cols = 1; // the "…"
        for c in before.chars().rev() {
            cols += width(&c.to_string());
            if cols > lead {
                break;
            }
            kept.push(c);
        }
        format!("…{}", kept.into_iter().rev().collect::<String>())
    } else {
        before.to_string()
    };
    let hit = truncate(&text[r.clone()], w.saturating_sub(width(&before)));
    let rest = w.saturating_sub(width(&before) + width(&hit));
    vec![
        Span::styled(before, th.dim()),
        Span::styled(hit, matched(th)),
        Span::styled(fit(&text[r.end..], rest), th.dim()),
    ]
}

fn row(
    s: &State,
    h: &SearchHit,
    needle: Option<&Needle>,
    w: usize,
    th: Theme,
) -> [Line<'static>; 2] {
    let c = &h.conv;
    let (plat, pstyle) = match c.key.platform {
        Platform::Messenger => ("FB", th.messenger()),
        Platform::Instagram => ("IG", th.instagram()),
    };
    let when = clock::ago(h.message.timestamp, s.now);
    let name_w = w.saturating_sub(5 + width(&when));
    let l1 = Line::from(vec![
        Span::raw(" "),
        Span::styled(plat, pstyle),
        Span::raw(" "),
        Span::styled(fit(&c.name, name_w), th.base()),
        Span::raw(" "),
        Span::styled(when, th.dim()),
    ]);
    let arrow = match h.message.direction {
        crate::domain::Direction::Out => "↩ ",
        crate::domain::Direction::In => "",
    };
    let mut spans = vec![Span::raw("   "), Span::styled(arrow, th.dim())];
    let text = h.message.text.as_deref().unwrap_or_default();
    spans.extend(snippet(
        text,
        needle,
        w.saturating_sub(3 + width(arrow)),
        th,
    ));
    [l1, Line::from(spans)]
}

pub fn render(s: &State, p: &SearchPane, f: &mut Frame, area: Rect, th: Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(true))
        .title(truncate(&title(p), area.width.saturating_sub(2) as usize))
        .title_bottom(Line::styled(" ↑↓ · enter opens · esc ", th.dim()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    let hits = p.results.as_ref().map(|r| &r.hits[..]).unwrap_or_default();
    if hits.is_empty() {
        let msg = if p.input.is_empty() || p.answered != p.generation {
            ""
        } else {
            "No message contains this."
        };
        f.render_widget(
            Paragraph::new(vec![
                Line::from(""),
                Line::styled(truncate(msg, w), th.dim()),
            ]),
            inner,
        );
        return;
    }
    let needle = Needle::new(&p.input);
    let rows = (inner.height as usize / 2).max(1);
    let top = p.selected.saturating_sub(rows - 1);
    let mut lines = Vec::new();
    for (i, h) in hits.iter().enumerate().skip(top).take(rows) {
        let [mut l1, mut l2] = row(s, h, needle.as_ref(), w, th);
        if i == p.selected {
            l1 = l1.patch_style(th.selected());
            l2 = l2.patch_style(th.selected());
        }
        lines.extend([l1, l2]);
    }
    f.render_widget(Paragraph::new(lines), inner);
}
