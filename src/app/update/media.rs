//! Pictures, links and notifications: asking for the open thread's
//! pictures (and prefetching new arrivals' before Meta's links expire),
//! taking the worker's results, the open-link key, focus, and the
//! decision to send a desktop notification.

use super::scroll::selected_message;
use super::status::info;
use crate::app::command::Command;
use crate::app::media::PicState;
use crate::app::state::*;
use crate::domain::{Direction, Message, MsgKind};
use crate::media::notify::{should_notify, Facts};
use crate::media::open::first_link;
use crate::media::picture::{pictures_of, Outcome, PicKey, PictureRequest};
use crate::media::protocol::PictureMode;
use crate::update::Update;

fn request(s: &State, key: PicKey, url: &str, show: bool) -> Command {
    let (cols, rows) = s.opts.media.picture_box;
    Command::Picture(PictureRequest {
        key,
        url: url.to_string(),
        show,
        cols,
        rows,
    })
}

/// Before `live` applies an update: a new message's pictures are fetched
/// at once (shown if its thread is open, else only kept), and a new
/// customer message may notify.
pub(super) fn on_update(s: &mut State, u: &Update, out: &mut Vec<Command>) {
    let Update::Message(m) = u else { return };
    let open = s.open_key() == Some(&m.conv);
    if s.opts.media.pictures != PictureMode::Off && !open {
        for (key, url) in pictures_of(m) {
            out.push(request(s, key, url, false));
        }
    }
    let is_new = m.direction == Direction::In
        && m.kind == MsgKind::Message
        && m.timestamp >= s.started
        && !s.seen_inbound.contains(&m.mid);
    if is_new {
        notify(s, m, open, out);
    }
}

fn notify(s: &mut State, m: &Message, open: bool, out: &mut Vec<Command>) {
    let facts = Facts {
        config: &s.opts.media.notify,
        account: m.conv.account.as_str(),
        focused: s.media.focused,
        open,
        now: s.now,
        last: s.media.last_notified,
    };
    if !should_notify(&facts) {
        return;
    }
    s.media.last_notified = Some(s.now);
    let name = crate::app::names::of_key(s, &m.conv);
    out.push(Command::Notify {
        title: format!("dmdesk: {name}"),
        body: m.preview(),
    });
}

/// After every event: ask for the open thread's pictures not asked yet.
pub(super) fn want_pictures(s: &mut State, out: &mut Vec<Command>) {
    if s.opts.media.pictures == PictureMode::Off {
        return;
    }
    let Some(t) = &s.thread else { return };
    let mut wanted = Vec::new();
    for m in &t.messages {
        for (key, url) in pictures_of(m) {
            if !t.pictures.map.contains_key(&key) {
                wanted.push((key, url.to_string()));
            }
        }
    }
    for (key, url) in wanted {
        out.push(request(s, key.clone(), &url, true));
        if let Some(t) = s.thread.as_mut() {
            t.pictures.map.insert(key, PicState::Loading);
            t.pictures.rev += 1;
        }
    }
}

/// The worker's result for one picture; kept only while its thread is open.
pub(super) fn picture_done(s: &mut State, key: PicKey, outcome: Outcome) {
    let Some(t) = s.thread.as_mut() else { return };
    let Some(slot) = t.pictures.map.get_mut(&key) else {
        return; // another thread's prefetch, or a thread since closed
    };
    *slot = match outcome {
        Outcome::Ready(d) => PicState::Ready(d),
        Outcome::Unavailable(u) => PicState::Unavailable(u),
        // Asked to show, answered "kept": nothing to draw (pictures off).
        Outcome::Cached => return,
    };
    t.pictures.rev += 1;
}

pub(super) fn focus(s: &mut State, focused: bool) {
    s.media.focused = focused;
}

/// The open key: the selected message's first attachment link, else the
/// first link in its text, opened with the platform opener, or copied
/// (OSC 52) where there is no local display (SSH).
pub(super) fn open_link(s: &mut State, out: &mut Vec<Command>) {
    let Some(m) = selected_message(s) else {
        info(s, Level::Error, "no message selected");
        return;
    };
    let url = m
        .attachments
        .iter()
        .find_map(|a| a.url.clone())
        .or_else(|| m.text.as_deref().and_then(first_link).map(str::to_string));
    let Some(url) = url else {
        info(
            s,
            Level::Error,
            "the selected message has no link or attachment",
        );
        return;
    };
    let msg = match s.opts.media.opener {
        Some(o) => {
            out.push(Command::OpenLink(url));
            format!("opening the link with {}", o.program())
        }
        None => {
            out.push(Command::Copy(url));
            "no local display (SSH?): link copied instead (OSC 52)".to_string()
        }
    };
    info(s, Level::Info, &msg);
}
