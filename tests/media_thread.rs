//! Pictures and links in the thread pane: what `update` asks for, what the
//! pane draws (half-blocks, pictures off, placeholders), and OSC 8 links
//! in the backend's buffer.

use dmdesk::app::command::Command;
use dmdesk::app::event::{Event, Reply, ThreadData};
use dmdesk::app::fixtures as fx;
use dmdesk::app::media::PicState;
use dmdesk::app::{update, State};
use dmdesk::domain::*;
use dmdesk::media::picture::{Outcome, PicKey, Unavailable};
use dmdesk::media::protocol::PictureMode;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::Terminal;

const URL: &str = "https://cdn.example/p/parcel.jpg?oh=abc";

fn draw(s: &State) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| dmdesk::ui::render(s, f)).unwrap();
    t
}

fn photo_message(c: &ConvKey) -> Message {
    let mut m = fx::inbound(c, "m2", 3, "");
    m.text = None;
    m.attachments = vec![Attachment {
        kind: "image".into(),
        url: Some(URL.into()),
        title: None,
    }];
    m
}

fn thread_with_photo(mode: PictureMode) -> (State, Vec<Command>) {
    let mut o = fx::options();
    o.media.pictures = mode;
    let mut s = State::new(o, fx::NOW, (80, 24));
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 3, 0);
    let msgs = vec![
        fx::inbound(&c.key, "m1", 5, "my parcel arrived like this:"),
        photo_message(&c.key),
        fx::outbound(
            &c.key,
            "m3",
            1,
            "Sorry! A new one is on its way.",
            MsgStatus::Read,
        ),
    ];
    fx::open_with(&mut s, c.clone(), vec![]);
    let cmds = update(
        &mut s,
        Event::Inbox(Reply::Thread(Some(Box::new(ThreadData {
            conv: c,
            contact: None,
            messages: msgs,
            limit: 10,
            draft: None,
            notes: vec![],
            history: vec![],
        })))),
    );
    (s, cmds)
}

fn key() -> PicKey {
    PicKey {
        mid: Mid::new("m2"),
        index: 0,
    }
}

/// A 160×120 picture of red and blue stripes 10 pixels high: half a cell
/// each at the half-block picker's 10×20 font, so every cell is red above
/// blue (PNG bytes).
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(160, 120, |_, y| {
        if (y / 10) % 2 == 0 {
            image::Rgb([220, 30, 30])
        } else {
            image::Rgb([30, 30, 220])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn ready(s: &mut State) {
    let picker = ratatui_image::picker::Picker::halfblocks();
    let (cols, rows) = s.opts.media.picture_box;
    let drawn = dmdesk::tui::media::worker::decode(&picker, &png(), cols, rows).unwrap();
    update(
        s,
        Event::Picture {
            key: key(),
            outcome: Outcome::Ready(drawn),
        },
    );
}

#[test]
fn opening_a_thread_asks_for_its_pictures_once() {
    let (mut s, cmds) = thread_with_photo(PictureMode::Halfblocks);
    let asked: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Picture(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 1, "{cmds:?}");
    assert_eq!((asked[0].key.clone(), asked[0].url.as_str()), (key(), URL));
    assert!(asked[0].show);
    let t = s.thread.as_ref().unwrap();
    assert!(matches!(
        t.pictures.map.get(&key()),
        Some(PicState::Loading)
    ));
    // Later events do not ask again while it loads.
    let again = fx::press(&mut s, KeyCode::Char('j'));
    assert!(!again.iter().any(|c| matches!(c, Command::Picture(_))));
}

#[test]
fn pictures_off_asks_for_nothing() {
    let (s, cmds) = thread_with_photo(PictureMode::Off);
    assert!(!cmds.iter().any(|c| matches!(c, Command::Picture(_))));
    assert!(s.thread.as_ref().unwrap().pictures.map.is_empty());
}

#[test]
fn a_new_message_in_another_conversation_is_prefetched_not_shown() {
    let (mut s, _) = thread_with_photo(PictureMode::Halfblocks);
    let other = fx::conv(Platform::Messenger, "u9", "Bo", 0, 1);
    let mut m = photo_message(&other.key);
    m.mid = Mid::new("x1");
    let cmds = update(
        &mut s,
        Event::Update(dmdesk::update::Update::Message(Box::new(m))),
    );
    let r = cmds
        .iter()
        .find_map(|c| match c {
            Command::Picture(r) => Some(r),
            _ => None,
        })
        .expect("a prefetch");
    assert_eq!(r.key.mid, Mid::new("x1"));
    assert!(!r.show, "kept in the cache, not decoded");
}

#[test]
fn thread_with_a_picture_in_halfblocks_80x24() {
    let (mut s, _) = thread_with_photo(PictureMode::Halfblocks);
    ready(&mut s);
    let term = draw(&s);
    let buf = term.backend().buffer();
    // The picture's cells are upper half blocks: red above blue.
    let cells: Vec<_> = buf.content().iter().filter(|c| c.symbol() == "▀").collect();
    assert_eq!(cells.len(), 16 * 6, "16×6 cells of half blocks");
    assert!(cells
        .iter()
        .any(|c| matches!(c.fg, ratatui::style::Color::Rgb(r, _, b) if r > 150 && b < 100)));
    insta::assert_snapshot!(term.backend());
}

#[test]
fn thread_with_pictures_off_80x24() {
    let (s, _) = thread_with_photo(PictureMode::Off);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn an_expired_picture_says_so() {
    let (mut s, _) = thread_with_photo(PictureMode::Halfblocks);
    update(
        &mut s,
        Event::Picture {
            key: key(),
            outcome: Outcome::Unavailable(Unavailable::Expired),
        },
    );
    let text = draw(&s).backend().to_string();
    assert!(text.contains("picture expired"), "{text}");
}

#[test]
fn a_picture_scrolled_half_out_draws_its_visible_rows() {
    let (mut s, _) = thread_with_photo(PictureMode::Halfblocks);
    ready(&mut s);
    let coloured = |t: Terminal<TestBackend>| {
        t.backend()
            .buffer()
            .content()
            .iter()
            .filter(|c| matches!(c.bg, ratatui::style::Color::Rgb(..)))
            .count()
    };
    let full = coloured(draw(&s));
    // A short terminal: the thread pane cannot hold the whole picture.
    update(
        &mut s,
        Event::Resize {
            width: 80,
            height: 12,
        },
    );
    let cut = coloured(draw(&s));
    assert!(cut > 0 && cut < full, "{cut} of {full} cells");
}

#[test]
fn links_are_osc8_hyperlinks_in_the_buffer() {
    let (mut s, _) = thread_with_photo(PictureMode::Off);
    s.opts.media.hyperlinks = true;
    let term = draw(&s);
    let buf = term.backend().buffer();
    let area = buf.area;
    let mut found = None;
    for y in 0..area.height {
        for x in 0..area.width {
            let c = &buf[(x, y)];
            if c.symbol().starts_with("\x1b]8;;") {
                found = Some((x, c.clone()));
            }
        }
    }
    let (x, cell) = found.expect("a hyperlink cell");
    let sym = cell.symbol();
    assert!(
        sym.starts_with(&format!("\x1b]8;;{URL}\x1b\\https://")),
        "{sym:?}"
    );
    assert!(sym.ends_with("\x1b]8;;\x1b\\"), "{sym:?}");
    // The forced width is the shown text's, so the escape never counts.
    match cell.diff_option {
        ratatui::buffer::CellDiffOption::ForcedWidth(w) => {
            assert_eq!(
                w.get() as usize,
                URL.len().min((area.width - x - 1) as usize)
            )
        }
        other => panic!("forced width expected, got {other:?}"),
    }
    // Off (tests, dumb terminals): no escape anywhere.
    s.opts.media.hyperlinks = false;
    let plain = draw(&s);
    assert!(!plain
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.symbol().contains('\x1b')));
}

#[test]
fn the_open_key_opens_or_copies_the_selected_link() {
    let (mut s, _) = thread_with_photo(PictureMode::Off);
    // Select the photo message (the thread's cursor starts on the newest).
    fx::press(&mut s, KeyCode::Tab);
    s.focus = dmdesk::app::state::Focus::Thread;
    fx::press(&mut s, KeyCode::Char('k'));
    let cmds = fx::press(&mut s, KeyCode::Char('o'));
    assert_eq!(cmds, vec![Command::Copy(URL.into())], "no display: copied");
    s.opts.media.opener = Some(dmdesk::media::open::Opener::XdgOpen);
    let cmds = fx::press(&mut s, KeyCode::Char('o'));
    assert_eq!(cmds, vec![Command::OpenLink(URL.into())]);
    // A text message's link.
    fx::press(&mut s, KeyCode::Char('k'));
    let cmds = fx::press(&mut s, KeyCode::Char('o'));
    assert!(cmds.is_empty(), "no link in the first message: {cmds:?}");
}

#[test]
fn a_new_customer_message_notifies_when_the_terminal_is_in_the_background() {
    let (mut s, _) = thread_with_photo(PictureMode::Off);
    s.opts.media.notify.via = dmdesk::media::notify::NotifyVia::Osc777;
    let msg = |mid: &str, user: &str, now: TimestampMs| {
        let c = fx::key(Platform::Messenger, user);
        let mut m = fx::inbound(&c, mid, 0, "is my order late?");
        m.timestamp = now;
        Event::Update(dmdesk::update::Update::Message(Box::new(m)))
    };
    let notifies = |cmds: &[Command]| {
        cmds.iter()
            .filter(|c| matches!(c, Command::Notify { .. }))
            .count()
    };
    // In focus, the open conversation: the agent sees it (the bell rings).
    let ev = msg("n1", "u1", s.now);
    assert_eq!(notifies(&update(&mut s, ev)), 0);
    // The terminal loses focus: notified, once per interval.
    update(&mut s, Event::Focus(false));
    let ev = msg("n2", "u1", s.now);
    let cmds = update(&mut s, ev);
    assert_eq!(
        cmds.iter().find(|c| matches!(c, Command::Notify { .. })),
        Some(&Command::Notify {
            title: "dmdesk: Ann Lee".into(),
            body: "is my order late?".into()
        })
    );
    let ev = msg("n3", "u7", s.now);
    assert_eq!(notifies(&update(&mut s, ev)), 0, "rate-limited");
    // Past the interval, another conversation, back in focus: notified.
    update(&mut s, Event::Focus(true));
    let later = TimestampMs(s.now.0 + 31_000);
    update(&mut s, Event::Tick { now: later });
    let ev = msg("n4", "u7", s.now);
    assert_eq!(notifies(&update(&mut s, ev)), 1);
    // The same message again (an edit, a reaction) never notifies twice.
    let later = TimestampMs(s.now.0 + 31_000);
    update(&mut s, Event::Tick { now: later });
    let mut again = fx::inbound(&fx::key(Platform::Messenger, "u7"), "n4", 0, "edited");
    again.timestamp = TimestampMs(s.now.0 - 31_000);
    let ev = Event::Update(dmdesk::update::Update::Message(Box::new(again)));
    assert_eq!(notifies(&update(&mut s, ev)), 0);
}
