//! Applies logged webhook events to the store, in order, each exactly once in
//! effect. What cannot be parsed or applied is quarantined with its reason.

use crate::config::Config;
use crate::db::Db;
use crate::domain::{ConvKey, TimestampMs};
use crate::meta::webhook::{parse_body, ParseCtx};
use crate::metrics::Metrics;
use crate::store::{EventRecord, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct Ingest {
    store: Db,
    ctx: ParseCtx,
    metrics: Arc<Metrics>,
    /// New contacts go to the profile worker (if one runs).
    profiles: Option<mpsc::Sender<ConvKey>>,
}

/// The outcome of one pass over pending or quarantined events.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestReport {
    pub applied: u64,
    pub quarantined: u64,
}

impl Ingest {
    pub fn new(
        store: Db,
        config: &Config,
        metrics: Arc<Metrics>,
        profiles: Option<mpsc::Sender<ConvKey>>,
    ) -> Ingest {
        Ingest {
            store,
            ctx: ParseCtx {
                app_id: config.server.app_id.clone(),
                instagram_ids: config.instagram_ids(),
                received: TimestampMs(0),
            },
            metrics,
            profiles,
        }
    }

    /// Apply every event logged after the applied mark.
    pub fn apply_pending(&self) -> crate::store::Result<IngestReport> {
        let mut report = IngestReport::default();
        loop {
            let after = self.store.applied_seq()?;
            self.metrics.applied_up_to(after);
            let batch = self.store.events_after(after, 256)?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                return Ok(report);
            };
            for ev in &batch {
                if self.apply_event(ev)? {
                    report.applied += 1;
                } else {
                    report.quarantined += 1;
                }
            }
            self.store.set_applied_seq(last)?;
            self.metrics.applied_up_to(last);
        }
    }

    /// Parse and apply one event. Ok(false): it was quarantined.
    fn apply_event(&self, ev: &EventRecord) -> crate::store::Result<bool> {
        let ctx = ParseCtx {
            received: TimestampMs(ev.received_ms),
            ..self.ctx.clone()
        };
        let reason = match parse_body(&ev.body, &ctx) {
            Err(e) => Some(e.to_string()),
            Ok(parsed) => match self.store.apply(&parsed.changes) {
                // A store that cannot write (a full disk): not the event's
                // fault. Stop here; the applier retries it later.
                Err(e @ StoreError::Backend(_)) => return Err(e),
                Err(e) => Some(format!("apply failed: {e}")),
                Ok(out) => {
                    if let Some(tx) = &self.profiles {
                        for k in out.new_contacts {
                            // A full queue only delays the fetch: the periodic sweep finds it.
                            let _ = tx.try_send(k);
                        }
                    }
                    (!parsed.problems.is_empty()).then(|| parsed.problems.join("; "))
                }
            },
        };
        match reason {
            None => {
                self.metrics.applied(TimestampMs::now().0 - ev.received_ms);
                Ok(true)
            }
            Some(r) => {
                tracing::warn!(seq = ev.seq, reason = %r, "webhook event quarantined");
                self.store.quarantine_event(ev.seq, &r)?;
                self.metrics.quarantined();
                self.store
                    .report_error(format!("webhook event {} quarantined: {r}", ev.seq));
                Ok(false)
            }
        }
    }

    /// Re-apply quarantined events; those that now apply are released.
    pub fn replay(&self) -> crate::store::Result<IngestReport> {
        let mut report = IngestReport::default();
        for seq in self.store.quarantined()? {
            let Some(ev) = self.store.get_event(seq)? else {
                continue;
            };
            self.store.release_event(seq)?;
            if self.apply_event(&ev)? {
                report.applied += 1;
            } else {
                report.quarantined += 1;
            }
        }
        Ok(report)
    }

    /// Apply what the server accepted before it stopped.
    fn drain(&self) {
        if let Err(e) = self.apply_pending() {
            tracing::error!(error = %e, "final ingest pass failed");
        }
    }

    /// Run until cancelled: apply whenever the webhook handler pokes `wake`.
    pub async fn run(self, wake: Arc<Notify>, cancel: CancellationToken) {
        // Retries back off to 10 s and are logged once per failure.
        let mut backoff = std::time::Duration::ZERO;
        loop {
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.apply_pending()).await {
                Ok(Ok(_)) => {
                    if !backoff.is_zero() {
                        tracing::info!("ingest works again");
                        backoff = std::time::Duration::ZERO;
                    }
                }
                Ok(Err(e)) => {
                    if backoff.is_zero() {
                        tracing::error!(error = %e, "ingest failed; retrying");
                        self.store.report_error(format!("ingest: {e}; retrying"));
                    }
                    backoff = (backoff * 2).clamp(
                        std::time::Duration::from_millis(250),
                        std::time::Duration::from_secs(10),
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => continue,
                        // A stop during the backoff still drains: the error
                        // may have passed, and what was acknowledged is due.
                        _ = cancel.cancelled() => return self.drain(),
                    }
                }
                Err(e) => tracing::error!(error = %e, "ingest task panicked"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = cancel.cancelled() => return self.drain(),
            }
        }
    }
}
