//! OSC 8 links wrapped over several lines of the thread pane: every line's
//! part is a hyperlink to the whole URL (issue 17), also when the first
//! part is scrolled above the pane; a URL that just fits a line is not
//! glued to the word below it.

use dmdesk::app::fixtures as fx;
use dmdesk::app::State;
use dmdesk::domain::*;
use ratatui::backend::TestBackend;
use ratatui::buffer::CellDiffOption;
use ratatui::Terminal;

fn long_url() -> String {
    let path: String = (0..160)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    format!("https://scontent.example.com/v/t1/{path}.jpg?oh=00_AbC")
}

fn state_with(height: u16, messages: impl FnOnce(&ConvKey) -> Vec<Message>) -> State {
    let mut o = fx::options();
    o.media.hyperlinks = true;
    let mut s = State::new(o, fx::NOW, (80, height));
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 3, 0);
    let msgs = messages(&c.key);
    fx::open_with(&mut s, c, msgs);
    s
}

/// Every hyperlink cell, top to bottom: (row, target, shown text, forced width).
fn links(s: &State) -> Vec<(u16, String, String, u16)> {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| dmdesk::ui::render(s, f)).unwrap();
    let buf = t.backend().buffer();
    let mut out = Vec::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            let Some(rest) = c.symbol().strip_prefix("\x1b]8;;") else {
                continue;
            };
            let (url, rest) = rest.split_once("\x1b\\").expect("the opening escape ends");
            let text = rest
                .strip_suffix("\x1b]8;;\x1b\\")
                .expect("closed on the same cell");
            let CellDiffOption::ForcedWidth(w) = c.diff_option else {
                panic!("a link cell has a forced width");
            };
            out.push((y, url.to_string(), text.to_string(), w.get()));
        }
    }
    out
}

#[test]
fn a_url_wrapped_over_lines_is_linked_on_every_line_to_the_whole_url() {
    let url = long_url();
    let s = state_with(30, |c| {
        vec![fx::inbound(
            c,
            "m1",
            2,
            &format!("look at this {url} please"),
        )]
    });
    let found = links(&s);
    assert!(found.len() >= 3, "one part per line: {found:?}");
    for (i, (row, target, text, width)) in found.iter().enumerate() {
        assert_eq!(target, &url, "part {i} links to the whole URL");
        assert_eq!(*width as usize, text.len(), "width is the shown part's");
        if i > 0 {
            assert_eq!(*row, found[i - 1].0 + 1, "parts on consecutive rows");
        }
    }
    let joined: String = found.iter().map(|(_, _, t, _)| t.as_str()).collect();
    assert_eq!(joined, url, "the parts shown are the URL, in order");
}

#[test]
fn a_wrapped_attachment_url_scrolled_half_out_of_view_still_links_whole() {
    let url = long_url();
    // A short pane (three rows) scrolled to the bottom: only the URL's
    // last lines are in view.
    let mut s = state_with(12, |c| {
        let mut m = fx::inbound(c, "m1", 2, "");
        m.text = None;
        m.attachments = vec![Attachment {
            kind: "file".into(),
            url: Some(url.clone()),
            title: None,
        }];
        vec![m]
    });
    s.thread.as_mut().unwrap().scroll = 0;
    let found = links(&s);
    assert!(found.len() >= 2, "the visible parts are links: {found:?}");
    let joined: String = found.iter().map(|(_, _, t, _)| t.as_str()).collect();
    assert!(
        url.ends_with(&joined) && joined.len() < url.len(),
        "only the end is in view: {joined:?}"
    );
    assert!(found.iter().all(|(_, target, _, _)| target == &url));
}

#[test]
fn a_url_that_fits_its_line_exactly_is_not_joined_to_the_next_word() {
    let url = long_url();
    // The first part of a wrapped URL fills the body's width: measure it.
    let wide = state_with(30, |c| vec![fx::inbound(c, "m1", 2, &url)]);
    let body = links(&wide)[0].2.len();
    let exact = format!("https://x.example/{}", "b".repeat(body - 18));
    assert_eq!(exact.len(), body);
    let s = state_with(30, |c| {
        vec![fx::inbound(c, "m1", 2, &format!("{exact} nextword"))]
    });
    let found = links(&s);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].1.as_str(), found[0].2.as_str()),
        (exact.as_str(), exact.as_str())
    );
}
