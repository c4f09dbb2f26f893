//! The team report over a big history: 100,000 conversations and 1,000,000
//! messages' worth of workflow events (`sim::history::generate`: opened,
//! assigned, labels, priority, replies, resolved and reopened over 45 days).
//!
//! 1. compute: the one streaming pass over the events in memory, for
//!    `--since 7d` and `--since 30d` (median of BENCH_RUNS, with min/max);
//! 2. decode + compute: the same with every event decoded from a JSON row
//!    first (a stand-in for reading the rows from a store);
//! 3. off the event loop: the computation on `spawn_blocking` while a
//!    10 ms interval ticks on a current-thread runtime: the largest gap
//!    between ticks.
//!
//! Run: `cargo bench --bench report`. Environment: BENCH_CONVS, BENCH_MSGS,
//! BENCH_RUNS (default 5).
//!
//! With BENCH_STORE=DIR (a store from `dmdesk sim populate`) it measures
//! the store instead, after waiting for its report facts (built at open
//! for a store populated before them): for `--since 7d` and `30d`, the
//! report the old way (the history from the period's 30-day context on,
//! as `from_store` read it before the facts), `report::from_store` (the
//! facts of the days shown) and its fact read alone, at the same clock;
//! the figures must be equal.

use dmdesk::clock::Zone;
use dmdesk::domain::TimestampMs;
use dmdesk::report::{compute, Params, Report};
use dmdesk::sim::history::generate;
use dmdesk::team::HistoryEvent;
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn summary(label: &str, mut d: Vec<Duration>) {
    d.sort();
    println!(
        "{label:<34} median {:>7.1} ms  (min {:.1}, max {:.1}, n {})",
        d[d.len() / 2].as_secs_f64() * 1e3,
        d[0].as_secs_f64() * 1e3,
        d[d.len() - 1].as_secs_f64() * 1e3,
        d.len()
    );
}

/// Median, min, max of `runs` timed calls (after one untimed first call,
/// which may read from disk), and the last result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut out = f();
    let mut d = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        out = std::hint::black_box(f());
        d.push(t.elapsed());
    }
    (d, out)
}

fn on_store(path: &std::path::Path, runs: usize) {
    use dmdesk::inbox::report::from_store;
    use dmdesk::report::Builder;
    let t = Instant::now();
    let db = dmdesk::db::Db::open(path, 128, "bench").expect("store opens");
    println!(
        "store {}: {} conversations, opened in {:.1} s",
        path.display(),
        db.conversation_count().expect("count"),
        t.elapsed().as_secs_f64()
    );
    let store: &dyn dmdesk::store::Store = &*db;
    // A store populated before the facts existed builds them at open, in
    // the background: wait for that (bounded), and say how long it took.
    let t = Instant::now();
    while store
        .report_facts(TimestampMs::now())
        .expect("facts read")
        .is_none()
    {
        assert!(
            t.elapsed() < Duration::from_secs(3600),
            "the report facts were not built within an hour"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "report facts ready after {:.1} s (built at this open if the store predates them)",
        t.elapsed().as_secs_f64()
    );
    let now = TimestampMs::now();
    let history_start = store
        .history_since(TimestampMs(i64::MIN))
        .next()
        .transpose()
        .expect("history reads")
        .map(|e| e.at);
    for days in [7, 30] {
        let since = days * TimestampMs::DAY;
        let p = Params {
            now,
            since_ms: since,
            zone: Zone::Local,
            history_start,
        };
        // Before: what `from_store` did without facts (the conversations'
        // counts, then the history from `read_from`, 30 days of context).
        let (d, old) = timed(runs, || {
            let mut b = Builder::new(p);
            let total = store.conversation_count().expect("count");
            let predating = match history_start {
                Some(h) => store.conversations_active_before(h).expect("count"),
                None => total,
            };
            b.add_conversation_counts(total, predating);
            for e in store.report_history(p.read_from(), p.counted_from()) {
                b.add(&e.expect("history reads"));
            }
            b.finish()
        });
        summary(&format!("before: history + context ({days}d)"), d);
        let (d, r) = timed(runs, || {
            from_store(store, since, now, Zone::Local).expect("report")
        });
        summary(&format!("after: report --since {days}d (facts)"), d);
        println!(
            "  totals: opened {} resolved {} replies {} first responses {} resolutions timed {}",
            r.totals.opened,
            r.totals.resolved,
            r.totals.replies,
            r.totals.first_response.count,
            r.totals.resolution.count
        );
        let (d, n) = timed(runs, || {
            let mut n = 0usize;
            for f in store
                .report_facts(p.counted_from())
                .expect("facts read")
                .expect("facts built")
            {
                std::hint::black_box(f.expect("facts read"));
                n += 1;
            }
            n
        });
        summary(&format!("  read the facts ({days}d)"), d);
        println!("    [{n} facts]");
        // The same figures: the populated history reaches 45 days back,
        // inside the old way's context, so no resolution time differs;
        // only the notes' wording of the context does.
        let (mut a, mut b) = (old, r);
        a.notes.clear();
        b.notes.clear();
        assert_eq!(
            a, b,
            "the facts' figures differ from the history's ({days}d)"
        );
        println!("    figures equal to the old way's: yes");
    }
}

fn main() {
    if let Some(path) = std::env::var_os("BENCH_STORE") {
        on_store(std::path::Path::new(&path), env("BENCH_RUNS", 3) as usize);
        return;
    }
    let convs = env("BENCH_CONVS", 100_000);
    let msgs = env("BENCH_MSGS", 1_000_000);
    let runs = env("BENCH_RUNS", 5) as usize;
    let now = TimestampMs::now();
    let t = Instant::now();
    let h = generate(convs, msgs, 11, now);
    println!(
        "history: {} conversations, {} messages' worth, {} events ({} predating conversations), generated in {:.1} s",
        h.conversations.len(),
        h.messages,
        h.events.len(),
        h.conversations.iter().filter(|c| c.last_activity < h.start).count(),
        t.elapsed().as_secs_f64()
    );
    let params = |days: i64| Params {
        now,
        since_ms: days * TimestampMs::DAY,
        zone: Zone::Local,
        history_start: Some(h.start),
    };
    let run = |p: Params, events: &[HistoryEvent]| -> Report {
        // What the caller reads: from `read_from` on.
        let from = p.read_from();
        let i = events.partition_point(|e| e.at < from);
        compute(p, &events[i..], &h.conversations)
    };

    for days in [7, 30] {
        let mut times = Vec::new();
        let mut r = None;
        for _ in 0..runs {
            let t = Instant::now();
            r = Some(std::hint::black_box(run(params(days), &h.events)));
            times.push(t.elapsed());
        }
        let r = r.expect("at least one run");
        summary(&format!("compute --since {days}d"), times);
        println!(
            "  totals: opened {} resolved {} replies {} first responses {} (median {} s)",
            r.totals.opened,
            r.totals.resolved,
            r.totals.replies,
            r.totals.first_response.count,
            r.totals.first_response.median_ms.unwrap_or(0) / 1000
        );
    }

    let rows: Vec<Vec<u8>> = h
        .events
        .iter()
        .map(|e| serde_json::to_vec(e).expect("events serialise"))
        .collect();
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let p = params(7);
        let from = p.read_from();
        let mut b = dmdesk::report::Builder::new(p);
        for c in &h.conversations {
            b.add_conversation(c);
        }
        for row in &rows {
            let e: HistoryEvent = serde_json::from_slice(row).expect("rows decode");
            if e.at >= from {
                b.add(&e);
            }
        }
        std::hint::black_box(b.finish());
        times.push(t.elapsed());
    }
    summary("decode every JSON row + compute 7d", times);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let events = std::sync::Arc::new(h.events.clone());
    let conversations = std::sync::Arc::new(h.conversations.clone());
    let (took, max_gap, ticks) = rt.block_on(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.tick().await;
        let p = params(30);
        let t = Instant::now();
        let job = tokio::task::spawn_blocking(move || {
            let from = p.read_from();
            let i = events.partition_point(|e| e.at < from);
            compute(p, &events[i..], conversations.iter())
                .totals
                .replies
        });
        tokio::pin!(job);
        let (mut last, mut gap, mut ticks) = (Instant::now(), Duration::ZERO, 0u32);
        loop {
            tokio::select! {
                r = &mut job => { r.expect("report task"); break; }
                _ = tick.tick() => {
                    gap = gap.max(last.elapsed());
                    last = Instant::now();
                    ticks += 1;
                }
            }
        }
        (t.elapsed(), gap, ticks)
    });
    println!(
        "off the event loop: 30d report on spawn_blocking took {:.1} ms; the loop ticked {ticks} times, largest gap {:.1} ms (interval 10 ms)",
        took.as_secs_f64() * 1e3,
        max_gap.as_secs_f64() * 1e3
    );
}
