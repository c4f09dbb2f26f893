//! The background sync worker: first start, schedule, and on-demand jobs.

use super::Syncer;
use crate::config::Config;
use crate::db::Db;
use crate::domain::AccountId;
use crate::meta::graph::GraphClient;
use crate::workers::Job;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// Queue a sync; `None` (everything) absorbs narrower requests.
fn enqueue(queue: &mut VecDeque<Option<AccountId>>, target: Option<AccountId>) {
    if queue.contains(&None) || queue.contains(&target) {
        return;
    }
    if target.is_none() {
        queue.clear();
    }
    queue.push_back(target);
}

/// Runs syncs: at start for pages never synced, every `config.sync.interval`
/// (None = off), and on `Job::Sync`; `Job::CancelSync` stops the running one
/// and drops queued ones. Progress and errors go out as store updates.
pub async fn run_worker(
    store: Db,
    config: Arc<Config>,
    graph: GraphClient,
    mut jobs: UnboundedReceiver<Job>,
    cancel: CancellationToken,
) {
    let syncer = Syncer::new(store, config.clone(), graph);
    let mut queue: VecDeque<Option<AccountId>> = VecDeque::new();
    let never = syncer.never_synced();
    if !never.is_empty() && never.len() == config.pages.len() {
        enqueue(&mut queue, None);
    } else {
        for p in never {
            enqueue(&mut queue, Some(p));
        }
    }
    let mut tick = config.sync.interval.map(|every| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut jobs_open = true;
    loop {
        if let Some(target) = queue.pop_front() {
            let run_cancel = cancel.child_token();
            let run = syncer.run(target.as_ref(), &run_cancel);
            tokio::pin!(run);
            loop {
                tokio::select! {
                    report = &mut run => {
                        tracing::info!(
                            accounts = report.accounts.len(),
                            failed = report.failed(),
                            cancelled = report.cancelled,
                            "sync finished"
                        );
                        break;
                    }
                    job = jobs.recv(), if jobs_open => match job {
                        Some(Job::CancelSync) => {
                            run_cancel.cancel();
                            queue.clear();
                        }
                        Some(Job::Sync { account }) => enqueue(&mut queue, account),
                        Some(other) => tracing::debug!(?other, "sync worker ignores this job"),
                        None => jobs_open = false,
                    },
                }
            }
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            job = jobs.recv(), if jobs_open => match job {
                Some(Job::Sync { account }) => enqueue(&mut queue, account),
                Some(Job::CancelSync) => {}
                Some(other) => tracing::debug!(?other, "sync worker ignores this job"),
                None => jobs_open = false,
            },
            _ = async {
                match tick.as_mut() {
                    Some(t) => { t.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => enqueue(&mut queue, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_coalesces() {
        let mut q = VecDeque::new();
        enqueue(&mut q, Some(AccountId::from("1")));
        enqueue(&mut q, Some(AccountId::from("1")));
        assert_eq!(q.len(), 1);
        enqueue(&mut q, None);
        assert_eq!(q, VecDeque::from([None]));
        enqueue(&mut q, Some(AccountId::from("2")));
        assert_eq!(q.len(), 1);
    }
}
