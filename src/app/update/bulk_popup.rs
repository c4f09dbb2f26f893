//! The bulk popup: the campaign's text, its preview, and the confirmation
//! that starts it.

use super::status::info;
use crate::app::bulk;
use crate::app::command::Command;
use crate::app::state::*;
use crate::job::Job;
use crate::request::Request;
use crate::rules::window::Tag;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The preview of the open bulk popup's text (the campaign's own rule).
pub fn bulk_preview(s: &State, tag: Option<Tag>) -> bulk::Preview {
    let text = match &s.overlay {
        Some(Overlay::Bulk(b)) => b.text.lines().join("\n"),
        _ => String::new(),
    };
    bulk_preview_of(s, &text, tag)
}

fn bulk_preview_of(s: &State, text: &str, tag: Option<Tag>) -> bulk::Preview {
    // Before anything is typed, show who a short message would reach
    // (sending an empty text is refused on Enter).
    let text = if text.trim().is_empty() { "…" } else { text };
    let mut pages = crate::rules::eligibility::Pages::new(s.opts.pages.clone());
    // Dead tokens as the owner reported them (a campaign would stop there).
    pages.dead = s
        .status
        .dead
        .iter()
        .flat_map(|d| d.accounts.iter().cloned())
        .collect();
    bulk::preview(&pages, s.marked.values(), text, tag, s.now)
}

pub(super) fn bulk_key(
    s: &mut State,
    mut b: Box<BulkState>,
    k: KeyEvent,
    out: &mut Vec<Command>,
) -> Option<Overlay> {
    match b.stage {
        BulkStage::Edit => match k.code {
            KeyCode::Esc => None,
            KeyCode::Tab => {
                // No tag is left for campaigns (Meta retired the update tags
                // in 2026; HUMAN_AGENT is for a person): say so.
                b.tag_index = (b.tag_index + 1) % (Tag::CAMPAIGN_TAGS.len() + 1);
                if Tag::CAMPAIGN_TAGS.is_empty() {
                    info(
                        s,
                        Level::Info,
                        crate::rules::window::CAMPAIGN_OUTSIDE_WINDOW,
                    );
                }
                Some(Overlay::Bulk(b))
            }
            KeyCode::Enter if !k.modifiers.contains(KeyModifiers::ALT) => {
                let text = b.text.lines().join("\n");
                let p = bulk_preview_of(s, &text, b.tag());
                if text.trim().is_empty() {
                    info(s, Level::Error, "write the message first");
                } else if let Err(e) = crate::rules::template::Template::parse(&text) {
                    // Nothing goes out with a literal {variable} in it.
                    info(s, Level::Error, &format!("not sent: {e}"));
                } else if p.recipients.is_empty() {
                    info(
                        s,
                        Level::Error,
                        "nobody marked can receive this campaign; see the preview",
                    );
                } else {
                    b.stage = BulkStage::Confirm;
                    // One rendered example (the popup shows the template).
                    if let Some((_, example)) = &p.example {
                        let one_line = example.replace('\n', " ");
                        info(s, Level::Info, &format!("example: {one_line}"));
                    }
                }
                Some(Overlay::Bulk(b))
            }
            KeyCode::Enter => {
                b.text.insert_newline();
                Some(Overlay::Bulk(b))
            }
            _ => {
                b.text.input(k);
                Some(Overlay::Bulk(b))
            }
        },
        BulkStage::Confirm => match k.code {
            KeyCode::Char('y') | KeyCode::Enter => {
                let text = b.text.lines().join("\n");
                let tag = b.tag();
                let p = bulk_preview_of(s, &text, tag);
                let title: String = text.chars().take(40).collect();
                let n = p.recipients.len();
                out.push(Command::Inbox(Request::Job {
                    job: Job::Campaign {
                        title: title.replace('\n', " "),
                        text,
                        tag,
                        recipients: p.recipients,
                        agent: None,
                    },
                }));
                s.marked.clear();
                info(
                    s,
                    Level::Info,
                    &format!("campaign started for {n} conversation(s)"),
                );
                None
            }
            KeyCode::Char('n') | KeyCode::Esc => {
                b.stage = BulkStage::Edit;
                Some(Overlay::Bulk(b))
            }
            _ => Some(Overlay::Bulk(b)),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::app::fixtures as fx;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn bulk_without_marks_is_refused() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let cmds = fx::press(&mut s, KeyCode::Char('B'));
        assert!(cmds.is_empty() || fx::jobs(&cmds).is_empty());
        assert!(s.overlay.is_none());
    }
}
