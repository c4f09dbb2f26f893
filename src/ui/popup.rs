//! Popups drawn over the panes: help, search, status menu, bulk send (and
//! cancelling a campaign), canned.

use super::theme::Theme;
use crate::app::canned;
use crate::app::keymap::{Action, TEXT_KEYS};
use crate::app::state::{BulkStage, BulkState, CannedPicker, HelpPage, PendingSend, State};
use crate::domain::{Conversation, Platform};
use crate::request::Preview;
use crate::text::truncate;
use crate::update::CampaignProgress;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// A centered rectangle of at most w×h inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn frame(f: &mut Frame, r: Rect, title: &str, th: Theme) -> Rect {
    f.render_widget(Clear, r);
    blank_wide_left_of(f, r);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(true))
        .title(Span::styled(format!(" {title} "), th.bold()));
    let inner = b.inner(r);
    f.render_widget(b, r);
    inner
}

/// A wide character (CJK, emoji) in the column just left of a popup spans
/// the popup's left border on a terminal, and the border there is never
/// drawn: such a character is blanked.
fn blank_wide_left_of(f: &mut Frame, r: Rect) {
    let Some(x) = r.x.checked_sub(1) else { return };
    let buf = f.buffer_mut();
    for y in r.top()..r.bottom() {
        if let Some(c) = buf.cell_mut((x, y)) {
            if unicode_width::UnicodeWidthStr::width(c.symbol()) > 1 {
                c.set_symbol(" ");
            }
        }
    }
}

pub fn help(s: &State, page: HelpPage, f: &mut Frame, area: Rect, th: Theme) {
    let km = &s.opts.keymap;
    let flip = km.label(Action::Compose);
    // The composer's actions share its page with the text-editing keys,
    // so each page fits 80×24.
    let actions = Action::ALL
        .iter()
        .filter(|a| a.composer_only() == (page == HelpPage::Composer))
        .map(|a| (km.label(*a), a.help().trim_start_matches("composer: ")));
    let (rows, title, columns): (Vec<(String, &str)>, String, usize) = match page {
        HelpPage::Keys => (
            actions.collect(),
            format!("Keys ({flip}: composer keys · any other key closes)"),
            2,
        ),
        HelpPage::Composer => (
            actions
                .chain(TEXT_KEYS.iter().map(|(k, h)| (k.to_string(), *h)))
                .collect(),
            format!("Composer keys ({flip}: all keys · any other key closes)"),
            1,
        ),
    };
    let height = rows.len().div_ceil(columns);
    let width = if columns == 2 { 100 } else { 60 };
    // Every key first: the config hint goes when the screen is too short.
    let footer = height + 3 <= usize::from(area.height);
    let r = centered(
        area,
        area.width.saturating_sub(2).min(width),
        (height + 2 + usize::from(footer)) as u16,
    );
    let inner = frame(f, r, &title, th);
    let col_w = inner.width as usize / columns;
    let key_w = if columns == 2 {
        16.min(col_w / 2)
    } else {
        22.min(col_w / 2)
    };
    let mut lines = Vec::new();
    for i in 0..height {
        let mut spans = Vec::new();
        for (k, h) in (0..columns).filter_map(|c| rows.get(i + c * height)) {
            spans.push(Span::styled(
                crate::text::fit(k, key_w.saturating_sub(1)) + " ",
                th.bold(),
            ));
            let h_w = col_w.saturating_sub(key_w + 1);
            spans.push(Span::raw(crate::text::fit(h, h_w) + " "));
        }
        lines.push(Line::from(spans));
    }
    if footer {
        lines.push(Line::styled(
            truncate(
                "Keys are set in [ui.keys] of the config: action = [\"key\", ...]",
                inner.width as usize,
            ),
            th.dim(),
        ));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn search(input: &str, f: &mut Frame, list: Rect, th: Theme) {
    let r = Rect::new(
        list.x,
        list.y + list.height.saturating_sub(3),
        list.width,
        3.min(list.height),
    );
    let inner = frame(f, r, "Search (Enter keep · Esc clear)", th);
    f.render_widget(Paragraph::new(format!("/{input}▏")), inner);
}

/// Collision notice: a colleague just replied in this thread.
pub fn confirm_send(p: &PendingSend, f: &mut Frame, area: Rect, th: Theme) {
    let r = centered(area, 60, 7);
    let inner = frame(f, r, "Someone just replied", th);
    let lines = vec![
        Line::styled(
            format!("{} replied here {} s ago.", p.by, p.ago_s),
            th.warn(),
        ),
        Line::raw(truncate(
            &format!("Yours: {}", p.text.replace('\n', " ")),
            inner.width as usize,
        )),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", th.bold()),
            Span::raw(" send anyway · "),
            Span::styled("any other key", th.bold()),
            Span::raw(" keep editing"),
        ]),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The status menu names the conversation it will change.
/// `name`: how the screen names `c` (tagged if another has its name).
pub fn status_menu(c: &Conversation, name: &str, f: &mut Frame, area: Rect, th: Theme) {
    let r = centered(area, 44, 11);
    let inner = frame(f, r, "Set status", th);
    let w = inner.width as usize;
    let mut lines = vec![
        Line::from(vec![
            Span::raw("for "),
            Span::styled(truncate(name, w.saturating_sub(4)), th.bold()),
        ]),
        Line::styled(
            truncate(
                &format!(
                    "{} · now {}",
                    match c.key.platform {
                        Platform::Messenger => "Messenger",
                        Platform::Instagram => "Instagram",
                    },
                    c.status.as_str()
                ),
                w,
            ),
            th.dim(),
        ),
    ];
    lines.extend(
        [
            ("o", "open"),
            ("p", "pending"),
            ("r", "resolved"),
            ("1", "snooze 1 hour"),
            ("t", "snooze until tomorrow 09:00"),
            ("w", "snooze until next week"),
            ("esc", "cancel"),
        ]
        .into_iter()
        .map(|(k, h)| {
            Line::from(vec![
                Span::styled(format!("{k:>4}  "), th.bold()),
                Span::raw(h),
            ])
        }),
    );
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn canned_picker(s: &State, p: &CannedPicker, f: &mut Frame, area: Rect, th: Theme) {
    let found = canned::matches(&s.opts.canned, &p.query);
    let r = centered(area, 70, (found.len() as u16 + 4).clamp(6, 16));
    let inner = frame(
        f,
        r,
        "Canned reply (type to search · Enter insert · Esc)",
        th,
    );
    let w = inner.width as usize;
    let mut lines = vec![Line::from(format!("> {}▏", p.query))];
    for (row, i) in found.iter().enumerate() {
        let Some(c) = s.opts.canned.get(*i) else {
            continue;
        };
        let text = format!("{:<12} {}", c.name, c.text.replace('\n', " "));
        let style = if row == p.selected {
            th.selected()
        } else {
            th.base()
        };
        lines.push(Line::styled(truncate(&text, w), style));
    }
    if found.is_empty() {
        lines.push(Line::styled("no match", th.dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn bulk(s: &State, b: &BulkState, f: &mut Frame, area: Rect, th: Theme) {
    let tag = b.tag();
    let r = centered(area, 76, 17);
    let title = format!("Bulk send to {} marked", s.marked.len());
    let inner = frame(f, r, &title, th);
    let w = inner.width as usize;
    let tag_name = tag.map(|t| t.as_str()).unwrap_or("none");
    // What one customer will read, variables filled.
    let example = |p: &Preview| {
        p.example
            .as_ref()
            .map(|e| truncate(&format!("{} reads: \"{}\"", e.to, e.text), w))
    };
    match b.stage {
        BulkStage::Edit | BulkStage::Previewing => {
            let [text, rest] =
                Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(inner);
            let tb = Block::default()
                .borders(Borders::BOTTOM)
                .border_style(th.dim());
            let tin = tb.inner(text);
            f.render_widget(tb, text);
            f.render_widget(&b.text, tin);
            let mut lines = vec![Line::from(vec![
                Span::raw("Tag: "),
                Span::styled(tag_name.to_string(), th.bold()),
                // With no tag left for campaigns Tab only says why.
                Span::styled(
                    if crate::rules::window::Tag::CAMPAIGN_TAGS.is_empty() {
                        "  (Tab: why none)"
                    } else {
                        "  (Tab: change)"
                    },
                    th.dim(),
                ),
            ])];
            match (&b.preview, b.stage) {
                (_, BulkStage::Previewing) => lines.push(Line::styled(
                    "Asking the inbox who it reaches…  (Esc: back to the text)",
                    th.dim(),
                )),
                (None, _) => {}
                (Some(p), _) => {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} inside the 24h window", p.inside), th.ok()),
                        Span::raw(" · "),
                        Span::styled(format!("{} will not be sent", p.skipped), th.error()),
                    ]));
                    lines.extend(example(p).map(|e| Line::styled(e, th.base())));
                    lines.extend(skip_lines(p, w, th));
                }
            }
            if let Some(t) = tag {
                lines.push(Line::styled(
                    truncate(&format!("{t} allows: {}", t.allows()), w),
                    th.dim(),
                ));
            }
            lines.push(Line::styled(
                "Enter: preview who it reaches · Alt-Enter: new line · Esc: cancel",
                th.dim(),
            ));
            f.render_widget(Paragraph::new(lines), rest);
        }
        BulkStage::Confirm => {
            let Some(p) = b.preview.as_deref() else {
                return;
            };
            let text = b.text.lines().join(" ");
            let mut lines = vec![
                Line::from(vec![
                    Span::raw("Send to "),
                    Span::styled(format!("{}", p.sendable()), th.bold()),
                    Span::raw(match tag {
                        Some(t) => format!(" conversation(s) with the {t} tag?"),
                        None => " conversation(s)?".to_string(),
                    }),
                ]),
                Line::from(""),
                Line::styled(
                    format!("\"{}\"", truncate(&text, w.saturating_sub(2))),
                    th.base(),
                ),
            ];
            lines.extend(example(p).map(|e| Line::styled(e, th.dim())));
            lines.push(Line::from(""));
            match tag {
                Some(t) => lines.push(Line::from(format!(
                    "{t} allows only: {}. Sending anything else risks the page's messaging access.",
                    t.allows()
                ))),
                None => lines.push(Line::from(
                    "No tag: only conversations inside the 24-hour window receive it.",
                )),
            }
            if p.skipped > 0 {
                lines.push(Line::styled(
                    format!("{} marked conversation(s) will be skipped.", p.skipped),
                    th.warn(),
                ));
            }
            lines.push(Line::from(""));
            lines.push(Line::styled(
                "y / Enter: start the campaign · n / Esc: back",
                th.bold(),
            ));
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
    }
}

/// Why the others get nothing: each reason with its count, most first.
fn skip_lines(p: &Preview, w: usize, th: Theme) -> Vec<Line<'static>> {
    let mut reasons: Vec<(&String, &usize)> = p.skip_reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut lines: Vec<Line> = reasons
        .iter()
        .take(5)
        .map(|(why, n)| Line::styled(truncate(&format!("✗ {n:>4}  {why}"), w), th.dim()))
        .collect();
    if reasons.len() > 5 {
        lines.push(Line::styled(
            format!("… and {} more reasons", reasons.len() - 5),
            th.dim(),
        ));
    }
    lines
}

/// Cancel a running campaign? It names the one `y` cancels.
pub fn cancel_campaign(c: &CampaignProgress, f: &mut Frame, area: Rect, th: Theme) {
    let r = centered(area, 64, 8);
    let inner = frame(f, r, "Cancel a campaign", th);
    let w = inner.width as usize;
    let lines = vec![
        Line::from(vec![
            Span::raw("Cancel "),
            Span::styled(
                truncate(&format!("\"{}\"?", c.title), w.saturating_sub(7)),
                th.bold(),
            ),
        ]),
        Line::styled(
            truncate(
                &format!(
                    "campaign {}: {} of {} done, {} sent, {} failed",
                    c.id, c.done, c.total, c.sent, c.failed
                ),
                w,
            ),
            th.dim(),
        ),
        Line::from("Recipients it has not reached yet get nothing."),
        Line::from(""),
        Line::styled("y: cancel it · any other key: let it run", th.bold()),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The notices log (`Overlay::Notices`): every status-bar notice of this session (the last
/// `NOTICE_LOG`), whole and with its time, newest at the bottom.
pub fn notices(s: &State, scroll: usize, f: &mut Frame, area: Rect, th: Theme) {
    let r = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(4),
    );
    let inner = frame(
        f,
        r,
        &format!(
            "Notices {} (j/k scroll · any other key closes)",
            s.status.log.len()
        ),
        th,
    );
    let stamp_w = 10; // "HH:MM:SS  "
    let text_w = (inner.width as usize).saturating_sub(stamp_w).max(1);
    let mut lines: Vec<Line> = Vec::new();
    // `scroll` hides that many of the newest notices, so j/k step a notice.
    let shown_n = s.status.log.len().saturating_sub(scroll);
    for n in s.status.log.iter().take(shown_n) {
        let style = match n.level {
            crate::app::state::Level::Error => th.error(),
            crate::app::state::Level::Info => th.base(),
        };
        let stamp = s.opts.zone.at(n.at).format("%H:%M:%S").to_string();
        for (i, part) in crate::text::wrap(&crate::text::clean(&n.text), text_w)
            .into_iter()
            .enumerate()
        {
            let head = if i == 0 {
                format!("{stamp:<stamp_w$}")
            } else {
                " ".repeat(stamp_w)
            };
            lines.push(Line::from(vec![
                Span::styled(head, th.dim()),
                Span::styled(part, style),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("no notices yet", th.dim()));
    }
    // Newest at the bottom, like a log.
    let start = lines.len().saturating_sub(inner.height as usize);
    f.render_widget(Paragraph::new(lines.split_off(start)), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::Paragraph;
    use ratatui::Terminal;

    /// From the agent trial: the notices log lost its left border on rows
    /// where a CJK list row lay under it.
    #[test]
    fn a_wide_character_left_of_a_popup_does_not_cover_its_border() {
        let mut t = Terminal::new(TestBackend::new(20, 4)).unwrap();
        t.draw(|f| {
            // "世" takes columns 4 and 5; the popup starts at column 5.
            f.render_widget(Paragraph::new("abcd世界xyz\n".repeat(4)), f.area());
            frame(f, Rect::new(5, 0, 8, 3), "t", Theme::new(false));
        })
        .unwrap();
        let buf = t.backend().buffer();
        for y in 0..3 {
            assert_eq!(
                buf[(4, y)].symbol(),
                " ",
                "row {y}: the wide char is blanked"
            );
        }
        assert_eq!(buf[(5, 1)].symbol(), "│", "the left border is there");
        assert_eq!(buf[(4, 3)].symbol(), "世", "below the popup: as it was");
    }
}
