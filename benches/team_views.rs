//! The team's figures over a real populated store (issue 18):
//!
//! 1. `inbox::report::from_store` (what `dmdesk report` runs when no owner holds
//!    the store) for `--since 7d` and `--since 30d`;
//! 2. switching the list's view: the store's `conversations(filter, 0,
//!    page)` call as the UI's data worker makes it (page = the visible rows,
//!    50 here), for mine / unassigned / all / a label, in the open view and
//!    in the all view, then the same with `count_matching` (the view's count).
//!
//! Medians of BENCH_RUNS (default 5) with min and max; the first call of
//! each filter is printed apart (it may read from disk).
//!
//! Run: `dmdesk sim populate --conversations 100000 --messages 1000000
//! --store DIR`, then `BENCH_STORE=DIR cargo bench --bench team_views`.

use dmdesk::clock::Zone;
use dmdesk::db::Db;
use dmdesk::domain::TimestampMs;
use dmdesk::filter::{AssigneeFilter, ConvFilter, View};
use dmdesk::inbox::report::from_store;
use dmdesk::team::AgentName;
use std::time::{Duration, Instant};

const PAGE: usize = 50;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median, min, max of `runs` timed calls, and the first call's time.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration, Duration, T) {
    let t = Instant::now();
    let mut out = f();
    let first = t.elapsed();
    let mut d = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        out = std::hint::black_box(f());
        d.push(t.elapsed());
    }
    d.sort();
    (first, d[d.len() / 2], d[0], d[d.len() - 1], out)
}

fn main() {
    let Some(path) = std::env::var_os("BENCH_STORE") else {
        eprintln!("BENCH_STORE=DIR (a store from `dmdesk sim populate`) is required");
        return;
    };
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let t = Instant::now();
    let db = Db::open(std::path::Path::new(&path), 128, "bench").expect("store opens");
    println!(
        "store {:?}: {} conversations, opened in {:.1} s",
        path,
        db.conversation_count().expect("count"),
        t.elapsed().as_secs_f64()
    );

    for days in [7, 30] {
        let now = TimestampMs::now();
        let (first, med, min, max, r) = time(runs, || {
            from_store(&*db, days * TimestampMs::DAY, now, Zone::Local).expect("report")
        });
        println!(
            "report --since {days}d: first {:.0} ms; median {:.0} ms (min {:.0}, max {:.0}, n {runs}); opened {} resolved {} replies {} first responses {}",
            ms(first), ms(med), ms(min), ms(max),
            r.totals.opened, r.totals.resolved, r.totals.replies, r.totals.first_response.count
        );
    }

    // Where the report's time goes: its two reads, without the computation.
    let (first, med, min, max, n) = time(runs, || db.all_conversations().count());
    println!(
        "  read all conversations: first {:.0} ms; median {:.0} ms (min {:.0}, max {:.0}) [{n}]",
        ms(first),
        ms(med),
        ms(min),
        ms(max)
    );
    let from = TimestampMs(TimestampMs::now().0 - 31 * TimestampMs::DAY);
    let (first, med, min, max, n) = time(runs, || db.history_since(from).count());
    println!(
        "  read history since 31 days ago: first {:.0} ms; median {:.0} ms (min {:.0}, max {:.0}) [{n} events]",
        ms(first), ms(med), ms(min), ms(max)
    );

    let now = TimestampMs::now();
    let views = [("open", View::Open { at: now }), ("all", View::All)];
    let teams = [
        (
            "mine (alice)",
            AssigneeFilter::Mine(AgentName::from("alice")),
            None,
        ),
        ("unassigned", AssigneeFilter::Unassigned, None),
        ("all", AssigneeFilter::Any, None),
        ("label vip", AssigneeFilter::Any, Some("vip".to_string())),
    ];
    for (vname, view) in views {
        for (tname, assignee, label) in &teams {
            let filter = ConvFilter {
                view,
                assignee: assignee.clone(),
                label: label.clone(),
                ..ConvFilter::default()
            };
            let (first, med, min, max, rows) =
                time(runs, || db.conversations(&filter, 0, PAGE).expect("rows"));
            let (cfirst, cmed, cmin, cmax, count) =
                time(runs, || db.count_matching(&filter).expect("count"));
            println!(
                "view {vname:<4} {tname:<13} first rows: first {:.1} ms, median {:.1} ms (min {:.1}, max {:.1}) [{} rows]; count: first {:.0} ms, median {:.0} ms (min {:.0}, max {:.0}) [{count}]",
                ms(first), ms(med), ms(min), ms(max), rows.len(),
                ms(cfirst), ms(cmed), ms(cmin), ms(cmax)
            );
        }
    }
}
