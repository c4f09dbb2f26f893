//! Counters for `GET /metrics` (Prometheus text format).

use crate::report::{Report, Times, BUCKETS_SECONDS};
use crate::token_life::{Expiry, TokenLife};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a webhook request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    MissingSignature,
    BadSignature,
    TooLarge,
    BadVerifyToken,
    StoreUnavailable,
    /// 503: too many large bodies being read at once (Meta retries).
    Busy,
    /// 408: the body did not arrive within the body timeout.
    SlowBody,
    /// The applier was more than `[store] max_apply_lag` events behind.
    ApplyLag,
}

impl Rejection {
    const ALL: [Rejection; 8] = [
        Rejection::MissingSignature,
        Rejection::BadSignature,
        Rejection::TooLarge,
        Rejection::BadVerifyToken,
        Rejection::StoreUnavailable,
        Rejection::Busy,
        Rejection::SlowBody,
        Rejection::ApplyLag,
    ];
    fn label(self) -> &'static str {
        match self {
            Rejection::MissingSignature => "missing_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::TooLarge => "too_large",
            Rejection::BadVerifyToken => "bad_verify_token",
            Rejection::StoreUnavailable => "store_unavailable",
            Rejection::Busy => "busy",
            Rejection::SlowBody => "slow_body",
            Rejection::ApplyLag => "apply_lag",
        }
    }
}

/// Apply latency buckets, seconds (from the webhook's receipt to applied).
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

pub struct Metrics {
    received: AtomicU64,
    /// Highest seq acknowledged to Meta, and highest applied: their
    /// difference is the applier's lag.
    logged_seq: AtomicU64,
    applied_seq: AtomicU64,
    /// Past this lag the webhook answers 503 (`[store] max_apply_lag`).
    max_lag: AtomicU64,
    applied: AtomicU64,
    quarantined: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
    latency_buckets: [AtomicU64; 10],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    /// Token expiry per account: (kind label, expiry).
    token_expiry: Mutex<BTreeMap<String, (&'static str, Expiry)>>,
    /// The team report's figures, refreshed in the background
    /// (`refresh_report`): `/metrics` never computes them itself.
    report: Mutex<Option<Arc<Report>>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            received: AtomicU64::new(0),
            logged_seq: AtomicU64::new(0),
            applied_seq: AtomicU64::new(0),
            max_lag: AtomicU64::new(crate::config::DEFAULT_MAX_APPLY_LAG),
            applied: AtomicU64::new(0),
            quarantined: AtomicU64::new(0),
            rejected: Default::default(),
            latency_buckets: Default::default(),
            latency_count: AtomicU64::new(0),
            latency_sum_us: AtomicU64::new(0),
            token_expiry: Mutex::default(),
            report: Mutex::default(),
        }
    }
}

impl Metrics {
    /// Events logged and not yet applied.
    pub fn lag(&self) -> u64 {
        self.logged_seq
            .load(Ordering::Relaxed)
            .saturating_sub(self.applied_seq.load(Ordering::Relaxed))
    }
    /// The applier is too far behind to take more (answer 503).
    pub fn lagging(&self) -> bool {
        self.lag() >= self.max_lag.load(Ordering::Relaxed)
    }
    pub fn set_max_lag(&self, events: u64) {
        self.max_lag.store(events, Ordering::Relaxed);
    }
    /// Event `seq` is durable in the log.
    pub fn logged(&self, seq: u64) {
        self.logged_seq.fetch_max(seq, Ordering::Relaxed);
    }
    /// Everything up to `seq` is applied.
    pub fn applied_up_to(&self, seq: u64) {
        self.applied_seq.fetch_max(seq, Ordering::Relaxed);
    }
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    pub fn rejected(&self, why: Rejection) {
        let i = Rejection::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.rejected[i].fetch_add(1, Ordering::Relaxed);
    }
    pub fn quarantined(&self) {
        self.quarantined.fetch_add(1, Ordering::Relaxed);
    }
    /// One event applied, `latency_ms` after it was received.
    pub fn applied(&self, latency_ms: i64) {
        self.applied.fetch_add(1, Ordering::Relaxed);
        let secs = latency_ms.max(0) as f64 / 1000.0;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add((latency_ms.max(0) as u64) * 1000, Ordering::Relaxed);
    }

    /// The account's token as last learned (the expiry gauge).
    pub fn token_life(&self, life: &TokenLife) {
        self.token_expiry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(life.account.0.clone(), (life.kind.label(), life.expiry));
    }

    /// Replace the report `/metrics` shows.
    pub fn set_report(&self, r: Report) {
        *self.report.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(r));
    }

    pub fn received_count(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "# HELP dmdesk_events_received_total Webhook bodies accepted and logged."
        );
        let _ = writeln!(s, "# TYPE dmdesk_events_received_total counter");
        let _ = writeln!(s, "dmdesk_events_received_total {}", g(&self.received));
        let _ = writeln!(
            s,
            "# HELP dmdesk_events_applied_total Logged events applied to the store."
        );
        let _ = writeln!(s, "# TYPE dmdesk_events_applied_total counter");
        let _ = writeln!(s, "dmdesk_events_applied_total {}", g(&self.applied));
        let _ = writeln!(
            s,
            "# HELP dmdesk_events_quarantined_total Logged events that could not be applied."
        );
        let _ = writeln!(s, "# TYPE dmdesk_events_quarantined_total counter");
        let _ = writeln!(
            s,
            "dmdesk_events_quarantined_total {}",
            g(&self.quarantined)
        );
        let _ = writeln!(
            s,
            "# HELP dmdesk_apply_lag_events Events logged and not yet applied."
        );
        let _ = writeln!(s, "# TYPE dmdesk_apply_lag_events gauge");
        let _ = writeln!(s, "dmdesk_apply_lag_events {}", self.lag());
        let _ = writeln!(
            s,
            "# HELP dmdesk_requests_rejected_total Webhook requests turned away, by reason."
        );
        let _ = writeln!(s, "# TYPE dmdesk_requests_rejected_total counter");
        for (i, r) in Rejection::ALL.iter().enumerate() {
            let _ = writeln!(
                s,
                "dmdesk_requests_rejected_total{{reason=\"{}\"}} {}",
                r.label(),
                g(&self.rejected[i])
            );
        }
        let _ = writeln!(
            s,
            "# HELP dmdesk_apply_latency_seconds From receipt to applied."
        );
        let _ = writeln!(s, "# TYPE dmdesk_apply_latency_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "dmdesk_apply_latency_seconds_bucket{{le=\"{b}\"}} {}",
                g(&self.latency_buckets[i])
            );
        }
        let count = g(&self.latency_count);
        let _ = writeln!(
            s,
            "dmdesk_apply_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            s,
            "dmdesk_apply_latency_seconds_sum {}",
            g(&self.latency_sum_us) as f64 / 1e6
        );
        let _ = writeln!(s, "dmdesk_apply_latency_seconds_count {count}");
        self.render_token_expiry(&mut s, crate::domain::TimestampMs::now());
        let report = self
            .report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(r) = report {
            render_report(&mut s, &r);
        }
        s
    }

    /// Seconds until each account's token expires (`+Inf`: never; an
    /// unknown expiry has no line); `exact="false"` is an upper bound.
    fn render_token_expiry(&self, s: &mut String, now: crate::domain::TimestampMs) {
        let _ = writeln!(
            s,
            "# HELP dmdesk_token_expiry_seconds Seconds until the account's access token expires."
        );
        let _ = writeln!(s, "# TYPE dmdesk_token_expiry_seconds gauge");
        let tokens = self.token_expiry.lock().unwrap_or_else(|e| e.into_inner());
        for (account, (kind, expiry)) in tokens.iter() {
            let (value, exact) = match expiry {
                Expiry::Never => ("+Inf".to_string(), true),
                Expiry::At(t) => (((t.0 - now.0).div_euclid(1000)).to_string(), true),
                Expiry::NoLaterThan(t) => (((t.0 - now.0).div_euclid(1000)).to_string(), false),
                Expiry::Unknown => continue,
            };
            let account = account.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                s,
                "dmdesk_token_expiry_seconds{{account=\"{account}\",kind=\"{kind}\",exact=\"{exact}\"}} {value}"
            );
        }
    }
}

/// Compute the report now and then every `every`, on a blocking thread
/// (off the request path and the event loop), and hand it to `/metrics`.
/// `compute` returning None (the store failed: it logs why) keeps the last
/// report. Ends when `cancel` fires.
pub async fn refresh_report<F>(
    metrics: Arc<Metrics>,
    every: Duration,
    cancel: tokio_util::sync::CancellationToken,
    compute: F,
) where
    F: Fn() -> Option<Report> + Send + Sync + 'static,
{
    let compute = Arc::new(compute);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let c = Arc::clone(&compute);
        match tokio::task::spawn_blocking(move || c()).await {
            Ok(Some(r)) => metrics.set_report(r),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "report refresh failed"),
        }
    }
}

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn help(s: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(s, "# HELP {name} {text}");
    let _ = writeln!(s, "# TYPE {name} {kind}");
}

fn histogram(s: &mut String, name: &str, labels: &str, t: &Times) {
    for (le, n) in BUCKETS_SECONDS.iter().zip(t.buckets) {
        let _ = writeln!(s, "{name}_bucket{{{labels},le=\"{le}\"}} {n}");
    }
    let _ = writeln!(s, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", t.count);
    let _ = writeln!(s, "{name}_sum{{{labels}}} {}", t.sum_ms as f64 / 1000.0);
    let _ = writeln!(s, "{name}_count{{{labels}}} {}", t.count);
}

/// The team report's figures: gauges and histograms over its period (a
/// sliding window, so unlike counters they can fall).
fn render_report(s: &mut String, r: &Report) {
    help(
        s,
        "dmdesk_report_window_seconds",
        "gauge",
        "The period the report figures cover, ending when they were computed.",
    );
    let _ = writeln!(
        s,
        "dmdesk_report_window_seconds {}",
        (r.to_ms - r.from_ms) / 1000
    );
    help(
        s,
        "dmdesk_report_generated_timestamp_seconds",
        "gauge",
        "When the report figures were computed.",
    );
    let _ = writeln!(
        s,
        "dmdesk_report_generated_timestamp_seconds {}",
        r.generated_ms / 1000
    );
    let page = |p: &crate::report::PageRow| {
        format!(
            "platform=\"{}\",account=\"{}\"",
            label(&p.platform),
            label(&p.account_id)
        )
    };
    for (name, text, pick) in [
        (
            "dmdesk_conversations_opened",
            "Conversations a customer opened in the report window, by page.",
            (|f: &crate::report::Figures| f.opened) as fn(&crate::report::Figures) -> u64,
        ),
        (
            "dmdesk_conversations_resolved",
            "Conversations resolved in the report window, by page.",
            |f| f.resolved,
        ),
    ] {
        help(s, name, "gauge", text);
        for p in &r.pages {
            let _ = writeln!(s, "{name}{{{}}} {}", page(p), pick(&p.figures));
        }
    }
    let agent = |a: &crate::report::AgentRow| {
        format!(
            "agent=\"{}\"",
            label(
                a.agent
                    .as_deref()
                    .unwrap_or(crate::report::format::NO_AGENT)
            )
        )
    };
    help(
        s,
        "dmdesk_replies",
        "gauge",
        "Agents' replies in the report window; agent=\"(no agent)\" is Meta's page inbox.",
    );
    for a in &r.agents {
        let _ = writeln!(s, "dmdesk_replies{{{}}} {}", agent(a), a.figures.replies);
    }
    help(
        s,
        "dmdesk_replies_in_window",
        "gauge",
        "Of those replies, the ones sent inside the 24-hour window.",
    );
    for a in &r.agents {
        let _ = writeln!(
            s,
            "dmdesk_replies_in_window{{{}}} {}",
            agent(a),
            a.figures.replies_in_window
        );
    }
    help(
        s,
        "dmdesk_first_response_seconds",
        "histogram",
        "From the customer's first unanswered message to the first reply, in the report window, by page.",
    );
    for p in &r.pages {
        histogram(
            s,
            "dmdesk_first_response_seconds",
            &page(p),
            &p.figures.first_response,
        );
    }
    help(
        s,
        "dmdesk_resolution_seconds",
        "histogram",
        "From opened to resolved, in the report window, by page.",
    );
    for p in &r.pages {
        histogram(
            s,
            "dmdesk_resolution_seconds",
            &page(p),
            &p.figures.resolution,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.received();
        m.applied(3);
        m.rejected(Rejection::BadSignature);
        let t = m.render();
        assert!(t.contains("dmdesk_events_received_total 1"));
        assert!(t.contains("dmdesk_requests_rejected_total{reason=\"bad_signature\"} 1"));
        assert!(t.contains("dmdesk_apply_latency_seconds_bucket{le=\"0.005\"} 1"));
        assert!(t.contains("dmdesk_apply_latency_seconds_bucket{le=\"0.001\"} 0"));
        assert!(t.contains("dmdesk_apply_latency_seconds_count 1"));
    }

    #[test]
    fn lag_is_logged_minus_applied_and_bounded() {
        let m = Metrics::default();
        m.set_max_lag(3);
        m.logged(5);
        m.applied_up_to(3);
        assert_eq!(m.lag(), 2);
        assert!(!m.lagging());
        m.logged(6);
        assert!(m.lagging());
        assert!(m.render().contains("dmdesk_apply_lag_events 3\n"));
        m.applied_up_to(6);
        assert_eq!(m.lag(), 0);
        assert!(!m.lagging());
    }
}
