//! Render benchmark: a big store opens and draws as fast as an empty one,
//! because the list and the thread read only the rows they show.
//!
//! Run: `cargo bench --bench ui_render` (env BENCH_CONVS, BENCH_MSGS,
//! BENCH_THREAD to change the size). Prints medians of 5 runs.

use dmdesk::app::command::Command;
use dmdesk::app::event::{Event, ListRows, ThreadData};
use dmdesk::app::fixtures;
use dmdesk::app::{self, State};
use dmdesk::change::Change;
use dmdesk::domain::*;
use dmdesk::store::Store;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn msg(conv: &ConvKey, i: usize, t: i64) -> Change {
    let mut m = Message::inbound(
        conv.clone(),
        Mid::new(format!("m.{}.{i}", conv.user)),
        TimestampMs(t),
    );
    m.text = Some(format!(
        "message {i}: hello, is this still available? 你好 👋"
    ));
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: true,
    }
}

fn populate(store: &Store, convs: usize, msgs: usize, thread: usize) {
    let base = fixtures::NOW.0 - 30 * TimestampMs::DAY;
    let big = ConvKey::new(Platform::Messenger, fixtures::PAGE, "big");
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..thread {
        batch.push(msg(&big, i, base + i as i64 * 1000));
        if batch.len() == 10_000 {
            store.apply(&batch).expect("apply");
            batch.clear();
        }
    }
    let rest = msgs.saturating_sub(thread);
    for i in 0..rest {
        let c = i % convs;
        let key = ConvKey::new(Platform::Messenger, fixtures::PAGE, format!("u{c}"));
        batch.push(msg(&key, i, base + i as i64));
        if batch.len() == 10_000 {
            store.apply(&batch).expect("apply");
            batch.clear();
        }
    }
    store.apply(&batch).expect("apply");
    store.flush().expect("flush");
}

/// Run the commands the way src/tui.rs does (reads only what is shown).
fn serve(store: &Store, s: &mut State, cmds: Vec<Command>) {
    let mut queue = std::collections::VecDeque::from(cmds);
    while let Some(c) = queue.pop_front() {
        let ev = match c {
            Command::LoadList {
                filter,
                offset,
                limit,
                generation,
                ..
            } => {
                let rows = store.conversations(&filter, offset, limit).expect("rows");
                let total = Some(store.conversation_count().expect("count"));
                Event::ListLoaded(ListRows {
                    offset,
                    rows,
                    total,
                    generation,
                })
            }
            Command::LoadThread { conv, limit } => {
                let Some(c) = store.conversation(&conv).expect("conv") else {
                    continue;
                };
                Event::ThreadLoaded(Box::new(ThreadData {
                    contact: store.contact(&conv).expect("contact"),
                    messages: store.messages_latest(&conv, limit).expect("msgs"),
                    draft: store.draft(&conv).expect("draft"),
                    conv: c,
                    limit,
                }))
            }
            _ => continue,
        };
        queue.extend(app::update(s, ev));
    }
}

/// The store's group-flush thread keeps the sled handle (and its file lock)
/// until its next wake-up after the Store is dropped (longer after a big
/// write): wait it out, outside the timed sections.
fn settle() {
    std::thread::sleep(Duration::from_millis(800));
}

/// Open once the previous handle is gone; returns the store and when the
/// successful attempt started (failed attempts are not timed).
fn open_when_free(path: &std::path::Path) -> (Arc<Store>, Instant) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let t = Instant::now();
        match Store::open(path, 256, "bench") {
            Ok(s) => return (s, t),
            Err(dmdesk::store::StoreError::Held(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(e) => panic!("open: {e}"),
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let convs = env("BENCH_CONVS", 100_000);
    let msgs = env("BENCH_MSGS", 1_000_000);
    let thread = env("BENCH_THREAD", 50_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let t0 = Instant::now();
    {
        let store = Store::open(&path, 256, "bench").expect("open");
        populate(&store, convs, msgs, thread);
    }
    settle();
    println!(
        "built store: {convs} conversations (+1 with {thread} messages), {msgs} messages in {:.1?}",
        t0.elapsed()
    );

    let mut first = Vec::new();
    let mut frames = Vec::new();
    for _ in 0..5 {
        let (store, t) = open_when_free(&path);
        let mut s = State::new(fixtures::options(), fixtures::NOW, (120, 40));
        let cmds = app::init(&mut s);
        serve(&store, &mut s, cmds);
        let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        term.draw(|f| dmdesk::ui::render(&s, f)).expect("draw");
        first.push(t.elapsed());

        // Open the 50k-message thread and time one frame of list + thread.
        let big = store
            .conversation(&ConvKey::new(Platform::Messenger, fixtures::PAGE, "big"))
            .expect("read")
            .expect("big thread exists");
        s.thread = None;
        let t = Instant::now();
        let cmds = vec![Command::LoadThread {
            conv: big.key.clone(),
            limit: app::state::THREAD_PAGE,
        }];
        s.thread = Some(app::state::ThreadPane {
            conv: big,
            contact: None,
            messages: vec![],
            scroll: 0,
            new_below: 0,
            reached_start: false,
            loading_older: true,
            cursor: None,
        });
        serve(&store, &mut s, cmds);
        let reload = Command::LoadList {
            filter: Default::default(),
            offset: 0,
            limit: s.list.visible,
            count: true,
            generation: s.list.generation,
        };
        serve(&store, &mut s, vec![reload]);
        term.draw(|f| dmdesk::ui::render(&s, f)).expect("draw");
        frames.push(t.elapsed());
        assert!(s
            .thread
            .as_ref()
            .is_some_and(|t| t.messages.len() == app::state::THREAD_PAGE));
        drop(store);
        settle();
    }
    println!(
        "open store + load first screen + first frame (120x40): median {:.2?} of {:?}",
        median(first.clone()),
        first
    );
    println!("load list + {thread}-message thread (visible rows only) + one frame: median {:.2?} of {:?}", median(frames.clone()), frames);
}
