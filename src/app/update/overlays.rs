//! Keys while a popup is open: help, notices, the send confirmation,
//! search, the status menu and the canned replies (the bulk popup has its
//! own room, bulk_popup.rs).

use super::bulk_popup::bulk_key;
use super::composer::dispatch_reply;
use super::list::filter_changed;
use super::status::info;
use crate::app::canned;
use crate::app::clock;
use crate::app::command::Command;
use crate::app::keymap::Action;
use crate::app::state::*;
use crate::domain::{ConvStatus, TimestampMs};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn overlay_key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) {
    let Some(overlay) = s.overlay.take() else {
        return;
    };
    let esc = k.code == KeyCode::Esc;
    s.overlay = match overlay {
        Overlay::Help => None,
        // j/k (or the arrows) scroll through older notices; any other key closes.
        Overlay::Notices { scroll } => {
            match s.opts.keymap.action(&k, &[Action::Down, Action::Up]) {
                Some(Action::Down) => Some(Overlay::Notices {
                    scroll: scroll.saturating_sub(1),
                }),
                Some(Action::Up) => Some(Overlay::Notices {
                    scroll: (scroll + 1).min(s.status.log.len().saturating_sub(1)),
                }),
                _ => None,
            }
        }
        Overlay::ConfirmSend(p) => {
            // Only y sends; anything else keeps the text in the composer.
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                let p = *p;
                dispatch_reply(s, p.conv, p.text, p.tag, out);
            } else {
                info(
                    s,
                    Level::Info,
                    "not sent; the reply is still in the composer",
                );
            }
            None
        }
        Overlay::Search { mut input } => match k.code {
            KeyCode::Esc => {
                if s.list.filter.text.take().is_some() {
                    filter_changed(s, out);
                }
                None
            }
            KeyCode::Enter => None,
            KeyCode::Backspace => {
                input.pop();
                set_search(s, &input, out);
                Some(Overlay::Search { input })
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                input.push(c);
                set_search(s, &input, out);
                Some(Overlay::Search { input })
            }
            _ => Some(Overlay::Search { input }),
        },
        Overlay::StatusMenu(c) => {
            let choice = match k.code {
                KeyCode::Char('o') => Some((ConvStatus::Open, None)),
                KeyCode::Char('p') => Some((ConvStatus::Pending, None)),
                KeyCode::Char('r') => Some((ConvStatus::Resolved, None)),
                KeyCode::Char('1') => {
                    Some((ConvStatus::Snoozed, Some(s.now.plus_ms(TimestampMs::HOUR))))
                }
                KeyCode::Char('t') => Some((
                    ConvStatus::Snoozed,
                    Some(clock::tomorrow_at(s.now, s.opts.zone, 9)),
                )),
                KeyCode::Char('w') => Some((
                    ConvStatus::Snoozed,
                    Some(clock::next_week(s.now, s.opts.zone)),
                )),
                _ => None,
            };
            match choice {
                Some((status, snooze_until)) => {
                    let msg = match snooze_until {
                        Some(t) => format!(
                            "{}: snoozed until {} {}",
                            c.name,
                            clock::day_label(t, s.now, s.opts.zone),
                            clock::clock(t, s.opts.zone)
                        ),
                        None => format!("{}: status {}", c.name, status.as_str()),
                    };
                    out.push(Command::SetStatus {
                        conv: c.key,
                        status,
                        snooze_until,
                    });
                    info(s, Level::Info, &msg);
                    None
                }
                None if esc => None,
                None => Some(Overlay::StatusMenu(c)),
            }
        }
        Overlay::Canned(mut p) => {
            let found = canned::matches(&s.opts.canned, &p.query);
            match k.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    if let Some(c) = found.get(p.selected).and_then(|i| s.opts.canned.get(*i)) {
                        let (contact, name) = match &s.thread {
                            Some(t) => (t.contact.clone(), t.conv.name.clone()),
                            None => (None, String::new()),
                        };
                        let text = canned::fill(&c.text, contact.as_ref(), &name);
                        s.composer.textarea.insert_str(text);
                    }
                    None
                }
                KeyCode::Down => {
                    p.selected = (p.selected + 1).min(found.len().saturating_sub(1));
                    Some(Overlay::Canned(p))
                }
                KeyCode::Up => {
                    p.selected = p.selected.saturating_sub(1);
                    Some(Overlay::Canned(p))
                }
                KeyCode::Backspace => {
                    p.query.pop();
                    p.selected = 0;
                    Some(Overlay::Canned(p))
                }
                KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                    p.query.push(c);
                    p.selected = 0;
                    Some(Overlay::Canned(p))
                }
                _ => Some(Overlay::Canned(p)),
            }
        }
        Overlay::Bulk(b) => bulk_key(s, b, k, out),
    };
}

fn set_search(s: &mut State, input: &str, out: &mut Vec<Command>) {
    s.list.filter.text = Some(input.to_string()).filter(|t| !t.is_empty());
    filter_changed(s, out);
}
