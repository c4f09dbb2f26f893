//! The thread pane: the visible slice of the thread's layout
//! (app::thread_layout), styled and drawn.

use super::theme::Theme;
use crate::app::state::{Focus, State};
use crate::app::thread_layout::{view_range, LaidLine};
use crate::domain::Platform;
use crate::update::others_in;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

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
    let mut title = vec![
        Span::styled(
            format!(
                " {} ",
                crate::text::line(&crate::app::names::who(s, &t.conv))
            ),
            th.bold(),
        ),
        Span::styled(
            format!("· {platform} · {} ", t.conv.status.as_str()),
            th.dim(),
        ),
    ];
    // Its labels, priority and whose it is.
    let team = super::list::team_spans(s, &t.conv, th);
    if !team.is_empty() {
        title.push(Span::styled("·", th.dim()));
        title.extend(team);
        title.push(Span::raw(" "));
    }
    block = block.title(Line::from(title));
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
    let laid = t.memo.draw(
        &t.layout_source(),
        inner.width,
        s.opts.zone,
        s.now,
        s.opts.me.as_deref(),
    );
    let (start, end) = view_range(laid.len(), inner.height as usize, t.scroll);
    let slice = laid.slice(start, end);
    let selected = if focused { t.cursor_index() } else { None };
    let mut visible: Vec<Line> = Vec::with_capacity(end - start);
    let mut first_done = false;
    for (line, owner) in &slice {
        let mut l = styled(line, th);
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
    let shown: Vec<LaidLine> = slice.iter().map(|(l, _)| (*l).clone()).collect();
    super::media::draw_pictures(&t.pictures, &shown, inner, f.buffer_mut());
    if s.opts.media.hyperlinks {
        // From the first shown message's start: a URL wrapped into view
        // from above links to the whole URL.
        let from = laid
            .owner(start)
            .and_then(|b| laid.message_lines(b))
            .map_or(start, |(first, _)| {
                first.max(start.saturating_sub(super::media::LOOKBACK))
            });
        let lines = laid.slice(from, end);
        super::media::link_cells(&lines, start - from, &t.messages, inner, f.buffer_mut());
    }
    // The marker goes on the pane's left border, so selecting never
    // re-wraps or cuts the text.
    if selected.is_some() {
        let rows = slice.iter().enumerate();
        for (row, _) in rows.filter(|(_, (_, o))| *o == selected) {
            let pos = (area.x, inner.y + row as u16);
            if let Some(cell) = f.buffer_mut().cell_mut(pos) {
                cell.set_symbol("▐").set_style(th.border(true));
            }
        }
    }
}

/// A laid-out line in the theme's styles.
fn styled(l: &LaidLine, th: Theme) -> Line<'static> {
    match l {
        LaidLine::Whole(tone, text) => Line::styled(text.clone(), th.tone(*tone)),
        LaidLine::Pieces(pieces) => Line::from(
            pieces
                .iter()
                .map(|(tone, text)| Span::styled(text.clone(), th.tone(*tone)))
                .collect::<Vec<_>>(),
        ),
        // Drawn over the blank line afterwards (ui::media).
        LaidLine::Picture { .. } => Line::default(),
    }
}
