//! `dmdesk sync [--account ID]`: one sync with a progress bar and a summary.
//! The sync runs behind the inbox service where the store is
//! (`Request::SyncNow`); this end shows its progress and its report.

use crate::cli::{CliError, CliResult, SyncArgs};
use crate::config::Config;
use crate::console::Console;
use crate::domain::AccountId;
use crate::request::sync::{AccountReport, SyncReport};
use crate::request::{Reply, Request};
use crate::update::SyncProgress;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn line(p: &SyncProgress, total_pages: usize) -> String {
    format!(
        "page {}/{} · {} conversations · {} new messages · {} errors",
        (p.pages as usize + usize::from(p.running)).min(total_pages),
        total_pages,
        p.conversations,
        p.messages,
        p.errors
    )
}

/// `ask` is the inbox where the store is, given the request with this
/// command's cancel and the sender of its progress (they cannot travel in
/// a request); it runs on a blocking thread.
pub async fn cli_sync<Ask>(
    config: &Config,
    args: &SyncArgs,
    console: &Console,
    ask: Ask,
) -> CliResult
where
    Ask: FnOnce(Request, CancellationToken, watch::Sender<SyncProgress>) -> Result<Reply, String>
        + Send
        + 'static,
{
    if config.pages.is_empty() {
        return Err(CliError::usage(
            "config key `pages`: no [[pages]] or [[instagram]] configured, nothing to sync",
        ));
    }
    let only = args.account.as_deref().map(AccountId::from);
    if let Some(a) = &only {
        if config.page_for(a).is_none() {
            return Err(CliError::usage(format!(
                "--account {a}: not a configured page or Instagram account id"
            )));
        }
    }
    let total_pages = match &only {
        Some(_) => 1,
        None => config.pages.len(),
    };
    // Ctrl-C, or the attached client gone.
    let cancel = console.cancel.clone();
    let (sender, mut progress) = watch::channel(SyncProgress::default());
    let tty = console.progress_bar();
    let lines = console.line_sink();
    let shower = tokio::spawn(async move {
        let bar = tty.then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} sync: {msg} [{elapsed}]")
            {
                b.set_style(style);
            }
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        let mut last_pages = u32::MAX;
        while progress.changed().await.is_ok() {
            let p = progress.borrow_and_update().clone();
            match &bar {
                Some(b) => b.set_message(line(&p, total_pages)),
                // Plain lines, one per finished page, when stderr is not a terminal.
                None if p.pages != last_pages && (p.pages > 0 || !p.running) => {
                    lines.err(&format!("sync: {}", line(&p, total_pages)));
                    last_pages = p.pages;
                }
                None => {}
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    });

    let sync = Request::SyncNow { account: only };
    // The sender goes with the inbox: the channel closes when it is done.
    let answer = tokio::task::spawn_blocking(move || ask(sync, cancel, sender)).await;
    let _ = shower.await;
    let answer = answer.map_err(|e| CliError::runtime(format!("sync stopped: {e}")))?;
    let Reply::Synced {
        report,
        graph_calls,
    } = answer.map_err(CliError::runtime)?
    else {
        return Err(CliError::runtime(
            "the inbox answered a sync with something else",
        ));
    };
    summary(&report, graph_calls, console);
    if report.cancelled {
        return Err(CliError::runtime(
            "sync interrupted; run it again to resume",
        ));
    }
    // "The others" only when there were others that did not fail.
    match (report.failed(), report.accounts.len()) {
        (0, _) => Ok(()),
        (n, total) if n >= total => Err(CliError::runtime(if n == 1 {
            "sync failed".to_string()
        } else {
            format!("sync failed for all {n} accounts")
        })),
        (n, total) => Err(CliError::runtime(format!(
            "sync failed for {n} of {total} accounts; the others were synced"
        ))),
    }
}

fn summary(r: &SyncReport, calls: u64, console: &Console) {
    for a in &r.accounts {
        match &a.error {
            None => console.err(&format!(
                "ok: {} {}: {} conversations read ({} new), {} messages added, {} profiles, {} calls",
                a.platform, a.account, a.conversations, a.new_conversations, a.messages, a.profiles_fetched, a.calls
            )),
            Some(e) => console.err(&format!("failed: {} {}: {e}", a.platform, a.account)),
        }
    }
    for s in &r.skipped {
        console.err(&format!("skipped: {} {}: {}", s.platform, s.account, s.why));
    }
    let sum = |f: fn(&AccountReport) -> u64| r.accounts.iter().map(f).sum::<u64>();
    console.err(&format!(
        "sync: {} conversations added, {} messages added, {} Graph calls, {} errors",
        sum(|a| a.new_conversations),
        sum(|a| a.messages),
        calls,
        r.failed()
    ));
}
