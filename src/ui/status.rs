//! The status bar: listening address, events today, last sync, campaigns,
//! the last error or notice; in demo mode a second line on how to connect.

use super::theme::Theme;
use crate::app::state::{Level, State};
use crate::clock;
use crate::text::{line, truncate};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

fn bar(done: u64, total: u64, n: usize) -> String {
    let filled = (done.min(total) * n as u64).checked_div(total).unwrap_or(0) as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(n - filled))
}

pub fn render(s: &State, f: &mut Frame, area: Rect, th: Theme) {
    let sep = || Span::styled(" │ ", th.dim());
    let mut spans = Vec::new();
    if s.opts.demo {
        spans.push(Span::styled(" DEMO ", th.demo()));
        spans.push(Span::raw(" "));
    }
    match &s.opts.listen {
        Some(a) => spans.push(Span::styled(format!("● {a}"), th.ok())),
        None => spans.push(Span::styled("○ webhooks off", th.dim())),
    }
    spans.push(sep());
    spans.push(Span::raw(format!(
        "events today {}",
        s.status.events_today.1
    )));
    spans.push(sep());
    let sync = match &s.status.sync {
        Some(p) if p.running => format!("syncing… {} convs", p.conversations),
        Some(p) => match p.finished_at {
            Some(t) => format!("synced {}", clock::clock(t, s.opts.zone)),
            None => "sync stopped".into(),
        },
        None => "not synced".into(),
    };
    spans.push(Span::raw(sync));
    // A dead token comes first: nothing can be sent for its page.
    if let Some(first) = s.status.dead.first() {
        spans.push(sep());
        let more = match s.status.dead.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        spans.push(Span::styled(
            format!("! {}{more}", line(&first.text)),
            th.error(),
        ));
    }
    // A token about to expire stays in view (its fix is in the notices log).
    if let Some(first) = s.status.tokens.first() {
        spans.push(sep());
        let what = first.split(": ").next().unwrap_or(first);
        let more = match s.status.tokens.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        spans.push(Span::styled(format!("! {}{more}", line(what)), th.error()));
    }
    for c in s.status.campaigns.values() {
        spans.push(sep());
        spans.push(Span::styled(
            format!(
                "▶ {}{} {}/{} {}{}",
                truncate(&c.title, 16),
                c.created_by
                    .as_deref()
                    .map(|a| format!(" by {a}"))
                    .unwrap_or_default(),
                c.done,
                c.total,
                bar(c.done, c.total, 8),
                if c.failed > 0 {
                    format!(" {} failed", c.failed)
                } else {
                    String::new()
                }
            ),
            th.warn(),
        ));
    }
    if let Some((level, msg)) = &s.status.message {
        spans.push(sep());
        let (txt, style) = match level {
            Level::Error => (format!("! {}", line(msg)), th.error()),
            Level::Info => (line(msg), th.base()),
        };
        spans.push(Span::styled(txt, style));
    }
    let help = " ? help";
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = (area.width as usize).saturating_sub(help.len());
    let mut line = if used > room {
        // Keep the start; cut the tail (the message) to fit.
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        let mut l = Line::from(Span::raw(truncate(&text, room)));
        if s.opts.demo {
            l = Line::from(vec![
                Span::styled(" DEMO ", th.demo()),
                Span::raw(truncate(&text[" DEMO ".len()..], room.saturating_sub(6))),
            ]);
        }
        l
    } else {
        let mut l = Line::from(spans);
        l.spans.push(Span::raw(" ".repeat(room - used)));
        l
    };
    line.spans.push(Span::styled(help, th.dim()));
    let mut lines = vec![line];
    if s.opts.demo {
        lines.push(Line::styled(
            truncate(
                "DEMO — simulated customers. To connect a page: see README 'Connect a real page'",
                area.width as usize,
            ),
            th.warn(),
        ));
    }
    f.render_widget(Paragraph::new(lines), area);
}
