//! The composer: window state, why sending is refused, the text, the counter.

use super::theme::Theme;
use crate::app::keymap::Action;
use crate::app::state::{ComposeMode, Focus, State};
use crate::clock;
use crate::rules::window::{plan, text_usage, Purpose, Tag, Window, STANDARD_MS};
use crate::text::line;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

/// The composer's window line and whether it is a warning.
pub fn window_line(s: &State) -> Option<(String, bool)> {
    let t = s.thread.as_ref()?;
    let c = &t.conv;
    let z = s.opts.zone;
    Some(match s.window_of(c) {
        Window::Open { closes_at } => (
            format!(
                "window open · closes in {} ({})",
                clock::window_left(closes_at, s.now, STANDARD_MS),
                clock::clock(closes_at, z)
            ),
            false,
        ),
        Window::HumanAgent { closes_at } => {
            let when = format!(
                "{} {}",
                clock::day_label(closes_at, s.now, z),
                clock::clock(closes_at, z)
            );
            if s.composer.tag == Some(Tag::HumanAgent) {
                (
                    format!(
                        "24h window closed · sending as HUMAN_AGENT (until {when}) · ctrl-t: off"
                    ),
                    true,
                )
            } else {
                (
                    format!("24h window closed · ctrl-t: reply as HUMAN_AGENT until {when}"),
                    true,
                )
            }
        }
        Window::Closed | Window::Never => {
            let why = plan(&s.facts(c), s.now, s.composer.tag, Purpose::Reply)
                .err()
                .map(|r| r.0)
                .unwrap_or_default();
            (format!("cannot reply: {why}"), true)
        }
    })
}

pub fn render(s: &State, f: &mut Frame, area: Rect, th: Theme) {
    if s.composer.mode == ComposeMode::Note {
        return render_note(s, f, area, th);
    }
    let focused = s.focus == Focus::Composer;
    // The title names who the reply goes to.
    let to = s
        .thread
        .as_ref()
        .map(|t| format!(" to {}", line(&crate::app::names::who(s, &t.conv))))
        .unwrap_or_default();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border(focused))
        .title(if focused {
            format!(" Reply{to} (Enter send · Alt-Enter newline · ctrl-r canned) ")
        } else {
            format!(" Reply{to} (i) ")
        });
    let Some(t) = &s.thread else {
        f.render_widget(block, area);
        return;
    };
    let text = s.composer.text();
    let (used, limit) = text_usage(t.conv.key.platform, &text);
    let over = used > limit;
    block = block.title_bottom(
        Line::styled(
            format!(" {used}/{limit} "),
            if over { th.error() } else { th.dim() },
        )
        .right_aligned(),
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [info, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    let w = info.width as usize;
    let line = match (&s.composer.refusal, window_line(s)) {
        (Some(r), _) => Line::styled(format!("not sent: {r}"), th.error()),
        (None, Some((l, warn))) => {
            Line::from(Span::styled(l, if warn { th.warn() } else { th.ok() }))
        }
        (None, None) => Line::from(""),
    };
    let _ = w;
    f.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), info);
    f.render_widget(&s.composer.textarea, body);
}

/// A private note's composer: its own title and colour, so it is never
/// taken for a reply to the customer.
fn render_note(s: &State, f: &mut Frame, area: Rect, th: Theme) {
    let km = &s.opts.keymap;
    let on = s
        .thread
        .as_ref()
        .map(|t| format!(" · {}", line(&crate::app::names::who(s, &t.conv))))
        .unwrap_or_default();
    let keys = if s.focus == Focus::Composer {
        format!(
            " {} save · {} completes @name · {} back ",
            km.label(Action::Send),
            km.label(Action::Mention),
            km.label(Action::Back)
        )
    } else {
        format!(" {} writes ", km.label(Action::Compose))
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.note().add_modifier(ratatui::style::Modifier::BOLD))
        .title(Span::styled(
            format!(" Private note — not sent to the customer{on} "),
            th.note().add_modifier(ratatui::style::Modifier::BOLD),
        ))
        .title_bottom(Line::styled(keys, th.note()).right_aligned());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [info, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    let hint = "Only agents see it, in the thread; @name tells that agent.";
    f.render_widget(
        Paragraph::new(Line::styled(hint, th.note())).wrap(Wrap { trim: true }),
        info,
    );
    f.render_widget(&s.composer.textarea, body);
}
