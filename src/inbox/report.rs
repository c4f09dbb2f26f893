//! The report from a store: the conversations' counts, then the report
//! facts of the days it shows (or, while a store is still building them,
//! what it counts of the history from `Params::read_from` on), streamed
//! (never collected). The report itself (src/report/) is pure; this is where it
//! meets the store.

use crate::clock::Zone;
use crate::db::Db;
use crate::domain::TimestampMs;
use crate::report::{Builder, Params, Report};
use crate::store::{Result, Store};

pub fn from_store(
    store: &dyn Store,
    since_ms: i64,
    now: TimestampMs,
    zone: Zone,
) -> Result<Report> {
    let history_start = store
        .history_since(TimestampMs(i64::MIN))
        .next()
        .transpose()?
        .map(|e| e.at);
    let p = Params {
        now,
        since_ms,
        zone,
        history_start,
    };
    let mut b = Builder::new(p);
    let total = store.conversation_count()?;
    let predating = match history_start {
        Some(h) => store.conversations_active_before(h)?,
        None => total,
    };
    b.add_conversation_counts(total, predating);
    match store.report_facts(p.counted_from())? {
        // Only the days it shows: each fact's duration is already known.
        Some(facts) => {
            for f in facts {
                b.add_fact(&f?);
            }
        }
        // Still being built: the history with its context, the old way.
        None => {
            for e in store.report_history(p.read_from(), p.counted_from()) {
                b.add(&e?);
            }
        }
    }
    Ok(b.finish())
}

/// The default report (`DEFAULT_SINCE_MS`, the process's zone) for
/// `/metrics`, as `metrics::refresh_report` calls it; a failed read is
/// logged and keeps the last report.
pub fn for_metrics(store: Db) -> impl Fn() -> Option<Report> + Send + Sync + 'static {
    move || match from_store(
        &*store,
        crate::report::DEFAULT_SINCE_MS,
        TimestampMs::now(),
        Zone::Local,
    ) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "the report for /metrics could not be computed");
            None
        }
    }
}
