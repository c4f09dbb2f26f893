//! Whole-screen snapshots with TestBackend: fixed size, clock, zone (UTC) and data.

use dmdesk::app::event::{Event, Reply};
use dmdesk::app::fixtures::{self as fx, NOW};
use dmdesk::app::{update, State};
use dmdesk::domain::*;
use dmdesk::update::{CampaignProgress, SyncProgress, Update};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

#[path = "common/bulk.rs"]
mod bulk;
use bulk::answer_bulk;

fn draw(s: &State) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| dmdesk::ui::render(s, f)).unwrap();
    t
}

fn key(s: &mut State, code: KeyCode) -> Vec<dmdesk::app::Command> {
    update(s, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn inbox(s: &mut State) {
    let mut rows = vec![
        fx::conv(Platform::Messenger, "u1", "Ann Lee", 3, 2),
        fx::conv(Platform::Instagram, "u2", "陈波 Bo Chen", 75, 1),
        fx::conv(Platform::Messenger, "u3", "Cy Diaz", 30 * 60, 0),
        fx::conv(Platform::Instagram, "u4", "Dee 🌸", 9 * 24 * 60, 0),
    ];
    rows[2].status = ConvStatus::Pending;
    rows[2].last_direction = Some(Direction::Out);
    rows[2].last_preview = "We'll check and get back to you".into();
    rows[3].status = ConvStatus::Resolved;
    fx::load_rows(s, rows);
}

#[test]
fn empty_inbox_100x30() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, vec![]);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn empty_inbox_demo_80x24() {
    let mut o = fx::options();
    o.demo = true;
    let mut s = State::new(o, NOW, (80, 24));
    fx::load_rows(&mut s, vec![]);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn unread_list_80x24() {
    let mut s = fx::state(80, 24);
    inbox(&mut s);
    key(&mut s, KeyCode::Char('j'));
    insta::assert_snapshot!(draw(&s).backend());
}

fn long_thread(s: &mut State) {
    inbox(s);
    let c = s.list.rows[1].clone();
    let k = c.key.clone();
    let mut photo = fx::inbound(&k, "m2", 70, "");
    photo.text = None;
    photo.attachments = vec![Attachment {
        kind: "image".into(),
        url: Some("https://cdn.example.com/p/1.jpg".into()),
        title: None,
    }];
    let mut reply = fx::outbound(
        &k,
        "m3",
        60,
        "Thanks! We ship worldwide 🚚 — 通常 3–5 日でお届けします。",
        MsgStatus::Read,
    );
    reply.reply_to = Some(Mid::new("m1"));
    let mut inbox_reply = fx::outbound(
        &k,
        "m4",
        50,
        "(answered from the phone app)",
        MsgStatus::Delivered,
    );
    inbox_reply.origin = Some(Origin::PageInbox);
    let mut edited = fx::inbound(&k, "m5", 40, "Great 👍 我想订购两件，请问有折扣吗？ This is a long message that has to wrap across several lines of the thread pane without breaking the layout 😀😀😀");
    edited.edited = true;
    edited.reactions = vec![Reaction {
        emoji: "❤".into(),
        by: fx::IG.into(),
    }];
    let mut failed = fx::outbound(
        &k,
        "local:o7",
        30,
        "Yes, 10% with code SPRING",
        MsgStatus::Failed,
    );
    failed.error = Some("(#100) the user is unavailable".into());
    let mut yesterday = fx::inbound(&k, "m0", 26 * 60, "你好！Do you ship to Taipei? 🇹🇼");
    yesterday.timestamp = NOW.plus_ms(-26 * 60 * 60_000);
    let msgs = vec![
        yesterday,
        fx::inbound(&k, "m1", 75, "Hello 👋 is this in stock?"),
        photo,
        reply,
        inbox_reply,
        edited,
        failed,
    ];
    fx::open_with(s, c, msgs);
}

#[test]
fn long_wrapped_thread_with_emoji_and_cjk_100x30() {
    let mut s = fx::state(100, 30);
    long_thread(&mut s);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn long_wrapped_thread_80x24() {
    let mut s = fx::state(80, 24);
    long_thread(&mut s);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn outside_window_composer() {
    let mut s = fx::state(100, 30);
    inbox(&mut s);
    let c = s.list.rows[2].clone(); // Cy Diaz: 30 h ago
    let k = c.key.clone();
    fx::open_with(
        &mut s,
        c,
        vec![fx::inbound(&k, "m1", 30 * 60, "Where is my order #1234?")],
    );
    key(&mut s, KeyCode::Char('i'));
    for ch in "Sorry for the delay!".chars() {
        key(&mut s, KeyCode::Char(ch));
    }
    key(&mut s, KeyCode::Enter); // refused: no tag
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn campaign_running_status_bar() {
    let mut s = fx::state(100, 30);
    inbox(&mut s);
    for _ in 0..12 {
        update(&mut s, Event::Update(Update::EventReceived { at: NOW }));
    }
    update(
        &mut s,
        Event::Update(Update::Sync(SyncProgress {
            running: false,
            finished_at: Some(NOW.plus_ms(-600_000)),
            ..Default::default()
        })),
    );
    update(
        &mut s,
        Event::Update(Update::Campaign(CampaignProgress {
            id: "c1".into(),
            title: "Spring sale".into(),
            total: 120,
            done: 45,
            sent: 44,
            failed: 1,
            skipped: 0,
            running: true,
            created_by: Some("bob".into()),
        })),
    );
    let buf = draw(&s);
    insta::assert_snapshot!(buf.backend());
}

#[test]
fn help_overlay_80x24() {
    let mut s = fx::state(80, 24);
    inbox(&mut s);
    key(&mut s, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn bulk_preview_popup() {
    let mut s = fx::state(100, 30);
    inbox(&mut s);
    key(&mut s, KeyCode::Char('a'));
    key(&mut s, KeyCode::Char('B'));
    for ch in "Our shop is closed on Monday, {first_name}".chars() {
        key(&mut s, KeyCode::Char(ch));
    }
    // Nothing asked yet: the popup says Enter asks.
    let t = draw(&s);
    assert!(
        screen_text(&t).contains("Enter: preview who it reaches"),
        "{}",
        screen_text(&t)
    );
    insta::assert_snapshot!(t.backend());
    let cmds = key(&mut s, KeyCode::Enter);
    let t = draw(&s);
    assert!(
        screen_text(&t).contains("Asking the inbox who it reaches"),
        "{}",
        screen_text(&t)
    );
    assert!(answer_bulk(&mut s, &cmds));
    // One rendered example in the preview (issue 12), variables filled.
    let example = "Ann Lee reads: \"Our shop is closed on Monday, Ann\"";
    let t = draw(&s);
    assert!(screen_text(&t).contains(example), "{}", screen_text(&t));
    insta::assert_snapshot!("bulk_confirm", t.backend());
    // Back to the text: the preview stays, with why the others get nothing.
    key(&mut s, KeyCode::Char('n'));
    let t = draw(&s);
    assert!(screen_text(&t).contains(example), "{}", screen_text(&t));
    insta::assert_snapshot!("bulk_previewed", t.backend());
}

#[test]
fn cancel_campaign_popup() {
    let mut s = fx::state(100, 30);
    inbox(&mut s);
    update(
        &mut s,
        Event::Update(Update::Campaign(CampaignProgress {
            id: "c7".into(),
            title: "Spring sale".into(),
            total: 40,
            done: 12,
            sent: 11,
            failed: 1,
            skipped: 0,
            running: true,
            created_by: None,
        })),
    );
    key(&mut s, KeyCode::Char('C'));
    let t = draw(&s);
    assert!(
        screen_text(&t).contains("Cancel \"Spring sale\""),
        "{}",
        screen_text(&t)
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn colours_only_without_no_color() {
    // NO_COLOR: no fg colours anywhere, but the selection is still reversed.
    let mut s = fx::state(80, 24);
    inbox(&mut s);
    let t = draw(&s);
    let buf = t.backend().buffer();
    assert!(buf
        .content()
        .iter()
        .all(|c| c.fg == ratatui::style::Color::Reset));
    assert!(buf
        .content()
        .iter()
        .any(|c| c.modifier.contains(ratatui::style::Modifier::REVERSED)));
    s.opts.no_color = false;
    let t = draw(&s);
    assert!(t
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg != ratatui::style::Color::Reset));
}

#[test]
fn thread_cursor_on_an_older_message_80x24() {
    // NO_COLOR (the fixtures' default): the selection shows as a marker on
    // the pane's left border and a reversed first line.
    let mut s = fx::state(80, 24);
    long_thread(&mut s);
    key(&mut s, KeyCode::Char('k'));
    key(&mut s, KeyCode::Char('k'));
    let t = draw(&s);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    let p = s.panes();
    let marked: Vec<u16> = (p.thread.y..p.thread.y + p.thread.height)
        .filter(|y| buf[(p.thread.x, *y)].symbol() == "▐")
        .collect();
    assert_eq!(marked.len(), 2, "the selected message has two lines");
    let first = marked[0];
    let reversed = (p.thread.x + 1..p.thread.x + p.thread.width - 1)
        .filter(|x| {
            buf[(*x, first)]
                .modifier
                .contains(ratatui::style::Modifier::REVERSED)
        })
        .count();
    assert!(reversed > 10, "its first line is reversed");
    assert!(buf
        .content()
        .iter()
        .all(|c| c.fg == ratatui::style::Color::Reset));
    // Unfocused, no selection is drawn.
    key(&mut s, KeyCode::Esc);
    let t = draw(&s);
    let buf = t.backend().buffer();
    assert!(
        (p.thread.y..p.thread.y + p.thread.height).all(|y| buf[(p.thread.x, y)].symbol() != "▐")
    );
}

#[test]
fn colleague_viewing_and_confirm_send_100x30() {
    let mut s = fx::state(100, 30);
    inbox(&mut s);
    let c = s.list.rows[0].clone();
    let mut theirs = fx::outbound(&c.key, "m2", 1, "On it, checking now", MsgStatus::Read);
    theirs.agent = Some("bob".into());
    let mut mine = fx::outbound(&c.key, "m0", 3, "Hello from me", MsgStatus::Read);
    mine.agent = Some("alice".into());
    fx::open_with(
        &mut s,
        c.clone(),
        vec![
            mine,
            fx::inbound(&c.key, "m1", 2, "Where is my order?"),
            theirs,
        ],
    );
    update(
        &mut s,
        Event::Update(Update::Presence(vec![dmdesk::update::Viewer {
            agent: "bob".into(),
            session: 9,
            conv: c.key.clone(),
            typing_at: Some(NOW),
        }])),
    );
    key(&mut s, KeyCode::Char('i'));
    for ch in "Shipped today".chars() {
        key(&mut s, KeyCode::Char(ch));
    }
    key(&mut s, KeyCode::Enter);
    insta::assert_snapshot!(draw(&s).backend());
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let w = buf.area.width as usize;
    buf.content()
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_message_received_now_leaves_23h59m_not_1d0h() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 0, 1);
    fx::load_rows(&mut s, vec![c.clone()]);
    fx::open_with(&mut s, c.clone(), vec![fx::inbound(&c.key, "m1", 0, "hi")]);
    let text = screen_text(&draw(&s));
    assert!(text.contains("⏱23h59m"), "list row:\n{text}");
    assert!(text.contains("closes in 23h59m"), "composer:\n{text}");
    assert!(!text.contains("1d0h"), "{text}");
}

/// Tabs and control characters from customers: expanded or replaced before
/// anything is measured, so the list row and the thread's indents hold.
#[test]
fn tabs_and_control_characters_80x24() {
    let mut s = fx::state(80, 24);
    inbox(&mut s);
    let mut c = fx::conv(Platform::Messenger, "u7", "Tab\tTester\x07", 2, 1);
    c.last_preview = "order\t#1234\tqty 2\x1b[31m!".into();
    let k = c.key.clone();
    let msgs = vec![
        fx::inbound(
            &k,
            "m1",
            2,
            "item\tqty\tprice\n\tmug\t2\t9.90\r\n\tbeans\t1\t14.50",
        ),
        fx::inbound(&k, "m2", 1, "bell\x07 escape\x1b[0m del\x7f end"),
        fx::outbound(&k, "m3", 0, "We\tgot it:\n\tthanks!", MsgStatus::Sent),
    ];
    fx::open_with(&mut s, c, msgs);
    let t = draw(&s);
    let text = screen_text(&t);
    assert!(!text.contains(|c: char| c.is_control() && c != '\n'));
    insta::assert_snapshot!(t.backend());
}

/// After `!` jumps to a conversation whose row is off-screen, the thread
/// has focus, the list says which conversation is open, and the status
/// menu names the conversation it will change.
#[test]
fn status_menu_names_its_conversation_after_an_urgent_jump_80x24() {
    let mut s = fx::state(80, 24);
    let mut rows: Vec<Conversation> = (0..14)
        .map(|i| {
            fx::conv(
                Platform::Messenger,
                &format!("u{i}"),
                &format!("Customer {i}"),
                i * 10,
                0,
            )
        })
        .collect();
    rows[13].name = "Urgent Ursula".into();
    rows[13].last_inbound = Some(NOW.plus_ms(-23 * 3_600_000));
    rows[13].last_user_message = rows[13].last_inbound;
    fx::load_rows(&mut s, rows.clone());
    update(
        &mut s,
        Event::Inbox(Reply::Urgent(Some(Box::new(rows[13].clone())))),
    );
    key(&mut s, KeyCode::Char('s'));
    let t = draw(&s);
    let text = screen_text(&t);
    assert!(text.contains("for Urgent Ursula"), "{text}");
    assert!(text.contains("open: Urgent Ursula"), "{text}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn the_list_marks_the_open_conversation_apart_from_the_cursor() {
    let mut s = fx::state(80, 24);
    inbox(&mut s);
    let c = s.list.rows[1].clone();
    fx::open_with(&mut s, c, vec![]);
    key(&mut s, KeyCode::Esc); // back to the list
    key(&mut s, KeyCode::Char('j')); // the cursor leaves the open row
    let t = draw(&s);
    let buf = t.backend().buffer();
    let p = s.panes();
    let marked: Vec<u16> = (p.list.y..p.list.y + p.list.height)
        .filter(|y| buf[(p.list.x, *y)].symbol() == "▐")
        .collect();
    // Rows are two lines, under the border: the second row is lines 3-4.
    assert_eq!(marked, vec![3, 4]);
    let reversed = |y: u16| {
        buf[(p.list.x + 3, y)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    };
    assert!(reversed(5) && reversed(6), "the cursor on the third row");
    assert!(!reversed(3), "the open row is not drawn as the cursor");
    // Thread focused: no cursor, the marker alone (bold is for unread).
    key(&mut s, KeyCode::Char('k'));
    key(&mut s, KeyCode::Enter);
    let t = draw(&s);
    let buf = t.backend().buffer();
    assert!(
        (p.list.y..p.list.y + p.list.height).all(|y| !buf[(p.list.x + 3, y)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED))
    );
    assert_eq!(buf[(p.list.x, 3)].symbol(), "▐");
}

/// `LANG=C` (or `[ui] ascii = true`): borders, ⏱, ✓, ▶/◀ and emoji in ASCII.
#[test]
fn ascii_thread_80x24() {
    let mut o = fx::options();
    o.ascii = true;
    let mut s = State::new(o, NOW, (80, 24));
    long_thread(&mut s);
    let t = draw(&s);
    assert!(
        t.backend()
            .buffer()
            .content
            .iter()
            .all(|c| c.symbol().is_ascii()),
        "every cell is ASCII"
    );
    insta::assert_snapshot!(t.backend());
}

/// The notices log: status-bar notices whole, with their times.
#[test]
fn notices_log_100x30() {
    let mut s = fx::state(100, 30);
    inbox(&mut s);
    key(&mut s, KeyCode::Char('S')); // "sync requested"
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(65_000),
        },
    );
    // A long error the status bar has to cut.
    key(&mut s, KeyCode::Char('y'));
    key(&mut s, KeyCode::Char('L'));
    insta::assert_snapshot!(draw(&s).backend());
}

/// A reply longer than the composer is wide wraps onto the next row (at a
/// word) instead of scrolling sideways: its first and last words are both
/// on screen, and no row of the composer is cut inside a word.
#[test]
fn composer_wraps_a_long_reply_80x24() {
    let mut s = fx::state(80, 24);
    inbox(&mut s);
    let c = s.list.rows[0].clone();
    let k = c.key.clone();
    fx::open_with(
        &mut s,
        c,
        vec![fx::inbound(&k, "m1", 3, "Can I change the address?")],
    );
    key(&mut s, KeyCode::Char('i'));
    let reply = "Opening: yes, we can change it 📦 before it ships, send the new one ending";
    for ch in reply.chars() {
        key(&mut s, KeyCode::Char(ch));
    }
    let t = draw(&s);
    let text = screen_text(&t);
    assert!(text.contains("Opening: yes"), "start of the reply:\n{text}");
    assert!(text.contains("new one ending"), "end of the reply:\n{text}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn help_composer_page_80x24() {
    let mut s = fx::state(80, 24);
    inbox(&mut s);
    key(&mut s, KeyCode::Char('?'));
    key(&mut s, KeyCode::Tab);
    let t = draw(&s);
    let text = screen_text(&t);
    for k in ["ctrl-z", "alt-z", "ctrl-l", "ctrl-w", "alt-b/f"] {
        assert!(text.contains(k), "the composer page lists {k}");
    }
    insta::assert_snapshot!(t.backend());
}

/// Two customers named alike, one with a draft, in the resolved view.
#[test]
fn same_names_draft_marker_and_view_title_80x24() {
    let mut s = fx::state(80, 24);
    key(&mut s, KeyCode::Char('f'));
    let mut rows = vec![
        fx::conv(Platform::Messenger, "100200300400517", "Sam Park", 3, 1),
        fx::conv(Platform::Instagram, "17841400009921", "Sam Park", 40, 0),
        fx::conv(Platform::Messenger, "u3", "Cy Diaz", 90, 0),
        fx::conv(Platform::Instagram, "17841400007777", "Sam Park", 50, 0),
    ];
    rows[3].handle = Some("sam.parks.coffee".into());
    rows[1].has_draft = true;
    rows[2].has_draft = true;
    for r in &mut rows {
        r.status = ConvStatus::Resolved;
    }
    fx::load_rows(&mut s, rows);
    let t = draw(&s);
    let text = screen_text(&t);
    assert!(text.contains("Inbox 4 · resolved"), "{text}");
    assert!(text.contains("Sam Park ·0517") && text.contains("Sam Park ·9921"));
    // A known handle (Instagram username) is what tells them apart.
    assert!(text.contains(" @sam.parks…"), "{text}");
    assert!(!text.contains("·7777"), "the handle, not the id: {text}");
    assert!(!text.contains("Cy Diaz ·"), "a unique name has no tag");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn status_bar_keeps_a_token_warning_in_view() {
    let mut s = fx::state(120, 30);
    inbox(&mut s);
    update(
        &mut s,
        Event::Update(Update::TokenWarnings(vec![
            "token of Shop (P1) expires in 3 day(s): generate a new Page access token and put it in the config".into(),
            "token of Insta (IG9): dmdesk cannot tell when it expires nor renew it".into(),
        ])),
    );
    let t = draw(&s);
    let text = screen_text(&t);
    let bar = text.lines().last().unwrap_or_default();
    assert!(
        bar.contains("! token of Shop (P1) expires in 3 day(s) (+1 more)"),
        "status bar: {bar}"
    );
}

/// Issue 12: rows and a thread with ❤️, 👍🏽, flags, a ZWJ family and CJK
/// beside the help popup. Every cell is drawn in a form a terminal that
/// advances character by character (tmux 3.3) agrees with, so nothing can
/// be misplaced into the popup's border or left stale around it.
#[test]
fn emoji_flags_and_cjk_beside_the_help_popup_100x30() {
    let mut s = fx::state(100, 30);
    let mut rows = vec![
        fx::conv(Platform::Instagram, "u1", "Chloé ❤️", 2, 1),
        fx::conv(Platform::Messenger, "u2", "민준 이", 5, 2),
        fx::conv(Platform::Messenger, "u3", "Family 👨‍👩‍👧", 9, 0),
        fx::conv(Platform::Instagram, "u4", "陈波 Bo Chen", 75, 0),
    ];
    rows[0].last_preview = "Merci ❤️❤️ 🇫🇷🇫🇷 c'était parfait".into();
    rows[1].last_preview = "커피 정말 맛있어요 👍🏽👍🏽 감사합니다".into();
    rows[2].last_preview = "1️⃣ order for all of us ✔️".into();
    rows[3].last_preview = "谢谢！🇨🇳 很好吃 ☕☕☕☕☕☕☕☕".into();
    fx::load_rows(&mut s, rows);
    let c = s.list.rows[1].clone();
    let k = c.key.clone();
    fx::open_with(
        &mut s,
        c,
        vec![
            fx::inbound(&k, "m1", 6, "커피 정말 맛있어요 👍🏽 ❤️ 🇰🇷🇰🇷 한국어 한국어 한국어 한국어 한국어 한국어 한국어"),
            fx::inbound(&k, "m2", 5, "❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️ 👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽"),
        ],
    );
    key(&mut s, KeyCode::Char('?'));
    let t = draw(&s);
    let buf = t.backend().buffer();
    // A character-by-character terminal advances as far as ratatui counts.
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            let by_char: usize = sym
                .chars()
                .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
                .sum();
            let cells = ratatui::buffer::CellWidth::cell_width(sym);
            assert_eq!(by_char, usize::from(cells), "{sym:?} at ({x},{y})");
        }
    }
    // The popup's border is whole on every one of its rows.
    let row = |y: u16| -> String { (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect() };
    let top = (0..buf.area.height)
        .find(|&y| row(y).contains("┌ Keys"))
        .expect("the help popup");
    let left = (0..buf.area.width)
        .find(|&x| buf[(x, top)].symbol() == "┌" && buf[(x + 1, top)].symbol() == " ")
        .unwrap();
    let right = (left..buf.area.width)
        .find(|&x| buf[(x, top)].symbol() == "┐")
        .unwrap();
    let bottom = (top..buf.area.height)
        .find(|&y| buf[(left, y)].symbol() == "└")
        .unwrap();
    for y in top + 1..bottom {
        assert_eq!(buf[(left, y)].symbol(), "│", "left border, row {y}");
        assert_eq!(buf[(right, y)].symbol(), "│", "right border, row {y}");
    }
    insta::assert_snapshot!(t.backend());
}

/// Rows carrying the team's marks: whose, labels (coloured by `[labels]`)
/// and priority.
fn team_inbox(s: &mut State) -> Vec<Conversation> {
    let mut rows = vec![
        fx::conv(Platform::Messenger, "u1", "Ann Lee", 3, 2),
        fx::conv(Platform::Instagram, "u2", "Bo Chen", 75, 0),
        fx::conv(Platform::Messenger, "u3", "Cy Diaz", 30, 0),
        fx::conv(Platform::Messenger, "u4", "Dee Ford", 200, 0),
    ];
    rows[0].assignee = Some("alice".into());
    rows[0].labels = vec!["vip".into(), "refund".into()];
    rows[0].priority = dmdesk::team::Priority::Urgent;
    rows[1].assignee = Some("bob".into());
    rows[1].priority = dmdesk::team::Priority::Low;
    rows[2].labels = vec!["shipping".into()];
    rows[3].assignee = Some("bartholomew".into());
    rows[3].priority = dmdesk::team::Priority::High;
    fx::load_rows(s, rows.clone());
    rows
}

#[test]
fn list_rows_with_assignee_labels_and_priority_100x30() {
    let mut s = fx::state(100, 30);
    team_inbox(&mut s);
    key(&mut s, KeyCode::Char('m')); // the "mine" view's title
    let first = s.list.rows[0].clone();
    fx::load_rows(&mut s, vec![first]);
    let mine = draw(&s);
    let text = screen_text(&mine);
    assert!(text.contains("Inbox 1 · mine · open"), "{text}");
    let mut s = fx::state(100, 30);
    team_inbox(&mut s);
    key(&mut s, KeyCode::Char('O'));
    insta::assert_snapshot!(draw(&s).backend());
    // Labels in their configured colours (wide enough for all of them).
    update(
        &mut s,
        Event::Resize {
            width: 160,
            height: 30,
        },
    );
    s.opts.no_color = false;
    let t = draw(&s);
    let buf = t.backend().buffer();
    let vip = buf
        .content()
        .iter()
        .position(|c| c.symbol() == "#")
        .expect("a label on screen");
    assert_eq!(buf.content()[vip + 1].fg, ratatui::style::Color::Magenta);
}

#[test]
fn a_note_and_history_in_the_thread_100x30() {
    use dmdesk::app::event::ThreadData;
    use dmdesk::team::{HistoryEvent, HistoryKind, Note, Priority};
    let mut s = fx::state(100, 30);
    let rows = team_inbox(&mut s);
    let c = rows[0].clone();
    let at = |min: i64| NOW.plus_ms(-min * 60_000);
    let messages = vec![
        fx::inbound(&c.key, "m1", 40, "My order arrived broken."),
        fx::outbound(
            &c.key,
            "m2",
            30,
            "Sorry! Sending a new one.",
            MsgStatus::Read,
        ),
        fx::inbound(&c.key, "m3", 3, "Thanks, and the refund?"),
    ];
    let ev = |min, by: &str, kind| HistoryEvent {
        conv: c.key.clone(),
        at: at(min),
        by: Some(by.into()),
        kind,
    };
    let history = vec![
        ev(
            35,
            "bob",
            HistoryKind::Assigned {
                from: None,
                to: Some("alice".into()),
            },
        ),
        ev(
            20,
            "alice",
            HistoryKind::Priority {
                from: Priority::None,
                to: Priority::Urgent,
            },
        ),
        // "Replied" is what the messages show: no line of its own.
        ev(
            30,
            "alice",
            HistoryKind::Replied {
                waited_ms: Some(600_000),
                first: true,
                in_window: true,
            },
        ),
    ];
    let notes = vec![Note {
        id: "n1".into(),
        conv: c.key.clone(),
        author: "bob".into(),
        text: "Refund approved up to $40 — @alice please confirm with the customer.".into(),
        at: at(10),
        mentions: vec!["alice".into()],
    }];
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Event::Inbox(Reply::Thread(Some(Box::new(ThreadData {
            conv: c.clone(),
            contact: None,
            limit: 200,
            messages,
            draft: None,
            notes,
            history,
        })))),
    );
    key(&mut s, KeyCode::Char('n'));
    fx::typ(&mut s, "@bob done");
    insta::assert_snapshot!(draw(&s).backend());
    // The note is drawn in its own style, never a reply's.
    s.opts.no_color = false;
    let t = draw(&s);
    let text = screen_text(&t);
    let row = text
        .lines()
        .position(|l| l.contains("✎ Note by bob"))
        .expect("the note's header");
    let col = text
        .lines()
        .nth(row)
        .unwrap()
        .chars()
        .position(|ch| ch == '✎')
        .unwrap();
    let cell = &t.backend().buffer()[(col as u16, row as u16)];
    assert_eq!(cell.fg, ratatui::style::Color::LightYellow);
    assert!(cell.modifier.contains(ratatui::style::Modifier::ITALIC));
}

#[test]
fn label_picker_80x24() {
    let mut s = fx::state(80, 24);
    team_inbox(&mut s);
    key(&mut s, KeyCode::Char('+'));
    fx::typ(&mut s, "re");
    insta::assert_snapshot!(draw(&s).backend());
}

/// The open view's sizes by whose, side by side in the list's title, the
/// one shown in brackets; at 80 columns the short form fits the pane.
#[test]
fn view_counts_side_by_side_in_the_title_80x24() {
    let mut s = fx::state(80, 24);
    team_inbox(&mut s);
    let counts = |s: &mut State| {
        update(
            s,
            Event::Inbox(Reply::ViewCounts {
                mine: 12,
                unassigned: 3,
                all: 240,
            }),
        );
    };
    counts(&mut s);
    key(&mut s, KeyCode::Char('m'));
    let first = s.list.rows[0].clone();
    fx::load_rows(&mut s, vec![first]);
    let t = draw(&s);
    let text = screen_text(&t);
    assert!(text.contains("┌ [mine 12]·none 3·all 240 ┐"), "{text}");
    insta::assert_snapshot!(t.backend());
    // Wider, the whole words and the view's name.
    update(
        &mut s,
        Event::Resize {
            width: 160,
            height: 30,
        },
    );
    let text = screen_text(&draw(&s));
    assert!(
        text.contains("┌ Inbox · [mine 12] · unassigned 3 · all 240 ─"),
        "{text}"
    );
    // A filter besides whose: the rows are not those numbers, so the
    // list's own count, as before.
    key(&mut s, KeyCode::Char('u'));
    fx::load_rows(&mut s, vec![]);
    let text = screen_text(&draw(&s));
    assert!(
        text.contains("┌ Inbox 0 · mine · open [unread]──"),
        "{text}"
    );
    key(&mut s, KeyCode::Char('u'));
    // Numbers too wide for the pane: the one shown alone, never cut.
    update(
        &mut s,
        Event::Resize {
            width: 80,
            height: 24,
        },
    );
    update(
        &mut s,
        Event::Inbox(Reply::ViewCounts {
            mine: 1_204,
            unassigned: 310,
            all: 240_117,
        }),
    );
    let text = screen_text(&draw(&s));
    assert!(text.contains("┌ [mine 1204] ──"), "{text}");
    // Another view has no such counts: its own title as before.
    key(&mut s, KeyCode::Char('f'));
    fx::load_rows(&mut s, vec![]);
    let text = screen_text(&draw(&s));
    assert!(text.contains("┌ Inbox 0 · mine · resolved┐"), "{text}");
}
