//! The one pass: events go in one at a time (time order), each lands in the
//! buckets it counts for (total, its agent, its page, its local day), and
//! `finish` sorts each bucket's durations once to summarise them.

use super::facts::{Fact, FactKind, Openings};
use super::{AgentRow, Coverage, DayRow, Figures, PageRow, Report, Times};
use crate::clock::Zone;
use crate::domain::{AccountId, Conversation, Platform, TimestampMs};
use crate::team::{AgentName, HistoryEvent};
use chrono::{Days, NaiveDate};

/// How far before the period the caller reads the history: a conversation
/// resolved in the period was opened at most this long before it for its
/// resolution time to be known.
pub const CONTEXT_MS: i64 = 30 * TimestampMs::DAY;

/// Days in the long chart series.
const SERIES_DAYS: u64 = 30;

#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub now: TimestampMs,
    /// The period is `[now - since_ms, now]`.
    pub since_ms: i64,
    /// Days are local days in this zone.
    pub zone: Zone,
    /// The history's first event (None: nothing recorded yet).
    pub history_start: Option<TimestampMs>,
}

impl Params {
    /// The earliest event the report needs: the period's start or the
    /// 30-day series' (whichever is earlier), less `CONTEXT_MS` of context.
    pub fn read_from(&self) -> TimestampMs {
        let b = DayBounds::new(self);
        TimestampMs(b.starts[0] - CONTEXT_MS)
    }

    /// Where the report's days begin: before it, only openings and status
    /// changes count (when a conversation resolved later was opened).
    pub fn counted_from(&self) -> TimestampMs {
        TimestampMs(DayBounds::new(self).starts[0])
    }
}

/// The local days from the earlier of the period's first day and the
/// series' first day, to today: their starts, plus tomorrow's start.
struct DayBounds {
    first: NaiveDate,
    starts: Vec<i64>,
}

impl DayBounds {
    fn new(p: &Params) -> DayBounds {
        let today = p.zone.at(p.now).date_naive();
        let from_day = p.zone.at(TimestampMs(p.now.0 - p.since_ms)).date_naive();
        let series_first = today
            .checked_sub_days(Days::new(SERIES_DAYS - 1))
            .unwrap_or(today);
        let first = from_day.min(series_first);
        let mut starts = Vec::new();
        let mut d = first;
        while d <= today {
            starts.push(local_midnight(d, p.zone));
            d = d.succ_opt().unwrap_or(d);
            if starts.len() > 100_000 {
                break; // a --since of centuries: stop rather than spin
            }
        }
        let tomorrow = today.succ_opt().unwrap_or(today);
        starts.push(local_midnight(tomorrow, p.zone));
        DayBounds { first, starts }
    }

    fn days(&self) -> usize {
        self.starts.len() - 1
    }

    /// The index of the day holding `t`, if it is one of them.
    fn index(&self, t: i64) -> Option<usize> {
        let i = self.starts.partition_point(|&s| s <= t);
        (i > 0 && i <= self.days()).then(|| i - 1)
    }

    fn date(&self, i: usize) -> NaiveDate {
        self.first
            .checked_add_days(Days::new(i as u64))
            .unwrap_or(self.first)
    }
}

/// The instant local `date` begins in `zone` (the offset looked up twice,
/// so a DST change the day before lands right).
fn local_midnight(date: NaiveDate, zone: Zone) -> i64 {
    let naive = date
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or(0);
    let guess = naive - zone.offset_at(TimestampMs(naive)).local_minus_utc() as i64 * 1000;
    naive - zone.offset_at(TimestampMs(guess)).local_minus_utc() as i64 * 1000
}

#[derive(Default)]
struct Acc {
    opened: u64,
    resolved: u64,
    replies: u64,
    in_window: u64,
    first_response: Vec<i64>,
    resolution: Vec<i64>,
}

impl Acc {
    fn finish(mut self) -> Figures {
        Figures {
            opened: self.opened,
            resolved: self.resolved,
            replies: self.replies,
            replies_in_window: self.in_window,
            in_window_share: (self.replies > 0)
                .then(|| self.in_window as f64 / self.replies as f64),
            first_response: Times::of(&mut self.first_response),
            resolution: Times::of(&mut self.resolution),
        }
    }
}

impl FactKind {
    fn add_to(self, a: &mut Acc) {
        match self {
            FactKind::Opened => a.opened += 1,
            FactKind::Resolved { took_ms } => {
                a.resolved += 1;
                a.resolution.extend(took_ms);
            }
            FactKind::Replied {
                in_window,
                first_response_ms,
            } => {
                a.replies += 1;
                a.in_window += u64::from(in_window);
                a.first_response.extend(first_response_ms);
            }
        }
    }
}

/// Feed it the history in time order (`add`), or the facts the store
/// recorded from it (`add_fact`, from the first day on), and the
/// conversations (`add_conversation`), then `finish`.
pub struct Builder {
    p: Params,
    from: i64,
    days: DayBounds,
    total: Acc,
    /// Few agents and pages: a list looked up without cloning a key.
    agents: Vec<(Option<AgentName>, Acc)>,
    pages: Vec<((Platform, AccountId), Acc)>,
    /// Per day, every event of the day (charts: whole days).
    whole_days: Vec<Acc>,
    /// Per day, only the period's events (the first day may be partial).
    period_days: Vec<Acc>,
    /// When each conversation was last opened (resolution time's start).
    openings: Openings,
    /// Fed facts (`add_fact`): resolution times are not bounded by a
    /// context window.
    facts: bool,
    coverage: Coverage,
}

impl Builder {
    pub fn new(p: Params) -> Builder {
        let days = DayBounds::new(&p);
        let n = days.days();
        Builder {
            from: p.now.0 - p.since_ms,
            whole_days: (0..n).map(|_| Acc::default()).collect(),
            period_days: (0..n).map(|_| Acc::default()).collect(),
            days,
            total: Acc::default(),
            agents: Vec::new(),
            pages: Vec::new(),
            openings: Openings::default(),
            facts: false,
            coverage: Coverage {
                history_start_ms: p.history_start.map(|t| t.0),
                ..Coverage::default()
            },
            p,
        }
    }

    pub fn add_conversation(&mut self, c: &Conversation) {
        self.coverage.conversations += 1;
        if self.p.history_start.is_none_or(|h| c.last_activity < h) {
            self.coverage.predating += 1;
        }
    }

    /// The conversations' coverage counted by the store instead: `total`
    /// conversations, `predating` of them last active before the history.
    pub fn add_conversation_counts(&mut self, total: u64, predating: u64) {
        self.coverage.conversations += total;
        self.coverage.predating += predating;
    }

    pub fn add(&mut self, ev: &HistoryEvent) {
        if ev.at.0 > self.p.now.0 {
            return;
        }
        if let Some(f) = self.openings.fact(ev) {
            self.count(&f);
        }
    }

    /// One fact the store recorded (time order is not needed: each lands
    /// in its buckets); its resolution time was taken over the whole
    /// history, not only what the caller read.
    pub fn add_fact(&mut self, f: &Fact) {
        self.facts = true;
        self.count(f);
    }

    fn count(&mut self, f: &Fact) {
        let t = f.at.0;
        if t > self.p.now.0 {
            return;
        }
        let day = self.days.index(t);
        if let Some(d) = day {
            f.kind.add_to(&mut self.whole_days[d]);
        }
        if t < self.from {
            return;
        }
        if let Some(d) = day {
            f.kind.add_to(&mut self.period_days[d]);
        }
        if matches!(f.kind, FactKind::Resolved { took_ms: None }) {
            self.coverage.resolved_without_opening += 1;
        }
        f.kind.add_to(&mut self.total);
        match self
            .pages
            .iter_mut()
            .find(|((pl, acc), _)| *pl == f.platform && *acc == f.account)
        {
            Some((_, a)) => f.kind.add_to(a),
            None => {
                let mut a = Acc::default();
                f.kind.add_to(&mut a);
                self.pages.push(((f.platform, f.account.clone()), a));
            }
        }
        // Openings belong to the customer, not to an agent.
        if !matches!(f.kind, FactKind::Opened) {
            match self.agents.iter_mut().find(|(a, _)| *a == f.by) {
                Some((_, a)) => f.kind.add_to(a),
                None => {
                    let mut a = Acc::default();
                    f.kind.add_to(&mut a);
                    self.agents.push((f.by.clone(), a));
                }
            }
        }
    }

    pub fn finish(self) -> Report {
        let Builder {
            p,
            from,
            days,
            total,
            agents,
            pages,
            whole_days,
            period_days,
            coverage,
            facts,
            ..
        } = self;
        let recorded = |i: usize| p.history_start.is_some_and(|h| days.starts[i + 1] > h.0);
        let rows = |accs: Vec<Acc>, skip: usize| -> Vec<DayRow> {
            accs.into_iter()
                .enumerate()
                .skip(skip)
                .map(|(i, a)| DayRow {
                    date: days.date(i).format("%Y-%m-%d").to_string(),
                    figures: recorded(i).then(|| a.finish()),
                })
                .collect()
        };
        let n = days.days();
        let from_day = days.index(from).unwrap_or(0);
        let mut whole = rows(whole_days, 0);
        let last_30_days = whole.split_off(n.saturating_sub(SERIES_DAYS as usize));
        let last_7_days = last_30_days[last_30_days.len().saturating_sub(7)..].to_vec();

        let mut agents: Vec<AgentRow> = agents
            .into_iter()
            .map(|(a, acc)| AgentRow {
                agent: a.map(|a| a.0),
                figures: acc.finish(),
            })
            .collect();
        agents.sort_by(|a, b| (a.agent.is_none(), &a.agent).cmp(&(b.agent.is_none(), &b.agent)));
        let mut pages: Vec<PageRow> = pages
            .into_iter()
            .map(|((pl, acc_id), acc)| PageRow {
                platform: pl.as_str().to_string(),
                account_id: acc_id.0,
                figures: acc.finish(),
            })
            .collect();
        pages.sort_by(|a, b| (&a.platform, &a.account_id).cmp(&(&b.platform, &b.account_id)));

        let offset = p.zone.offset_at(p.now).to_string();
        let notes = notes(
            &p,
            from,
            &offset,
            &coverage,
            agents.iter().any(|a| a.agent.is_none()),
            facts,
        );
        Report {
            generated_ms: p.now.0,
            from_ms: from,
            to_ms: p.now.0,
            utc_offset: offset,
            totals: total.finish(),
            agents,
            pages,
            days: rows(period_days, from_day),
            last_7_days,
            last_30_days,
            coverage,
            notes,
        }
    }
}

fn notes(
    p: &Params,
    from: i64,
    offset: &str,
    c: &Coverage,
    no_agent: bool,
    facts: bool,
) -> Vec<String> {
    let when = |t: i64| {
        p.zone
            .at(TimestampMs(t))
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut n = vec![
        format!(
            "Days are local days at UTC{offset} (the agent's time zone, TZ). Business hours are not applied: times run around the clock."
        ),
        "First response: from the customer's first unanswered message to the first agent reply after the conversation opened. Resolution: from opened (or reopened) to resolved.".to_string(),
    ];
    match p.history_start {
        None => n.push(format!(
            "No history is recorded yet: all {} conversations predate it and have no figures.",
            c.conversations
        )),
        Some(h) => {
            if h.0 > from {
                n.push(format!(
                    "The history begins {}, after the period's start: days before it have no figures (not zeros).",
                    when(h.0)
                ));
            }
            if c.predating > 0 {
                n.push(format!(
                    "Conversations last active before the history began ({}): {} of {}; they have no figures.",
                    when(h.0),
                    c.predating,
                    c.conversations
                ));
            }
        }
    }
    if c.resolved_without_opening > 0 {
        // The store's facts time a resolution from its opening however
        // long before; events handed in are timed from what was read.
        let before = if facts {
            ""
        } else {
            " (or over 30 days before the period)"
        };
        n.push(format!(
            "Resolutions of conversations opened before the history{before}: {}, counted without a resolution time.",
            c.resolved_without_opening
        ));
    }
    if no_agent {
        n.push(
            "(no agent): replies sent from Meta's page inbox, and changes dmdesk made itself."
                .to_string(),
        );
    }
    n
}

/// The whole report from an iterator of events (time order).
pub fn compute<'a>(
    p: Params,
    events: impl IntoIterator<Item = &'a HistoryEvent>,
    convs: impl IntoIterator<Item = &'a Conversation>,
) -> Report {
    let mut b = Builder::new(p);
    for c in convs {
        b.add_conversation(c);
    }
    for e in events {
        b.add(e);
    }
    b.finish()
}
