//! The last layout of the open thread, kept between frames and updates and
//! brought up to date block by block: `update` logs which messages it
//! changed (with the `rev` it bumped), and only those blocks, and the
//! blocks that read them, are laid out again. Anything not logged (a
//! reload, an older page, notes) lays out everything, as does a new width.

use super::{Ctx, Layout, Source};
use crate::clock::{self, Zone};
use crate::domain::{ConvKey, Direction, Mid, MsgStatus, TimestampMs};
use crate::media::picture::is_picture;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// What `update` did to the loaded messages, in order, by index at the
/// time of the change.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// The message at this index changed in place (status, edit, reaction, unsend).
    Changed(usize),
    /// A message was inserted at this index.
    Inserted(usize),
    /// The message at this index, with this mid, was removed.
    Removed(usize, Mid),
}

/// What, when it changes, lays out every block again.
#[derive(Debug, Clone, PartialEq)]
struct Whole {
    conv: ConvKey,
    name: String,
    /// Notes and history events (changes to them are not logged).
    team: (usize, usize),
    width: u16,
    zone: Zone,
    day: i64,
    pictures: bool,
}

/// A layout and what it was made from.
#[derive(Debug)]
struct Memoised {
    whole: Whole,
    rev: u64,
    pics: u64,
    me: Option<String>,
    retry: bool,
    /// reached_start, loading_older (the top line).
    top: (bool, bool),
    layout: Arc<Layout>,
}

#[derive(Debug, Default)]
struct Inner {
    last: Option<Memoised>,
    /// Edits not yet applied to `last`, each with the rev it made.
    log: Vec<(u64, Vec<Edit>)>,
    /// Layouts made afresh and brought up to date (tests check which).
    #[cfg(test)]
    counts: (usize, usize),
}

/// Edits kept for a layout not asked for meanwhile; past this the next
/// layout starts afresh anyway.
const LOG_MAX: usize = 256;

/// The open thread's layout memo. Shared by clones of the pane.
#[derive(Clone, Default)]
pub struct Memo(Arc<Mutex<Inner>>);

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl Memo {
    /// `update` changed the loaded messages and bumped the thread's rev to
    /// `rev`; an empty list says nothing but the conversation, contact or
    /// token changed.
    pub fn edited(&self, rev: u64, edits: Vec<Edit>) {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if inner.log.len() >= LOG_MAX {
            inner.log.clear();
        }
        inner.log.push((rev, edits));
    }

    /// Layouts made afresh and layouts brought up to date so far.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).counts
    }

    /// The layout `update` measures scrolling with (line counts and owners
    /// do not depend on who "You" is, so any `me` will do).
    pub fn measure(&self, t: &Source, width: u16, zone: Zone, now: TimestampMs) -> Arc<Layout> {
        self.laid(t, width, zone, now, None)
    }

    /// The layout the thread pane draws; `me` as in [`super::lay_out`].
    pub fn draw(
        &self,
        t: &Source,
        width: u16,
        zone: Zone,
        now: TimestampMs,
        me: Option<&str>,
    ) -> Arc<Layout> {
        self.laid(t, width, zone, now, Some(me))
    }

    fn laid(
        &self,
        t: &Source,
        width: u16,
        zone: Zone,
        now: TimestampMs,
        me: Option<Option<&str>>,
    ) -> Arc<Layout> {
        let whole = Whole {
            conv: t.conv.key.clone(),
            name: super::shown_name(t),
            team: (t.notes.len(), t.history.len()),
            width,
            zone,
            day: clock::day_key(now, zone),
            pictures: t.pictures.is_some(),
        };
        let pics = t.pictures.map_or(0, |p| p.rev);
        let top = (t.reached_start, t.loading_older);
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *inner;
        if let Some(last) = inner.last.as_mut().filter(|l| l.whole == whole) {
            let since = Since {
                me: me.is_some_and(|m| m != last.me.as_deref()),
                retry: last.retry != t.retry,
                pictures: last.pics != pics,
            };
            if t.rev == last.rev && top == last.top && !since.any() {
                return last.layout.clone();
            }
            let log = &mut inner.log;
            log.retain(|(r, _)| *r > last.rev);
            let in_order = log.len() as u64 == t.rev.wrapping_sub(last.rev)
                && log
                    .iter()
                    .zip(last.rev + 1..)
                    .all(|((r, _), want)| *r == want);
            if in_order {
                let edits: Vec<Edit> = log.drain(..).flat_map(|(_, e)| e).collect();
                let me = me.map_or_else(|| last.me.clone(), |m| m.map(str::to_string));
                let ctx = Ctx::new(t, width, zone, now, me.as_deref());
                if patch(Arc::make_mut(&mut last.layout), &ctx, &edits, since) {
                    #[cfg(test)]
                    {
                        inner.counts.1 += 1;
                    }
                    last.rev = t.rev;
                    last.pics = pics;
                    last.me = me;
                    last.retry = t.retry;
                    last.top = top;
                    return last.layout.clone();
                }
            }
        }
        let me = me.unwrap_or(None);
        let layout = Arc::new(Ctx::new(t, width, zone, now, me).build());
        #[cfg(test)]
        {
            inner.counts.0 += 1;
        }
        inner.log.clear();
        inner.last = Some(Memoised {
            whole,
            rev: t.rev,
            pics,
            me: me.map(str::to_string),
            retry: t.retry,
            top,
            layout: layout.clone(),
        });
        layout
    }
}

/// Which of the inputs some blocks read changed since the last layout.
#[derive(Debug, Clone, Copy)]
struct Since {
    me: bool,
    retry: bool,
    pictures: bool,
}

impl Since {
    fn any(&self) -> bool {
        self.me || self.retry || self.pictures
    }
}

/// Bring `l` up to date with `edits` and `since`, laying out again only the
/// blocks they touch. False when the edits do not fit the layout (then it
/// must be laid out afresh).
fn patch(l: &mut Layout, ctx: &Ctx, edits: &[Edit], since: Since) -> bool {
    let t = ctx.t;
    let n = t.messages.len();
    // Blocks to lay out again, by index as of now.
    let mut dirty: Vec<usize> = Vec::new();
    let mut removed: Vec<&Mid> = Vec::new();
    let mut rebuild = false;
    for e in edits {
        match e {
            Edit::Changed(i) => {
                if *i >= l.blocks.len() {
                    return false;
                }
                dirty.push(*i);
            }
            Edit::Inserted(i) => {
                if *i > l.blocks.len() {
                    return false;
                }
                for d in dirty.iter_mut().filter(|d| **d >= *i) {
                    *d += 1;
                }
                if *i == l.blocks.len() && !rebuild {
                    l.offsets.push(0);
                } else {
                    rebuild = true;
                }
                l.blocks.insert(*i, Default::default());
                dirty.push(*i);
            }
            Edit::Removed(i, mid) => {
                if *i >= l.blocks.len() {
                    return false;
                }
                l.blocks.remove(*i);
                dirty.retain(|d| d != i);
                for d in dirty.iter_mut().filter(|d| **d > *i) {
                    *d -= 1;
                }
                // The next block now follows another message (its separator).
                dirty.push(*i);
                removed.push(mid);
                rebuild = true;
            }
        }
    }
    if l.blocks.len() != n {
        return false;
    }
    dirty.retain(|d| *d < n);
    // A block after a changed one follows a changed message (its day
    // separator); a reply quotes what it replies to.
    let touched: HashSet<&Mid> = dirty
        .iter()
        .map(|i| &t.messages[*i].mid)
        .chain(removed)
        .collect();
    let after: Vec<usize> = dirty.iter().map(|i| i + 1).filter(|i| *i < n).collect();
    dirty.extend(after);
    let reads = |i: usize| {
        let m = &t.messages[i];
        m.reply_to.as_ref().is_some_and(|r| touched.contains(r))
            || (since.me && m.direction == Direction::Out && m.agent.is_some())
            || (since.retry && m.status == MsgStatus::Failed)
            || (since.pictures && m.attachments.iter().any(is_picture))
    };
    let scan = !touched.is_empty() || since.me || since.retry || since.pictures;
    if scan {
        dirty.extend((0..n).filter(|i| reads(*i)));
    }
    // Team lines sit between messages by time: with any, recompute where
    // each block's begin and end.
    let (ranges, rest) = if ctx.team.is_empty() {
        (None, 0)
    } else {
        let (ranges, rest) = ctx.team_ranges();
        dirty.extend((0..n).filter(|i| l.blocks[*i].team != ranges[*i]));
        (Some(ranges), rest)
    };
    dirty.sort_unstable();
    dirty.dedup();
    for i in dirty {
        let new = ctx.block(i, ranges.as_ref().map_or((0, 0), |r| r[i]));
        let old = std::mem::replace(&mut l.blocks[i], new);
        if !rebuild {
            l.offsets.set(i, old.lines.len(), l.blocks[i].lines.len());
        }
    }
    if rebuild {
        l.offsets = super::Offsets::build(l.blocks.iter().map(|b| b.lines.len()));
    }
    l.top = ctx.top();
    l.tail = ctx.tail(rest);
    true
}
