//! The attach prompt: the path being typed, the preview line (kind, name,
//! size, or why it cannot be sent) and the completions a tab found.

use super::popup::{centered, frame};
use super::theme::Theme;
use crate::app::attach::{human_size, AttachPrompt, FileLook};
use crate::text::truncate;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Completions listed at most.
const SHOWN: usize = 8;

/// `name`: how the screen names the conversation.
pub fn render(p: &AttachPrompt, name: &str, f: &mut Frame, area: Rect, th: Theme) {
    // Path, preview, the completions (a blank line, at most SHOWN and a
    // "more" line), the keys, the borders.
    let listed = match p.candidates.len() {
        0 => 0,
        n => 1 + n.min(SHOWN) + usize::from(n > SHOWN),
    };
    let r = centered(area, 72, (2 + listed + 1 + 2) as u16);
    let title = format!("Attach a file for {name}");
    let inner = frame(
        f,
        r,
        &truncate(&title, r.width.saturating_sub(4) as usize),
        th,
    );
    let width = inner.width as usize;
    // The end of a long path is the part being typed.
    let typed: String = {
        let room = width.saturating_sub(8);
        let n = p.input.chars().count();
        if n > room {
            format!(
                "…{}",
                p.input.chars().skip(n - room + 1).collect::<String>()
            )
        } else {
            p.input.clone()
        }
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("path: ", th.dim()),
            Span::styled(typed, th.bold()),
            Span::styled("▏", th.dim()),
        ]),
        preview(p, th, width),
    ];
    if !p.candidates.is_empty() {
        lines.push(Line::default());
        for c in p.candidates.iter().take(SHOWN) {
            lines.push(Line::from(Span::raw(format!(
                "  {}",
                truncate(c, width.saturating_sub(2))
            ))));
        }
        if p.candidates.len() > SHOWN {
            let more = format!("  … and {} more", p.candidates.len() - SHOWN);
            lines.push(Line::from(Span::styled(more, th.dim())));
        }
    }
    let keys = Line::from(Span::styled(
        "tab complete · enter send · ctrl-u clear · esc cancel",
        th.dim(),
    ));
    let body = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    f.render_widget(Paragraph::new(lines), body);
    if inner.height > 0 {
        let foot = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        f.render_widget(Paragraph::new(keys), foot);
    }
}

/// `image · photo.png · 1.2 MB`, or why the path cannot be sent.
fn preview(p: &AttachPrompt, th: Theme, width: usize) -> Line<'static> {
    let look = p.look.as_ref().filter(|l| l.input == p.input);
    match look {
        Some(FileLook { file: Ok(f), .. }) => Line::from(Span::styled(
            truncate(
                &format!("{} · {} · {}", f.kind.as_str(), f.name, human_size(f.size)),
                width,
            ),
            th.ok(),
        )),
        Some(FileLook { file: Err(e), .. }) if !e.is_empty() => {
            Line::from(Span::styled(truncate(&format!("✗ {e}"), width), th.error()))
        }
        _ => Line::from(Span::styled(
            "type a path (~ is your home); tab completes",
            th.dim(),
        )),
    }
}
