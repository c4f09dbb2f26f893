//! Pasting (bracketed paste) into the composer's attach prompt, through the
//! pure update: the text is typed in as one line, the edge is asked to look
//! at the new path (so the preview line follows), and a paste of several
//! lines keeps the first and says so.

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

/// The attach prompt open over Ann Lee's composer.
fn prompt() -> (State, dmdesk::domain::Conversation) {
    let mut s = fx::state(100, 30);
    let rows = fx::three();
    fx::load_rows(&mut s, rows.clone());
    let c = rows[0].clone();
    fx::open_with(
        &mut s,
        c.clone(),
        vec![fx::inbound(&c.key, "m1", 5, "hello")],
    );
    s.focus = Focus::Composer;
    fx::ctrl(&mut s, 'o');
    (s, c)
}

fn paste(s: &mut State, text: &str) -> Vec<Command> {
    update(s, Event::Paste(text.into()))
}

fn input(s: &State) -> String {
    match &s.overlay {
        Some(Overlay::Attach(p)) => p.input.clone(),
        other => panic!("the attach prompt is not open: {other:?}"),
    }
}

fn status(s: &State) -> Option<String> {
    s.status.message.clone().map(|(_, m)| m)
}

#[test]
fn a_pasted_path_is_typed_in_and_previewed() {
    let (mut s, ann) = prompt();
    let path = "/home/ann/Pictures/parcel photo.png";
    // A copied line ends with a newline: it is not part of the path.
    assert_eq!(
        paste(&mut s, &format!("{path}\n")),
        vec![Command::LookFile(path.into())]
    );
    assert_eq!(input(&s), path);
    assert_eq!(status(&s), None, "nothing to say about one line");
    update(
        &mut s,
        Event::FileLooked(FileLook {
            input: path.into(),
            entries: vec!["parcel photo.png".into()],
            file: Ok(FileFacts {
                name: "parcel photo.png".into(),
                size: 2_345_678,
                kind: MediaKind::Image,
                mime: "image/png",
            }),
        }),
    );
    insta::assert_snapshot!("attach_prompt_pasted_100x30", draw(&s).backend());
    assert_eq!(
        fx::press(&mut s, KeyCode::Enter),
        vec![Command::SendFile(FileSend {
            path: path.into(),
            conv: ann.key.clone(),
            tag: None,
            agent: s.opts.me.clone(),
        })]
    );
}

#[test]
fn a_paste_adds_to_what_is_typed_and_leaves_control_characters_out() {
    let (mut s, _) = prompt();
    fx::typ(&mut s, "~/in/");
    assert_eq!(
        paste(&mut s, "pho\tto.png\r\n"),
        vec![Command::LookFile("~/in/photo.png".into())]
    );
    assert_eq!(input(&s), "~/in/photo.png");
}

#[test]
fn of_several_pasted_lines_the_first_is_kept_saying_so() {
    for (text, more) in [
        ("a.png\nb.png\n", 1),
        // Terminals may send a pasted newline as a carriage return.
        ("a.png\rb.png\rc.png", 2),
        ("\r\na.png\r\n\r\nb.png\r\n", 1),
    ] {
        let (mut s, _) = prompt();
        assert_eq!(
            paste(&mut s, text),
            vec![Command::LookFile("a.png".into())],
            "{text:?}"
        );
        assert_eq!(input(&s), "a.png", "{text:?}");
        assert_eq!(
            status(&s).as_deref(),
            Some(
                format!("pasted the first line only: a path is one line ({more} more ignored)")
                    .as_str()
            ),
            "{text:?}"
        );
    }
}

#[test]
fn without_the_prompt_a_paste_still_goes_to_the_composer() {
    let (mut s, _) = prompt();
    fx::press(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());
    assert!(paste(&mut s, "line one\nline two").is_empty());
    assert_eq!(s.composer.text(), "line one\nline two");
}
