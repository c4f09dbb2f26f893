//! The report pane: the period's totals, replies over the last 7 days (bars)
//! and 30 days (sparklines), the per-agent table and the report's notes.
//! Draws a `Report` value; computing it is the data side's job.

use super::theme::Theme;
use crate::report::format::{duration, period, share, NO_AGENT};
use crate::report::{DayRow, Report};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Bar, BarChart, Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Wrap,
};
use ratatui::Frame;

pub fn render(r: &Report, f: &mut Frame, area: Rect, th: Theme) {
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(true))
        .title(format!(" Report {} ", period(r)));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 4 || inner.width < 20 {
        return;
    }
    let charts_h = (inner.height / 3).clamp(6, 12);
    let table_h = (r.agents.len() as u16 + 1).clamp(2, 10);
    let summary_h = if inner.width < 100 { 2 } else { 1 };
    let [summary, charts, table, notes] = Layout::vertical([
        Constraint::Length(summary_h),
        Constraint::Length(charts_h),
        Constraint::Length(table_h + 1),
        Constraint::Min(0),
    ])
    .areas(inner);
    f.render_widget(
        Paragraph::new(totals(r, th)).wrap(Wrap { trim: true }),
        summary,
    );
    let [week, month] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(charts);
    week_bars(r, f, week, th);
    month_lines(r, f, month, th);
    agents(r, f, table, th);
    // The coverage notes first: they say what the figures leave out.
    let lines: Vec<Line> = r
        .notes
        .iter()
        .skip(2)
        .chain(r.notes.iter().take(2))
        .map(|n| Line::styled(format!("* {n}"), th.dim()))
        .collect();
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), notes);
}

fn totals(r: &Report, th: Theme) -> Line<'static> {
    let t = &r.totals;
    let item = |k: &str, v: String| {
        [
            Span::styled(format!("{k} "), th.dim()),
            Span::styled(v, th.bold()),
            Span::raw("  "),
        ]
    };
    let mut spans = Vec::new();
    spans.extend(item("opened", t.opened.to_string()));
    spans.extend(item("resolved", t.resolved.to_string()));
    spans.extend(item("replies", t.replies.to_string()));
    spans.extend(item("in 24h", share(t.in_window_share)));
    spans.extend(item(
        "1st response",
        format!(
            "{} (p90 {})",
            duration(t.first_response.median_ms),
            duration(t.first_response.p90_ms)
        ),
    ));
    spans.extend(item("resolution", duration(t.resolution.median_ms)));
    Line::from(spans)
}

/// "Mo" for a `YYYY-MM-DD` date.
fn weekday(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| d.format("%a").to_string().chars().take(2).collect())
        .unwrap_or_default()
}

fn week_bars(r: &Report, f: &mut Frame, area: Rect, th: Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(false))
        .title(" Replies, 7 days ");
    let inner_w = block.inner(area).width;
    let n = r.last_7_days.len().max(1) as u16;
    let bar_width = (inner_w.saturating_sub(n - 1) / n).clamp(1, 5);
    let bars: Vec<Bar> = r
        .last_7_days
        .iter()
        .map(|d| {
            let replies = d.figures.as_ref().map(|f| f.replies);
            Bar::default()
                .label(Line::from(weekday(&d.date)))
                .value(replies.unwrap_or(0))
                .text_value(replies.map_or("-".into(), |v| v.to_string()))
        })
        .collect();
    let chart = BarChart::default()
        .block(block)
        .data(ratatui::widgets::BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(1)
        .bar_style(th.ok())
        .value_style(th.selected());
    f.render_widget(chart, area);
}

fn series(days: &[DayRow], pick: impl Fn(&crate::report::Figures) -> u64) -> Vec<Option<u64>> {
    days.iter().map(|d| d.figures.as_ref().map(&pick)).collect()
}

fn month_lines(r: &Report, f: &mut Frame, area: Rect, th: Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(false))
        .title(" 30 days (· no history) ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let half = inner.height / 2;
    let [l1, s1, l2, s2] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(half.saturating_sub(1)),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    let sum = |v: &[Option<u64>]| v.iter().flatten().sum::<u64>();
    let replies = series(&r.last_30_days, |f| f.replies);
    let opened = series(&r.last_30_days, |f| f.opened);
    let label = |text: String| Paragraph::new(Line::styled(text, th.dim()));
    f.render_widget(label(format!("replies {}", sum(&replies))), l1);
    f.render_widget(spark(&replies, th.ok(), th), s1);
    f.render_widget(label(format!("opened {}", sum(&opened))), l2);
    f.render_widget(spark(&opened, th.inbound(), th), s2);
}

fn spark<'a>(v: &[Option<u64>], style: ratatui::style::Style, th: Theme) -> Sparkline<'a> {
    Sparkline::default()
        .data(v.iter().copied())
        .style(style)
        .absent_value_symbol("·")
        .absent_value_style(th.dim())
}

fn agents(r: &Report, f: &mut Frame, area: Rect, th: Theme) {
    let head = Row::new(
        [
            "agent", "replies", "in 24h", "1st n", "1st med", "1st p90", "resolved", "res med",
        ]
        .map(|h| {
            let line = Line::from(h);
            let line = if h == "agent" {
                line
            } else {
                line.right_aligned()
            };
            Cell::from(line).style(th.bold())
        }),
    );
    let rows = r.agents.iter().map(|a| {
        let x = &a.figures;
        let name = Cell::from(a.agent.clone().unwrap_or_else(|| NO_AGENT.into()));
        let figures = [
            x.replies.to_string(),
            share(x.in_window_share),
            x.first_response.count.to_string(),
            duration(x.first_response.median_ms),
            duration(x.first_response.p90_ms),
            x.resolved.to_string(),
            duration(x.resolution.median_ms),
        ]
        .map(|v| Cell::from(Line::from(v).right_aligned()));
        Row::new(std::iter::once(name).chain(figures))
    });
    let widths = [
        Constraint::Min(10),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(7),
    ];
    let table = Table::new(rows, widths)
        .header(head)
        .block(Block::default().borders(Borders::TOP).title(" By agent "));
    f.render_widget(table, area);
}
