//! Scrolling a thread with pictures (issue 17): 200 messages, 50 of them
//! with a picture, drawn in half-blocks on a 120×40 `TestBackend`, scrolled
//! with the mouse wheel (3 lines a step) from the newest message to the
//! oldest and back. Pictures are decoded once before timing (the worker
//! does that off the loop); each step is timed as `update` (the wheel
//! event) plus one frame, as the event loop does it.
//!
//! Run: `cargo bench --bench media_scroll`. BENCH_RUNS (default 3).

use dmdesk::app::event::{Event, Reply, ThreadData};
use dmdesk::app::fixtures as fx;
use dmdesk::app::{update, State};
use dmdesk::domain::*;
use dmdesk::media::picture::{Outcome, PicKey};
use dmdesk::media::protocol::PictureMode;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use std::time::{Duration, Instant};

const W: u16 = 120;
const H: u16 = 40;

fn png(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x + seed * 7) as u8, (y * 2) as u8, ((x ^ y) + seed) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn setup() -> State {
    let mut o = fx::options();
    o.media.pictures = PictureMode::Halfblocks;
    let mut s = State::new(o, fx::NOW, (W, H));
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 3, 0);
    let mut msgs = Vec::new();
    for i in 0..200 {
        let ago = (200 - i) as i64 * 7;
        let mut m = fx::inbound(&c.key, &format!("m{i}"), ago, "");
        m.text = Some(format!("message {i}: is this still available? 你好 👋"));
        if i % 4 == 0 {
            m.attachments = vec![Attachment {
                kind: "image".into(),
                url: Some(format!("https://cdn.example/p/{i}.jpg?oh=x")),
                title: None,
            }];
        }
        msgs.push(m);
    }
    fx::open_with(&mut s, c.clone(), vec![]);
    update(
        &mut s,
        Event::Inbox(Reply::Thread(Some(Box::new(ThreadData {
            conv: c,
            contact: None,
            messages: msgs,
            limit: 300,
            draft: None,
            notes: vec![],
            history: vec![],
        })))),
    );
    let picker = ratatui_image::picker::Picker::halfblocks();
    let (cols, rows) = s.opts.media.picture_box;
    for i in (0..200).step_by(4) {
        let d = dmdesk::tui::media::worker::decode(&picker, &png(i), cols, rows).unwrap();
        update(
            &mut s,
            Event::Picture {
                key: PicKey {
                    mid: Mid::new(format!("m{i}")),
                    index: 0,
                },
                outcome: Outcome::Ready(d),
            },
        );
    }
    s
}

fn wheel(kind: MouseEventKind, s: &State) -> Event {
    let p = s.panes();
    Event::Mouse(MouseEvent {
        kind,
        column: p.thread.x + 5,
        row: p.thread.y + 5,
        modifiers: KeyModifiers::NONE,
    })
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for run in 1..=runs {
        let mut s = setup();
        let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
        term.draw(|f| dmdesk::ui::render(&s, f)).unwrap();
        let pictures = s.thread.as_ref().unwrap().pictures.map.len();
        let mut times = Vec::new();
        let mut picture_frames = 0;
        for kind in [MouseEventKind::ScrollUp, MouseEventKind::ScrollDown] {
            let mut last = usize::MAX;
            loop {
                let ev = wheel(kind, &s);
                let t0 = Instant::now();
                update(&mut s, ev);
                term.draw(|f| dmdesk::ui::render(&s, f)).unwrap();
                times.push(t0.elapsed());
                let scroll = s.thread.as_ref().unwrap().scroll;
                let buf = term.backend().buffer();
                if buf
                    .content()
                    .iter()
                    .any(|c| matches!(c.bg, ratatui::style::Color::Rgb(..)))
                {
                    picture_frames += 1;
                }
                if scroll == last {
                    break;
                }
                last = scroll;
            }
        }
        times.sort();
        println!(
            "run {run}: {pictures} pictures, {} frames ({picture_frames} showing pictures): median {:?}, p99 {:?}, max {:?}",
            times.len(),
            pct(&times, 0.5),
            pct(&times, 0.99),
            times.last().unwrap()
        );
    }
}
