//! Keys while a popup is open: help, notices, the send confirmation,
//! search, the status menu and the canned replies (the bulk popup has its
//! own room, bulk_popup.rs).

use super::bulk_popup::{bulk_key, cancel_key};
use super::composer::dispatch_reply;
use super::list::filter_changed;
use super::status::info;
use crate::app::canned;
use crate::app::command::Command;
use crate::app::keymap::{Action, Scope};
use crate::app::state::*;
use crate::clock;
use crate::domain::{ConvStatus, TimestampMs};
use crate::request::Request;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn overlay_key(s: &mut State, k: KeyEvent, out: &mut Vec<Command>) {
    let Some(overlay) = s.overlay.take() else {
        return;
    };
    let esc = k.code == KeyCode::Esc;
    s.overlay = match overlay {
        // The composer key flips between the pages; any other key closes.
        Overlay::Help(page) if s.opts.keymap.action(Scope::Main, &k) == Some(Action::Compose) => {
            Some(Overlay::Help(match page {
                HelpPage::Keys => HelpPage::Composer,
                HelpPage::Composer => HelpPage::Keys,
            }))
        }
        Overlay::Help(_) | Overlay::Report(_) => None,
        Overlay::Pick(p) => super::team::pick_key(s, p, k, out),
        Overlay::Attach(p) => super::attach::key(s, p, k, out),
        // j/k (or the arrows) scroll through older notices; any other key closes.
        Overlay::Notices { scroll } => match s.opts.keymap.action(Scope::Main, &k) {
            Some(Action::Down) => Some(Overlay::Notices {
                scroll: scroll.saturating_sub(1),
            }),
            Some(Action::Up) => Some(Overlay::Notices {
                scroll: (scroll + 1).min(s.status.log.len().saturating_sub(1)),
            }),
            _ => None,
        },
        Overlay::CancelCampaign(c) => cancel_key(s, *c, k, out),
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
                            crate::app::names::who(s, &c),
                            clock::day_label(t, s.now, s.opts.zone),
                            clock::clock(t, s.opts.zone)
                        ),
                        None => format!(
                            "{}: status {}",
                            crate::app::names::who(s, &c),
                            status.as_str()
                        ),
                    };
                    out.push(Command::Inbox(Request::SetStatus {
                        conv: c.key,
                        status,
                        snooze_until,
                    }));
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
                        let (contact, name, account) = match &s.thread {
                            Some(t) => (
                                t.contact.clone(),
                                t.conv.name.clone(),
                                Some(t.conv.key.account.clone()),
                            ),
                            None => (None, String::new(), None),
                        };
                        // The page the reply goes out from (an Instagram
                        // account answers under its Page's name).
                        let page = account.and_then(|a| {
                            s.opts
                                .pages
                                .iter()
                                .find(|p| p.id == a || p.instagram_id.as_ref() == Some(&a))
                        });
                        let text = canned::fill_for_page(
                            &c.text,
                            contact.as_ref(),
                            &name,
                            page.map(|p| p.name.as_str()),
                        );
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

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::fixtures::{self as fx, NOW};
    use crate::domain::*;
    use crate::request::Request;
    use crate::rules::template::CannedReply;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn set_status_snooze_tomorrow() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('s'));
        let cmds = fx::press(&mut s, KeyCode::Char('t'));
        let expect = crate::clock::tomorrow_at(NOW, s.opts.zone, 9);
        assert_eq!(
            cmds.first(),
            Some(&Command::Inbox(Request::SetStatus {
                conv: fx::key(Platform::Messenger, "u1"),
                status: ConvStatus::Snoozed,
                snooze_until: Some(expect)
            }))
        );
    }

    #[test]
    fn canned_reply_fills_variables_into_composer() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        fx::open_with(&mut s, c, vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::ctrl(&mut s, 'r');
        fx::typ(&mut s, "gree");
        fx::press(&mut s, KeyCode::Enter);
        assert_eq!(s.composer.text(), "Hi Ann, how can I help?");
        assert!(s.overlay.is_none());
    }

    #[test]
    fn canned_reply_names_the_page_of_the_open_conversation() {
        let mut s = fx::state(100, 30);
        s.opts.canned.push(CannedReply {
            name: "closing".into(),
            text: "Thanks for shopping with {page_name}!".into(),
        });
        // An Instagram conversation: its account is the Page's Instagram id.
        let c = fx::conv(Platform::Instagram, "u9", "Bo", 5, 0);
        fx::open_with(&mut s, c, vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::ctrl(&mut s, 'r');
        fx::typ(&mut s, "closing");
        fx::press(&mut s, KeyCode::Enter);
        assert_eq!(
            s.composer.text(),
            "Thanks for shopping with Demo Coffee Co.!"
        );
    }

    #[test]
    fn search_filters_and_esc_clears() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('/'));
        let cmds = fx::press(&mut s, KeyCode::Char('b'));
        assert!(cmds.iter().any(|c| matches!(c, Command::Inbox(Request::List { filter, count: true, .. }) if filter.text.as_deref() == Some("b"))));
        fx::press(&mut s, KeyCode::Esc);
        assert!(s.list.filter.text.is_none());
        fx::press(&mut s, KeyCode::Char('u'));
        assert!(s.list.filter.unread_only);
    }
}
