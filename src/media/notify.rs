//! Desktop notifications for a new customer message the agent is not
//! looking at: the decision (pure) and the escape sequences.

use crate::domain::TimestampMs;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyVia {
    Off,
    /// `ESC ] 777 ; notify ; title ; body` (foot, kitty, WezTerm, Ghostty, rxvt).
    Osc777,
    /// `ESC ] 9 ; text` (iTerm2, Windows Terminal, kitty, WezTerm, Ghostty).
    Osc9,
    /// A program, run with the title and the body as its last two arguments.
    Command(Vec<String>),
}

/// `[notify]`: a desktop notification for a new customer message the agent
/// is not looking at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub via: NotifyVia,
    /// At most one notification per this interval.
    pub min_interval: Duration,
    /// Accounts (page or Instagram ids) that never notify.
    pub muted: std::collections::BTreeSet<String>,
}

/// What the decision looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub config: &'a NotifyConfig,
    /// The message's account (page or Instagram id).
    pub account: &'a str,
    /// The terminal has focus.
    pub focused: bool,
    /// The message's conversation is the open thread.
    pub open: bool,
    pub now: TimestampMs,
    pub last: Option<TimestampMs>,
}

/// Notify when it is on, the page is not muted, the agent is not already
/// looking at the conversation (terminal in focus *and* the thread open),
/// and the last notification is at least `min_interval` old.
pub fn should_notify(f: &Facts) -> bool {
    if f.config.via == NotifyVia::Off || f.config.muted.contains(f.account) {
        return false;
    }
    if f.focused && f.open {
        return false;
    }
    let gap = f.config.min_interval.as_millis() as i64;
    f.last.is_none_or(|t| f.now.0 - t.0 >= gap)
}

/// Text safe inside an OSC string: no control characters (an ESC or BEL
/// would end it early and let a customer's text drive the terminal), no
/// `;` (OSC 777's separator), at most `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| match c {
            ';' => ',',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(max)
        .collect();
    if text.chars().count() > max {
        s.push('…');
    }
    s
}

/// The escape sequence for `via` (None for Off and Command); wrapped for
/// tmux's passthrough when `tmux`.
pub fn sequence(via: &NotifyVia, title: &str, body: &str, tmux: bool) -> Option<String> {
    let (title, body) = (clean(title, 60), clean(body, 160));
    let seq = match via {
        NotifyVia::Osc777 => format!("\x1b]777;notify;{title};{body}\x1b\\"),
        NotifyVia::Osc9 => format!("\x1b]9;{title}: {body}\x1b\\"),
        NotifyVia::Off | NotifyVia::Command(_) => return None,
    };
    Some(if tmux {
        format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
    } else {
        seq
    })
}
