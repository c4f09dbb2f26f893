//! The send worker: replies, retries and campaigns asked for by the UI or
//! an attached client. Results go back as store updates; the worker never
//! blocks the jobs queue on a send.

use super::campaign::{self, CampaignError, Tuning};
use super::reply::{self, SendCtx, SendError};
use crate::domain::TimestampMs;
use crate::update::Update;
use crate::workers::Job;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

type Running = Arc<Mutex<HashMap<String, CancellationToken>>>;

/// Handle jobs until `cancel`; campaigns that were running when the process
/// last stopped resume first. On cancel, sends already at Meta finish and
/// running campaigns stay `running` for the next start.
/// `ctx` is the process's: one-shots run for clients send with it too.
pub async fn run_worker(ctx: SendCtx, mut jobs: UnboundedReceiver<Job>, cancel: CancellationToken) {
    let tuning = Tuning::from_config(&ctx.config);
    run_worker_with(ctx, tuning, &mut jobs, cancel).await;
}

/// `run_worker` with its context and tuning given (tests shorten the waits).
pub async fn run_worker_with(
    ctx: SendCtx,
    tuning: Tuning,
    jobs: &mut UnboundedReceiver<Job>,
    cancel: CancellationToken,
) {
    let running: Running = Arc::default();
    let mut tasks = JoinSet::new();
    match ctx.store.campaigns_running() {
        Ok(list) => {
            for c in list {
                tracing::info!(campaign = %c.id, "resuming campaign");
                spawn_campaign(&mut tasks, &ctx, &tuning, &running, c.id, &cancel);
            }
        }
        Err(e) => ctx
            .store
            .report_error(format!("cannot read campaigns: {e}")),
    }
    loop {
        let job = tokio::select! {
            _ = cancel.cancelled() => break,
            j = jobs.recv() => match j {
                Some(j) => j,
                None => break,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        match job {
            Job::Reply {
                conv,
                text,
                tag,
                agent,
            } => {
                let ctx = ctx.clone();
                tasks.spawn(async move {
                    let r = reply::reply_keeping_refused(&ctx, &conv, &text, tag, agent.as_deref())
                        .await;
                    report_send(&ctx, r, &format!("reply to {}", customer(&ctx, &conv)));
                });
            }
            Job::SendFile {
                conv,
                upload,
                tag,
                agent,
            } => {
                let ctx = ctx.clone();
                tasks.spawn(async move {
                    let r =
                        super::attach::reply_staged(&ctx, &conv, &upload, tag, agent.as_deref())
                            .await;
                    report_send(&ctx, r, &format!("file to {}", customer(&ctx, &conv)));
                });
            }
            Job::Retry { outbox_id } => {
                let ctx = ctx.clone();
                tasks.spawn(async move {
                    let r = reply::retry(&ctx, &outbox_id).await;
                    report_send(&ctx, r, "retry");
                });
            }
            Job::Campaign {
                title,
                text,
                tag,
                recipients,
                agent,
            } => {
                let now = TimestampMs::now();
                if let Err(r) = campaign::check_campaign_tag(tag) {
                    ctx.store.report_error(format!("campaign refused: {r}"));
                    continue;
                }
                if let Err(e) = crate::rules::template::Template::parse(&text) {
                    ctx.store.report_error(format!("campaign refused: {e}"));
                    continue;
                }
                let created = match campaign::preview_from_store(
                    &ctx.store,
                    &ctx.config,
                    &recipients,
                    &text,
                    tag,
                    now,
                ) {
                    Ok(p) => {
                        campaign::create(&ctx.store, &title, &text, tag, agent.as_deref(), &p, now)
                            .await
                    }
                    Err(e) => Err(e),
                };
                match created {
                    Ok(c) => {
                        ctx.store
                            .publish(Update::Notice(format!("campaign {} started", c.id)));
                        spawn_campaign(&mut tasks, &ctx, &tuning, &running, c.id, &cancel);
                    }
                    Err(e) => ctx.store.report_error(format!("campaign not created: {e}")),
                }
            }
            Job::CancelCampaign { id } => {
                let token = running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&id)
                    .cloned();
                match token {
                    Some(t) => t.cancel(),
                    None => {
                        if let Err(e) = campaign::cancel_idle(&ctx.store, &id).await {
                            ctx.store
                                .report_error(format!("cannot cancel campaign {id}: {e}"));
                        }
                    }
                }
            }
            Job::RunCampaign { id } => {
                let already = running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(&id);
                // One runner per campaign: a second would send twice.
                if !already {
                    spawn_campaign(&mut tasks, &ctx, &tuning, &running, id, &cancel);
                }
            }
            Job::Sync { .. } | Job::CancelSync => {}
        }
    }
    // Let sends already under way finish (each is bounded by the HTTP timeout).
    while tasks.join_next().await.is_some() {}
}

fn spawn_campaign(
    tasks: &mut JoinSet<()>,
    ctx: &SendCtx,
    tuning: &Tuning,
    running: &Running,
    id: String,
    shutdown: &CancellationToken,
) {
    let token = CancellationToken::new();
    running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), token.clone());
    let (ctx, tuning, running, shutdown) = (
        ctx.clone(),
        tuning.clone(),
        running.clone(),
        shutdown.clone(),
    );
    tasks.spawn(async move {
        match campaign::run(&ctx, &id, &tuning, &token, &shutdown).await {
            Ok(rep) => {
                let c = rep.counts;
                ctx.store.publish(Update::Notice(format!(
                    "campaign {} {}: {} sent, {} failed, {} skipped, {} unknown",
                    rep.id,
                    rep.status.as_str(),
                    c.sent,
                    c.failed,
                    c.skipped,
                    c.unknown
                )));
            }
            Err(CampaignError::Cancelled(_)) => {}
            Err(e) => ctx.store.report_error(format!("campaign {id}: {e}")),
        }
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    });
}

fn report_send(ctx: &SendCtx, r: Result<crate::domain::Mid, SendError>, what: &str) {
    match r {
        Ok(_) => {}
        Err(SendError::Refused(reason)) => {
            ctx.store.report_error(format!("{what} not sent: {reason}"))
        }
        Err(SendError::Failed { reason, .. }) => {
            ctx.store.report_error(format!("{what} failed: {reason}"))
        }
        Err(SendError::Store(e)) => ctx.store.report_error(format!("{what}: {e}")),
    }
}

/// The customer as the agent knows them: their name and id (a twin of the
/// same name is told apart by the id), not the store's key.
fn customer(ctx: &SendCtx, conv: &crate::domain::ConvKey) -> String {
    match ctx.store.conversation(conv) {
        Ok(Some(c)) => format!("{} ({})", c.name, conv.user),
        _ => format!("{} {}", conv.platform, conv.user),
    }
}
