//! The bulk popup: the campaign's text, the inbox service's preview of it
//! (the same `Request::BulkPreview` that `dmdesk bulk` asks, so both count
//! by the campaign's own rule over the store's facts), and the confirmation
//! that starts it. Also the confirmation that cancels a running campaign.

use super::status::info;
use crate::app::command::Command;
use crate::app::state::*;
use crate::job::Job;
use crate::request::{Audience, BulkContent, Eligibility, Preview, Request};
use crate::rules::window::Tag;
use crate::update::CampaignProgress;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
                b.preview = None;
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
                if text.trim().is_empty() {
                    info(s, Level::Error, "write the message first");
                } else if let Err(e) = crate::rules::template::Template::parse(&text) {
                    // Nothing goes out with a literal {variable} in it.
                    info(s, Level::Error, &format!("not sent: {e}"));
                } else {
                    b.stage = BulkStage::Previewing;
                    b.preview = None;
                    out.push(Command::Inbox(Request::BulkPreview {
                        audience: Audience::Listed(s.marked.keys().cloned().collect()),
                        content: BulkContent::Text { text, tag: b.tag() },
                    }));
                }
                Some(Overlay::Bulk(b))
            }
            KeyCode::Enter => {
                b.text.insert_newline();
                b.preview = None;
                Some(Overlay::Bulk(b))
            }
            _ => {
                if b.text.input(k) {
                    b.preview = None;
                }
                Some(Overlay::Bulk(b))
            }
        },
        // Waiting for the service: Esc goes back to the text (an answer
        // that comes later is then ignored); other keys wait.
        BulkStage::Previewing => {
            if k.code == KeyCode::Esc {
                b.stage = BulkStage::Edit;
            }
            Some(Overlay::Bulk(b))
        }
        BulkStage::Confirm => match k.code {
            KeyCode::Char('y') | KeyCode::Enter => {
                let text = b.text.lines().join("\n");
                let tag = b.tag();
                // The campaign goes to whom the confirmed preview promised.
                let recipients: Vec<_> = b
                    .preview
                    .iter()
                    .flat_map(|p| &p.rows)
                    .filter(|r| r.eligibility == Eligibility::Inside)
                    .map(|r| r.conv.clone())
                    .collect();
                let title: String = text.chars().take(40).collect();
                let n = recipients.len();
                out.push(Command::Inbox(Request::Job {
                    job: Job::Campaign {
                        title: title.replace('\n', " "),
                        text,
                        tag,
                        recipients,
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

/// The service's preview: on to the confirmation, or back to the text when
/// nobody marked can receive it. Only the popup that is waiting takes it.
pub(super) fn preview_loaded(s: &mut State, p: Box<Preview>) {
    let Some(Overlay::Bulk(b)) = s.overlay.as_mut() else {
        return;
    };
    if b.stage != BulkStage::Previewing {
        return;
    }
    let example = p.example.as_ref().map(|e| e.text.replace('\n', " "));
    let nobody = p.sendable() == 0;
    b.preview = Some(p);
    if nobody {
        b.stage = BulkStage::Edit;
        info(
            s,
            Level::Error,
            "nobody marked can receive this campaign; see the preview",
        );
    } else {
        b.stage = BulkStage::Confirm;
        // One rendered example (the popup shows the template).
        if let Some(one_line) = example {
            info(s, Level::Info, &format!("example: {one_line}"));
        }
    }
}

/// The cancel key: the campaign it cancels is the first the status bar
/// shows (one target, named in the confirmation before anything happens).
pub(super) fn cancel_campaign(s: &mut State) {
    match s.status.campaigns.values().find(|c| c.running) {
        Some(c) => s.overlay = Some(Overlay::CancelCampaign(Box::new(c.clone()))),
        None => info(s, Level::Error, "no campaign is running"),
    }
}

pub(super) fn cancel_key(
    s: &mut State,
    c: CampaignProgress,
    k: KeyEvent,
    out: &mut Vec<Command>,
) -> Option<Overlay> {
    let name = format!("\"{}\" ({})", c.title, c.id);
    // Only y cancels; anything else leaves it running.
    if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
        out.push(Command::Inbox(Request::Job {
            job: Job::CancelCampaign { id: c.id.clone() },
        }));
        info(s, Level::Info, &format!("cancelling campaign {name}"));
    } else {
        info(s, Level::Info, &format!("campaign {name} goes on"));
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::event::{Event, Reply};
    use crate::app::fixtures as fx;
    use crate::app::state::{BulkStage, Level, Overlay};
    use crate::app::update;
    use crate::domain::ConvKey;
    use crate::job::Job;
    use crate::request::campaign::PreviewRow;
    use crate::request::{Audience, BulkContent, Eligibility, Preview, Request};
    use crate::update::{CampaignProgress, Update};
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn bulk_without_marks_is_refused() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let cmds = fx::press(&mut s, KeyCode::Char('B'));
        assert!(cmds.is_empty() || fx::jobs(&cmds).is_empty());
        assert!(s.overlay.is_none());
    }

    fn stage(s: &crate::app::State) -> Option<BulkStage> {
        match &s.overlay {
            Some(Overlay::Bulk(b)) => Some(b.stage),
            _ => None,
        }
    }

    /// A preview as the service answers it: `inside` of `keys` get it.
    fn answer(keys: &[ConvKey], inside: usize) -> Box<Preview> {
        let rows = keys
            .iter()
            .enumerate()
            .map(|(i, k)| PreviewRow {
                conv: k.clone(),
                eligibility: if i < inside {
                    Eligibility::Inside
                } else {
                    Eligibility::Skip("outside the 24-hour window".into())
                },
            })
            .collect();
        Box::new(Preview {
            rows,
            inside,
            skipped: keys.len() - inside,
            ..Preview::default()
        })
    }

    /// Every row marked, the bulk popup open with `text`, Enter pressed:
    /// the state, the marked keys and what Enter asked for.
    fn previewing(text: &str) -> (crate::app::State, Vec<ConvKey>, Vec<Command>) {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('a'));
        let marked: Vec<ConvKey> = s.marked.keys().cloned().collect();
        fx::press(&mut s, KeyCode::Char('B'));
        fx::typ(&mut s, text);
        let cmds = fx::press(&mut s, KeyCode::Enter);
        (s, marked, cmds)
    }

    #[test]
    fn enter_asks_the_service_for_the_marked_rows_and_y_sends_to_whom_it_promised() {
        let (mut s, marked, cmds) = previewing("We moved!");
        assert_eq!(marked.len(), 3);
        assert_eq!(
            cmds,
            vec![Command::Inbox(Request::BulkPreview {
                audience: Audience::Listed(marked.clone()),
                content: BulkContent::Text {
                    text: "We moved!".into(),
                    tag: None
                },
            })]
        );
        assert_eq!(stage(&s), Some(BulkStage::Previewing));
        // Keys wait for the answer; nothing is sent meanwhile.
        assert!(fx::press(&mut s, KeyCode::Char('y')).is_empty());
        assert_eq!(stage(&s), Some(BulkStage::Previewing));

        // The service says two of the three get it.
        update::update(&mut s, Event::Inbox(Reply::BulkPreview(answer(&marked, 2))));
        assert_eq!(stage(&s), Some(BulkStage::Confirm));
        let cmds = fx::press(&mut s, KeyCode::Char('y'));
        match fx::jobs(&cmds).as_slice() {
            [Job::Campaign {
                text, recipients, ..
            }] => {
                assert_eq!(text, "We moved!");
                assert_eq!(recipients, &marked[..2].to_vec());
            }
            other => panic!("expected one campaign, got {other:?}"),
        }
        assert!(s.marked.is_empty());
        assert!(s.overlay.is_none());
    }

    #[test]
    fn a_preview_that_reaches_nobody_goes_back_to_the_text() {
        let (mut s, marked, _) = previewing("Hi");
        update::update(&mut s, Event::Inbox(Reply::BulkPreview(answer(&marked, 0))));
        assert_eq!(stage(&s), Some(BulkStage::Edit));
        assert!(
            matches!(&s.status.message, Some((Level::Error, m)) if m.contains("nobody marked")),
            "{:?}",
            s.status.message
        );
        // The reasons stay in the popup until the text changes.
        assert!(matches!(&s.overlay, Some(Overlay::Bulk(b)) if b.preview.is_some()));
        fx::typ(&mut s, "!");
        assert!(matches!(&s.overlay, Some(Overlay::Bulk(b)) if b.preview.is_none()));
    }

    #[test]
    fn a_late_preview_is_ignored_once_the_agent_went_back() {
        let (mut s, marked, _) = previewing("Hi");
        fx::press(&mut s, KeyCode::Esc);
        assert_eq!(stage(&s), Some(BulkStage::Edit));
        update::update(&mut s, Event::Inbox(Reply::BulkPreview(answer(&marked, 3))));
        assert_eq!(stage(&s), Some(BulkStage::Edit));
        assert!(matches!(&s.overlay, Some(Overlay::Bulk(b)) if b.preview.is_none()));
    }

    fn progress(id: &str, title: &str, running: bool) -> CampaignProgress {
        CampaignProgress {
            id: id.into(),
            title: title.into(),
            total: 10,
            done: 3,
            sent: 3,
            failed: 0,
            skipped: 0,
            running,
            created_by: None,
        }
    }

    #[test]
    fn the_cancel_key_names_the_first_running_campaign_and_cancels_it_on_y() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        for p in [
            progress("c1", "Spring sale", true),
            progress("c2", "Later", true),
        ] {
            update::update(&mut s, Event::Update(Update::Campaign(p)));
        }
        assert!(fx::press(&mut s, KeyCode::Char('C')).is_empty());
        match &s.overlay {
            Some(Overlay::CancelCampaign(c)) => assert_eq!(c.id, "c1"),
            other => panic!("expected the cancel confirmation, got {other:?}"),
        }
        // Progress underneath does not change the target.
        update::update(
            &mut s,
            Event::Update(Update::Campaign(progress("c1", "Spring sale", true))),
        );
        let cmds = fx::press(&mut s, KeyCode::Char('y'));
        assert_eq!(
            cmds,
            vec![Command::Inbox(Request::Job {
                job: Job::CancelCampaign { id: "c1".into() }
            })]
        );
        assert!(s.overlay.is_none());
        assert!(
            matches!(&s.status.message, Some((_, m)) if m.contains("\"Spring sale\" (c1)")),
            "{:?}",
            s.status.message
        );
    }

    #[test]
    fn any_other_key_leaves_the_campaign_running_and_none_running_is_said() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        assert!(fx::press(&mut s, KeyCode::Char('C')).is_empty());
        assert!(s.overlay.is_none());
        assert!(
            matches!(&s.status.message, Some((Level::Error, m)) if m == "no campaign is running"),
            "{:?}",
            s.status.message
        );
        update::update(
            &mut s,
            Event::Update(Update::Campaign(progress("c9", "News", true))),
        );
        fx::press(&mut s, KeyCode::Char('C'));
        assert!(fx::press(&mut s, KeyCode::Char('n')).is_empty());
        assert!(s.overlay.is_none());
        assert!(
            matches!(&s.status.message, Some((_, m)) if m.contains("goes on")),
            "{:?}",
            s.status.message
        );
    }
}
