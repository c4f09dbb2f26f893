//! The status bar and the window title: notices, the day's event count,
//! the unread counts behind the title.

use crate::app::command::Command;
use crate::app::state::*;
use crate::clock;
use crate::domain::{ConvKey, TimestampMs};
use crate::request::Request;

pub(super) fn info(s: &mut State, level: Level, text: &str) {
    s.status.message = Some((level, text.to_string()));
    s.status.message_at = s.now;
    if s.status.log.len() >= NOTICE_LOG {
        s.status.log.pop_front();
    }
    s.status.log.push_back(Notice {
        at: s.now,
        level,
        text: text.to_string(),
    });
}

/// The clock moved: expire the notice, roll the day's counter over.
pub(super) fn tick(s: &mut State, now: TimestampMs) {
    s.now = now;
    let expired = now.0 - s.status.message_at.0 >= NOTICE_MS;
    if expired && matches!(s.status.message, Some((Level::Info, _))) {
        s.status.message = None;
    }
    let today = clock::day_key(now, s.opts.zone);
    if today != s.status.events_today.0 {
        s.status.events_today = (today, 0);
    }
}

pub(super) fn title(s: &mut State, out: &mut Vec<Command>) {
    if !s.opts.title {
        return;
    }
    let n = s.unread_conversations();
    let t = if n > 0 {
        format!("dmdesk ({n} unread)")
    } else {
        "dmdesk".to_string()
    };
    if t != s.last_title {
        s.last_title = t.clone();
        out.push(Command::SetTitle(t));
    }
}

/// Ask the edge for every unread conversation; counts that change while the
/// scan runs are remembered so its answer cannot undo them.
pub(super) fn load_unread(s: &mut State) -> Command {
    s.unread_requests += 1;
    s.unread_load = Some(UnreadLoad {
        request: s.unread_requests,
        fresh: Default::default(),
    });
    Command::Inbox(Request::Unread {
        request: s.unread_requests,
    })
}

/// Record a conversation's unread count as read now from the store.
pub(super) fn set_unread(s: &mut State, key: &ConvKey, n: u32) {
    if n > 0 {
        s.unread.insert(key.clone(), n);
    } else {
        s.unread.remove(key);
    }
    if let Some(l) = s.unread_load.as_mut() {
        l.fresh.insert(key.clone());
    }
}

/// The scan's answer: it replaces the counts, except those updated since
/// the request (newer than what the scan read).
pub(super) fn unread_loaded(s: &mut State, request: u64, counts: Vec<(ConvKey, u32)>) {
    let Some(load) = s.unread_load.take_if(|l| l.request == request) else {
        return; // an older scan; a newer one is on its way
    };
    let fresh = load.fresh;
    s.unread.retain(|k, _| fresh.contains(k));
    for (k, n) in counts {
        if n > 0 && !fresh.contains(&k) {
            s.unread.insert(k, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::app::event::Event;
    use crate::app::fixtures::{self as fx, NOW};
    use crate::app::state::{Level, Overlay, State};
    use crate::app::update;
    use crate::domain::*;
    use crate::update::{CampaignProgress, Update};
    use ratatui::crossterm::event::KeyCode;

    fn notices_log(s: &State) -> Vec<(TimestampMs, Level, String)> {
        s.status
            .log
            .iter()
            .map(|n| (n.at, n.level, n.text.clone()))
            .collect()
    }

    #[test]
    fn status_bar_counters() {
        let mut s = fx::state(100, 30);
        update(&mut s, Event::Update(Update::EventReceived { at: NOW }));
        update(
            &mut s,
            Event::Update(Update::EventReceived {
                at: NOW.plus_ms(-2 * TimestampMs::DAY),
            }),
        );
        assert_eq!(s.status.events_today.1, 1);
        update(
            &mut s,
            Event::Tick {
                now: NOW.plus_ms(TimestampMs::DAY),
            },
        );
        assert_eq!(s.status.events_today.1, 0, "a new day starts at zero");
        let p = CampaignProgress {
            id: "c1".into(),
            title: "Sale".into(),
            total: 10,
            done: 3,
            running: true,
            ..Default::default()
        };
        update(&mut s, Event::Update(Update::Campaign(p.clone())));
        assert_eq!(s.status.campaigns.len(), 1);
        update(
            &mut s,
            Event::Update(Update::Campaign(CampaignProgress {
                running: false,
                done: 10,
                sent: 10,
                ..p
            })),
        );
        assert!(s.status.campaigns.is_empty());
        update(&mut s, Event::Update(Update::Error("token expired".into())));
        assert_eq!(
            s.status.message,
            Some((Level::Error, "token expired".into()))
        );
    }

    #[test]
    fn notices_log_keeps_the_last_200_whole_with_times() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('S'));
        update(
            &mut s,
            Event::Tick {
                now: NOW.plus_ms(5_000),
            },
        );
        // From the list, y names what to do (an error notice).
        fx::press(&mut s, KeyCode::Char('y'));
        let log = notices_log(&s);
        assert_eq!(log.len(), 2);
        assert_eq!(log[0], (NOW, Level::Info, "sync requested".to_string()));
        assert_eq!(log[1].0, NOW.plus_ms(5_000));
        assert_eq!(log[1].1, Level::Error);
        assert!(log[1].2.starts_with("y acts on a message"), "{:?}", log[1]);

        // The key opens it; j/k scroll within it; esc closes it.
        fx::press(&mut s, KeyCode::Char('L'));
        assert!(matches!(s.overlay, Some(Overlay::Notices { scroll: 0 })));
        fx::press(&mut s, KeyCode::Char('k'));
        assert!(matches!(s.overlay, Some(Overlay::Notices { scroll: 1 })));
        fx::press(&mut s, KeyCode::Char('k'));
        assert!(
            matches!(s.overlay, Some(Overlay::Notices { scroll: 1 })),
            "never past the oldest"
        );
        fx::press(&mut s, KeyCode::Char('j'));
        assert!(matches!(s.overlay, Some(Overlay::Notices { scroll: 0 })));
        fx::press(&mut s, KeyCode::Esc);
        assert!(s.overlay.is_none());

        // At most 200: the oldest go first.
        for _ in 0..250 {
            fx::press(&mut s, KeyCode::Char('S'));
        }
        let log = notices_log(&s);
        assert_eq!(log.len(), crate::app::state::NOTICE_LOG);
        assert!(log.iter().all(|n| n.2 == "sync requested"));
    }
}
