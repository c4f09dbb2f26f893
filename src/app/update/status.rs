//! The status bar and the window title: notices, the day's event count,
//! the unread counts behind the title.

use crate::app::clock;
use crate::app::command::Command;
use crate::app::state::*;
use crate::domain::{ConvKey, TimestampMs};

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
    Command::LoadUnread {
        request: s.unread_requests,
    }
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
