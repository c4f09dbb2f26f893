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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::{Caller, Inbox, Request};
    use crate::sim::{SimConfig, SimHandle, Simulator};

    fn me() -> Caller {
        Caller {
            session: 0,
            agent: None,
        }
    }

    /// The simulator's page with its Instagram account (`graph`: where Meta is).
    fn config(graph: &str, ids: &crate::sim::Ids) -> Arc<Config> {
        let text = format!(
            "[graph]\nbase_url = \"{graph}\"\nconversations_per_second = 100000\n[sync]\ninterval = \"off\"\n[[pages]]\nid = \"{}\"\naccess_token = \"{}\"\ninstagram_id = \"{}\"\n",
            ids.page_id, ids.page_token, ids.ig_id
        );
        Arc::new(Config::from_toml(&text, &|_| None).unwrap())
    }

    async fn sim() -> SimHandle {
        let mut cfg = SimConfig::demo(None);
        cfg.customers = 4;
        Simulator::start(cfg).await.unwrap()
    }

    fn inbox(dir: &tempfile::TempDir, config: Arc<Config>) -> (Inbox, Db) {
        let store = Db::open(&dir.path().join("store"), 8, "test").unwrap();
        let (jobs, _) = tokio::sync::mpsc::unbounded_channel();
        (Inbox::new(store.clone(), jobs).with_config(config), store)
    }

    /// `handle` as the one-shot calls it: on a blocking thread.
    async fn ask(inbox: Inbox, request: Request) -> Result<Reply, String> {
        tokio::task::spawn_blocking(move || inbox.handle(&me(), request))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sync_answers_with_its_report_and_its_progress_goes_to_the_sender_handed_over() {
        let sim = sim().await;
        let dir = tempfile::tempdir().unwrap();
        let (inbox, store) = inbox(&dir, config(&sim.graph_base_url, sim.ids()));
        let (progress, seen) = watch::channel(SyncProgress::default());
        let inbox = inbox.with_sync(CancellationToken::new(), progress);
        let Ok(Reply::Synced {
            report,
            graph_calls,
        }) = ask(inbox, Request::SyncNow { account: None }).await
        else {
            panic!("no report");
        };
        assert_eq!(report.accounts.len(), 2, "{report:?}");
        assert_eq!(report.failed(), 0, "{report:?}");
        assert!(!report.cancelled);
        let added: u64 = report.accounts.iter().map(|a| a.messages).sum();
        assert!(added > 0);
        assert_eq!(store.all_messages().count() as u64, added);
        let stats = sim.stats();
        let at_meta =
            stats.calls_to("conversations") + stats.calls_to("messages") + stats.calls_to("batch");
        assert_eq!(graph_calls, at_meta, "{:?}", stats.calls);
        // The last progress is the end of the one page, and the channel
        // closed with the inbox.
        assert!(
            seen.has_changed().is_err(),
            "the progress sender was dropped"
        );
        let last = seen.borrow().clone();
        assert_eq!((last.running, last.pages, last.messages), (false, 1, added));
        assert!(last.finished_at.is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_sync_says_so_and_calls_nobody() {
        let sim = sim().await;
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _store) = inbox(&dir, config(&sim.graph_base_url, sim.ids()));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let inbox = inbox.with_sync(cancel, watch::channel(SyncProgress::default()).0);
        let reply = ask(inbox, Request::SyncNow { account: None }).await;
        let Ok(Reply::Synced {
            report,
            graph_calls,
        }) = reply
        else {
            panic!("no report: {reply:?}");
        };
        assert!(report.cancelled, "{report:?}");
        assert_eq!(graph_calls, 0);
        assert!(sim.stats().calls.is_empty(), "{:?}", sim.stats().calls);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_its_cancel_and_progress_or_for_a_stranger_account_it_is_refused() {
        let ids = crate::sim::Ids::demo();
        // Nothing listens at port 9: a call would fail, not hang.
        let cfg = config("http://127.0.0.1:9", &ids);
        let dir = tempfile::tempdir().unwrap();
        let (plain, _) = inbox(&dir, cfg.clone());
        let e = ask(plain, Request::SyncNow { account: None })
            .await
            .unwrap_err();
        assert!(e.contains("run `dmdesk sync`"), "{e}");
        drop(dir);

        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = inbox(&dir, cfg);
        let inbox = inbox.with_sync(
            CancellationToken::new(),
            watch::channel(SyncProgress::default()).0,
        );
        let stranger = Request::SyncNow {
            account: Some("nosuch".into()),
        };
        let e = ask(inbox, stranger).await.unwrap_err();
        assert_eq!(e, "nosuch is not a configured page or Instagram account id");
    }

    #[test]
    fn no_runtime_is_a_sentence_not_a_panic() {
        let cfg = config("http://127.0.0.1:9", &crate::sim::Ids::demo());
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = inbox(&dir, cfg);
        let inbox = inbox.with_sync(
            CancellationToken::new(),
            watch::channel(SyncProgress::default()).0,
        );
        let e = inbox
            .handle(&me(), Request::SyncNow { account: None })
            .unwrap_err();
        assert!(e.contains("no async runtime"), "{e}");
    }
}
