//! `Request::SyncNow`: one sync of the configured pages (or one account)
//! run to its end on this process's store, answered with its report.

use super::request::Reply;
use crate::config::Config;
use crate::db::Db;
use crate::domain::AccountId;
use crate::meta::graph::GraphClient;
use crate::sync::Syncer;
use crate::update::SyncProgress;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the process running a one-shot sync hands its inbox, since neither
/// can travel in a request: the cancel (Ctrl-C, or the attached client
/// gone) and where the progress goes (the command's bar or lines).
pub struct SyncWork {
    pub cancel: CancellationToken,
    pub progress: watch::Sender<SyncProgress>,
}

/// Runs on the blocking thread `handle` runs on; the sync itself on the
/// runtime this thread belongs to.
pub(super) fn sync_now(
    store: &Db,
    config: Option<&Arc<Config>>,
    work: Option<&SyncWork>,
    account: Option<AccountId>,
) -> Result<Reply, String> {
    let config = config.ok_or("a sync runs where the config is")?;
    // Nobody to show its progress to or to stop it: refused, rather than a
    // sync nobody can interrupt.
    let work = work.ok_or("a sync runs for a command that shows it: run `dmdesk sync`")?;
    if let Some(a) = &account {
        if config.page_for(a).is_none() {
            return Err(format!(
                "{a} is not a configured page or Instagram account id"
            ));
        }
    }
    let rt = tokio::runtime::Handle::try_current()
        .map_err(|_| "no async runtime where the store is: the sync cannot run")?;
    let graph = GraphClient::new(&config.graph);
    let syncer = Syncer::new(store.clone(), config.clone(), graph.clone())
        .with_progress(work.progress.clone());
    let report = rt.block_on(syncer.run(account.as_ref(), &work.cancel));
    Ok(Reply::Synced {
        report,
        graph_calls: graph.calls_made(),
    })
}
