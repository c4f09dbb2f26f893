//! Campaigns: one message to many conversations, in the background.
//!
//! - `preview` (pure) says, per recipient, whether it is sent or skipped and
//!   why, by the one rule in `eligibility.rs` the runner also applies before
//!   each send. Campaigns go only to customers inside the 24-hour window (no
//!   tag is left for them: HUMAN_AGENT is for a person, the update tags were
//!   retired). The text is a template rendered per recipient at its first
//!   attempt and kept in the outbox record, which retries and resumes send.
//! - `run` sends with bounded concurrency, paced by the shared token bucket.
//!   Each recipient goes queued → in_flight (durable before the call) →
//!   sent | failed | skipped | unknown. Meta's rate-limit errors pause the
//!   whole campaign; a dead token stops it (resumable); permanent errors are
//!   recorded and not retried; transient errors Meta answered are retried a
//!   few times. A recipient found in_flight at resume is never called again:
//!   its outbox record (bound by the echo's metadata) says whether it was
//!   sent, otherwise it becomes `unknown` after a grace period.

use super::eligibility::{self, Body, Pages, Recipient, Verdict};
use super::reply::{certainly_not_sent, failure_reason, route, SendCtx};
use super::template::{Template, UnknownVariable};
use super::window::{Refusal, Tag};
use crate::config::Config;
use crate::db::Db;
use crate::domain::{Contact, ConvKey, Conversation, TimestampMs};
use crate::meta::error::ErrorClass;
use crate::store::{
    CampaignCounts, CampaignRecord, CampaignStatus, NewRecipient, RecipientRecord, RecipientState,
    StoreError, Swap,
};
use crate::update::{CampaignProgress, Update};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where one recipient stands before the campaign starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    /// Inside the 24-hour window: a standard message.
    Inside,
    /// Not sent, with the reason the agent reads.
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    pub conv: ConvKey,
    pub eligibility: Eligibility,
}

/// One recipient's rendered message, shown before the agent confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub to: String,
    pub text: String,
}

/// What the agent confirms: counts and the reasons for skips.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    pub rows: Vec<PreviewRow>,
    pub inside: usize,
    pub skipped: usize,
    pub skip_reasons: BTreeMap<String, usize>,
    /// The message as the first recipient who gets it will read it.
    pub example: Option<Example>,
}

impl Preview {
    pub fn sendable(&self) -> usize {
        self.inside
    }

    /// Lines for a terminal or a popup.
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![format!("{} recipient(s):", self.rows.len())];
        v.push(format!("  {:>6}  inside the 24-hour window", self.inside));
        v.push(format!("  {:>6}  will not be sent:", self.skipped));
        for (reason, n) in &self.skip_reasons {
            v.push(format!("  {n:>10}  {reason}"));
        }
        if let Some(e) = &self.example {
            v.push(format!("example, to {}: {}", e.to, e.text));
        }
        v
    }
}

/// HUMAN_AGENT is for a person answering, and no other tag is left for
/// campaigns (Meta retired the update tags in 2026).
pub fn check_campaign_tag(tag: Option<Tag>) -> Result<(), Refusal> {
    match tag {
        Some(Tag::HumanAgent) => Err(Refusal(
            "HUMAN_AGENT is for a person answering a customer; it is never allowed on a campaign (campaigns go only to customers inside the 24-hour window)".into(),
        )),
        None => Ok(()),
    }
}

/// What the store knows of one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub key: ConvKey,
    pub conv: Option<Conversation>,
    pub contact: Option<Contact>,
}

impl Known {
    fn recipient(&self) -> Recipient<'_> {
        Recipient {
            key: &self.key,
            conv: self.conv.as_ref(),
            contact: self.contact.as_ref(),
        }
    }
}

/// Preview for recipients given with what the store knows of them (pure):
/// the same rule the runner applies to each (send/eligibility.rs).
pub fn preview(
    pages: &Pages,
    recipients: &[Known],
    text: &str,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Preview {
    let mut p = Preview::default();
    for k in recipients {
        let e = match eligibility::check_text(pages, k.recipient(), text, tag, now) {
            Verdict::Send { text, .. } => {
                p.inside += 1;
                if p.example.is_none() {
                    p.example = Some(Example {
                        to: k
                            .conv
                            .as_ref()
                            .map_or_else(|| k.key.to_string(), |c| c.name.clone()),
                        text,
                    });
                }
                Eligibility::Inside
            }
            Verdict::Skip(s) => {
                let r = s.to_string();
                p.skipped += 1;
                *p.skip_reasons.entry(r.clone()).or_default() += 1;
                Eligibility::Skip(r)
            }
        };
        p.rows.push(PreviewRow {
            conv: k.key.clone(),
            eligibility: e,
        });
    }
    p
}

/// The configured pages as the rule sees them, with the tokens Meta has
/// refused (read from the store).
pub fn pages_now(store: &Db, config: &Config) -> Pages {
    let mut pages = Pages::from_config(config);
    for page in &config.pages {
        if crate::tokens::dead_token(store, page).is_some() {
            pages.dead.insert(page.id.clone());
        }
    }
    pages
}

/// Read the recipients' conversations and contacts, and preview them.
pub fn preview_from_store(
    store: &Db,
    config: &Config,
    recipients: &[ConvKey],
    text: &str,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Result<Preview, StoreError> {
    let mut known = Vec::with_capacity(recipients.len());
    let mut seen = std::collections::HashSet::new();
    for k in recipients {
        // One message per conversation, even if it was listed twice.
        if seen.insert(k.clone()) {
            known.push(Known {
                key: k.clone(),
                conv: store.conversation(k)?,
                contact: store.contact(k)?,
            });
        }
    }
    Ok(preview(&pages_now(store, config), &known, text, tag, now))
}

/// Write a campaign from a preview (skipped recipients recorded with their
/// reason) and make it durable.
pub async fn create(
    store: &Db,
    title: &str,
    text: &str,
    tag: Option<Tag>,
    created_by: Option<&str>,
    preview: &Preview,
    now: TimestampMs,
) -> Result<CampaignRecord, StoreError> {
    let recipients: Vec<NewRecipient> = preview
        .rows
        .iter()
        .map(|r| NewRecipient {
            conv: r.conv.clone(),
            skip: match &r.eligibility {
                Eligibility::Skip(reason) => Some(reason.clone()),
                _ => None,
            },
        })
        .collect();
    let rec = store.create_campaign(
        title,
        text,
        tag.map(Tag::as_str),
        created_by,
        &recipients,
        now,
    )?;
    store.durable().await;
    Ok(rec)
}

/// Knobs of the runner; the defaults suit Meta, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub concurrency: usize,
    /// Retries of a transient error Meta answered (never of a timeout).
    pub transient_retries: u32,
    pub transient_backoff: Duration,
    /// First pause after a rate-limit error; doubles while they continue.
    pub rate_limit_pause: Duration,
    pub max_rate_limit_pause: Duration,
    /// Consecutive rate-limit errors after which the campaign stops.
    pub max_rate_limit_streak: u32,
    /// How long an in_flight recipient found at resume may wait for its echo
    /// before it becomes `unknown`.
    pub unknown_grace: Duration,
}

impl Tuning {
    pub fn from_config(config: &Config) -> Tuning {
        Tuning {
            concurrency: config.send.concurrency.max(1),
            transient_retries: 3,
            transient_backoff: Duration::from_millis(500),
            rate_limit_pause: Duration::from_secs(5),
            max_rate_limit_pause: Duration::from_secs(120),
            max_rate_limit_streak: 8,
            unknown_grace: Duration::from_secs(30),
        }
    }
}

/// The final report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignReport {
    pub id: String,
    pub title: String,
    pub status: CampaignStatus,
    pub status_reason: Option<String>,
    pub created_by: Option<String>,
    pub counts: CampaignCounts,
    pub failed_by_reason: BTreeMap<String, u64>,
    pub skipped_by_reason: BTreeMap<String, u64>,
    pub unknown: Vec<ConvKey>,
}

impl fmt::Display for CampaignReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "campaign {} \"{}\": {}",
            self.id,
            self.title,
            self.status.as_str()
        )?;
        if let Some(r) = &self.status_reason {
            writeln!(f, "  reason: {r}")?;
        }
        if let Some(a) = &self.created_by {
            writeln!(f, "  created by {a}")?;
        }
        writeln!(f, "  sent     {}", c.sent)?;
        writeln!(f, "  failed   {}", c.failed)?;
        for (r, n) in &self.failed_by_reason {
            writeln!(f, "    {n:>6}  {r}")?;
        }
        writeln!(f, "  skipped  {}", c.skipped)?;
        for (r, n) in &self.skipped_by_reason {
            writeln!(f, "    {n:>6}  {r}")?;
        }
        if c.unknown > 0 {
            writeln!(
                f,
                "  unknown  {} (the process stopped during the send and no echo came: check these threads)",
                c.unknown
            )?;
            for k in &self.unknown {
                writeln!(f, "    {k}")?;
            }
        }
        if c.queued + c.in_flight > 0 {
            writeln!(
                f,
                "  not sent yet {} (resume with: dmdesk bulk --resume {})",
                c.queued + c.in_flight,
                self.id
            )?;
        }
        write!(f, "  total    {}", c.total)
    }
}

/// Group key for a reason: what happened, without Meta's free text.
fn reason_group(r: &str) -> String {
    r.split(": ").next().unwrap_or(r).to_string()
}

/// Build the report from the store (the source of truth).
pub fn report(store: &Db, id: &str) -> Result<CampaignReport, StoreError> {
    let c = store
        .campaign(id)?
        .ok_or_else(|| StoreError::NotFound(format!("no campaign {id}")))?;
    let mut counts = CampaignCounts::default();
    let mut failed = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    let mut unknown = Vec::new();
    for r in store.campaign_recipients(id)? {
        let (state, _) = store.effective_state(&r)?;
        counts.add(state);
        let reason = r.reason.as_deref().unwrap_or("no reason recorded");
        match state {
            RecipientState::Failed => *failed.entry(reason_group(reason)).or_default() += 1,
            RecipientState::Skipped => *skipped.entry(reason_group(reason)).or_default() += 1,
            RecipientState::Unknown => unknown.push(r.conv.clone()),
            _ => {}
        }
    }
    Ok(CampaignReport {
        id: c.id,
        title: c.title,
        status: c.status,
        status_reason: c.status_reason,
        created_by: c.created_by,
        counts,
        failed_by_reason: failed,
        skipped_by_reason: skipped,
        unknown,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("no campaign {0}")]
    NotFound(String),
    #[error("campaign {0} was cancelled; it cannot be resumed")]
    Cancelled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Run (or resume) a campaign until every recipient is final, it is
/// stopped or cancelled (`cancel`), or the process shuts down (`shutdown`:
/// the campaign stays running and resumes at the next start).
pub async fn run(
    ctx: &SendCtx,
    id: &str,
    tuning: &Tuning,
    cancel: &CancellationToken,
    shutdown: &CancellationToken,
) -> Result<CampaignReport, CampaignError> {
    let store = &ctx.store;
    let Some(mut camp) = store.campaign(id)? else {
        return Err(CampaignError::NotFound(id.to_string()));
    };
    match camp.status {
        CampaignStatus::Done => return Ok(report(store, id)?),
        CampaignStatus::Cancelled => return Err(CampaignError::Cancelled(id.to_string())),
        CampaignStatus::Stopped => {
            camp =
                store.set_campaign_status(id, CampaignStatus::Running, None, TimestampMs::now())?;
        }
        CampaignStatus::Running => {}
    }
    // A campaign stored with a tag Meta has since retired: its recipients
    // outside the window are skipped (the tag would fail with error 100).
    let tag = camp.tag.as_deref().and_then(|t| Tag::parse(t).ok());
    let now = TimestampMs::now();
    let grace_ms = i64::try_from(tuning.unknown_grace.as_millis()).unwrap_or(i64::MAX);

    // Recover what a previous run left: never call an in_flight recipient again.
    let mut queued = Vec::new();
    let mut waiting = Vec::new();
    let mut counts = CampaignCounts::default();
    for mut r in store.campaign_recipients(id)? {
        let (state, mid) = store.effective_state(&r)?;
        if state == RecipientState::Sent && r.state != RecipientState::Sent {
            r.state = RecipientState::Sent;
            r.mid = mid;
            r.reason = None;
            store.put_recipient(&r)?;
        }
        match r.state {
            RecipientState::Queued => queued.push(r.clone()),
            RecipientState::InFlight if now.0 - r.updated_at.0 >= grace_ms => {
                mark_unknown(store, &mut r)?;
            }
            RecipientState::InFlight => waiting.push(r.clone()),
            _ => {}
        }
        counts.add(r.state);
    }
    store.durable().await;

    let runner = Runner {
        ctx,
        camp: &camp,
        template: Template::parse(&camp.text),
        pages: Pages::from_config(&ctx.config),
        tag,
        tuning,
        halt: cancel.child_token(),
        stop_reason: Mutex::new(None),
        rl_streak: AtomicU32::new(0),
        done: AtomicU64::new(counts.done()),
        sent: AtomicU64::new(counts.sent),
        failed: AtomicU64::new(counts.failed),
        skipped: AtomicU64::new(counts.skipped),
        total: counts.total,
    };
    runner.progress(true);
    // Shutdown also halts the sends, but leaves the campaign running.
    let halt = runner.halt.clone();
    let _link = {
        let sd = shutdown.clone();
        let h = halt.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = sd.cancelled() => h.cancel(),
                _ = h.cancelled() => {}
            }
        })
    };
    futures::stream::iter(queued)
        .map(|r| runner.send_one(r))
        .buffer_unordered(tuning.concurrency.max(1))
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::error!(error = %e, "campaign store write failed");
            }
        })
        .await;

    // In-flight recipients from before: give their echo the grace period.
    if !waiting.is_empty() && !runner.halted() {
        let latest = waiting
            .iter()
            .map(|r| r.updated_at.0)
            .max()
            .unwrap_or(now.0);
        let wait_ms = (latest + grace_ms - TimestampMs::now().0).max(0);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0))) => {}
            _ = halt.cancelled() => {}
        }
        if !shutdown.is_cancelled() {
            for r in waiting {
                let Some(mut r) = store.campaign_recipient(id, r.index)? else {
                    continue;
                };
                let (state, mid) = store.effective_state(&r)?;
                if state == RecipientState::Sent {
                    r.state = RecipientState::Sent;
                    r.mid = mid;
                    store.put_recipient(&r)?;
                } else if r.state == RecipientState::InFlight {
                    mark_unknown(store, &mut r)?;
                }
            }
        }
    }
    halt.cancel(); // ends the link task

    let stop = runner
        .stop_reason
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let counts = store.campaign_counts(id)?;
    let end = TimestampMs::now();
    if let Some(reason) = stop {
        store.set_campaign_status(id, CampaignStatus::Stopped, Some(&reason), end)?;
    } else if cancel.is_cancelled() {
        cancel_remaining(store, id)?;
        store.set_campaign_status(
            id,
            CampaignStatus::Cancelled,
            Some("cancelled by the agent"),
            end,
        )?;
    } else if !shutdown.is_cancelled() && counts.queued + counts.in_flight == 0 {
        store.set_campaign_status(id, CampaignStatus::Done, None, end)?;
    }
    store.durable().await;
    runner.progress(false);
    Ok(report(store, id)?)
}

/// Cancel a campaign that is not running in this process.
pub async fn cancel_idle(store: &Db, id: &str) -> Result<(), CampaignError> {
    let Some(c) = store.campaign(id)? else {
        return Err(CampaignError::NotFound(id.to_string()));
    };
    if matches!(c.status, CampaignStatus::Done | CampaignStatus::Cancelled) {
        return Ok(());
    }
    cancel_remaining(store, id)?;
    store.set_campaign_status(
        id,
        CampaignStatus::Cancelled,
        Some("cancelled by the agent"),
        TimestampMs::now(),
    )?;
    store.durable().await;
    Ok(())
}

fn cancel_remaining(store: &Db, id: &str) -> Result<(), StoreError> {
    for mut r in store.campaign_recipients(id)? {
        if r.state == RecipientState::Queued {
            r.state = RecipientState::Skipped;
            r.reason = Some("campaign cancelled".into());
            r.updated_at = TimestampMs::now();
            store.put_recipient(&r)?;
        }
    }
    Ok(())
}

fn mark_unknown(store: &Db, r: &mut RecipientRecord) -> Result<(), StoreError> {
    r.state = RecipientState::Unknown;
    r.reason = Some(
        "the send was interrupted and no echo from Meta arrived: it may or may not have reached the customer".into(),
    );
    r.updated_at = TimestampMs::now();
    store.put_recipient(r)?;
    if let Some(o) = &r.outbox_id {
        store.outbound_failed(
            o,
            "interrupted during the send: it may or may not have been delivered",
        )?;
    }
    Ok(())
}

struct Runner<'a> {
    ctx: &'a SendCtx,
    camp: &'a CampaignRecord,
    /// The campaign's text, rendered per recipient at its first attempt.
    template: Result<Template, UnknownVariable>,
    /// The configured pages (their token state is read per send).
    pages: Pages,
    tag: Option<Tag>,
    tuning: &'a Tuning,
    /// Stop starting sends (cancel, stop, shutdown).
    halt: CancellationToken,
    stop_reason: Mutex<Option<String>>,
    rl_streak: AtomicU32,
    done: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    total: u64,
}

enum Next {
    Done,
    Again,
}

impl Runner<'_> {
    fn halted(&self) -> bool {
        self.halt.is_cancelled()
    }

    fn stop(&self, reason: String) {
        let mut s = self.stop_reason.lock().unwrap_or_else(|e| e.into_inner());
        if s.is_none() {
            tracing::warn!(campaign = %self.camp.id, %reason, "campaign stopped");
            self.ctx
                .store
                .report_error(format!("campaign {} stopped: {reason}", self.camp.id));
            *s = Some(reason);
        }
        self.halt.cancel();
    }

    fn progress(&self, running: bool) {
        self.ctx.store.publish(Update::Campaign(CampaignProgress {
            id: self.camp.id.clone(),
            title: self.camp.title.clone(),
            total: self.total,
            done: self.done.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            running,
            created_by: self.camp.created_by.clone(),
        }));
    }

    fn finished(&self, state: RecipientState) {
        match state {
            RecipientState::Sent => self.sent.fetch_add(1, Ordering::Relaxed),
            RecipientState::Failed => self.failed.fetch_add(1, Ordering::Relaxed),
            RecipientState::Skipped => self.skipped.fetch_add(1, Ordering::Relaxed),
            _ => 0, // unknown: only done
        };
        self.done.fetch_add(1, Ordering::Relaxed);
        self.progress(true);
    }

    async fn send_one(&self, mut r: RecipientRecord) -> Result<(), StoreError> {
        let mut transient_tries = 0;
        loop {
            match self.attempt(&mut r, &mut transient_tries).await? {
                Next::Done => return Ok(()),
                Next::Again => continue,
            }
        }
    }

    async fn attempt(
        &self,
        r: &mut RecipientRecord,
        transient_tries: &mut u32,
    ) -> Result<Next, StoreError> {
        let store = &self.ctx.store;
        if self.halted() {
            return Ok(Next::Done); // stays queued
        }
        let now = TimestampMs::now();
        let conv = store.conversation(&r.conv)?;
        let contact = store.contact(&r.conv)?;
        // A first attempt rendered the text into the outbox record: a retry
        // or a resume sends exactly that text again.
        let first_text = match &r.outbox_id {
            Some(o) => store.outbox_get(o)?.map(|o| o.text),
            None => None,
        };
        let recipient = Recipient {
            key: &r.conv,
            conv: conv.as_ref(),
            contact: contact.as_ref(),
        };
        // Only this recipient's page matters: read its token state alone
        // (Meta may have refused it since the campaign started).
        let with_dead;
        let pages = match route(&self.ctx.config, &r.conv) {
            Ok(page) if crate::tokens::dead_token(store, page).is_some() => {
                let mut p = self.pages.clone();
                p.dead.insert(page.id.clone());
                with_dead = p;
                &with_dead
            }
            _ => &self.pages,
        };
        let verdict = match (&first_text, &self.template) {
            (Some(t), _) => eligibility::check(pages, recipient, Body::Rendered(t), self.tag, now),
            (None, Ok(t)) => eligibility::check(pages, recipient, Body::Template(t), self.tag, now),
            // Stored with an unknown variable (before they were refused): never sent.
            (None, Err(e)) => Verdict::Skip(eligibility::Skip::UnknownVariable(e.clone())),
        };
        let (plan, text) = match verdict {
            Verdict::Send { plan, text } => (plan, text),
            Verdict::Skip(skip) if skip.stops_campaign() => {
                // Meta refused this page's token before (190): stop, nothing
                // is sent; a new token and a resume continue the campaign.
                let page = route(&self.ctx.config, &r.conv).ok();
                match page.and_then(|p| crate::tokens::dead_token(store, p).map(|d| (p, d))) {
                    Some((page, dead)) => self.stop(format!(
                        "page {} ({}): the token is invalid ({}); put a new one in the config, then resume",
                        page.name, page.id, dead.reason
                    )),
                    None => self.stop(format!("{skip}, then resume")),
                }
                return Ok(Next::Done);
            }
            Verdict::Skip(skip) => {
                r.state = RecipientState::Skipped;
                r.reason = Some(skip.to_string());
                r.updated_at = now;
                store.put_recipient(r)?;
                self.finished(RecipientState::Skipped);
                return Ok(Next::Done);
            }
        };
        let page = match route(&self.ctx.config, &r.conv) {
            Ok(p) => p,
            Err(reason) => {
                r.state = RecipientState::Skipped;
                r.reason = Some(reason.0);
                store.put_recipient(r)?;
                self.finished(RecipientState::Skipped);
                return Ok(Next::Done);
            }
        };
        // The outbox record first (its metadata binds the echo), then
        // in_flight made durable, then the call.
        let outbox = match &r.outbox_id {
            Some(o) => store.outbound_retry(o)?,
            None => store.create_outbound(
                &r.conv,
                &text,
                plan.tag().map(Tag::as_str),
                self.camp.created_by.as_deref(),
                Some(&self.camp.id),
                now,
            )?,
        };
        let from = r.state;
        r.outbox_id = Some(outbox.id.clone());
        r.state = RecipientState::InFlight;
        r.attempts += 1;
        r.updated_at = now;
        // Claim it: with several runners on one store only one sends.
        if let Swap::Lost(cur) = store.swap_recipient(r, from)? {
            store.outbound_failed(&outbox.id, "another runner took this recipient")?;
            if let Some(cur) = cur {
                *r = cur;
            }
            return Ok(Next::Done);
        }
        store.durable().await;

        // A halt already given wins over a permit that is also ready: no
        // call starts after cancel or shutdown.
        let acquired = tokio::select! {
            biased;
            _ = self.halt.cancelled() => false,
            _ = self.ctx.limiter.acquire() => true,
        };
        if !acquired {
            // No call was made: safe to put it back.
            r.state = RecipientState::Queued;
            store.put_recipient(r)?;
            store.outbound_failed(&outbox.id, "campaign paused before this send")?;
            return Ok(Next::Done);
        }
        let res = self
            .ctx
            .graph
            .send_text(
                &page.id,
                &page.access_token,
                &r.conv.user,
                &outbox.text,
                plan,
                &outbox.metadata(),
            )
            .await;
        let e = match res {
            Ok(resp) => {
                store.outbound_sent(&outbox.id, &resp.message_id)?;
                r.state = RecipientState::Sent;
                r.mid = Some(resp.message_id);
                r.reason = None;
                r.updated_at = TimestampMs::now();
                store.put_recipient(r)?;
                self.rl_streak.store(0, Ordering::Relaxed);
                self.finished(RecipientState::Sent);
                return Ok(Next::Done);
            }
            Err(e) => e,
        };
        let reason = failure_reason(&e);
        store.outbound_failed(&outbox.id, &reason)?;
        // An echo may have bound the record meanwhile: then it was sent.
        if let Some(mid) = store.outbox_get(&outbox.id)?.and_then(|o| o.mid) {
            r.state = RecipientState::Sent;
            r.mid = Some(mid);
            store.put_recipient(r)?;
            self.finished(RecipientState::Sent);
            return Ok(Next::Done);
        }
        r.reason = Some(reason.clone());
        r.updated_at = TimestampMs::now();
        match e.class {
            ErrorClass::RateLimited => {
                // Meta refused it: not sent, back in the queue; the whole campaign pauses.
                r.state = RecipientState::Queued;
                store.put_recipient(r)?;
                let streak = self.rl_streak.fetch_add(1, Ordering::Relaxed) + 1;
                if streak > self.tuning.max_rate_limit_streak {
                    self.stop(format!(
                        "Meta kept refusing with rate-limit errors: {}",
                        e.describe()
                    ));
                    return Ok(Next::Done);
                }
                let backoff = self
                    .tuning
                    .rate_limit_pause
                    .saturating_mul(1 << (streak - 1).min(10))
                    .min(self.tuning.max_rate_limit_pause);
                let pause = e
                    .retry_after
                    .unwrap_or(backoff)
                    .min(self.tuning.max_rate_limit_pause);
                tracing::warn!(campaign = %self.camp.id, ?pause, "rate limited by Meta; pausing the campaign");
                self.ctx.limiter.pause(pause);
                Ok(Next::Again)
            }
            ErrorClass::TokenInvalid => {
                crate::tokens::token_died(store, page, &e);
                r.state = RecipientState::Queued;
                store.put_recipient(r)?;
                self.stop(format!(
                    "page {} ({}): {}",
                    page.name,
                    page.id,
                    e.describe()
                ));
                Ok(Next::Done)
            }
            ErrorClass::Transient
                if certainly_not_sent(&e) && *transient_tries < self.tuning.transient_retries =>
            {
                *transient_tries += 1;
                r.state = RecipientState::Queued;
                store.put_recipient(r)?;
                let wait = self
                    .tuning
                    .transient_backoff
                    .saturating_mul(1 << (*transient_tries - 1).min(6));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.halt.cancelled() => return Ok(Next::Done),
                }
                Ok(Next::Again)
            }
            ErrorClass::Transient if !certainly_not_sent(&e) => {
                // A timeout: Meta may have sent it. Never guess twice.
                r.state = RecipientState::Unknown;
                store.put_recipient(r)?;
                self.finished(RecipientState::Unknown);
                Ok(Next::Done)
            }
            _ => {
                if e.class == ErrorClass::Transient {
                    r.reason = Some(format!(
                        "{reason} (after {} attempts)",
                        *transient_tries + 1
                    ));
                }
                r.state = RecipientState::Failed;
                store.put_recipient(r)?;
                self.finished(RecipientState::Failed);
                Ok(Next::Done)
            }
        }
    }
}
