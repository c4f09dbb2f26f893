//! Full-text search (issue 12): what the index costs apply, and how fast
//! the first results come on a large store.
//!
//! 1. Apply with and without the index, in the same process, alternating
//!    (off, on, off, on, ...), each on a fresh store: sync-shaped batches
//!    (100 threads × 30 messages an apply, as benches/sync_backfill.rs) and
//!    webhook-shaped applies (one message each). Medians of `BENCH_RUNS`.
//! 2. Search latency on `BENCH_CONVS` conversations / `BENCH_MSGS` messages
//!    built by `sim populate`'s code through apply (kept at `BENCH_STORE`
//!    and reused when it exists), for a set of queries, cold then the
//!    median of 5: the first page (`PAGE` conversations, or fewer when the
//!    time budget stops it: what the agent sees first), and 200
//!    conversations by following the pages (what one search listed before).
//!
//! cargo bench --bench search
//! BENCH_CONVS=100000 BENCH_MSGS=1000000 BENCH_STORE=/tmp/search-1m cargo bench --bench search

use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Direction, Message, Mid, MsgStatus, Platform, TimestampMs};
use dmdesk::search::{bench_set_indexing, SearchResults, PAGE};
use dmdesk::store::Store;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

const PHRASES: [&str; 8] = [
    "message {j} in thread {i}, some ordinary length text",
    "Where is my order #{i}? It was due on Monday",
    "Danke für die schnelle Antwort! 👍",
    "커피 정말 맛있어요 😋 주문 {j}",
    "你好，我的订单{i}在哪里？",
    "Le café était délicieux, merci ❤️",
    "Can I change the delivery address to {j} Main St?",
    "متى سيصل طلبي؟ {i}",
];

fn message(i: usize, j: usize) -> Change {
    let conv = ConvKey::new(Platform::Messenger, "P", format!("U{i}"));
    let mut m = Message::inbound(
        conv,
        Mid::from(format!("m_{i}_{j}").as_str()),
        TimestampMs(1_700_000_000_000 + (i * 100 + j) as i64 * 1000),
    );
    if j % 4 == 3 {
        m.direction = Direction::Out;
        m.status = MsgStatus::Sent;
    }
    let p = PHRASES[(i + j) % PHRASES.len()];
    m.text = Some(
        p.replace("{i}", &i.to_string())
            .replace("{j}", &j.to_string()),
    );
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: true,
    }
}

/// Messages applied per second: `batches` in order on a fresh store.
fn apply_rate(batches: &[Vec<Change>]) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), 64, "bench").expect("store");
    let t = Instant::now();
    let mut n = 0;
    for b in batches {
        n += db.apply(b).expect("apply").new_messages;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn apply_cost(runs: usize) {
    let convs = env("BENCH_APPLY_CONVS", 10_000);
    let sync: Vec<Vec<Change>> = (0..convs.div_ceil(100))
        .map(|p| {
            (p * 100..((p + 1) * 100).min(convs))
                .flat_map(|i| (0..30).map(move |j| message(i, j)))
                .collect()
        })
        .collect();
    let hooks: Vec<Vec<Change>> = (0..env("BENCH_WEBHOOKS", 20_000))
        .map(|k| vec![message(k % 2_000, k / 2_000)])
        .collect();
    let (mut sync_off, mut sync_on, mut hook_off, mut hook_on) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        for on in [false, true] {
            bench_set_indexing(on);
            let s = apply_rate(&sync);
            let h = apply_rate(&hooks);
            eprintln!(
                "run {run}, index {}: sync-shaped {s:.0} messages/s, webhook-shaped {h:.0} messages/s",
                if on { "on " } else { "off" }
            );
            if on {
                sync_on.push(s);
                hook_on.push(h);
            } else {
                sync_off.push(s);
                hook_off.push(h);
            }
        }
    }
    bench_set_indexing(true);
    let (so, sn, ho, hn) = (
        median(sync_off),
        median(sync_on),
        median(hook_off),
        median(hook_on),
    );
    println!(
        "apply, median of {runs}: sync-shaped ({convs} conversations x 30, 100 threads an apply) {so:.0} -> {sn:.0} messages/s with the index ({:+.1} %); webhook-shaped (one message an apply) {ho:.0} -> {hn:.0} messages/s ({:+.1} %) (goal: at most 20 % slower)",
        (sn / so - 1.0) * 100.0,
        (hn / ho - 1.0) * 100.0
    );
}

fn search_latency() {
    let convs = env("BENCH_CONVS", 20_000) as u64;
    let msgs = env("BENCH_MSGS", 200_000) as u64;
    let kept = std::env::var("BENCH_STORE").ok();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = kept
        .as_deref()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("store"));
    let fresh = !path.exists();
    let db = Db::open(&path, 128, "bench").expect("store");
    if fresh {
        let r = dmdesk::sim::populate::populate_store(&db, convs, msgs, 7).expect("populate");
        db.flush().expect("flush");
        eprintln!(
            "populated {} conversations, {} messages in {:.1}s ({:.0} messages/s, index on)",
            r.conversations,
            r.messages,
            r.elapsed.as_secs_f64(),
            r.messages_per_second()
        );
    }
    let store = db.store();
    eprintln!(
        "store: {} conversations at {}",
        store.conversation_count().expect("count"),
        path.display()
    );
    // Common words, rare ones, CJK and emoji, one and two characters, and
    // strings that are nowhere (the whole candidate set is verified).
    let queries = [
        "order",
        "ORDER",
        "coffee",
        "café",
        "주문",
        "订",
        "😋",
        "❤️",
        "a",
        "Ø",
        "xq",
        "zzzz nowhere",
        "order arrived yesterday",
    ];
    println!(
        "search: first page (up to {PAGE} conversations) | {LISTED} conversations by pages; cold / median of 5:"
    );
    for q in queries {
        let first = timed(|| store.search(q, None, PAGE).expect("search"));
        let listed = timed(|| pages(&**store, q));
        println!(
            "  {q:>24?}: first {:>3} hits{} cold {:>7.1} ms warm {:>7.1} ms | {:>3} hits{} cold {:>8.1} ms warm {:>8.1} ms",
            first.0.hits.len(),
            if first.0.more() { "+" } else { " " },
            first.1,
            first.2,
            listed.0.hits.len(),
            if listed.0.more() { "+" } else { " " },
            listed.1,
            listed.2,
        );
    }
}

/// What the old single search listed: 200 conversations.
const LISTED: usize = 200;

/// Pages followed until `LISTED` conversations or the end.
fn pages(store: &dyn Store, q: &str) -> SearchResults {
    let mut all = store.search(q, None, PAGE).expect("search");
    while all.hits.len() < LISTED {
        let Some(from) = all.next.take() else { break };
        let mut page = store.search(q, Some(&from), PAGE).expect("search");
        all.hits.append(&mut page.hits);
        all.next = page.next;
    }
    all
}

/// The result of a cold run, its milliseconds, and the median of 5 more.
fn timed(f: impl Fn() -> SearchResults) -> (SearchResults, f64, f64) {
    let t = Instant::now();
    let r = f();
    let cold = t.elapsed().as_secs_f64() * 1e3;
    let warm: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    (r, cold, median(warm))
}

fn main() {
    let runs = env("BENCH_RUNS", 3);
    if std::env::var("BENCH_SKIP_APPLY").is_err() {
        apply_cost(runs);
    }
    search_latency();
}
