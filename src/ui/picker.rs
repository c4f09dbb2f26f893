//! The team's picker: assign, label, priority or the label filter, with
//! what is typed and the options it completes to.

use super::popup::{centered, frame};
use super::theme::Theme;
use crate::app::state::{PickKind, Picker, State};
use crate::text::truncate;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Options shown at most.
const SHOWN: usize = 10;

pub fn render(s: &State, p: &Picker, f: &mut Frame, area: Rect, th: Theme) {
    let matches = p.matches();
    let h = matches.len().clamp(1, SHOWN) as u16 + 5;
    let r = centered(area, area.width.saturating_sub(4).min(50), h);
    let inner = frame(f, r, &p.title(|c| crate::app::names::who(s, c)), th);
    let w = inner.width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled("> ", th.bold()),
        Span::raw(truncate(&p.query, w.saturating_sub(3))),
        Span::styled("▏", th.dim()),
    ])];
    let selected = p.selected.min(matches.len().saturating_sub(1));
    // Keep the selected option in the shown slice.
    let first = (selected + 1).saturating_sub(SHOWN);
    for (i, o) in matches.iter().enumerate().skip(first).take(SHOWN) {
        let (mark, style) = match &p.kind {
            PickKind::Label(c) if c.labels.iter().any(|l| l == o) => {
                ("− ", th.label(s.opts.labels.get(*o).map(String::as_str)))
            }
            PickKind::Label(_) => ("+ ", th.label(s.opts.labels.get(*o).map(String::as_str))),
            PickKind::Assign(c) if c.assignee.as_ref().is_some_and(|a| a.as_str() == *o) => {
                ("● ", th.base())
            }
            PickKind::Priority(c) if c.priority.as_str() == *o => ("● ", th.base()),
            _ => ("  ", th.base()),
        };
        let new = p.free_form && !p.options.iter().any(|x| x == o);
        let text = if new {
            format!("{o} (new)")
        } else {
            o.to_string()
        };
        let mut l = Line::from(vec![
            Span::raw(mark),
            Span::styled(truncate(&text, w.saturating_sub(3)), style),
        ]);
        if i == selected {
            l = l.patch_style(th.selected());
        }
        lines.push(l);
    }
    if matches.is_empty() {
        lines.push(Line::styled("  nothing matches", th.dim()));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        truncate("type to complete · ↑/↓ · tab fills in · enter · esc", w),
        th.dim(),
    ));
    f.render_widget(Paragraph::new(lines), inner);
}
