//! Terminal UI benchmarks on a big store (100,000 conversations plus one of
//! 50,000 messages; 1,000,000 messages in all), driving the REAL event loop
//! (`dmdesk::tui::run_loop`) on a `TestBackend`:
//!
//! 1. first frame: open the store, start the loop, until the first frame
//!    that shows list rows;
//! 2. one frame of list + the 50k-message thread: the store reads and the
//!    drawing timed apart (drawing with 200 and with all 50,000 messages of
//!    the thread loaded);
//! 3. webhook-to-frame: the real runtime (webhook server, ingest) in this
//!    process, signed webhooks POSTed on loopback, from each 200 response to
//!    the first drawn frame whose buffer shows that message.
//!
//! 4. thread edits with 50,000 messages loaded (in memory, no store): a new
//!    message at the end, and a reaction, an edit, a status change and an
//!    unsend in the middle, each timed as update + the next frame.
//!
//! 5. webhook-to-frame while pictures load (issue 17): as 3, on a small
//!    store of its own, with a thread of 200 messages, each with a picture
//!    whose URL points at a fake CDN on 127.0.0.1 (800×600 PNGs answered
//!    after 50–200 ms), opened just before the webhooks, so its fetches and
//!    decodes overlap them; runs with pictures off and on alternate.
//!
//! Run: `cargo bench --bench ui_render`; `BENCH_ONLY=relayout` runs only 4,
//! `BENCH_ONLY=pictures` only 5 (BENCH_CONVS default 2,000 there),
//! `BENCH_ONLY=count` times the open view's list load with and without its
//! count on the store at BENCH_STORE.
//! Environment: BENCH_CONVS, BENCH_MSGS,
//! BENCH_THREAD (size), BENCH_STORE (keep the built store at this path and
//! reuse it when it exists), BENCH_CACHE_MB (sled cache, default 32 as in
//! the config), BENCH_LAT_N (webhooks per latency run, default 200),
//! BENCH_RUNS (rounds, default 5), BENCH_SETTLE_MS (from the runtime's
//! start to the first webhook of a latency run, default 500).

use dmdesk::app::command::Command;
use dmdesk::app::event::Event;
use dmdesk::app::fixtures;
use dmdesk::app::{self, State};
use dmdesk::change::Change;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::*;
use dmdesk::inbox::Request;
use dmdesk::media::picture::{Outcome, PicKey, PictureRequest};
use dmdesk::media::protocol::PictureMode;
use dmdesk::secret::Secret;
use dmdesk::tui::data::DataWorker;
use dmdesk::tui::event_loop::{Host, Updates};
use dmdesk::tui::media::worker::{Bytes, MediaWorker};
use dmdesk::tui::port::{serve, Local, Port};
use dmdesk::tui::{run_loop, Headless};
use dmdesk::update::Update;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::crossterm::event::{Event as CtEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Size};
use ratatui::Terminal;
use ratatui_image::picker::Picker;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const W: u16 = 120;
const H: u16 = 40;
const SECRET: &str = "bench-app-secret";

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

fn big_key() -> ConvKey {
    ConvKey::new(Platform::Messenger, fixtures::PAGE, "big")
}

fn populate(store: &Db, convs: usize, msgs: usize, thread: usize) {
    let base = fixtures::NOW.0 - 30 * TimestampMs::DAY;
    let big = big_key();
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

/// The store's group-flush thread keeps the sled handle (and its file lock)
/// until its next wake-up after the Store is dropped: wait for the lock.
fn open_when_free(path: &Path, cache_mb: u64) -> (Db, Instant) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let t = Instant::now();
        match Db::open(path, cache_mb, "bench") {
            Ok(s) => return (s, t),
            Err(dmdesk::store::StoreError::Held(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("open: {e}"),
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn vm(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

// ---- a backend that reports each drawn frame --------------------------------

type OnFrame = Box<dyn FnMut(&Buffer)>;

/// `TestBackend` plus a callback on every flush (the end of each
/// `Terminal::draw`), which sees the finished frame.
struct Probe {
    inner: TestBackend,
    on_frame: OnFrame,
}

impl Backend for Probe {
    type Error = <TestBackend as Backend>::Error;
    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()?;
        (self.on_frame)(self.inner.buffer());
        Ok(())
    }
}

fn text_of(b: &Buffer) -> String {
    b.content.iter().map(|c| c.symbol()).collect()
}

type Input = futures::channel::mpsc::UnboundedReceiver<io::Result<CtEvent>>;
type InputTx = futures::channel::mpsc::UnboundedSender<io::Result<CtEvent>>;

fn headless(on_frame: OnFrame) -> (Headless<Probe, Input>, InputTx) {
    let (tx, rx) = futures::channel::mpsc::unbounded();
    let backend = Probe {
        inner: TestBackend::new(W, H),
        on_frame,
    };
    let terminal = Terminal::new(backend).expect("terminal");
    (
        Headless {
            terminal,
            input: rx,
        },
        tx,
    )
}

fn key(c: char) -> io::Result<CtEvent> {
    Ok(CtEvent::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

// ---- 1. first frame through the real loop -----------------------------------

/// Open the store and run the real loop until a frame shows list rows.
/// Returns the time to that frame and VmRSS then.
async fn first_frame(path: &Path, cache_mb: u64) -> (Duration, Duration, String) {
    let (store, t0) = open_when_free(path, cache_mb);
    let opened = t0.elapsed();
    let (jobs, _job_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut data =
        DataWorker::start(Arc::new(Local::new(store.clone(), jobs))).expect("data worker");
    let shown: Arc<Mutex<Option<Instant>>> = Arc::default();
    let (tx_done, rx_done) = std::sync::mpsc::channel::<()>();
    let seen = shown.clone();
    let (mut host, input) = headless(Box::new(move |b| {
        let mut s = seen.lock().expect("lock");
        if s.is_none() && text_of(b).contains("│ FB ") {
            *s = Some(Instant::now());
            let _ = tx_done.send(());
        }
    }));
    let mut state = State::new(fixtures::options(), fixtures::NOW, (W, H));
    let updates = store.subscribe();
    let stop = tokio::task::spawn_blocking(move || {
        let _ = rx_done.recv_timeout(Duration::from_secs(30));
        drop(input); // the input ends: the loop returns
    });
    run_loop(&mut host, &mut state, updates, &mut data)
        .await
        .expect("loop");
    let at = shown
        .lock()
        .expect("lock")
        .expect("a frame showed the list");
    let rss = vm("VmRSS");
    let _ = stop.await;
    data.finish().await;
    drop(store);
    (at - t0, opened, rss)
}

// ---- 2. one frame: reads and drawing apart ------------------------------------

struct FrameFigures {
    reads: Duration,
    draw_200: Duration,
    draw_all: Duration,
    scroll_all: Duration,
    /// A new message arriving with all loaded: update + the next frame
    /// (the memoised layout is rebuilt).
    arrival_all: Duration,
    loaded_all: usize,
}

fn feed(s: &mut State, data: &dyn Port, cmds: Vec<Command>) {
    let mut queue = std::collections::VecDeque::from(cmds);
    while let Some(c) = queue.pop_front() {
        let Command::Inbox(r) = c else { continue };
        if matches!(r, Request::Urgent) {
            continue;
        }
        if let Some(ev) = serve(data, r) {
            queue.extend(app::update(s, ev));
        }
    }
}

fn one_frame(store: &Db, thread: usize) -> FrameFigures {
    let (jobs, _rx) = tokio::sync::mpsc::unbounded_channel();
    let data = Local::new(store.clone(), jobs);
    let mut s = State::new(fixtures::options(), fixtures::NOW, (W, H));
    let cmds = app::init(&mut s);
    feed(&mut s, &data, cmds);
    let mut term = Terminal::new(TestBackend::new(W, H)).expect("terminal");
    term.draw(|f| dmdesk::ui::render(&s, f)).expect("draw");
    let big = store
        .conversation(&big_key())
        .expect("read")
        .expect("big thread exists");

    // The reads one frame of list + thread needs: thread tail + list window.
    let t = Instant::now();
    fixtures::open_with(&mut s, big.clone(), vec![]);
    let cmds = vec![
        Command::Inbox(Request::Thread {
            conv: big.key.clone(),
            limit: app::state::THREAD_PAGE,
        }),
        Command::Inbox(Request::List {
            filter: Default::default(),
            offset: 0,
            limit: s.list.visible,
            count: true,
            generation: s.list.generation,
        }),
    ];
    feed(&mut s, &data, cmds);
    let reads = t.elapsed();
    assert_eq!(
        s.thread.as_ref().map(|t| t.messages.len()),
        Some(app::state::THREAD_PAGE)
    );

    let draws = |s: &State, term: &mut Terminal<TestBackend>, n: usize| {
        let mut v = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            term.draw(|f| dmdesk::ui::render(s, f)).expect("draw");
            v.push(t.elapsed());
        }
        median(v)
    };
    let draw_200 = draws(&s, &mut term, 51);

    // Worst case: the agent scrolled back through the whole thread.
    let all = store.messages_latest(&big.key, thread).expect("all");
    let loaded_all = all.len();
    if let Some(t) = s.thread.as_mut() {
        t.messages = all;
        t.reached_start = true;
    }
    let draw_all = draws(&s, &mut term, 11);
    let mut v = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        let _ = app::update(
            &mut s,
            Event::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE)),
        );
        v.push(t.elapsed());
    }
    let scroll_all = median(v);
    let mut v = Vec::new();
    for i in 0..5 {
        let mut m = dmdesk::domain::Message::inbound(
            big.key.clone(),
            dmdesk::domain::Mid::new(format!("m_arrival_{i}")),
            fixtures::NOW.plus_ms(i),
        );
        m.text = Some("one more".into());
        let t = Instant::now();
        let _ = app::update(&mut s, Event::Update(Update::Message(Box::new(m))));
        term.draw(|f| dmdesk::ui::render(&s, f)).expect("draw");
        v.push(t.elapsed());
    }
    FrameFigures {
        reads,
        draw_200,
        draw_all,
        scroll_all,
        arrival_all: median(v),
        loaded_all,
    }
}

// ---- 3. webhook to frame ------------------------------------------------------

#[derive(Default)]
struct Probes {
    /// (marker, 200 received, first frame showing it)
    items: Vec<(String, Option<Instant>, Option<Instant>)>,
    /// Pictures mode: the first frame showing the open thread.
    opened: Option<Instant>,
    /// Pictures mode: the last frame before that (said if it never comes).
    before_open: String,
}

fn bench_config(path: &Path) -> Config {
    let mut c = Config::from_toml("", &|_| None).expect("empty config");
    c.server.app_secret = Secret::new(SECRET);
    c.server.verify_token = Secret::new("bench-verify");
    c.store.path = path.to_path_buf();
    // Nothing leaves loopback: profile fetches fail fast on a closed port.
    c.graph.base_url = "http://127.0.0.1:9".into();
    c.sync.interval = None;
    c
}

/// One run: `n` webhooks `gap` apart; latencies in µs (frame time minus
/// the time the 200 arrived; negative when the frame came first).
/// With `pics` (section 5), the thread with pictures is opened first and
/// the pictures fetched and decoded are counted too.
async fn latency_run(
    path: &Path,
    cache_mb: u64,
    run: usize,
    n: usize,
    gap: Duration,
    pics: Option<&Pics<'_>>,
) -> (Vec<i64>, Option<PicCounts>) {
    let (store, _) = open_when_free(path, cache_mb);
    let mut config = bench_config(path);
    let cache = tempfile::tempdir().expect("tempdir");
    if let Some(p) = pics {
        // A fresh picture cache each run: every picture is fetched.
        config.media.cache_dir = cache.path().join("pictures");
        p.cdn.answered.lock().expect("lock").clear();
        // The thread with pictures back at the top of the list (above the
        // last run's webhooks), with one more picture: a page of pictures.
        let i = PICS_THREAD + run;
        let now = TimestampMs::now().0;
        store.apply(&[pic_msg(p.cdn.addr, i, now)]).expect("apply");
    }
    let config = Arc::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = dmdesk::runtime::start_with(config.clone(), store.clone(), Some(listener))
        .await
        .expect("runtime");
    let addr = running.local_addr.expect("listening");
    let mut data = DataWorker::start(Arc::new(Local::new(store.clone(), running.jobs.clone())))
        .expect("data worker");
    let probes: Arc<Mutex<Probes>> = Arc::default();
    let p = probes.clone();
    let want_open = pics.is_some();
    let (mut host, input) = headless(Box::new(move |b| {
        let now = Instant::now();
        let mut p = p.lock().expect("lock");
        if p.items.iter().all(|(_, _, f)| f.is_some()) && !(want_open && p.opened.is_none()) {
            return;
        }
        let text = text_of(b);
        if want_open && p.opened.is_none() {
            if text.contains(THREAD_MARK) {
                p.opened = Some(now);
            } else {
                p.before_open = text.clone();
            }
        }
        for (m, _, f) in p.items.iter_mut().filter(|(_, _, f)| f.is_none()) {
            if text.contains(m.as_str()) {
                *f = Some(now);
            }
        }
    }));
    let mut opts = fixtures::options();
    if let Some(p) = pics {
        opts.media.pictures = if p.on {
            PictureMode::Halfblocks
        } else {
            PictureMode::Off
        };
    }
    let mut state = State::new(opts, fixtures::NOW, (W, H));
    let updates = store.subscribe();
    let p = probes.clone();
    // Time to the first webhook (start-up work of the runtime and the UI).
    let settle = Duration::from_millis(env("BENCH_SETTLE_MS", 500) as u64);
    let poster = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/webhook");
        tokio::time::sleep(settle).await; // first screen
        if want_open {
            // Open the top row (the thread with pictures) and wait for it.
            let _ = input.unbounded_send(Ok(CtEvent::Key(KeyEvent::new(
                KeyCode::Enter,
                KeyModifiers::NONE,
            ))));
            let t = Instant::now();
            while p.lock().expect("lock").opened.is_none() {
                if t.elapsed() > Duration::from_secs(30) {
                    let last = p.lock().expect("lock").before_open.clone();
                    let cells: Vec<char> = last.chars().collect();
                    let rows: Vec<String> = cells
                        .chunks(W as usize)
                        .map(|r| r.iter().collect())
                        .collect();
                    panic!(
                        "no frame showed the thread ({THREAD_MARK:?}) within 30 s of Enter; the last frame:\n{}",
                        rows.join("\n")
                    );
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let first = Instant::now();
        for i in 0..n {
            let marker = format!("zq{run}x{i:03}");
            let ts = TimestampMs::now().0;
            let user = format!("lat{i}");
            let body = serde_json::json!({"object":"page","entry":[{"id":fixtures::PAGE,"time":ts,"messaging":[
                {"sender":{"id":user},"recipient":{"id":fixtures::PAGE},"timestamp":ts,
                 "message":{"mid":format!("mid.lat.{run}.{i}.{ts}"),"text":format!("{marker} latency probe")}}]}]})
            .to_string()
            .into_bytes();
            let sig = dmdesk::webhook::signature::sign(SECRET.as_bytes(), &body);
            let idx = {
                let mut p = p.lock().expect("lock");
                p.items.push((marker, None, None));
                p.items.len() - 1
            };
            let r = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await
                .expect("post");
            let at = Instant::now();
            assert!(r.status().is_success(), "webhook answered {}", r.status());
            p.lock().expect("lock").items[idx].1 = Some(at);
            tokio::time::sleep(gap).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Quit as the agent does.
        let _ = input.unbounded_send(key('q'));
        drop(input);
        first
    });
    let got: Arc<Mutex<Vec<(Instant, bool)>>> = Arc::default();
    let mut asked = 0;
    if pics.is_some() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let worker = pics.filter(|p| p.on).map(|_| {
            let source = dmdesk::pictures::Source::open(&config.media).expect("picture cache");
            MediaWorker::start(Bytes::Local(source), Arc::new(Picker::halfblocks()), tx)
        });
        let mut updates = WithPictures {
            inner: updates,
            pictures: rx,
            got: got.clone(),
        };
        let mut host = PicHost {
            inner: host,
            worker,
            asked: 0,
        };
        let done = run_loop(&mut host, &mut state, &mut updates, &mut data).await;
        asked = host.asked;
        updates.drain(asked).await;
        done
    } else {
        run_loop(&mut host, &mut state, updates, &mut data).await
    }
    .expect("loop");
    let first = poster.await.expect("poster");
    data.finish().await;
    running.shutdown().await;
    drop(store);
    let p = probes.lock().expect("lock");
    let counts = pics.map(|pics| {
        let last = p.items.iter().filter_map(|i| i.1).max().expect("a 200");
        let within = |t: &Instant| *t >= first && *t <= last;
        let answered = pics.cdn.answered.lock().expect("lock").clone();
        let got = got.lock().expect("lock").clone();
        PicCounts {
            window: last - first,
            fetched_in_window: answered.iter().filter(|t| within(t)).count(),
            decoded_in_window: got.iter().filter(|(t, ok)| *ok && within(t)).count(),
            fetched: answered.len(),
            decoded: got.iter().filter(|(_, ok)| *ok).count(),
            unavailable: got.iter().filter(|(_, ok)| !*ok).count(),
            asked,
        }
    });
    let lat = p
        .items
        .iter()
        .map(|(m, ok, f)| match (ok, f) {
            (Some(ok), Some(f)) => {
                if f >= ok {
                    (*f - *ok).as_micros() as i64
                } else {
                    -((*ok - *f).as_micros() as i64)
                }
            }
            _ => panic!("{m}: never drawn"),
        })
        .collect();
    (lat, counts)
}

/// Print one latency run (p50, p99, max, and where the ones over 20 ms
/// fall); returns (p50, p99) in µs.
fn print_run(label: &str, lat: &[i64]) -> (i64, i64) {
    let (p50, p99, max) = (pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1.0));
    println!(
        "  {label}: {} webhooks, 200 -> frame showing it: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        max as f64 / 1000.0
    );
    // Where in the run the slow ones fall (webhook index: 20 ms apart).
    let slow: Vec<String> = lat
        .iter()
        .enumerate()
        .filter(|(_, l)| **l > 20_000)
        .take(12)
        .map(|(i, l)| format!("#{i} {:.0} ms", *l as f64 / 1000.0))
        .collect();
    if !slow.is_empty() {
        println!("    over 20 ms: {}", slow.join(", "));
    }
    (p50, p99)
}

fn pct(v: &[i64], p: f64) -> i64 {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

// ---- 5. webhook to frame while pictures load (issue 17) -----------------------

/// The thread pane's title once the thread with pictures is open (the
/// list's row does not have it).
const THREAD_MARK: &str = "(pics) · Messenger";
/// Messages (each with one picture) in the thread with pictures: one page,
/// so opening it asks for all of them.
const PICS_THREAD: usize = app::state::THREAD_PAGE;

/// A fake CDN on loopback: 800×600 PNGs answered after 50–200 ms (varied
/// by picture); records when it answered each.
struct Cdn {
    addr: std::net::SocketAddr,
    answered: Arc<Mutex<Vec<Instant>>>,
}

struct Pics<'a> {
    cdn: &'a Cdn,
    /// Pictures drawn (half-blocks) or off (the same run without them).
    on: bool,
}

/// Pictures answered by the CDN and decoded results the loop received,
/// in the timed window (first webhook sent to the last 200) and in all.
struct PicCounts {
    window: Duration,
    fetched_in_window: usize,
    decoded_in_window: usize,
    fetched: usize,
    decoded: usize,
    unavailable: usize,
    asked: usize,
}

/// A gradient with noise, so the PNG is a few hundred KB, like a photo.
fn photo(seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let img = image::RgbImage::from_fn(800, 600, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x & 31) as u8;
        image::Rgb([
            (px / 4) as u8 ^ n,
            (py / 3) as u8 + n,
            ((px + py + seed * 40) / 7) as u8,
        ])
    });
    let mut out = io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

async fn cdn() -> Cdn {
    let photos: Arc<Vec<Vec<u8>>> = Arc::new((0..8).map(photo).collect());
    let answered: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = answered.clone();
    let app = axum::Router::new().route(
        "/p/{n}",
        axum::routing::get(move |axum::extract::Path(n): axum::extract::Path<String>| {
            let (photos, log) = (photos.clone(), log.clone());
            async move {
                let i: u64 = n.trim_end_matches(".png").parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(50 + (i * 37) % 151)).await;
                log.lock().expect("lock").push(Instant::now());
                (
                    [(axum::http::header::CONTENT_TYPE, "image/png")],
                    photos[i as usize % photos.len()].clone(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the CDN");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("CDN") });
    Cdn { addr, answered }
}

/// `convs` conversations of one message, and the thread with pictures,
/// newer than all of them (the list's top row).
fn populate_pics(store: &Db, convs: usize, cdn: std::net::SocketAddr) {
    let base = fixtures::NOW.0 - 30 * TimestampMs::DAY;
    let mut batch: Vec<Change> = (0..convs)
        .map(|c| {
            let key = ConvKey::new(Platform::Messenger, fixtures::PAGE, format!("u{c}"));
            msg(&key, c, base + c as i64 * 1000)
        })
        .collect();
    for i in 0..PICS_THREAD {
        let t = fixtures::NOW.0 - TimestampMs::DAY + i as i64 * 1000;
        batch.push(pic_msg(cdn, i, t));
    }
    store.apply(&batch).expect("apply");
    store.flush().expect("flush");
}

/// Message `i` of the thread with pictures: a line of text and a picture.
fn pic_msg(cdn: std::net::SocketAddr, i: usize, t: i64) -> Change {
    let pics = ConvKey::new(Platform::Messenger, fixtures::PAGE, "pics");
    let mut m = Message::inbound(pics, Mid::new(format!("m.pics.{i}")), TimestampMs(t));
    m.text = Some(format!("photo {i} of the parcel"));
    m.attachments = vec![Attachment {
        kind: "image".into(),
        url: Some(format!("http://{cdn}/p/{i}.png")),
        title: None,
    }];
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: true,
    }
}

/// The headless host with the real picture worker behind `picture`.
struct PicHost {
    inner: Headless<Probe, Input>,
    worker: Option<MediaWorker>,
    /// Pictures asked to be shown.
    asked: usize,
}

impl Host for PicHost {
    type Backend = Probe;
    type Input = Input;
    fn terminal(&mut self) -> &mut Terminal<Probe> {
        &mut self.inner.terminal
    }
    fn input(&mut self) -> &mut Input {
        &mut self.inner.input
    }
    fn bell(&mut self) {}
    fn set_title(&mut self, _: &str) {}
    fn copy(&mut self, _: &str) {}
    async fn edit(&mut self, _: String) -> Option<String> {
        None
    }
    fn picture(&mut self, r: PictureRequest) {
        if let Some(w) = &self.worker {
            self.asked += usize::from(r.show);
            w.request(r);
        }
    }
}

/// Store updates with the picture worker's results merged in (as
/// src/tui/media does), noting when each result reached the loop.
struct WithPictures {
    inner: dmdesk::bus::Subscription,
    pictures: tokio::sync::mpsc::UnboundedReceiver<(PicKey, Outcome)>,
    /// (when, decoded)
    got: Arc<Mutex<Vec<(Instant, bool)>>>,
}

fn picture_event(got: &Mutex<Vec<(Instant, bool)>>, (key, outcome): (PicKey, Outcome)) -> Event {
    let ok = matches!(outcome, Outcome::Ready(_));
    got.lock().expect("lock").push((Instant::now(), ok));
    Event::Picture { key, outcome }
}

impl WithPictures {
    /// After the loop: wait for every result still owed, as the worker goes
    /// on with what it was asked and would otherwise load the next run.
    async fn drain(&mut self, asked: usize) {
        while self.got.lock().expect("lock").len() < asked {
            let next = tokio::time::timeout(Duration::from_secs(60), self.pictures.recv()).await;
            match next {
                Ok(Some(p)) => drop(picture_event(&self.got, p)),
                _ => panic!("a picture asked for did not come back within 60 s"),
            }
        }
    }
}

/// Borrowed, so the results still owed can be drained after the loop.
impl Updates for &mut WithPictures {
    async fn recv(&mut self) -> Option<Event> {
        let got = self.got.clone();
        tokio::select! {
            u = Updates::recv(&mut self.inner) => u,
            Some(p) = self.pictures.recv() => Some(picture_event(&got, p)),
        }
    }
    fn try_recv(&mut self) -> Option<Event> {
        Updates::try_recv(&mut self.inner).or_else(|| {
            let p = self.pictures.try_recv().ok()?;
            Some(picture_event(&self.got, p))
        })
    }
}

/// Section 5: runs with pictures off and on, alternating, on a new store.
fn pictures_bench() {
    let convs = env("BENCH_CONVS", 2_000);
    let rounds = env("BENCH_RUNS", 3);
    let lat_n = env("BENCH_LAT_N", 200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cdn = rt.block_on(cdn());
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("store");
    let store = Db::open(&path, 256, "bench").expect("open");
    populate_pics(&store, convs, cdn.addr);
    drop(store);
    println!(
        "pictures: {convs} conversations + one of {PICS_THREAD} messages with a picture each (800x600 PNG, {} KB, from a fake CDN on {} after 50-200 ms)",
        photo(0).len() / 1024,
        cdn.addr
    );
    let mut figs: [Vec<(i64, i64)>; 2] = Default::default();
    for round in 0..rounds {
        for on in [false, true] {
            let run = round * 2 + on as usize;
            let pics = Pics { cdn: &cdn, on };
            let (lat, c) = rt.block_on(latency_run(
                &path,
                32,
                run,
                lat_n,
                Duration::from_millis(20),
                Some(&pics),
            ));
            let c = c.expect("counts");
            let label = format!("run {run}, pictures {}", if on { "on " } else { "off" });
            figs[on as usize].push(print_run(&label, &lat));
            println!(
                "    window {:.2} s: {} pictures fetched, {} decoded; {} asked, by the end of the run and its drain {} fetched, {} decoded, {} unavailable",
                c.window.as_secs_f64(),
                c.fetched_in_window,
                c.decoded_in_window,
                c.asked,
                c.fetched,
                c.decoded,
                c.unavailable
            );
        }
    }
    for (on, f) in figs.iter().enumerate() {
        let p50s = f.iter().map(|x| x.0).collect::<Vec<_>>();
        let p99s = f.iter().map(|x| x.1).collect::<Vec<_>>();
        println!(
            "webhook 200 -> frame, pictures {}: median of {} runs p50 {:.2} ms, p99 {:.2} ms",
            if on == 1 { "on " } else { "off" },
            f.len(),
            pct(&p50s, 0.5) as f64 / 1000.0,
            pct(&p99s, 0.5) as f64 / 1000.0
        );
    }
}

/// The list load the data worker runs for the first screen (the open view),
/// without and with its count, 7 times each, twice: what a deferred count
/// costs the loads queued behind it.
fn view_count(path: &Path) {
    let (store, _) = open_when_free(path, 32);
    let (jobs, _rx) = tokio::sync::mpsc::unbounded_channel();
    let data = Local::new(store.clone(), jobs);
    let s = State::new(fixtures::options(), fixtures::NOW, (W, H));
    println!("filter {:?}", s.list.filter.view);
    for count in [false, true, false, true] {
        let mut v = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let _ = serve(
                &data,
                Request::List {
                    filter: s.list.filter.clone(),
                    offset: 0,
                    limit: s.list.visible,
                    count,
                    generation: s.list.generation,
                },
            );
            v.push(t.elapsed());
        }
        println!("list of {} rows, count {count}: {v:?}", s.list.visible);
    }
}

// ---- 4. thread edits with a long thread loaded ---------------------------------

/// A thread of `n` messages over about 30 days: every third one ours
/// (delivered), text of varying length (some wrap), a few reactions.
fn long_thread(c: &ConvKey, n: usize) -> Vec<Message> {
    let start = fixtures::NOW.0 - 30 * TimestampMs::DAY;
    let step = (30 * TimestampMs::DAY) / n.max(1) as i64;
    (0..n)
        .map(|i| {
            let mut m = Message::inbound(
                c.clone(),
                Mid::new(format!("m_{i:06}")),
                TimestampMs(start + i as i64 * step),
            );
            let words = ["hello", "order", "shipping", "你好", "👋", "thanks"];
            let len = 2 + (i * 7) % 30;
            m.text = Some(
                (0..len)
                    .map(|j| words[(i + j) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            if i % 3 == 0 {
                m.direction = Direction::Out;
                m.status = MsgStatus::Delivered;
                m.origin = Some(Origin::Dmdesk);
            }
            if i % 50 == 0 {
                m.reactions.push(Reaction {
                    emoji: "👍".into(),
                    by: "big".into(),
                });
            }
            m
        })
        .collect()
}

/// Median time of update + frame for `reps` changes made by `change` (the
/// updates are built outside the timed part).
fn timed_changes(
    s: &mut State,
    term: &mut Terminal<TestBackend>,
    reps: usize,
    mut change: impl FnMut(&State, usize) -> Vec<Update>,
) -> Duration {
    let mut v = Vec::new();
    for r in 0..reps {
        let updates = change(s, r);
        let t = Instant::now();
        for u in updates {
            let _ = app::update(s, Event::Update(u));
        }
        term.draw(|f| dmdesk::ui::render(s, f)).expect("draw");
        v.push(t.elapsed());
    }
    median(v)
}

fn relayout(n: usize, reps: usize) {
    let mut s = State::new(fixtures::options(), fixtures::NOW, (W, H));
    let c = fixtures::conv(Platform::Messenger, "big", "Ann Lee", 1, 0);
    let t0 = Instant::now();
    fixtures::open_with(&mut s, c.clone(), long_thread(&c.key, n));
    let mut term = Terminal::new(TestBackend::new(W, H)).expect("terminal");
    term.draw(|f| dmdesk::ui::render(&s, f)).expect("draw");
    println!(
        "thread edits: {n} messages loaded in memory, first layout + frame {:.1?}",
        t0.elapsed()
    );
    let mut v = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        term.draw(|f| dmdesk::ui::render(&s, f)).expect("draw");
        v.push(t.elapsed());
    }
    println!("  frame alone (nothing changed): median {:.3?}", median(v));
    // The middle: a different message each time, near index n / 2.
    let mid = |s: &State, r: usize, out: bool| -> Message {
        let t = s.thread.as_ref().expect("open");
        let mut i = t.messages.len() / 2 + r * 3;
        while (t.messages[i].direction == Direction::Out) != out {
            i += 1;
        }
        t.messages[i].clone()
    };
    let new_at_end = |s: &State, r: usize| -> Message {
        let t = s.thread.as_ref().expect("open");
        let mut m = Message::inbound(
            t.conv.key.clone(),
            Mid::new(format!("m_new_{r}")),
            fixtures::NOW.plus_ms(r as i64),
        );
        m.text = Some("one more question about my order".into());
        m
    };
    let one = |m: Message| vec![Update::Message(Box::new(m))];
    type Change<'a> = Box<dyn Fn(&State, usize) -> Vec<Update> + 'a>;
    let kinds: [(&str, Change); 6] = [
        (
            "new message at the end",
            Box::new(move |s: &State, r: usize| one(new_at_end(s, r))),
        ),
        (
            // As the store publishes an arrival: the message, then its
            // conversation (last activity, unread count).
            "new message at the end + its conversation update",
            Box::new(move |s: &State, r: usize| {
                let m = new_at_end(s, r + 1000);
                let mut c = s.thread.as_ref().expect("open").conv.clone();
                c.last_activity = m.timestamp;
                c.unread += 1;
                vec![
                    Update::Message(Box::new(m)),
                    Update::Conversation(Box::new(c)),
                ]
            }),
        ),
        (
            "reaction in the middle",
            Box::new(move |s: &State, r: usize| {
                let mut m = mid(s, r, false);
                m.reactions.push(Reaction {
                    emoji: "❤".into(),
                    by: fixtures::PAGE.into(),
                });
                one(m)
            }),
        ),
        (
            "edit in the middle",
            Box::new(move |s: &State, r: usize| {
                let mut m = mid(s, r, false);
                m.text = Some("edited: a longer text that now wraps over more than one line of the thread pane, so the offsets below move".into());
                m.edited = true;
                one(m)
            }),
        ),
        (
            "status change in the middle",
            Box::new(move |s: &State, r: usize| {
                let mut m = mid(s, r, true);
                m.status = MsgStatus::Read;
                one(m)
            }),
        ),
        (
            "unsend in the middle",
            Box::new(move |s: &State, r: usize| {
                let mut m = mid(s, r, false);
                m.deleted = true;
                one(m)
            }),
        ),
    ];
    for (name, change) in kinds.iter() {
        let d = timed_changes(&mut s, &mut term, reps, change);
        println!("  {name}: update + frame median {d:.3?} ({reps} changes)");
    }
    let t = s.thread.as_ref().expect("open");
    println!(
        "  (thread now {} messages, scroll {})",
        t.messages.len(),
        t.scroll
    );
}

fn main() {
    if std::env::var("BENCH_ONLY").as_deref() == Ok("relayout") {
        relayout(env("BENCH_THREAD", 50_000), env("BENCH_REPS", 31));
        return;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("count") {
        view_count(&PathBuf::from(
            std::env::var("BENCH_STORE").expect("BENCH_STORE: a store section 3 built"),
        ));
        return;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("pictures") {
        pictures_bench();
        return;
    }
    let convs = env("BENCH_CONVS", 100_000);
    let msgs = env("BENCH_MSGS", 1_000_000);
    let thread = env("BENCH_THREAD", 50_000);
    let cache_mb = env("BENCH_CACHE_MB", 32) as u64;
    let runs = env("BENCH_RUNS", 5);
    let lat_n = env("BENCH_LAT_N", 200);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = std::env::var_os("BENCH_STORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("store"));
    if path.join("db").exists() {
        println!("reusing store {}", path.display());
    } else {
        let t0 = Instant::now();
        let store = Db::open(&path, 256, "bench").expect("open");
        populate(&store, convs, msgs, thread);
        drop(store);
        println!(
            "built store: {convs} conversations (+1 with {thread} messages), {msgs} messages in {:.1?}",
            t0.elapsed()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "sled cache_mb = {cache_mb}; terminal {W}x{H}; VmRSS before: {}",
        vm("VmRSS")
    );

    // 1. First frame.
    let mut first = Vec::new();
    for _ in 0..runs {
        let (d, opened, rss) = rt.block_on(first_frame(&path, cache_mb));
        println!("  first frame {d:.2?} (Store::open {opened:.2?}), VmRSS then {rss}");
        first.push(d);
    }
    println!(
        "open store + real loop until a frame shows the list (120x40): median {:.2?} of {:?}",
        median(first.clone()),
        first
    );

    // 2. One frame, reads and drawing apart.
    let mut figs = Vec::new();
    for _ in 0..runs {
        let (store, _) = open_when_free(&path, cache_mb);
        figs.push(one_frame(&store, thread));
        drop(store);
    }
    let m = |f: fn(&FrameFigures) -> Duration| median(figs.iter().map(f).collect());
    println!(
        "one frame, list + {thread}-message thread: store reads (list window + thread tail) median {:.2?}; drawing alone with {} messages loaded median {:.3?}, with all {} loaded median {:.3?}; PageUp update with all loaded median {:.3?}; a new message with all loaded (update + frame, layout rebuilt) median {:.3?}",
        m(|f| f.reads),
        app::state::THREAD_PAGE,
        m(|f| f.draw_200),
        figs[0].loaded_all,
        m(|f| f.draw_all),
        m(|f| f.scroll_all),
        m(|f| f.arrival_all),
    );
    println!("VmRSS after frame rounds: {}", vm("VmRSS"));

    // 3. Webhook to frame.
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for run in 0..3 {
        let (lat, _) = rt.block_on(latency_run(
            &path,
            cache_mb,
            run,
            lat_n,
            Duration::from_millis(20),
            None,
        ));
        let (p50, p99) = print_run(&format!("run {run}"), &lat);
        p50s.push(p50);
        p99s.push(p99);
    }
    p50s.sort();
    p99s.sort();
    println!(
        "webhook 200 -> frame (real runtime + real loop, {lat_n} webhooks 20 ms apart): median of 3 runs p50 {:.2} ms, p99 {:.2} ms",
        p50s[1] as f64 / 1000.0,
        p99s[1] as f64 / 1000.0
    );
    println!("VmHWM (peak) of this process: {}", vm("VmHWM"));

    // 4. Thread edits with 50,000 messages loaded.
    relayout(thread, env("BENCH_REPS", 31));
}
