//! The thread pane: messages laid out into lines (also used by `update` to
//! measure scrolling), then the visible slice drawn.

use super::text::{truncate, wrap};
use super::theme::Theme;
use crate::app::clock::{self, Zone};
use crate::app::state::{Focus, State, ThreadPane};
use crate::domain::{Direction, Message, MsgKind, MsgStatus, Origin, Platform, TimestampMs};
use crate::update::others_in;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use std::sync::{Arc, Mutex};

/// Columns outbound messages are shifted right, so they read apart from
/// the customer's even without colour.
const OUT_INDENT: usize = 6;

#[derive(Clone)]
pub struct Laid {
    pub lines: Vec<Line<'static>>,
    /// The message index each line belongs to (None for separators).
    pub owners: Vec<Option<usize>>,
}

/// What a layout depends on besides the messages' content (`rev`).
#[derive(Debug, Clone, PartialEq)]
struct MemoKey {
    conv: crate::domain::ConvKey,
    rev: u64,
    len: usize,
    ends: Option<(crate::domain::Mid, crate::domain::Mid)>,
    top: (bool, bool),
    width: u16,
    zone: Zone,
    day: i64,
    me: Option<String>,
    color: bool,
}

/// The last layouts of a thread: one for measuring (update's scrolling),
/// one for drawing. Shared by clones of the pane; the key decides.
#[derive(Clone, Default)]
pub struct Memo(Arc<Mutex<[Option<Memoised>; 2]>>);

type Memoised = (MemoKey, Arc<Laid>);

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

/// `lay_out`, reusing the last result while nothing it depends on changed.
fn laid(
    t: &ThreadPane,
    width: u16,
    zone: Zone,
    now: TimestampMs,
    th: Theme,
    me: Option<&str>,
    slot: usize,
) -> Arc<Laid> {
    let key = MemoKey {
        conv: t.conv.key.clone(),
        rev: t.rev,
        len: t.messages.len(),
        ends: t
            .messages
            .first()
            .zip(t.messages.last())
            .map(|(a, b)| (a.mid.clone(), b.mid.clone())),
        top: (t.reached_start, t.loading_older),
        width,
        zone,
        day: clock::day_key(now, zone),
        me: me.map(str::to_string),
        color: slot == 1,
    };
    let mut memo = t.memo.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((k, l)) = &mut memo[slot] {
        if *k == key {
            return l.clone();
        }
        // The common change while a long thread is open: one message
        // appended at the end. Lay out only that one.
        let n = key.len;
        let appended = n >= 2
            && k.len + 1 == n
            && k.rev + 1 == key.rev
            && k.ends.as_ref().map(|e| (&e.0, &e.1))
                == Some((&t.messages[0].mid, &t.messages[n - 2].mid))
            && MemoKey {
                rev: key.rev,
                len: n,
                ends: key.ends.clone(),
                ..k.clone()
            } == key;
        if appended {
            let tail = lay_out_from(t, n - 1, width, zone, now, th, me);
            let laid = Arc::make_mut(l);
            laid.lines.extend(tail.lines);
            laid.owners.extend(tail.owners);
            *k = key;
            return l.clone();
        }
    }
    let l = Arc::new(lay_out(t, width, zone, now, th, me));
    memo[slot] = Some((key, l.clone()));
    l
}

pub fn line_count(t: &ThreadPane, width: u16, zone: Zone, now: TimestampMs) -> usize {
    laid(t, width, zone, now, Theme::new(true), None, 0)
        .lines
        .len()
}

pub fn line_owners(t: &ThreadPane, width: u16, zone: Zone, now: TimestampMs) -> Vec<Option<usize>> {
    laid(t, width, zone, now, Theme::new(true), None, 0)
        .owners
        .clone()
}

/// The lines [start, end) shown for a scroll (lines up from the newest),
/// for the renderer and `update` alike.
pub fn view_range(total: usize, height: usize, scroll: usize) -> (usize, usize) {
    let scroll = scroll.min(total.saturating_sub(height));
    let end = total - scroll;
    (end.saturating_sub(height), end)
}

/// The lines [first, last + 1) of message `i`.
pub fn message_lines(owners: &[Option<usize>], i: usize) -> Option<(usize, usize)> {
    let first = owners.iter().position(|o| *o == Some(i))?;
    let last = owners.iter().rposition(|o| *o == Some(i))?;
    Some((first, last + 1))
}

fn status_mark(m: &Message) -> &'static str {
    match m.status {
        MsgStatus::Pending => "⏳ sending",
        MsgStatus::Sent => "✓ sent",
        MsgStatus::Delivered => "✓✓ delivered",
        MsgStatus::Read => "✓✓ read",
        MsgStatus::Failed => "✗ failed",
        MsgStatus::Received => "",
    }
}

/// `me`: this agent, whose replies read "You"; a colleague's read "sent by NAME".
pub fn lay_out(
    t: &ThreadPane,
    width: u16,
    zone: Zone,
    now: TimestampMs,
    th: Theme,
    me: Option<&str>,
) -> Laid {
    lay_out_from(t, 0, width, zone, now, th, me)
}

/// The lines of messages `from..` (with the thread's top line when `from`
/// is 0), as they follow the lines of the messages before `from`.
fn lay_out_from(
    t: &ThreadPane,
    from: usize,
    width: u16,
    zone: Zone,
    now: TimestampMs,
    th: Theme,
    me: Option<&str>,
) -> Laid {
    let w = width.max(8) as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut owners = Vec::new();
    let mut push = |l: Line<'static>, o: Option<usize>, lines: &mut Vec<Line<'static>>| {
        lines.push(l);
        owners.push(o);
    };
    if from > 0 {
        // Continuing: no top line.
    } else if !t.reached_start {
        let txt = if t.loading_older {
            "… loading"
        } else {
            "… older messages: PgUp / g"
        };
        push(Line::styled(txt.to_string(), th.dim()), None, &mut lines);
    } else if t.conv.key.platform == Platform::Instagram && !t.messages.is_empty() {
        push(
            Line::styled(
                truncate(
                    "Instagram lets apps read only the 20 most recent messages of older history",
                    w,
                ),
                th.dim(),
            ),
            None,
            &mut lines,
        );
    }
    let name = super::text::line(
        &t.contact
            .as_ref()
            .map(|c| c.display_name())
            .unwrap_or_else(|| t.conv.name.clone()),
    );
    let mut last_day = from
        .checked_sub(1)
        .and_then(|p| t.messages.get(p))
        .map(|m| clock::day_key(m.timestamp, zone));
    for (i, m) in t.messages.iter().enumerate().skip(from) {
        let day = clock::day_key(m.timestamp, zone);
        if last_day != Some(day) {
            last_day = Some(day);
            let label = format!(" {} ", clock::day_label(m.timestamp, now, zone));
            let side = w.saturating_sub(super::text::width(&label)) / 2;
            push(
                Line::styled(
                    format!("{}{label}{}", "─".repeat(side), "─".repeat(side)),
                    th.dim(),
                ),
                None,
                &mut lines,
            );
        }
        let out = m.direction == Direction::Out;
        let indent = if out {
            " ".repeat(OUT_INDENT)
        } else {
            String::new()
        };
        let body_w = w.saturating_sub(indent.len() + 2).max(4);
        // Header.
        let mut head = vec![Span::raw(indent.clone())];
        if out {
            let who = match m.origin {
                Some(Origin::PageInbox) => "Page (via Page inbox)".to_string(),
                Some(Origin::OtherApp) => "Page (via other app)".to_string(),
                _ => match m.agent.as_deref() {
                    Some(a) if Some(a) != me => format!("sent by {a}"),
                    _ => "You".to_string(),
                },
            };
            head.push(Span::styled(format!("▶ {who}"), th.outbound()));
        } else {
            head.push(Span::styled(format!("◀ {name}"), th.inbound()));
        }
        head.push(Span::styled(
            format!(" · {}", clock::clock(m.timestamp, zone)),
            th.dim(),
        ));
        if out {
            let mark = status_mark(m);
            let style = if m.status == MsgStatus::Failed {
                th.error()
            } else {
                th.dim()
            };
            head.push(Span::styled(format!(" · {mark}"), style));
            if let Some(tag) = &m.tag {
                head.push(Span::styled(format!(" · {tag}"), th.warn()));
            }
        }
        if m.kind != MsgKind::Message {
            head.push(Span::styled(
                format!(" [{}]", format!("{:?}", m.kind).to_lowercase()),
                th.warn(),
            ));
        }
        if m.edited {
            head.push(Span::styled(" (edited)".to_string(), th.dim()));
        }
        push(Line::from(head), Some(i), &mut lines);
        let pad = format!("{indent}  ");
        if let Some(target) = &m.reply_to {
            let quoted = t
                .find(target)
                .map(|q| format!("↪ re: \"{}\"", q.preview()))
                .unwrap_or_else(|| "↪ re: an earlier message".to_string());
            push(
                Line::styled(format!("{pad}{}", truncate(&quoted, body_w)), th.dim()),
                Some(i),
                &mut lines,
            );
        }
        if m.deleted {
            push(
                Line::styled(format!("{pad}(unsent)"), th.dim()),
                Some(i),
                &mut lines,
            );
        } else if let Some(text) = m.text.as_deref().filter(|t| !t.is_empty()) {
            for l in wrap(text, body_w) {
                push(Line::from(format!("{pad}{l}")), Some(i), &mut lines);
            }
        } else if m.unsupported {
            push(
                Line::styled(format!("{pad}(unsupported message)"), th.dim()),
                Some(i),
                &mut lines,
            );
        }
        if !m.deleted {
            for a in &m.attachments {
                let label = match (&a.title, &a.url) {
                    (Some(t), Some(u)) => format!("📎 {}: {t} {u}", a.kind),
                    (None, Some(u)) => format!("📎 {}: {u}", a.kind),
                    (Some(t), None) => format!("📎 {}: {t} (no url)", a.kind),
                    (None, None) => format!("📎 {} (no url)", a.kind),
                };
                for l in wrap(&label, body_w) {
                    push(
                        Line::styled(format!("{pad}{l}"), th.warn()),
                        Some(i),
                        &mut lines,
                    );
                }
            }
        }
        if !m.reactions.is_empty() {
            let r = m
                .reactions
                .iter()
                .map(|r| {
                    let by = if r.by == m.conv.account.as_str() {
                        "you".to_string()
                    } else {
                        name.clone()
                    };
                    format!("{} {by}", r.emoji)
                })
                .collect::<Vec<_>>()
                .join(", ");
            push(
                Line::styled(format!("{pad}{}", truncate(&r, body_w)), th.dim()),
                Some(i),
                &mut lines,
            );
        }
        if m.status == MsgStatus::Failed {
            let why = m.error.clone().unwrap_or_else(|| "unknown error".into());
            for l in wrap(&format!("✗ {why} — press t to retry"), body_w) {
                push(
                    Line::styled(format!("{pad}{l}"), th.error()),
                    Some(i),
                    &mut lines,
                );
            }
        }
    }
    Laid { lines, owners }
}

pub fn render(s: &State, f: &mut Frame, area: Rect, th: Theme) {
    let focused = s.focus == Focus::Thread;
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(focused));
    let Some(t) = &s.thread else {
        let p = Paragraph::new(vec![
            Line::from(""),
            Line::styled("Select a conversation and press Enter.", th.dim()),
            Line::styled("Press ? for keys.", th.dim()),
        ])
        .alignment(Alignment::Center)
        .block(block.title(" Thread "));
        f.render_widget(p, area);
        return;
    };
    let platform = match t.conv.key.platform {
        Platform::Messenger => "Messenger",
        Platform::Instagram => "Instagram",
    };
    block = block.title(Line::from(vec![
        Span::styled(format!(" {} ", super::text::line(&t.conv.name)), th.bold()),
        Span::styled(
            format!("· {platform} · {} ", t.conv.status.as_str()),
            th.dim(),
        ),
    ]));
    // Collision notice: colleagues in this conversation.
    let others = others_in(&s.presence, &t.conv.key, s.opts.session, s.now);
    if !others.is_empty() {
        let who = others
            .iter()
            .map(|(a, typing)| format!("{a} {}", if *typing { "typing…" } else { "viewing" }))
            .collect::<Vec<_>>()
            .join(", ");
        block = block.title(Line::styled(format!(" also here: {who} "), th.warn()).right_aligned());
    }
    if t.new_below > 0 {
        block = block.title_bottom(
            Line::styled(
                format!(" ▼ {} new — G to jump ", t.new_below),
                th.selected(),
            )
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let laid = laid(
        t,
        inner.width,
        s.opts.zone,
        s.now,
        th,
        s.opts.me.as_deref(),
        1,
    );
    let (start, end) = view_range(laid.lines.len(), inner.height as usize, t.scroll);
    let selected = if focused { t.cursor_index() } else { None };
    let mut visible: Vec<Line> = Vec::with_capacity(end - start);
    let mut first_done = false;
    for (line, owner) in laid.lines[start..end].iter().zip(&laid.owners[start..end]) {
        let mut l = line.clone();
        if selected.is_some() && *owner == selected {
            l = l.patch_style(th.bold());
            if !first_done {
                // Its first shown line reversed: visible without colour too.
                l = l.patch_style(th.selected());
                first_done = true;
            }
        }
        visible.push(l);
    }
    f.render_widget(Paragraph::new(visible), inner);
    // The marker goes on the pane's left border, so selecting never
    // re-wraps or cuts the text.
    if selected.is_some() {
        let rows = laid.owners[start..end].iter().enumerate();
        for (row, _) in rows.filter(|(_, o)| **o == selected) {
            let pos = (area.x, inner.y + row as u16);
            if let Some(cell) = f.buffer_mut().cell_mut(pos) {
                cell.set_symbol("▐").set_style(th.border(true));
            }
        }
    }
}
