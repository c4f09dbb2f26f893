//! Running a campaign: recover what a previous run left, send to the
//! queued recipients with bounded concurrency, give interrupted sends their
//! grace period, and record how the run ended. Also cancelling a campaign
//! that is not running here.

use super::file::CampaignFile;
use super::report::report;
use crate::config::Config;
use crate::db::Db;
use crate::domain::TimestampMs;
use crate::request::campaign::CampaignReport;
use crate::rules::eligibility::Pages;
use crate::rules::template::{Template, UnknownVariable};
use crate::rules::window::Tag;
use crate::send::recover::{self, Lookup};
use crate::send::reply::{route, SendCtx};
use crate::store::{
    CampaignCounts, CampaignRecord, CampaignStatus, JobGuard, RecipientRecord, RecipientState,
    StoreError,
};
use crate::update::{CampaignProgress, Update};
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
/// stopped or cancelled (`cancel` here, or a cancel recorded in the store by
/// another process), or the process shuts down (`shutdown`: the campaign
/// stays running and resumes at the next start). A page lock lost on the
/// way (its database connection was cut) pauses the run: it stops sending,
/// says why, and waits for the lock again (meanwhile another process may
/// take the campaign on).
pub async fn run(
    ctx: &SendCtx,
    id: &str,
    tuning: &Tuning,
    cancel: &CancellationToken,
    shutdown: &CancellationToken,
) -> Result<CampaignReport, CampaignError> {
    let store = &ctx.store;
    let mut paused = false;
    loop {
        // One runner per page across processes sharing a database: wait
        // for the pages first, then read the state (another runner may
        // have finished the campaign meanwhile).
        let pages = match lock_pages(store, id, cancel, shutdown).await {
            Ok(Some(pages)) => pages,
            Ok(None) => return Ok(report(store, id)?),
            // After a lost lock the database may still be away: keep
            // waiting for it rather than leave the campaign unattended.
            Err(e) if paused => {
                tracing::warn!(campaign = %id, error = %e, "campaign paused: its page locks cannot be taken yet");
                tokio::select! {
                    _ = tokio::time::sleep(RELOCK_WAIT) => continue,
                    _ = cancel.cancelled() => return Err(e),
                    _ = shutdown.cancelled() => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        match run_locked(ctx, id, tuning, cancel, shutdown, &pages).await? {
            Ended::Report(r) => return Ok(*r),
            Ended::LockLost => paused = true,
        }
    }
}

/// Between two attempts to take the page locks again after one was lost.
const RELOCK_WAIT: Duration = Duration::from_secs(2);

/// How a run that held its page locks ended.
enum Ended {
    Report(Box<CampaignReport>),
    /// A lock was lost: nothing more was started; the campaign stays running.
    LockLost,
}

/// The first of `pages`' locks to be lost, with why (never, if none is).
async fn first_lost(pages: &[JobGuard]) -> String {
    if pages.is_empty() {
        return std::future::pending().await;
    }
    let lost = pages.iter().map(|g| Box::pin(g.lost()));
    futures::future::select_all(lost).await.0
}

async fn run_locked(
    ctx: &SendCtx,
    id: &str,
    tuning: &Tuning,
    cancel: &CancellationToken,
    shutdown: &CancellationToken,
    pages: &[JobGuard],
) -> Result<Ended, CampaignError> {
    let store = &ctx.store;
    let Some(mut camp) = store.campaign(id)? else {
        return Err(CampaignError::NotFound(id.to_string()));
    };
    match camp.status {
        CampaignStatus::Done => return Ok(Ended::Report(Box::new(report(store, id)?))),
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

    // Recover what a previous run left. An in_flight recipient is never
    // called again blindly: its echo, or else its thread at Meta, decides.
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
        if r.state == RecipientState::InFlight && now.0 - r.updated_at.0 >= grace_ms {
            settle_interrupted(ctx, &mut r).await?;
        }
        match r.state {
            RecipientState::Queued => queued.push(r.clone()),
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
        file: CampaignFile::load(store.path(), id),
        tuning,
        halt: cancel.child_token(),
        stop_reason: Mutex::new(None),
        lost: Mutex::new(None),
        cancelled_elsewhere: AtomicBool::new(false),
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
    let work = async {
        futures::stream::iter(queued)
            .map(|r| async {
                // A cancel recorded by another process reaches this run here,
                // before each send.
                if runner.cancelled_in_store() {
                    return Ok(());
                }
                runner.send_one(r).await
            })
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
                let mut again = Vec::new();
                for r in waiting {
                    let Some(mut r) = store.campaign_recipient(id, r.index)? else {
                        continue;
                    };
                    let (state, mid) = store.effective_state(&r)?;
                    if state == RecipientState::Sent {
                        r.state = RecipientState::Sent;
                        r.mid = mid;
                        store.put_recipient(&r)?;
                        runner.finished(RecipientState::Sent);
                    } else if r.state == RecipientState::InFlight {
                        settle_interrupted(ctx, &mut r).await?;
                        match r.state {
                            RecipientState::Queued => again.push(r),
                            state => runner.finished(state),
                        }
                    }
                }
                for r in again {
                    // As before each first send: a cancel recorded by another
                    // process (during the grace period, say) sends no more.
                    if runner.cancelled_in_store() {
                        break;
                    }
                    runner.send_one(r).await?;
                }
            }
        }
        Ok::<(), CampaignError>(())
    };
    // A lost page lock halts the sends (those in flight finish) and the run
    // then ends without deciding anything about the campaign.
    let lost = first_lost(pages);
    tokio::pin!(work, lost);
    tokio::select! {
        r = &mut work => r?,
        why = &mut lost => {
            runner.lock_lost(why);
            work.await?;
        }
    }
    halt.cancel(); // ends the link task
    if runner
        .lost
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some()
    {
        runner.progress(false);
        return Ok(Ended::LockLost);
    }

    let stop = runner
        .stop_reason
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let counts = store.campaign_counts(id)?;
    let end = TimestampMs::now();
    if let Some(reason) = stop {
        store.set_campaign_status(id, CampaignStatus::Stopped, Some(&reason), end)?;
    } else if cancel.is_cancelled() || runner.cancelled_elsewhere.load(Ordering::Relaxed) {
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
    Ok(Ended::Report(Box::new(report(store, id)?)))
}

/// Hold the lock of every page this campaign sends from (in one order, so
/// two runners cannot each wait for the other). None: stopped while waiting.
async fn lock_pages(
    store: &Db,
    id: &str,
    cancel: &CancellationToken,
    shutdown: &CancellationToken,
) -> Result<Option<Vec<JobGuard>>, CampaignError> {
    let pages: std::collections::BTreeSet<String> = store
        .campaign_recipients(id)?
        .iter()
        .map(|r| r.conv.account.as_str().to_string())
        .collect();
    let mut held = Vec::new();
    let mut handover = false;
    for page in pages {
        let name = format!("campaign-page:{page}");
        if let Some(g) = store.job_lock(&name, false).await? {
            held.push(g);
            continue;
        }
        // Another process sends for this page: wait for it to finish or die.
        tokio::select! {
            g = store.job_lock(&name, true) => held.extend(g?),
            _ = cancel.cancelled() => return Ok(None),
            _ = shutdown.cancelled() => return Ok(None),
        }
        handover = true;
    }
    if handover {
        // The page's rate is per trailing second: let the previous runner's
        // last second of sends pass before this one starts.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = cancel.cancelled() => return Ok(None),
            _ = shutdown.cancelled() => return Ok(None),
        }
    }
    Ok(Some(held))
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

/// A send interrupted by a crash whose echo never came (its grace period
/// has passed): look in the recipient's thread at Meta (send/recover.rs).
/// Found: sent, with Meta's mid. Absent: queued again, to be sent with the
/// same text and outbox record. Graph cannot answer: `unknown`.
async fn settle_interrupted(ctx: &SendCtx, r: &mut RecipientRecord) -> Result<(), StoreError> {
    let store = &ctx.store;
    let outbox = match &r.outbox_id {
        Some(o) => store.outbox_get(o)?,
        None => None,
    };
    let (Some(outbox), Ok(page)) = (outbox, route(&ctx.config, &r.conv)) else {
        // Nothing was rendered (or the page left the config): nothing to find.
        return mark_unknown(store, r, "its text or page is no longer known");
    };
    if outbox.is_file() {
        // Meta lists a file as an empty text: any file would match.
        return mark_unknown(store, r, "a file cannot be told apart in the thread");
    }
    match recover::find_our_send(&ctx.graph, page, &r.conv, &outbox.text, r.updated_at).await {
        Lookup::Sent(mid) => {
            store.outbound_sent(&outbox.id, &mid)?;
            r.state = RecipientState::Sent;
            r.mid = Some(mid);
            r.reason = None;
        }
        Lookup::Absent => {
            r.state = RecipientState::Queued;
            r.reason = None;
        }
        Lookup::Unresolved(why) => {
            return mark_unknown(store, r, &format!("Meta's thread could not be read: {why}"));
        }
    }
    r.updated_at = TimestampMs::now();
    store.put_recipient(r)
}

fn mark_unknown(store: &Db, r: &mut RecipientRecord, why: &str) -> Result<(), StoreError> {
    r.state = RecipientState::Unknown;
    r.reason = Some(format!(
        "the send was interrupted and no echo from Meta arrived ({why}): it may or may not have reached the customer"
    ));
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

/// What the concurrent sends of one run share.
pub(super) struct Runner<'a> {
    pub(super) ctx: &'a SendCtx,
    pub(super) camp: &'a CampaignRecord,
    /// The campaign's text, rendered per recipient at its first attempt.
    pub(super) template: Result<Template, UnknownVariable>,
    /// The configured pages (their token state is read per send).
    pub(super) pages: Pages,
    pub(super) tag: Option<Tag>,
    /// The file every recipient is sent, when the campaign sends one.
    pub(super) file: std::io::Result<Option<CampaignFile>>,
    pub(super) tuning: &'a Tuning,
    /// Stop starting sends (cancel, stop, shutdown).
    pub(super) halt: CancellationToken,
    stop_reason: Mutex<Option<String>>,
    /// Why a page lock was lost, once it was (the run pauses).
    lost: Mutex<Option<String>>,
    /// Another process cancelled the campaign (seen in the store).
    cancelled_elsewhere: AtomicBool,
    /// Consecutive rate-limit errors (the pause doubles with each).
    pub(super) rl_streak: AtomicU32,
    done: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    total: u64,
}

impl Runner<'_> {
    pub(super) fn halted(&self) -> bool {
        self.halt.is_cancelled()
    }

    pub(super) fn stop(&self, reason: String) {
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

    /// A page lock went away under this run: stop starting sends and say
    /// why (log and status bar); the campaign stays running.
    fn lock_lost(&self, why: String) {
        let msg = format!(
            "campaign {} paused: {why}; its sends stop until this process holds the lock again",
            self.camp.id
        );
        tracing::warn!(campaign = %self.camp.id, "{msg}");
        self.ctx.store.report_error(msg);
        *self.lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        self.halt.cancel();
    }

    /// Whether the campaign's row says it was cancelled (by another
    /// process: a cancel here comes through `cancel`); if so, halt.
    fn cancelled_in_store(&self) -> bool {
        if self.cancelled_elsewhere.load(Ordering::Relaxed) {
            return true;
        }
        // A failed read decides nothing: the send's own writes will fail too.
        let cancelled = matches!(
            self.ctx.store.campaign(&self.camp.id),
            Ok(Some(c)) if c.status == CampaignStatus::Cancelled
        );
        if cancelled {
            tracing::info!(campaign = %self.camp.id, "campaign cancelled by another process: stopping its sends");
            self.cancelled_elsewhere.store(true, Ordering::Relaxed);
            self.halt.cancel();
        }
        cancelled
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

    pub(super) fn finished(&self, state: RecipientState) {
        match state {
            RecipientState::Sent => self.sent.fetch_add(1, Ordering::Relaxed),
            RecipientState::Failed => self.failed.fetch_add(1, Ordering::Relaxed),
            RecipientState::Skipped => self.skipped.fetch_add(1, Ordering::Relaxed),
            _ => 0, // unknown: only done
        };
        self.done.fetch_add(1, Ordering::Relaxed);
        self.progress(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConvKey, Mid, Platform};
    use crate::meta::graph::GraphClient;
    use crate::store::{NewRecipient, OutboxState};
    use std::sync::Arc;

    /// A store and a send context whose Graph API is a closed loopback port:
    /// these tests reach no state in which a send is made.
    struct Env {
        _dir: tempfile::TempDir,
        ctx: SendCtx,
    }

    fn env() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Db::open(dir.path(), 8, "test").expect("store");
        let cfg = Config::from_toml(
            r#"
[graph]
base_url = "http://127.0.0.1:9"
[[pages]]
id = "p1"
name = "Shop"
access_token = "page-token"
"#,
            &|_| None,
        )
        .expect("test config");
        let graph = GraphClient::new(&cfg.graph);
        Env {
            _dir: dir,
            ctx: SendCtx::new(store, Arc::new(cfg), graph),
        }
    }

    fn conv(user: &str) -> ConvKey {
        ConvKey::new(Platform::Messenger, "p1", user)
    }

    /// A campaign to users a, b (queued) and c (skipped: standby).
    fn campaign(store: &Db) -> String {
        let r = |user, skip: Option<&str>| NewRecipient {
            conv: conv(user),
            skip: skip.map(str::to_string),
        };
        store
            .create_campaign(
                "Sale",
                "hi",
                None,
                None,
                &[r("a", None), r("b", None), r("c", Some("standby"))],
                TimestampMs(1),
            )
            .expect("create")
            .id
    }

    fn states(store: &Db, id: &str) -> Vec<(RecipientState, Option<String>)> {
        store
            .campaign_recipients(id)
            .expect("recipients")
            .into_iter()
            .map(|r| (r.state, r.reason))
            .collect()
    }

    fn never() -> (CancellationToken, CancellationToken) {
        (CancellationToken::new(), CancellationToken::new())
    }

    #[test]
    fn tuning_keeps_at_least_one_send_going() {
        let mut cfg = env().ctx.config.as_ref().clone();
        cfg.send.concurrency = 0;
        assert_eq!(Tuning::from_config(&cfg).concurrency, 1);
        cfg.send.concurrency = 8;
        assert_eq!(Tuning::from_config(&cfg).concurrency, 8);
    }

    #[tokio::test]
    async fn cancel_idle_skips_the_queued_and_keeps_what_was_decided() {
        let env = env();
        let store = &env.ctx.store;
        let id = campaign(store);
        let mut a = store.campaign_recipient(&id, 0).unwrap().unwrap();
        a.state = RecipientState::Sent;
        store.put_recipient(&a).unwrap();

        cancel_idle(store, &id).await.expect("cancel");
        let c = store.campaign(&id).unwrap().unwrap();
        assert_eq!(c.status, CampaignStatus::Cancelled);
        assert_eq!(c.status_reason.as_deref(), Some("cancelled by the agent"));
        let cancelled = (
            RecipientState::Skipped,
            Some("campaign cancelled".to_string()),
        );
        let standby = (RecipientState::Skipped, Some("standby".to_string()));
        assert_eq!(
            states(store, &id),
            [
                (RecipientState::Sent, None),
                cancelled.clone(),
                standby.clone()
            ]
        );
        // Again: nothing changes.
        cancel_idle(store, &id).await.expect("cancel again");
        assert_eq!(
            states(store, &id),
            [(RecipientState::Sent, None), cancelled, standby]
        );
        assert!(matches!(
            cancel_idle(store, "nope").await,
            Err(CampaignError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_finished_or_cancelled_campaign_is_not_run_again() {
        let env = env();
        let store = &env.ctx.store;
        let tuning = Tuning::from_config(&env.ctx.config);
        let (cancel, shutdown) = never();
        let id = campaign(store);
        store
            .set_campaign_status(&id, CampaignStatus::Done, None, TimestampMs(2))
            .unwrap();
        let rep = run(&env.ctx, &id, &tuning, &cancel, &shutdown)
            .await
            .expect("report");
        assert_eq!(rep.status, CampaignStatus::Done);
        // No attempt was made: the queued recipients are still queued.
        assert_eq!(rep.counts.queued, 2);
        assert_eq!(
            store.campaign_recipient(&id, 0).unwrap().unwrap().attempts,
            0
        );

        store
            .set_campaign_status(&id, CampaignStatus::Cancelled, None, TimestampMs(3))
            .unwrap();
        assert!(matches!(
            run(&env.ctx, &id, &tuning, &cancel, &shutdown).await,
            Err(CampaignError::Cancelled(c)) if c == id
        ));
        assert!(matches!(
            run(&env.ctx, "nope", &tuning, &cancel, &shutdown).await,
            Err(CampaignError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_resume_never_calls_an_in_flight_recipient_again() {
        let env = env();
        let store = &env.ctx.store;
        let mut tuning = Tuning::from_config(&env.ctx.config);
        tuning.unknown_grace = Duration::ZERO;
        let (cancel, shutdown) = never();
        let id = campaign(store);
        // a: its echo arrived after the crash; b: no word from Meta.
        let in_flight = |index, echoed: Option<&str>| {
            let mut r = store.campaign_recipient(&id, index).unwrap().unwrap();
            let o = store
                .create_outbound(&r.conv, "hi", None, None, Some(&id), TimestampMs(1))
                .unwrap();
            if let Some(mid) = echoed {
                store.outbound_sent(&o.id, &Mid::from(mid)).unwrap();
            }
            r.state = RecipientState::InFlight;
            r.outbox_id = Some(o.id.clone());
            r.attempts = 1;
            r.updated_at = TimestampMs(1);
            store.put_recipient(&r).unwrap();
            o.id
        };
        in_flight(0, Some("m_a"));
        let b_outbox = in_flight(1, None);

        let rep = run(&env.ctx, &id, &tuning, &cancel, &shutdown)
            .await
            .expect("report");
        let a = store.campaign_recipient(&id, 0).unwrap().unwrap();
        let b = store.campaign_recipient(&id, 1).unwrap().unwrap();
        assert_eq!(
            (a.state, a.mid),
            (RecipientState::Sent, Some(Mid::from("m_a")))
        );
        assert_eq!(b.state, RecipientState::Unknown);
        assert_eq!((a.attempts, b.attempts), (1, 1), "no second call");
        assert_eq!(
            store.outbox_get(&b_outbox).unwrap().unwrap().state,
            OutboxState::Failed
        );
        assert_eq!(rep.status, CampaignStatus::Done);
        assert_eq!(rep.unknown, vec![conv("b")]);
    }
}
