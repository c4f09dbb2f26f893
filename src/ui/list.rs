//! The conversations pane: two lines per conversation.

use super::theme::Theme;
use crate::app::keymap::Action;
use crate::app::state::Sort;
use crate::app::state::{Focus, State};
use crate::app::team::{priority_mark, short_agent};
use crate::clock;
use crate::domain::{ConvStatus, Conversation, Platform};
use crate::filter::{AssigneeFilter, ConvFilter, View};
use crate::rules::window::{Window, HUMAN_AGENT_MS, STANDARD_MS};
use crate::team::Priority;
use crate::text::{fit, truncate, width};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use std::collections::HashSet;

/// Short window state for a row: "⏱5h12m", "HA 3d4h", "closed", "no window".
pub fn window_short(s: &State, c: &Conversation) -> (String, bool) {
    match s.window_of(c) {
        Window::Open { closes_at } => (
            format!("⏱{}", clock::window_left(closes_at, s.now, STANDARD_MS)),
            true,
        ),
        Window::HumanAgent { closes_at } => (
            format!(
                "HA {}",
                clock::window_left(closes_at, s.now, HUMAN_AGENT_MS)
            ),
            false,
        ),
        Window::Closed => ("closed".into(), false),
        Window::Never => ("no window".into(), false),
    }
}

fn title(s: &State, room: usize, th: Theme) -> Line<'static> {
    let f = &s.list.filter;
    let tags = filter_tags(s);
    // The counts are the open view's, with no filter but whose: beside
    // another view or filter they would not be the rows' numbers.
    let unfiltered = ConvFilter {
        assignee: AssigneeFilter::Any,
        ..f.clone()
    }
    .has_only_view();
    let counts = match (f.view, s.team.counts.shown) {
        (View::Open { .. }, Some(c)) if unfiltered => c,
        // " Inbox 12 · open ": how many conversations the view holds, and which.
        _ => {
            let whose = match &f.assignee {
                AssigneeFilter::Any => String::new(),
                AssigneeFilter::Mine(_) => "mine · ".into(),
                AssigneeFilter::Unassigned => "unassigned · ".into(),
            };
            return Line::from(match s.list.total {
                Some(n) => format!(" Inbox {n} · {whose}{} {tags}", f.view.name()),
                None => format!(" Inbox · {whose}{} {tags}", f.view.name()),
            });
        }
    };
    // The open view's sizes by whose, side by side, the one shown in
    // brackets: as much of " Inbox · open · [mine 12] · unassigned 3 ·
    // all 240 " as the pane's width holds ("none" is the help's word).
    let shown = [
        matches!(f.assignee, AssigneeFilter::Mine(_)),
        f.assignee == AssigneeFilter::Unassigned,
        f.assignee == AssigneeFilter::Any,
    ];
    let n = [counts.mine, counts.unassigned, counts.all];
    let long = ["mine", "unassigned", "all"];
    let short = ["mine", "none", "all"];
    let forms = [
        (" Inbox · open ·", long, " · ", false),
        (" Inbox ·", long, " · ", false),
        (" Inbox ·", short, " · ", false),
        ("", short, " · ", false),
        ("", short, "·", false),
        // Never a number cut short: at the narrowest, the one shown alone.
        ("", short, "·", true),
    ];
    let mut line = Line::default();
    for (head, names, sep, alone) in forms {
        let mut spans = vec![Span::raw(format!("{head} "))];
        let three = names.iter().zip(n).zip(shown);
        for (i, ((name, n), shown)) in three.filter(|t| t.1 || !alone).enumerate() {
            if i > 0 {
                spans.push(Span::raw(sep));
            }
            let text = format!("{name} {n}");
            spans.push(match shown {
                true => Span::styled(format!("[{text}]"), th.bold()),
                false => Span::raw(text),
            });
        }
        spans.push(Span::raw(format!(" {tags}")));
        line = Line::from(spans);
        if width(&line.to_string()) <= room {
            break;
        }
    }
    line
}

/// The filters and the order in force besides the view, and the marks:
/// "[#vip][unread]· 3 marked ".
fn filter_tags(s: &State) -> String {
    let f = &s.list.filter;
    let mut t = String::new();
    if let Some(l) = &f.label {
        t.push_str(&format!("[#{l}]"));
    }
    if s.list.sort == Sort::Priority {
        t.push_str("[by priority]");
    }
    if f.unread_only {
        t.push_str("[unread]");
    }
    match f.platform {
        Some(Platform::Messenger) => t.push_str("[FB]"),
        Some(Platform::Instagram) => t.push_str("[IG]"),
        None => {}
    }
    if f.window_open_at.is_some() {
        t.push_str("[window]");
    }
    if let Some(q) = &f.text {
        t.push_str(&format!("[/{q}]"));
    }
    if !s.marked.is_empty() {
        t.push_str(&format!("· {} marked ", s.marked.len()));
    }
    t
}

/// Names that more than one row on screen shows: those rows get a tag.
fn same_names(s: &State) -> HashSet<&str> {
    let mut seen = HashSet::new();
    let mut twins = HashSet::new();
    for (_, c) in s.list.shown() {
        if !seen.insert(c.name.as_str()) {
            twins.insert(c.name.as_str());
        }
    }
    twins
}

/// A twin's tag (src/app/names.rs), nothing for a name shown once.
fn name_tag(c: &Conversation, twin: bool) -> String {
    if twin {
        crate::app::names::tag(c)
    } else {
        String::new()
    }
}

/// A row's team marks: labels in their colours, the priority, and whose it
/// is (" #vip ▲high @bob"), each with its leading space.
pub fn team_spans(s: &State, c: &Conversation, th: Theme) -> Vec<Span<'static>> {
    let mut v = Vec::new();
    for l in c.labels.iter().take(3) {
        let colour = s.opts.labels.get(l).map(String::as_str);
        v.push(Span::styled(
            format!(" #{}", truncate(l, 10)),
            th.label(colour),
        ));
    }
    if c.labels.len() > 3 {
        v.push(Span::styled(format!(" +{}", c.labels.len() - 3), th.dim()));
    }
    let mark = priority_mark(c.priority);
    if !mark.is_empty() {
        let style = if c.priority >= Priority::High {
            th.error()
        } else {
            th.warn()
        };
        v.push(Span::styled(format!(" {mark}"), style));
    }
    if let Some(a) = &c.assignee {
        let mine = s.opts.me.as_deref() == Some(a.as_str());
        let who = if mine {
            "@me".to_string()
        } else {
            format!("@{}", short_agent(a, 8))
        };
        v.push(Span::styled(
            format!(" {who}"),
            if mine { th.ok() } else { th.base() },
        ));
    }
    v
}

pub fn render(s: &State, f: &mut Frame, area: Rect, th: Theme) {
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(s.focus == Focus::List))
        .title(title(s, area.width.saturating_sub(2) as usize, th));
    let open = s.open_key();
    let open_shown = s.list.shown().find(|(_, c)| Some(&c.key) == open);
    if let (Some(t), None) = (&s.thread, open_shown) {
        // The open conversation is always findable, even off-screen.
        let name = truncate(&t.conv.name, (area.width as usize).saturating_sub(12));
        block = block.title_bottom(Line::styled(format!(" ▐ open: {name} "), th.dim()));
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    if s.list.rows.is_empty() {
        let view = s.list.filter.view;
        let msg = if s.list.filter.has_only_view() {
            let first = match view {
                View::All => "No conversations yet.".to_string(),
                v => format!("No {} conversations.", v.name()),
            };
            let second = match view {
                View::All | View::Open { .. } => "Messages appear here live.".to_string(),
                _ => format!("{} switches the view.", s.opts.keymap.label(Action::View)),
            };
            vec![
                Line::from(""),
                Line::styled(truncate(&first, w), th.dim()),
                Line::styled(truncate(&second, w), th.dim()),
            ]
        } else {
            vec![
                Line::from(""),
                Line::styled(truncate("Nothing matches the filter.", w), th.dim()),
                Line::styled(truncate("c clears filters.", w), th.dim()),
            ]
        };
        f.render_widget(Paragraph::new(msg), inner);
        return;
    }
    let twins = same_names(s);
    let mut lines = Vec::new();
    let mut next = s.list.top;
    for (i, c) in s.list.shown() {
        // Rows of a moved window still on their way stay blank.
        for _ in next..i {
            lines.extend([Line::from(""), Line::from("")]);
        }
        next = i + 1;
        let selected = i == s.list.selected;
        let marked = s.marked.contains_key(&c.key);
        let (plat, pstyle) = match c.key.platform {
            Platform::Messenger => ("FB", th.messenger()),
            Platform::Instagram => ("IG", th.instagram()),
        };
        let mark = if marked { "●" } else { " " };
        let ago = clock::ago(c.last_activity, s.now);
        let badge = if c.unread > 0 {
            format!("({}) ", c.unread)
        } else {
            String::new()
        };
        let tag = name_tag(c, twins.contains(c.name.as_str()));
        let draft = if c.has_draft { " ✎" } else { "" };
        let name_w = w.saturating_sub(4 + width(&badge) + width(&ago) + width(&tag) + width(draft));
        let name_style = if c.unread > 0 { th.bold() } else { th.base() };
        let name = truncate(&c.name, name_w);
        let pad = " ".repeat(name_w.saturating_sub(width(&name)));
        let mut l1 = Line::from(vec![
            Span::styled(mark.to_string(), th.badge()),
            Span::styled(plat.to_string(), pstyle),
            Span::raw(" "),
            Span::styled(name, name_style),
            Span::styled(tag, th.dim()),
            Span::styled(draft, th.warn()),
            Span::raw(pad),
            Span::styled(badge, th.badge()),
            Span::styled(ago, th.dim()),
        ]);
        let (win, open) = window_short(s, c);
        let status = match c.status {
            ConvStatus::Open => String::new(),
            ConvStatus::Snoozed => match c.snooze_until {
                Some(t) => format!(" zz {}", clock::clock(t, s.opts.zone)),
                None => " snoozed".into(),
            },
            other => format!(" {}", other.as_str()),
        };
        let right = format!("{win}{status}");
        // A narrow list drops labels first, then the priority: whose it is
        // stays longest.
        let mut team = team_spans(s, c, th);
        let room = w.saturating_sub(4 + width(&right));
        let spans_w = |v: &[Span]| v.iter().map(|sp| width(&sp.content)).sum::<usize>();
        while spans_w(&team) > room && !team.is_empty() {
            team.remove(0);
        }
        let team_w = spans_w(&team);
        let prev_w = w.saturating_sub(4 + width(&right) + team_w);
        let arrow = match c.last_direction {
            Some(crate::domain::Direction::Out) => "↩ ",
            _ => "",
        };
        let mut spans = vec![
            Span::raw("   "),
            Span::styled(fit(&format!("{arrow}{}", c.last_preview), prev_w), th.dim()),
        ];
        spans.extend(team);
        spans.extend([
            Span::raw(" "),
            Span::styled(win, if open { th.ok() } else { th.warn() }),
            Span::styled(status, th.dim()),
        ]);
        let mut l2 = Line::from(spans);
        // The cursor shows only while the list has focus (bold would read
        // as unread); the open conversation has its own marker below.
        if selected && s.focus == Focus::List {
            l1 = l1.patch_style(th.selected());
            l2 = l2.patch_style(th.selected());
        }
        lines.push(l1);
        lines.push(l2);
    }
    f.render_widget(Paragraph::new(lines), inner);
    // The open conversation: a marker on the pane's left border, as the
    // thread marks its selected message, so it never shifts the text.
    if let Some((i, _)) = open_shown {
        let y = inner.y + ((i - s.list.top) as u16) * crate::app::layout::ROW_HEIGHT;
        for dy in 0..crate::app::layout::ROW_HEIGHT {
            if y + dy < inner.y + inner.height {
                if let Some(cell) = f.buffer_mut().cell_mut((area.x, y + dy)) {
                    cell.set_symbol("▐").set_style(th.border(true));
                }
            }
        }
    }
}
