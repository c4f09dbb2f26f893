//! The composer's attach prompt, driven through the pure update: the
//! attach key opens it, the edge's look answers feed completion and the
//! preview line, enter sends through the file job, a refusal keeps it
//! open saying why. Snapshots show the prompt as drawn.

use dmdesk::app::attach::{FileFacts, FileLook, FileSend};
use dmdesk::app::command::Command;
use dmdesk::app::event::Event;
use dmdesk::app::fixtures as fx;
use dmdesk::app::state::{Focus, Overlay, State};
use dmdesk::app::update::update;
use dmdesk::media::outgoing::MediaKind;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::Terminal;

fn draw(s: &State) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| dmdesk::ui::render(s, f)).unwrap();
    t
}

fn entries() -> Vec<String> {
    ["docs/", "photo.png", "photos/", "receipt.pdf"]
        .iter()
        .map(|e| e.to_string())
        .collect()
}

/// What the edge would answer for `input`.
fn looked(s: &mut State, input: &str, file: Result<FileFacts, String>) {
    update(
        s,
        Event::FileLooked(FileLook {
            input: input.into(),
            entries: entries(),
            file,
        }),
    );
}

fn facts(name: &str, size: u64, kind: MediaKind, mime: &'static str) -> FileFacts {
    FileFacts {
        name: name.into(),
        size,
        kind,
        mime,
    }
}

/// The composer of conversation `i` of `fx::three()`, focused.
fn composing(i: usize) -> (State, dmdesk::domain::Conversation) {
    let mut s = fx::state(100, 30);
    let rows = fx::three();
    fx::load_rows(&mut s, rows.clone());
    let c = rows[i].clone();
    fx::open_with(
        &mut s,
        c.clone(),
        vec![fx::inbound(&c.key, "m1", 5, "hello")],
    );
    s.focus = Focus::Composer;
    (s, c)
}

fn prompt_open(s: &State) -> bool {
    matches!(s.overlay, Some(Overlay::Attach(_)))
}

#[test]
fn the_prompt_completes_previews_and_sends_through_the_file_job() {
    let (mut s, ann) = composing(0);
    assert_eq!(
        fx::ctrl(&mut s, 'o'),
        vec![Command::LookFile(String::new())]
    );
    assert!(prompt_open(&s));
    looked(&mut s, "", Err(String::new()));
    fx::typ(&mut s, "ph");
    looked(&mut s, "ph", Err("no such file".into()));
    // Two names start with "photo": it goes that far and lists them.
    assert_eq!(
        fx::press(&mut s, KeyCode::Tab),
        vec![Command::LookFile("photo".into())]
    );
    looked(&mut s, "photo", Err("no such file".into()));
    insta::assert_snapshot!("attach_prompt_completions_100x30", draw(&s).backend());

    fx::typ(&mut s, ".");
    let out = fx::press(&mut s, KeyCode::Tab);
    assert_eq!(out, vec![Command::LookFile("photo.png".into())]);
    looked(
        &mut s,
        "photo.png",
        Ok(facts("photo.png", 1_234_567, MediaKind::Image, "image/png")),
    );
    let t = draw(&s);
    insta::assert_snapshot!("attach_prompt_preview_100x30", t.backend());

    let out = fx::press(&mut s, KeyCode::Enter);
    assert_eq!(
        out,
        vec![Command::SendFile(FileSend {
            path: "photo.png".into(),
            conv: ann.key.clone(),
            tag: None,
            agent: s.opts.me.clone(),
        })]
    );
    assert!(!prompt_open(&s));
    let (_, msg) = s.status.message.clone().unwrap();
    assert_eq!(msg, "sending photo.png (1.2 MB) to Ann Lee…");
}

#[test]
fn a_stale_look_is_ignored_and_enter_waits_for_a_file() {
    let (mut s, _) = composing(0);
    fx::ctrl(&mut s, 'o');
    fx::typ(&mut s, "photo.png");
    // The answer for an earlier input does not preview this one.
    looked(
        &mut s,
        "photo",
        Ok(facts("photo", 10, MediaKind::Image, "image/png")),
    );
    assert!(fx::press(&mut s, KeyCode::Enter).is_empty());
    assert!(prompt_open(&s));
    assert!(s
        .status
        .message
        .clone()
        .unwrap()
        .1
        .contains("type the path"));
    // Backspace and esc: the prompt closes, the composer stays.
    assert_eq!(
        fx::press(&mut s, KeyCode::Backspace),
        vec![Command::LookFile("photo.pn".into())]
    );
    assert!(fx::press(&mut s, KeyCode::Esc).is_empty());
    assert!(!prompt_open(&s));
    assert_eq!(s.focus, Focus::Composer);
}

#[test]
fn refusals_keep_the_prompt_open_and_say_why() {
    // A document to an Instagram customer.
    let (mut s, _) = composing(1);
    fx::ctrl(&mut s, 'o');
    fx::typ(&mut s, "receipt.pdf");
    looked(
        &mut s,
        "receipt.pdf",
        Ok(facts(
            "receipt.pdf",
            2_000,
            MediaKind::File,
            "application/pdf",
        )),
    );
    assert!(fx::press(&mut s, KeyCode::Enter).is_empty());
    assert!(prompt_open(&s));
    let (_, msg) = s.status.message.clone().unwrap();
    assert!(msg.contains("not documents"), "{msg}");

    // Outside the 24-hour window without the tag.
    let (mut s, _) = composing(2);
    fx::ctrl(&mut s, 'o');
    fx::typ(&mut s, "photo.png");
    looked(
        &mut s,
        "photo.png",
        Ok(facts("photo.png", 2_000, MediaKind::Image, "image/png")),
    );
    assert!(fx::press(&mut s, KeyCode::Enter).is_empty());
    assert!(prompt_open(&s));
    let (_, msg) = s.status.message.clone().unwrap();
    assert!(msg.starts_with("not sent: "), "{msg}");
    assert!(msg.contains("window"), "{msg}");

    // What the edge found wrong is said as it is.
    let (mut s, _) = composing(0);
    fx::ctrl(&mut s, 'o');
    fx::typ(&mut s, "docs");
    looked(
        &mut s,
        "docs",
        Err("a directory: type / to look inside".into()),
    );
    assert!(fx::press(&mut s, KeyCode::Enter).is_empty());
    let (_, msg) = s.status.message.clone().unwrap();
    assert_eq!(msg, "not sent: a directory: type / to look inside");
}
