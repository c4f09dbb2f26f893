//! A thread's messages laid out into lines, a block of lines per message,
//! and the memo that keeps the last layout (thread_layout/memo.rs). Plain
//! text and tones only: `update` measures with it to scroll, and
//! `ui::thread` styles and draws the visible slice.

use super::media::{PicState, Pictures};
use crate::clock::{self, Zone};
use crate::domain::{
    Contact, Conversation, Direction, Message, MsgKind, MsgStatus, Origin, Platform, TimestampMs,
};
use crate::media::picture::{is_picture, PicKey};
use crate::team::{HistoryEvent, HistoryKind, Note};
use crate::text::{line, truncate, wrap};

mod memo;
mod offsets;
#[cfg(test)]
mod relayout_tests;

pub use memo::{Edit, Memo};
use offsets::Offsets;

/// Columns outbound messages are shifted right, so they read apart from
/// the customer's even without colour.
const OUT_INDENT: usize = 6;

/// What a piece of text is; the renderer picks its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Dim,
    Inbound,
    Outbound,
    Warn,
    Error,
    /// A private note: never the colour of a reply.
    Note,
}

/// One laid-out line: one text in one tone, a run of pieces (a header),
/// or row `row` of a picture drawn from column `x`.
#[derive(Debug, Clone, PartialEq)]
pub enum LaidLine {
    Whole(Tone, String),
    Pieces(Vec<(Tone, String)>),
    Picture { key: PicKey, row: u16, x: u16 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Laid {
    pub lines: Vec<LaidLine>,
    /// The message index each line belongs to (None for separators).
    pub owners: Vec<Option<usize>>,
}

/// The thread as the layout reads it (borrowed from the thread pane).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub conv: &'a Conversation,
    pub contact: Option<&'a Contact>,
    /// Loaded messages, oldest first.
    pub messages: &'a [Message],
    /// The team's notes and history, oldest first (interleaved by time).
    pub notes: &'a [Note],
    pub history: &'a [HistoryEvent],
    pub reached_start: bool,
    pub loading_older: bool,
    /// Bumped when a loaded message changes in place.
    pub rev: u64,
    /// Whether a failed send may be retried (not while the token is dead).
    pub retry: bool,
    /// The thread's pictures (None: text only).
    pub pictures: Option<&'a Pictures>,
}

/// One message's lines, after the team lines and the day separator that
/// come before it.
#[derive(Debug, Clone, Default)]
struct Block {
    lines: Vec<LaidLine>,
    /// Lines before the message's own (team lines, separator): no owner.
    lead: usize,
    /// The team lines [from, to) shown before the message.
    team: (usize, usize),
}

/// A thread laid out: its top line, a block per loaded message, the team
/// lines after the newest message, and the blocks' line offsets.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    top: Vec<LaidLine>,
    blocks: Vec<Block>,
    tail: Vec<LaidLine>,
    offsets: Offsets,
}

/// Where a line of the layout is.
#[derive(Debug, Clone, Copy)]
enum At {
    Top(usize),
    Block(usize, usize),
    Tail(usize),
}

impl Layout {
    /// Lines in all.
    pub fn len(&self) -> usize {
        self.top.len() + self.offsets.total() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn at(&self, line: usize) -> At {
        let body = self.offsets.total();
        match line.checked_sub(self.top.len()) {
            None => At::Top(line),
            Some(l) if l >= body => At::Tail(l - body),
            Some(l) => {
                let (b, first) = self.offsets.find(l);
                At::Block(b, l - first)
            }
        }
    }

    /// The lines [start, end) with the message each belongs to (None for
    /// separators and team lines).
    pub fn slice(&self, start: usize, end: usize) -> Vec<(&LaidLine, Option<usize>)> {
        let end = end.min(self.len());
        let mut v = Vec::with_capacity(end.saturating_sub(start));
        let mut line = start;
        while line < end {
            match self.at(line) {
                At::Top(i) => {
                    v.extend(self.top[i..].iter().take(end - line).map(|l| (l, None)));
                }
                At::Tail(i) => {
                    v.extend(self.tail[i..].iter().take(end - line).map(|l| (l, None)));
                }
                At::Block(b, i) => {
                    let block = &self.blocks[b];
                    let lines = block.lines.iter().enumerate().skip(i).take(end - line);
                    v.extend(lines.map(|(j, l)| (l, (j >= block.lead).then_some(b))));
                }
            }
            line = start + v.len();
        }
        v
    }

    /// The message line `line` belongs to.
    pub fn owner(&self, line: usize) -> Option<usize> {
        match self.at(line) {
            At::Block(b, i) if line < self.len() && i >= self.blocks[b].lead => Some(b),
            _ => None,
        }
    }

    /// The message of the nearest line at or above `line` that has one.
    pub fn owner_at_or_above(&self, line: usize) -> Option<usize> {
        match self.at(line.min(self.len().checked_sub(1)?)) {
            At::Top(_) => None,
            At::Tail(_) => self.blocks.len().checked_sub(1),
            At::Block(b, i) if i >= self.blocks[b].lead => Some(b),
            At::Block(b, _) => b.checked_sub(1),
        }
    }

    /// The lines [first, last + 1) of message `i`.
    pub fn message_lines(&self, i: usize) -> Option<(usize, usize)> {
        let b = self.blocks.get(i)?;
        let first = self.top.len() + self.offsets.prefix(i);
        Some((first + b.lead, first + b.lines.len()))
    }

    /// Every line in order, with its owner (tests; O(lines)).
    pub fn flatten(&self) -> Laid {
        let all = self.slice(0, self.len());
        Laid {
            lines: all.iter().map(|(l, _)| (*l).clone()).collect(),
            owners: all.iter().map(|(_, o)| *o).collect(),
        }
    }

    /// The message index of each line (O(lines)).
    pub fn owners(&self) -> Vec<Option<usize>> {
        self.slice(0, self.len())
            .into_iter()
            .map(|(_, o)| o)
            .collect()
    }
}

/// The lines [start, end) shown for a scroll (lines up from the newest),
/// for the renderer and `update` alike.
pub fn view_range(total: usize, height: usize, scroll: usize) -> (usize, usize) {
    let scroll = scroll.min(total.saturating_sub(height));
    let end = total - scroll;
    (end.saturating_sub(height), end)
}

/// The lines [first, last + 1) of message `i` in a flat list of owners.
pub fn message_lines(owners: &[Option<usize>], i: usize) -> Option<(usize, usize)> {
    let first = owners.iter().position(|o| *o == Some(i))?;
    let last = owners.iter().rposition(|o| *o == Some(i))?;
    Some((first, last + 1))
}

/// A note or a recorded change, as the thread interleaves them.
#[derive(Debug, Clone, Copy)]
enum TeamLine<'a> {
    Note(&'a Note),
    Change(&'a HistoryEvent),
}

impl TeamLine<'_> {
    fn at(&self) -> TimestampMs {
        match self {
            TeamLine::Note(n) => n.at,
            TeamLine::Change(h) => h.at,
        }
    }
}

/// The notes and the changes the thread shows (status, assignment, labels,
/// priority: not "opened" or "replied", which the messages show), by time.
fn team_lines<'a>(t: &Source<'a>) -> Vec<TeamLine<'a>> {
    let shown = |h: &&HistoryEvent| {
        matches!(
            h.kind,
            HistoryKind::Status { .. }
                | HistoryKind::Assigned { .. }
                | HistoryKind::Labels { .. }
                | HistoryKind::Priority { .. }
        )
    };
    let mut v: Vec<TeamLine> = t
        .notes
        .iter()
        .map(TeamLine::Note)
        .chain(t.history.iter().filter(shown).map(TeamLine::Change))
        .collect();
    v.sort_by_key(|e| e.at());
    v
}

/// The lines of a note (drawn apart from messages: its own mark, colour and
/// indent, and "private") or of a recorded change (one dim line).
fn lay_out_team(e: TeamLine, w: usize, zone: Zone, lines: &mut Vec<LaidLine>) {
    match e {
        TeamLine::Note(n) => {
            lines.push(LaidLine::Pieces(vec![
                (Tone::Plain, "   ".to_string()),
                (Tone::Note, format!("✎ Note by {}", n.author)),
                (
                    Tone::Dim,
                    format!(" · {} · private, not sent", clock::clock(n.at, zone)),
                ),
            ]));
            for l in wrap(&n.text, w.saturating_sub(6).max(4)) {
                lines.push(LaidLine::Whole(Tone::Note, format!("   ┊ {l}")));
            }
        }
        TeamLine::Change(h) => {
            let text = format!("· {} {}", clock::clock(h.at, zone), h.describe());
            lines.push(LaidLine::Whole(Tone::Dim, truncate(&text, w)));
        }
    }
}

fn status_mark(m: &Message) -> &'static str {
    match m.status {
        MsgStatus::Pending => "⏳ sending",
        MsgStatus::Sent => "✓ sent",
        MsgStatus::Delivered => "✓✓ delivered",
        MsgStatus::Read => "✓✓ read",
        MsgStatus::Failed => "✗ failed",
        MsgStatus::Received => "",
    }
}

/// `me`: this agent, whose replies read "You"; a colleague's read "sent by NAME".
pub fn lay_out(t: &Source, width: u16, zone: Zone, now: TimestampMs, me: Option<&str>) -> Laid {
    Ctx::new(t, width, zone, now, me).build().flatten()
}

/// What every block of one thread is laid out with.
struct Ctx<'a> {
    t: &'a Source<'a>,
    team: Vec<TeamLine<'a>>,
    /// The customer's name as headers and reactions show it.
    name: String,
    w: usize,
    zone: Zone,
    now: TimestampMs,
    me: Option<&'a str>,
}

/// The customer's name as the thread shows it.
fn shown_name(t: &Source) -> String {
    line(
        &t.contact
            .map(|c| c.display_name())
            .unwrap_or_else(|| t.conv.name.clone()),
    )
}

impl<'a> Ctx<'a> {
    fn new(
        t: &'a Source<'a>,
        width: u16,
        zone: Zone,
        now: TimestampMs,
        me: Option<&'a str>,
    ) -> Self {
        Ctx {
            t,
            team: team_lines(t),
            name: shown_name(t),
            w: width.max(8) as usize,
            zone,
            now,
            me,
        }
    }

    /// Every block laid out afresh.
    fn build(&self) -> Layout {
        let (ranges, rest) = self.team_ranges();
        let blocks: Vec<Block> = ranges
            .into_iter()
            .enumerate()
            .map(|(i, r)| self.block(i, r))
            .collect();
        Layout {
            top: self.top(),
            offsets: Offsets::build(blocks.iter().map(|b| b.lines.len())),
            blocks,
            tail: self.tail(rest),
        }
    }

    /// The team lines each message's block shows before it, and where
    /// those after the newest begin. Those before the loaded messages wait
    /// until older ones are loaded.
    fn team_ranges(&self) -> (Vec<(usize, usize)>, usize) {
        let before = |at: TimestampMs| self.team.partition_point(|e| e.at() < at);
        let mut next = match self.t.messages.first() {
            Some(m) if !self.t.reached_start => before(m.timestamp),
            _ => 0,
        };
        let ranges = self
            .t
            .messages
            .iter()
            .map(|m| {
                let from = next;
                if !self.team.is_empty() {
                    next = next.max(before(m.timestamp));
                }
                (from, next)
            })
            .collect();
        (ranges, next)
    }

    /// The thread's first line: more to load, or Instagram's limit.
    fn top(&self) -> Vec<LaidLine> {
        let t = self.t;
        let text = if !t.reached_start {
            if t.loading_older {
                "… loading".to_string()
            } else {
                "… older messages: PgUp / g".to_string()
            }
        } else if t.conv.key.platform == Platform::Instagram && !t.messages.is_empty() {
            truncate(
                "older history: Instagram gives apps only the 20 most recent messages",
                self.w,
            )
        } else {
            return Vec::new();
        };
        vec![LaidLine::Whole(Tone::Dim, text)]
    }

    /// The team lines after the newest message.
    fn tail(&self, from: usize) -> Vec<LaidLine> {
        let mut lines = Vec::new();
        for e in &self.team[from.min(self.team.len())..] {
            lay_out_team(*e, self.w, self.zone, &mut lines);
        }
        lines
    }

    /// Message `i`'s block: the team lines `team`, the day separator when
    /// its day is not the previous message's, then the message.
    fn block(&self, i: usize, team: (usize, usize)) -> Block {
        use LaidLine::Whole;
        let (t, w, zone) = (self.t, self.w, self.zone);
        let mut lines = Vec::new();
        for e in &self.team[team.0..team.1] {
            lay_out_team(*e, w, zone, &mut lines);
        }
        let m = &t.messages[i];
        let day = clock::day_key(m.timestamp, zone);
        let prev = i.checked_sub(1).map(|p| t.messages[p].timestamp);
        if prev.map(|p| clock::day_key(p, zone)) != Some(day) {
            let label = format!(" {} ", clock::day_label(m.timestamp, self.now, zone));
            let side = w.saturating_sub(crate::text::width(&label)) / 2;
            lines.push(Whole(
                Tone::Dim,
                format!("{}{label}{}", "─".repeat(side), "─".repeat(side)),
            ));
        }
        let lead = lines.len();
        self.message(m, &mut lines);
        Block { lines, lead, team }
    }

    /// A message's own lines: header, quote, text, attachments, reactions,
    /// failure.
    fn message(&self, m: &Message, lines: &mut Vec<LaidLine>) {
        use LaidLine::Whole;
        let (t, w) = (self.t, self.w);
        let out = m.direction == Direction::Out;
        let indent = if out {
            " ".repeat(OUT_INDENT)
        } else {
            String::new()
        };
        let body_w = w.saturating_sub(indent.len() + 2).max(4);
        // Header.
        let mut head = vec![(Tone::Plain, indent.clone())];
        if out {
            let who = match m.origin {
                Some(Origin::PageInbox) => "Page (via Page inbox)".to_string(),
                Some(Origin::OtherApp) => "Page (via other app)".to_string(),
                _ => match m.agent.as_deref() {
                    Some(a) if Some(a) != self.me => format!("sent by {a}"),
                    _ => "You".to_string(),
                },
            };
            head.push((Tone::Outbound, format!("▶ {who}")));
        } else {
            head.push((Tone::Inbound, format!("◀ {}", self.name)));
        }
        head.push((
            Tone::Dim,
            format!(" · {}", clock::clock(m.timestamp, self.zone)),
        ));
        if out {
            let mark = status_mark(m);
            let tone = if m.status == MsgStatus::Failed {
                Tone::Error
            } else {
                Tone::Dim
            };
            head.push((tone, format!(" · {mark}")));
            if let Some(tag) = &m.tag {
                head.push((Tone::Warn, format!(" · {tag}")));
            }
        }
        if m.kind != MsgKind::Message {
            head.push((
                Tone::Warn,
                format!(" [{}]", format!("{:?}", m.kind).to_lowercase()),
            ));
        }
        if m.edited {
            head.push((Tone::Dim, " (edited)".to_string()));
        }
        lines.push(LaidLine::Pieces(head));
        let pad = format!("{indent}  ");
        if let Some(target) = &m.reply_to {
            let quoted = t
                .messages
                .iter()
                .find(|q| &q.mid == target)
                .map(|q| format!("↪ re: \"{}\"", q.preview()))
                .unwrap_or_else(|| "↪ re: an earlier message".to_string());
            lines.push(Whole(
                Tone::Dim,
                format!("{pad}{}", truncate(&quoted, body_w)),
            ));
        }
        if m.deleted {
            lines.push(Whole(Tone::Dim, format!("{pad}(unsent)")));
        } else if let Some(text) = m.text.as_deref().filter(|t| !t.is_empty()) {
            for l in wrap(text, body_w) {
                lines.push(Whole(Tone::Plain, format!("{pad}{l}")));
            }
        } else if m.unsupported {
            lines.push(Whole(Tone::Dim, format!("{pad}(unsupported message)")));
        }
        if !m.deleted {
            for (j, a) in m.attachments.iter().enumerate() {
                let label = match (&a.title, &a.url) {
                    (Some(t), Some(u)) => format!("📎 {}: {t} {u}", a.kind),
                    (None, Some(u)) => format!("📎 {}: {u}", a.kind),
                    (Some(t), None) => format!("📎 {}: {t} (no url)", a.kind),
                    (None, None) => format!("📎 {} (no url)", a.kind),
                };
                for l in wrap(&label, body_w) {
                    lines.push(Whole(Tone::Warn, format!("{pad}{l}")));
                }
                let key = PicKey {
                    mid: m.mid.clone(),
                    index: j,
                };
                let shown = t.pictures.filter(|_| is_picture(a));
                let note = match shown.and_then(|p| p.map.get(&key)) {
                    None => None,
                    Some(PicState::Loading) => Some((Tone::Dim, "🖼 loading picture…".to_string())),
                    Some(PicState::Unavailable(u)) => Some((Tone::Warn, u.placeholder())),
                    Some(PicState::Ready(d)) => {
                        let (cols, rows) = d.size();
                        if cols as usize <= body_w {
                            let x = pad.len() as u16;
                            for row in 0..rows {
                                let key = key.clone();
                                lines.push(LaidLine::Picture { key, row, x });
                            }
                            None
                        } else {
                            Some((Tone::Dim, "🖼 picture hidden: the pane is too narrow".into()))
                        }
                    }
                };
                if let Some((tone, text)) = note {
                    lines.push(Whole(tone, format!("{pad}{}", truncate(&text, body_w))));
                }
            }
        }
        if !m.reactions.is_empty() {
            let r = m
                .reactions
                .iter()
                .map(|r| {
                    let by = if r.by == m.conv.account.as_str() {
                        "you"
                    } else {
                        self.name.as_str()
                    };
                    format!("{} {by}", r.emoji)
                })
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(Whole(Tone::Dim, format!("{pad}{}", truncate(&r, body_w))));
        }
        if m.status == MsgStatus::Failed {
            let why = m.error.clone().unwrap_or_else(|| "unknown error".into());
            let hint = if t.retry { " — press t to retry" } else { "" };
            for l in wrap(&format!("✗ {why}{hint}"), body_w) {
                lines.push(Whole(Tone::Error, format!("{pad}{l}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::event::Event;
    use crate::app::fixtures as fx;
    use crate::app::update;
    use crate::domain::*;
    use crate::update::Update;

    #[test]
    fn the_thread_layout_follows_in_place_changes() {
        // The layout is memoised; a message changing in place must show.
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        let sent = fx::outbound(&c.key, "m2", 1, "On it", MsgStatus::Sent);
        fx::open_with(
            &mut s,
            c.clone(),
            vec![fx::inbound(&c.key, "m1", 5, "hello"), sent.clone()],
        );
        let t = s.thread.as_ref().unwrap();
        let zone = s.opts.zone;
        let before = t.line_count(60, zone, s.now);
        assert_eq!(before, t.line_count(60, zone, s.now));
        let mut failed = sent;
        failed.status = MsgStatus::Failed;
        failed.error = Some("Meta refused it".into());
        update(&mut s, Event::Update(Update::Message(Box::new(failed))));
        let t = s.thread.as_ref().unwrap();
        let after = t.line_count(60, zone, s.now);
        assert!(
            after > before,
            "the failure line is laid out: {before} → {after}"
        );
        // A narrower pane wraps differently: not the memoised layout.
        assert!(t.line_count(12, zone, s.now) > after);
    }

    #[test]
    fn an_appended_message_extends_the_layout_like_a_full_one() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        // Two days, so the day separator logic is exercised at the seam.
        let msgs = vec![
            fx::inbound(&c.key, "m1", 26 * 60, "yesterday's question"),
            fx::inbound(&c.key, "m2", 20, "still waiting"),
        ];
        fx::open_with(&mut s, c.clone(), msgs);
        let zone = s.opts.zone;
        let t = s.thread.as_ref().unwrap();
        let _ = t.line_owners(60, zone, s.now); // memoised
        let mut m = fx::inbound(
            &c.key,
            "m3",
            1,
            "a new message that wraps over the line width of sixty columns",
        );
        m.reactions.clear();
        update(&mut s, Event::Update(Update::Message(Box::new(m))));
        let t = s.thread.as_ref().unwrap();
        let incremental = t.line_owners(60, zone, s.now);
        let full = lay_out(&t.layout_source(), 60, zone, s.now, None);
        assert_eq!(incremental, full.owners);
        assert_eq!(t.line_count(60, zone, s.now), full.lines.len());
    }

    #[test]
    fn a_change_in_a_long_thread_lays_out_only_what_it_touches() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        let msgs: Vec<Message> = (0..300)
            .map(|i| fx::inbound(&c.key, &format!("m{i}"), 600 - i, "hello there"))
            .collect();
        fx::open_with(&mut s, c.clone(), msgs);
        let zone = s.opts.zone;
        let counts = |s: &crate::app::state::State| s.thread.as_ref().unwrap().memo.counts();
        // At the pane's width, as update measures (another width lays out afresh).
        let fresh = |s: &crate::app::state::State| {
            let t = s.thread.as_ref().unwrap();
            let w = crate::app::layout::thread_inner(&s.panes()).0;
            (
                t.line_owners(w, zone, s.now),
                lay_out(&t.layout_source(), w, zone, s.now, None),
            )
        };
        let _ = fresh(&s);
        let (built, patched) = counts(&s);
        // In the middle: a reaction, an edit, an unsend.
        for (i, change) in [(150, 0), (151, 1), (152, 2)] {
            let mut m = s.thread.as_ref().unwrap().messages[i].clone();
            match change {
                0 => m.reactions.push(Reaction {
                    emoji: "❤".into(),
                    by: fx::PAGE.into(),
                }),
                1 => {
                    m.text = Some("now a much longer text that wraps over the line".repeat(3));
                    m.edited = true;
                }
                _ => m.deleted = true,
            }
            update(&mut s, Event::Update(Update::Message(Box::new(m))));
            let (owners, full) = fresh(&s);
            assert_eq!(owners, full.owners);
        }
        // And a new one at the end.
        let mut m = fx::inbound(&c.key, "new", 0, "one more");
        m.timestamp = fx::NOW;
        update(&mut s, Event::Update(Update::Message(Box::new(m))));
        let (owners, full) = fresh(&s);
        assert_eq!(owners, full.owners);
        let (b, p) = counts(&s);
        assert_eq!(b, built, "nothing laid out afresh");
        assert!(p >= patched + 4, "each change brought up to date: {p}");
        // An older page is not logged: everything is laid out again.
        let older = vec![fx::inbound(&c.key, "old", 700, "from before")];
        let limit = 5;
        let conv = c.key.clone();
        update(
            &mut s,
            Event::Inbox(crate::app::event::Reply::Older {
                conv,
                messages: older,
                limit,
            }),
        );
        let (owners, full) = fresh(&s);
        assert_eq!(owners, full.owners);
        assert_eq!(counts(&s).0, built + 1);
    }

    #[test]
    fn the_view_shows_the_newest_lines_and_clamps_its_scroll() {
        assert_eq!(view_range(100, 20, 0), (80, 100));
        assert_eq!(view_range(100, 20, 30), (50, 70));
        assert_eq!(view_range(100, 20, 500), (0, 20), "not above the top");
        assert_eq!(view_range(5, 20, 3), (0, 5), "a short thread: all of it");
        let owners = [None, Some(0), Some(0), None, Some(1), Some(1), Some(1)];
        assert_eq!(message_lines(&owners, 0), Some((1, 3)));
        assert_eq!(message_lines(&owners, 1), Some((4, 7)));
        assert_eq!(message_lines(&owners, 2), None);
    }

    #[test]
    fn lines_carry_tones_and_owners_not_styles() {
        let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
        let mut failed = fx::outbound(&c.key, "local:o1", 1, "On it", MsgStatus::Failed);
        failed.error = Some("Meta refused it".into());
        failed.agent = Some("bob".into());
        let messages = vec![fx::inbound(&c.key, "m1", 5, "hello"), failed];
        let t = Source {
            conv: &c,
            contact: None,
            messages: &messages,
            notes: &[],
            history: &[],
            reached_start: true,
            loading_older: false,
            rev: 0,
            retry: true,
            pictures: None,
        };
        let l = lay_out(&t, 60, Zone::Fixed(0), fx::NOW, Some("alice"));
        assert_eq!(l.lines.len(), l.owners.len());
        let text = |l: &LaidLine| match l {
            LaidLine::Whole(_, t) => t.clone(),
            LaidLine::Pieces(p) => p.iter().map(|(_, t)| t.as_str()).collect(),
            LaidLine::Picture { .. } => String::new(),
        };
        // The day separator, then each message's header and body.
        assert!(matches!(&l.lines[0], LaidLine::Whole(Tone::Dim, t) if t.contains("Today")));
        assert_eq!(l.owners[0], None);
        let LaidLine::Pieces(head) = &l.lines[1] else {
            panic!("a header is pieces: {:?}", l.lines[1]);
        };
        assert_eq!(head[1], (Tone::Inbound, "◀ Ann Lee".to_string()));
        assert_eq!(l.lines[2], LaidLine::Whole(Tone::Plain, "  hello".into()));
        assert_eq!(l.owners[1..3], [Some(0), Some(0)]);
        // A colleague's failed reply: named, marked, indented, retry line.
        let head = text(&l.lines[3]);
        assert!(head.starts_with("      ▶ sent by bob"), "{head}");
        assert!(head.contains("✗ failed"), "{head}");
        let last = l.lines.last().unwrap();
        assert!(matches!(last, LaidLine::Whole(Tone::Error, t) if t.contains("press t to retry")));
        assert_eq!(l.owners.last(), Some(&Some(1)));
        // This agent's own reply reads "You".
        let l = lay_out(&t, 60, Zone::Fixed(0), fx::NOW, Some("bob"));
        assert!(text(&l.lines[3]).starts_with("      ▶ You"));
    }
}
