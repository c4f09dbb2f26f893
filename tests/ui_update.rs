//! The pure update: keys, store updates, window rules, selection, bulk.

use dmdesk::app::command::Command;
use dmdesk::app::event::{Event, ListRows, Reply};
use dmdesk::app::fixtures::{self as fx, ctrl, jobs, press as key, three, typ, NOW};
use dmdesk::app::state::{Focus, Level, Overlay};
use dmdesk::app::{update, State};
use dmdesk::domain::*;
use dmdesk::inbox::Request;

use dmdesk::update::Update;
use dmdesk::workers::Job;
use proptest::prelude::*;

#[path = "common/bulk.rs"]
mod bulk;
use bulk::answer_bulk;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[test]
fn bulk_preview_and_campaign() {
    let mut s = fx::state(100, 30);
    let mut rows = three();
    let mut never = fx::conv(Platform::Messenger, "u4", "Dee", 10, 0);
    never.last_inbound = None;
    never.last_user_message = None;
    rows.push(never);
    fx::load_rows(&mut s, rows);
    key(&mut s, KeyCode::Char('a'));
    assert_eq!(s.marked.len(), 4);
    key(&mut s, KeyCode::Char('B'));
    typ(&mut s, "We moved!");
    key(&mut s, KeyCode::Tab); // no campaign tag exists: the status bar says why
    assert!(
        matches!(&s.overlay, Some(Overlay::Bulk(b)) if b.tag().is_none()),
        "Tab chose no tag"
    );
    assert!(
        matches!(&s.status.message, Some((_, m)) if m.contains("retired")),
        "{:?}",
        s.status.message
    );
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(
        answer_bulk(&mut s, &cmds),
        "Enter asks the inbox for the preview"
    );
    // Outside the window no tag is left for a campaign: skipped, with the reason.
    match &s.overlay {
        Some(Overlay::Bulk(b)) => {
            assert_eq!(b.stage, dmdesk::app::state::BulkStage::Confirm);
            let p = b.preview.as_ref().expect("the preview came");
            assert_eq!((p.inside, p.skipped), (2, 2));
        }
        other => panic!("expected the bulk popup, got {other:?}"),
    }
    let cmds = key(&mut s, KeyCode::Char('y'));
    match jobs(&cmds).as_slice() {
        [Job::Campaign {
            text,
            tag,
            recipients,
            ..
        }] => {
            assert_eq!(text, "We moved!");
            assert_eq!(*tag, None);
            assert_eq!(recipients.len(), 2);
        }
        other => panic!("expected one campaign, got {other:?}"),
    }
    assert!(s.marked.is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn bulk_text_variables_show_an_example_and_unknown_ones_are_refused() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    key(&mut s, KeyCode::Char('a'));
    key(&mut s, KeyCode::Char('B'));
    typ(&mut s, "Thanks {frist_name}!");
    // Nobody gets a literal {variable}: refused before anything is asked.
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(
        matches!(&s.overlay, Some(Overlay::Bulk(b)) if b.stage == dmdesk::app::state::BulkStage::Edit)
    );
    assert!(
        matches!(&s.status.message, Some((_, m)) if m.contains("unknown variable {frist_name}")),
        "{:?}",
        s.status.message
    );
    // Fix the typo: the example is rendered for the first recipient.
    for _ in 0.."frist_name}!".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typ(&mut s, "first_name} from {page_name}!");
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(answer_bulk(&mut s, &cmds));
    assert!(
        matches!(&s.status.message, Some((_, m)) if m.contains("example: Thanks Ann from Demo Coffee Co.!")),
        "{:?}",
        s.status.message
    );
    let cmds = key(&mut s, KeyCode::Char('y'));
    match jobs(&cmds).as_slice() {
        // The template goes to the campaign; it renders per recipient.
        [Job::Campaign { text, .. }] => assert_eq!(text, "Thanks {first_name} from {page_name}!"),
        other => panic!("expected one campaign, got {other:?}"),
    }
}

// ---- property: invariants under any key sequence ---------------------------

fn any_key() -> impl Strategy<Value = KeyEvent> {
    let codes = vec![
        KeyCode::Char('j'),
        KeyCode::Char('k'),
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Char('i'),
        KeyCode::Tab,
        KeyCode::Char(' '),
        KeyCode::Char('a'),
        KeyCode::Char('B'),
        KeyCode::Char('y'),
        KeyCode::Char('r'),
        KeyCode::Char('R'),
        KeyCode::Char('s'),
        KeyCode::Char('o'),
        KeyCode::Char('g'),
        KeyCode::Char('G'),
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Char('x'),
        KeyCode::Char('/'),
        KeyCode::Char('u'),
        KeyCode::Char('c'),
        KeyCode::Char('t'),
        KeyCode::Char('?'),
        KeyCode::Down,
        KeyCode::Up,
        KeyCode::Backspace,
    ];
    (prop::sample::select(codes), any::<bool>()).prop_map(|(c, ctrl_t)| {
        if ctrl_t && c == KeyCode::Char('t') {
            KeyEvent::new(c, KeyModifiers::CONTROL)
        } else {
            KeyEvent::new(c, KeyModifiers::NONE)
        }
    })
}

proptest! {
    #[test]
    fn invariants_hold(keys in prop::collection::vec(any_key(), 0..60), n in 0usize..30) {
        let mut s = fx::state(80, 24);
        let rows: Vec<Conversation> = (0..n)
            .map(|i| fx::conv(if i % 2 == 0 { Platform::Messenger } else { Platform::Instagram },
                              &format!("u{i}"), &format!("Name {i}"), (i as i64) * 200, (i % 3) as u32))
            .collect();
        let known: std::collections::HashSet<ConvKey> = rows.iter().map(|c| c.key.clone()).collect();
        fx::load_rows(&mut s, rows.clone());
        for k in keys {
            let cmds = update(&mut s, Event::Key(k));
            // Answer the bulk preview like the inbox would.
            answer_bulk(&mut s, &cmds);
            // Answer list loads like the store would.
            if cmds.iter().any(|c| matches!(c, Command::Inbox(Request::List { .. }))) {
                let answer = if s.list.filter.is_empty() { rows.clone() } else { vec![] };
                fx::load_rows(&mut s, answer);
            }
            prop_assert!(s.list.selected <= s.list.max_index());
            if let Some(total) = s.list.total {
                prop_assert!(total == 0 || (s.list.selected as u64) < total);
            }
            for c in &cmds {
                match c {
                    Command::Inbox(Request::MarkRead { conv: k }) | Command::Inbox(Request::MarkUnread { conv: k }) | Command::Inbox(Request::Thread { conv: k, .. })
                    | Command::Inbox(Request::SetStatus { conv: k, .. }) | Command::Inbox(Request::SaveDraft { conv: k, .. }) => {
                        prop_assert!(known.contains(k), "command for an unknown conversation");
                    }
                    Command::Inbox(Request::Job { job: Job::Reply { conv, text, .. } }) => {
                        prop_assert!(known.contains(conv));
                        prop_assert!(!text.trim().is_empty());
                        prop_assert_eq!(s.open_key(), Some(conv));
                    }
                    Command::Inbox(Request::Job { job: Job::Campaign { recipients, .. } }) => {
                        prop_assert!(!recipients.is_empty());
                        prop_assert!(recipients.iter().all(|r| known.contains(r)));
                    }
                    _ => {}
                }
            }
        }
    }
}

// ---- the thread's message cursor --------------------------------------------

fn copied(cmds: &[Command]) -> Option<&str> {
    cmds.iter().find_map(|c| match c {
        Command::Copy(t) => Some(t.as_str()),
        _ => None,
    })
}

fn cursor_mid(s: &State) -> String {
    let t = s.thread.as_ref().expect("a thread is open");
    let i = t.cursor_index().expect("a message is selected");
    t.messages[i].mid.as_str().to_string()
}

/// Whether a line of the selected message is inside the thread's view.
fn cursor_on_screen(s: &State) -> bool {
    let t = s.thread.as_ref().expect("a thread is open");
    let (w, h) = dmdesk::app::layout::thread_inner(&s.panes());
    let owners = t.line_owners(w, s.opts.zone, s.now);
    let (start, end) = dmdesk::app::thread_layout::view_range(owners.len(), h as usize, t.scroll);
    let i = t.cursor_index().expect("a message is selected");
    owners[start..end].contains(&Some(i))
}

fn arrive(s: &mut State, m: Message) -> Vec<Command> {
    update(s, Event::Update(Update::Message(Box::new(m))))
}

/// A thread of `n` messages whose start is not loaded yet.
fn long_open(s: &mut State, n: i64) -> Conversation {
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    let msgs: Vec<Message> = (0..n)
        .map(|i| {
            let text = if i % 3 == 0 {
                format!(
                    "message {i} that is long enough to wrap over more than one line of the pane"
                )
            } else {
                format!("message {i}")
            };
            fx::inbound(&c.key, &format!("m{i}"), 2 * n - i, &text)
        })
        .collect();
    fx::open_with(s, c.clone(), vec![]);
    update(
        s,
        Event::Inbox(Reply::Thread(Some(Box::new(
            dmdesk::app::event::ThreadData {
                conv: c.clone(),
                contact: None,
                limit: msgs.len(),
                messages: msgs,
                draft: None,
                notes: vec![],
                history: vec![],
            },
        )))),
    );
    c
}

#[test]
fn cursor_moves_by_message_and_copy_acts_on_it() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    let msgs = vec![
        fx::inbound(&c.key, "m1", 9, "first"),
        fx::outbound(&c.key, "m2", 8, "second", MsgStatus::Read),
        fx::inbound(&c.key, "m3", 7, "third"),
    ];
    fx::open_with(&mut s, c, msgs);
    assert_eq!(s.focus, Focus::Thread);
    assert_eq!(cursor_mid(&s), "m3", "the newest is selected on open");
    assert_eq!(copied(&key(&mut s, KeyCode::Char('y'))), Some("third"));
    key(&mut s, KeyCode::Char('k'));
    assert_eq!(cursor_mid(&s), "m2");
    assert_eq!(copied(&key(&mut s, KeyCode::Char('y'))), Some("second"));
    key(&mut s, KeyCode::Up);
    let cmds = key(&mut s, KeyCode::Up); // already the first: stays
    assert_eq!(cursor_mid(&s), "m1");
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Command::Inbox(Request::Older { .. }))),
        "the whole thread is loaded"
    );
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('j'));
    assert_eq!(cursor_mid(&s), "m3");
    // g / G select the oldest / newest too.
    key(&mut s, KeyCode::Char('g'));
    assert_eq!(cursor_mid(&s), "m1");
    key(&mut s, KeyCode::Char('G'));
    assert_eq!(cursor_mid(&s), "m3");
}

#[test]
fn cursor_keys_follow_the_keymap() {
    let mut o = fx::options();
    let mut user = std::collections::BTreeMap::new();
    user.insert("up".to_string(), vec!["ctrl-p".to_string()]);
    user.insert("down".to_string(), vec!["ctrl-n".to_string()]);
    o.keymap = dmdesk::app::keymap::Keymap::with_overrides(&user).unwrap();
    let mut s = State::new(o, NOW, (100, 30));
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    let msgs = vec![
        fx::inbound(&c.key, "m1", 9, "first"),
        fx::inbound(&c.key, "m2", 8, "second"),
    ];
    fx::open_with(&mut s, c, msgs);
    key(&mut s, KeyCode::Char('k'));
    assert_eq!(cursor_mid(&s), "m2", "k is no longer bound");
    ctrl(&mut s, 'p');
    assert_eq!(cursor_mid(&s), "m1");
    ctrl(&mut s, 'n');
    assert_eq!(cursor_mid(&s), "m2");
}

#[test]
fn arrivals_never_move_the_selection() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    let msgs = vec![
        fx::inbound(&c.key, "m1", 9, "first"),
        fx::inbound(&c.key, "m2", 8, "second"),
    ];
    fx::open_with(&mut s, c.clone(), msgs);
    // On the newest: a new message does not take the selection.
    let cmds = arrive(&mut s, fx::inbound(&c.key, "m3", 0, "third"));
    assert_eq!(cursor_mid(&s), "m2");
    assert!(
        cmds.contains(&Command::Inbox(Request::MarkRead {
            conv: c.key.clone()
        })),
        "still following"
    );
    assert_eq!(copied(&key(&mut s, KeyCode::Char('y'))), Some("second"));
    // On an older one: a message inserted before it (late delivery) and
    // one after it leave it where it is.
    key(&mut s, KeyCode::Char('k'));
    assert_eq!(cursor_mid(&s), "m1");
    let mut late = fx::inbound(&c.key, "m0", 9, "late");
    late.timestamp = late.timestamp.plus_ms(-1);
    arrive(&mut s, late);
    arrive(&mut s, fx::inbound(&c.key, "m4", 0, "fourth"));
    assert_eq!(cursor_mid(&s), "m1");
    assert_eq!(copied(&key(&mut s, KeyCode::Char('y'))), Some("first"));
    // Our pending copy becoming Meta's message keeps the selection on it.
    let local = fx::outbound(&c.key, "local:o1", 0, "reply", MsgStatus::Pending);
    arrive(&mut s, local.clone());
    key(&mut s, KeyCode::Char('G'));
    assert_eq!(cursor_mid(&s), "local:o1");
    let mut sent = local;
    sent.mid = Mid::new("m_real");
    sent.status = MsgStatus::Sent;
    arrive(&mut s, sent);
    assert_eq!(cursor_mid(&s), "m_real");
}

#[test]
fn cursor_stays_on_screen_while_following_a_busy_thread() {
    let mut s = fx::state(80, 24);
    let c = long_open(&mut s, 10);
    key(&mut s, KeyCode::Char('k'));
    let selected = cursor_mid(&s);
    for i in 0..30 {
        let mut m = fx::inbound(&c.key, &format!("n{i}"), 0, "hello again");
        m.timestamp = NOW.plus_ms(i);
        arrive(&mut s, m);
        assert_eq!(cursor_mid(&s), selected);
        assert!(cursor_on_screen(&s), "after arrival {i}");
    }
    let t = s.thread.as_ref().unwrap();
    assert!(t.scroll > 0, "the view stopped following to keep it");
    assert!(t.new_below > 0, "and counts what arrived below");
    key(&mut s, KeyCode::Char('G'));
    assert_eq!(cursor_mid(&s), "n29");
    assert_eq!(s.thread.as_ref().map(|t| t.scroll), Some(0));
}

#[test]
fn cursor_stays_on_screen_when_scrolling_and_loading_older() {
    let mut s = fx::state(80, 24);
    let c = long_open(&mut s, 40);
    assert!(cursor_on_screen(&s));
    key(&mut s, KeyCode::PageUp);
    assert!(cursor_on_screen(&s), "paging moves the selection along");
    assert_ne!(cursor_mid(&s), "m39");
    key(&mut s, KeyCode::PageDown);
    assert!(cursor_on_screen(&s));
    // Walk up to the top of what is loaded: older messages are asked for.
    let mut asked = None;
    for _ in 0..40 {
        let cmds = key(&mut s, KeyCode::Char('k'));
        assert!(cursor_on_screen(&s));
        if let Some(Command::Inbox(Request::Older { before, limit, .. })) = cmds
            .iter()
            .find(|c| matches!(c, Command::Inbox(Request::Older { .. })))
        {
            asked = Some((before.mid.as_str().to_string(), *limit));
            break;
        }
    }
    let (before, limit) = asked.expect("an older-page request near the top");
    assert_eq!(before, "m0");
    let selected = cursor_mid(&s);
    let older: Vec<Message> = (0..25)
        .map(|i| fx::inbound(&c.key, &format!("o{i}"), 500 - i, "older"))
        .collect();
    update(
        &mut s,
        Event::Inbox(Reply::Older {
            conv: c.key.clone(),
            messages: older,
            limit,
        }),
    );
    assert_eq!(cursor_mid(&s), selected, "prepending keeps the selection");
    assert!(cursor_on_screen(&s));
    // The selection walks on into the older page.
    for _ in 0..60 {
        key(&mut s, KeyCode::Char('k'));
        assert!(cursor_on_screen(&s));
    }
    assert_eq!(cursor_mid(&s), "o0");
}

#[test]
fn focus_returning_to_a_moved_view_selects_on_screen() {
    let mut s = fx::state(80, 24);
    let c = long_open(&mut s, 10);
    key(&mut s, KeyCode::Char('i')); // composer: the view follows freely
    for i in 0..30 {
        let mut m = fx::inbound(&c.key, &format!("n{i}"), 0, "hello again");
        m.timestamp = NOW.plus_ms(i);
        arrive(&mut s, m);
    }
    assert_eq!(s.thread.as_ref().map(|t| t.scroll), Some(0));
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.focus, Focus::Thread);
    assert!(cursor_on_screen(&s));
    assert_eq!(cursor_mid(&s), "n29");
}

#[derive(Debug, Clone)]
enum ThreadStep {
    Key(KeyCode),
    Arrive(usize),
}

fn thread_step() -> impl Strategy<Value = ThreadStep> {
    prop_oneof![
        prop::sample::select(vec![
            KeyCode::Char('j'),
            KeyCode::Char('k'),
            KeyCode::Down,
            KeyCode::Up,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Char('g'),
            KeyCode::Char('G'),
        ])
        .prop_map(ThreadStep::Key),
        (1usize..4).prop_map(ThreadStep::Arrive),
    ]
}

proptest! {
    // Each step lays the thread out a few times: fewer cases keep it quick.
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn focused_selection_is_always_on_screen(steps in prop::collection::vec(thread_step(), 0..60)) {
        let mut s = fx::state(80, 24);
        let c = long_open(&mut s, 30);
        let mut n = 0i64;
        let mut older = 0;
        for step in steps {
            let before = cursor_mid(&s);
            let cmds = match step {
                ThreadStep::Key(k) => key(&mut s, k),
                ThreadStep::Arrive(lines) => {
                    n += 1;
                    let mut m = fx::inbound(&c.key, &format!("n{n}"), 0, &"word ".repeat(lines * 15));
                    m.timestamp = NOW.plus_ms(n);
                    let cmds = arrive(&mut s, m);
                    prop_assert_eq!(cursor_mid(&s), before, "an arrival moved the selection");
                    cmds
                }
            };
            // Answer older-page requests like the store would.
            if let Some(Command::Inbox(Request::Older { limit, .. })) = cmds.iter().find(|c| matches!(c, Command::Inbox(Request::Older { .. }))) {
                let page: Vec<Message> = (0..10)
                    .map(|_| { older += 1; fx::inbound(&c.key, &format!("o{older}"), 10_000 - older, "older") })
                    .rev()
                    .collect();
                let kept = cursor_mid(&s);
                update(&mut s, Event::Inbox(Reply::Older { conv: c.key.clone(), messages: page, limit: *limit }));
                prop_assert_eq!(cursor_mid(&s), kept);
            }
            prop_assert!(cursor_on_screen(&s));
        }
    }
}

// ---- the unread total ----------------------------------------------------------

fn conv_update(s: &mut State, c: &Conversation) -> Vec<Command> {
    update(s, Event::Update(Update::Conversation(Box::new(c.clone()))))
}

fn unread_request(cmds: &[Command]) -> u64 {
    cmds.iter()
        .find_map(|c| match c {
            Command::Inbox(Request::Unread { request }) => Some(*request),
            _ => None,
        })
        .expect("an unread request")
}

#[test]
fn unread_total_covers_conversations_never_listed() {
    let mut s = fx::state(100, 30);
    let request = unread_request(&dmdesk::app::init(&mut s));
    fx::load_rows(&mut s, three()); // two of them unread
    update(&mut s, Event::Tick { now: NOW });
    assert_eq!(s.last_title, "dmdesk (2 unread)");
    // The store's scan sees every conversation, listed or not.
    let mut counts: Vec<(ConvKey, u32)> = (10..15)
        .map(|i| (fx::key(Platform::Instagram, &format!("far{i}")), 1))
        .collect();
    counts.push((three()[0].key.clone(), 2));
    counts.push((three()[2].key.clone(), 1));
    let cmds = update(
        &mut s,
        Event::Inbox(Reply::Unread {
            request,
            counts: counts.clone(),
        }),
    );
    assert!(cmds.contains(&Command::SetTitle("dmdesk (7 unread)".into())));
    // A conversation the UI never listed gets a message.
    let mut stranger = fx::conv(Platform::Messenger, "new9", "Stranger", 0, 1);
    conv_update(&mut s, &stranger);
    assert_eq!(s.last_title, "dmdesk (8 unread)");
    // Marking read (the store then publishes the conversation) lowers it...
    let cmds = key(&mut s, KeyCode::Char('r'));
    assert!(cmds.contains(&Command::Inbox(Request::MarkRead {
        conv: three()[0].key.clone()
    })));
    let mut ann = three()[0].clone();
    ann.unread = 0;
    conv_update(&mut s, &ann);
    assert_eq!(s.last_title, "dmdesk (7 unread)");
    stranger.unread = 0;
    conv_update(&mut s, &stranger);
    assert_eq!(s.last_title, "dmdesk (6 unread)");
    // ...and marking unread raises it again, for a listed row or not.
    let cmds = key(&mut s, KeyCode::Char('R'));
    assert!(cmds.contains(&Command::Inbox(Request::MarkUnread {
        conv: three()[0].key.clone()
    })));
    ann.unread = 1;
    conv_update(&mut s, &ann);
    stranger.unread = 1;
    conv_update(&mut s, &stranger);
    assert_eq!(s.last_title, "dmdesk (8 unread)");
    // Everything read: the plain title.
    for (k, _) in counts {
        let mut c = Conversation::new(k, "x".into());
        c.unread = 0;
        conv_update(&mut s, &c);
    }
    ann.unread = 0;
    conv_update(&mut s, &ann);
    stranger.unread = 0;
    conv_update(&mut s, &stranger);
    assert_eq!(s.last_title, "dmdesk");
}

#[test]
fn unread_scan_answer_does_not_undo_newer_updates() {
    let mut s = fx::state(100, 30);
    let first = unread_request(&dmdesk::app::init(&mut s));
    let a = fx::conv(Platform::Messenger, "a", "A", 1, 3);
    let mut b = fx::conv(Platform::Messenger, "b", "B", 1, 0);
    // While the scan runs: A is marked read, B gets a message.
    let mut a_read = a.clone();
    a_read.unread = 0;
    conv_update(&mut s, &a_read);
    b.unread = 1;
    conv_update(&mut s, &b);
    // The scan read A before it was marked read, and B before its message.
    let c_key = fx::key(Platform::Instagram, "c");
    let cmds = update(
        &mut s,
        Event::Inbox(Reply::Unread {
            request: first,
            counts: vec![(a.key.clone(), 3), (c_key.clone(), 4)],
        }),
    );
    assert!(cmds.contains(&Command::SetTitle("dmdesk (2 unread)".into())));
    assert_eq!(s.unread.get(&b.key), Some(&1));
    assert_eq!(s.unread.get(&c_key), Some(&4));
    assert!(!s.unread.contains_key(&a.key));
    // A lag drops updates: scan again; an answer to an older scan is ignored.
    let second = unread_request(&update(&mut s, Event::Lagged));
    assert!(second > first);
    update(
        &mut s,
        Event::Inbox(Reply::Unread {
            request: first,
            counts: vec![],
        }),
    );
    assert_eq!(s.unread_conversations(), 2, "stale answer ignored");
    update(
        &mut s,
        Event::Inbox(Reply::Unread {
            request: second,
            counts: vec![(c_key.clone(), 4)],
        }),
    );
    assert_eq!(s.unread_conversations(), 1, "B was read elsewhere");
    assert!(s.unread_load.is_none());
}

// ---- teams: presence and collision notices ---------------------------------

fn presence(cmds: &[Command]) -> Vec<(Option<ConvKey>, bool)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Inbox(Request::Presence { conv, typing }) => Some((conv.clone(), *typing)),
            _ => None,
        })
        .collect()
}

#[test]
fn opening_a_thread_and_typing_are_reported_throttled() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    let cmds = key(&mut s, KeyCode::Enter);
    let k = fx::key(Platform::Messenger, "u1");
    assert_eq!(presence(&cmds), vec![(Some(k.clone()), false)]);
    key(&mut s, KeyCode::Char('i'));
    let first = key(&mut s, KeyCode::Char('h'));
    assert_eq!(presence(&first), vec![(Some(k.clone()), true)]);
    // More keys within the throttle: no more reports.
    let more = key(&mut s, KeyCode::Char('e'));
    assert!(presence(&more).is_empty());
    // After the clock moved on, typing is reported again.
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(5_000),
        },
    );
    let later = key(&mut s, KeyCode::Char('y'));
    assert_eq!(presence(&later), vec![(Some(k), true)]);
}

fn colleague_reply(ago_min: i64, agent: &str) -> (State, Conversation) {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    let mut theirs = fx::outbound(&c.key, "m2", ago_min, "On it!", MsgStatus::Sent);
    theirs.agent = Some(agent.into());
    fx::open_with(
        &mut s,
        c.clone(),
        vec![fx::inbound(&c.key, "m1", 5, "hello"), theirs],
    );
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "hi");
    (s, c)
}

#[test]
fn replying_right_after_a_colleague_asks_first() {
    let (mut s, c) = colleague_reply(1, "bob");
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(jobs(&cmds).is_empty(), "held back for confirmation");
    let Some(Overlay::ConfirmSend(p)) = &s.overlay else {
        panic!("confirmation expected, got {:?}", s.overlay)
    };
    assert_eq!((p.by.as_str(), p.ago_s), ("bob", 60));
    // y sends, as alice.
    let cmds = key(&mut s, KeyCode::Char('y'));
    assert_eq!(
        jobs(&cmds),
        vec![&Job::Reply {
            conv: c.key,
            text: "hi".into(),
            tag: None,
            agent: Some("alice".into())
        }]
    );
    assert!(s.overlay.is_none());
    assert_eq!(s.composer.text(), "");
}

#[test]
fn declining_the_confirmation_keeps_the_reply() {
    let (mut s, _) = colleague_reply(1, "bob");
    key(&mut s, KeyCode::Enter);
    let cmds = key(&mut s, KeyCode::Char('n'));
    assert!(jobs(&cmds).is_empty());
    assert!(s.overlay.is_none());
    assert_eq!(s.composer.text(), "hi");
}

#[test]
fn own_or_old_replies_send_without_asking() {
    for (ago, agent) in [(1, "alice"), (10, "bob")] {
        let (mut s, _) = colleague_reply(ago, agent);
        let cmds = key(&mut s, KeyCode::Enter);
        assert_eq!(jobs(&cmds).len(), 1, "{agent} {ago} min ago");
        assert!(s.overlay.is_none());
    }
}

#[test]
fn an_attached_ui_titles_with_the_owners_unread_total() {
    let mut s = fx::state(100, 30);
    let cmds = update(
        &mut s,
        Event::Update(Update::Digest {
            events: 3,
            inbound: 1,
            changed: vec![],
            more: true,
            unread_conversations: Some(7),
        }),
    );
    assert!(cmds.contains(&Command::SetTitle("dmdesk (7 unread)".into())));
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::Inbox(Request::List { .. }))));
    assert!(cmds.contains(&Command::Bell));
    assert_eq!(s.status.events_today.1, 3);
}

// ---- the list: edges, paging, marks ----------------------------------------

fn many(n: usize) -> Vec<Conversation> {
    (0..n)
        .map(|i| {
            fx::conv(
                Platform::Messenger,
                &format!("u{i:04}"),
                &format!("Name {i}"),
                i as i64,
                0,
            )
        })
        .collect()
}

/// Answer list loads like the data worker: of several list loads handed
/// over together only the last runs. Until none is left.
fn serve(s: &mut State, mut cmds: Vec<Command>, rows: &[Conversation]) {
    loop {
        let Some(Command::Inbox(Request::List {
            filter,
            offset,
            limit,
            generation,
            ..
        })) = cmds
            .iter()
            .rev()
            .find(|c| matches!(c, Command::Inbox(Request::List { .. })))
            .cloned()
        else {
            return;
        };
        let matching: Vec<Conversation> =
            rows.iter().filter(|c| filter.matches(c)).cloned().collect();
        cmds = update(
            s,
            Event::Inbox(Reply::List(ListRows {
                offset,
                rows: matching.iter().skip(offset).take(limit).cloned().collect(),
                total: Some(matching.len() as u64),
                generation,
            })),
        );
    }
}

/// A key, with the list loads it asks for answered.
fn press(s: &mut State, code: KeyCode, rows: &[Conversation]) {
    let cmds = key(s, code);
    serve(s, cmds, rows);
}

fn selected_user(s: &State) -> Option<String> {
    s.list
        .selected_row()
        .map(|c| c.key.user.as_str().to_string())
}

#[test]
fn j_and_k_move_one_row_per_press_past_the_window_edge() {
    let mut s = fx::state(80, 24);
    let rows = many(25);
    fx::load_rows(&mut s, rows.clone());
    assert_eq!(s.list.visible, 10);
    for i in 1..25 {
        let cmds = key(&mut s, KeyCode::Char('j'));
        serve(&mut s, cmds, &rows);
        assert_eq!(s.list.selected, i, "press {i}");
        assert_eq!(selected_user(&s), Some(format!("u{i:04}")), "press {i}");
        assert!(s.list.selected >= s.list.top && s.list.selected < s.list.top + 10);
    }
    for i in (0..24).rev() {
        let cmds = key(&mut s, KeyCode::Char('k'));
        serve(&mut s, cmds, &rows);
        assert_eq!(selected_user(&s), Some(format!("u{i:04}")), "back to {i}");
    }
}

#[test]
fn before_a_moved_windows_rows_arrive_nothing_else_is_selected() {
    let mut s = fx::state(80, 24);
    let rows = many(25);
    fx::load_rows(&mut s, rows.clone());
    for _ in 0..9 {
        press(&mut s, KeyCode::Char('j'), &rows);
    }
    // Past the edge, rows not loaded yet: no row is selected, so Enter
    // cannot open the row that used to be at that place.
    let cmds = key(&mut s, KeyCode::Char('j'));
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::Inbox(Request::List { offset: 1, .. }))));
    assert_eq!(s.list.selected, 10);
    assert_eq!(s.list.selected_row(), None);
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    serve(&mut s, cmds, &rows);
    assert_eq!(selected_user(&s).as_deref(), Some("u0010"));
}

#[test]
fn list_pages_with_pgdn_pgup_g_and_end() {
    let mut s = fx::state(80, 24);
    let rows = many(25);
    fx::load_rows(&mut s, rows.clone());
    press(&mut s, KeyCode::PageDown, &rows);
    assert_eq!((s.list.top, s.list.selected), (10, 10));
    assert_eq!(selected_user(&s).as_deref(), Some("u0010"));
    press(&mut s, KeyCode::PageDown, &rows);
    assert_eq!((s.list.top, s.list.selected), (15, 20));
    press(&mut s, KeyCode::PageUp, &rows);
    assert_eq!((s.list.top, s.list.selected), (5, 10));
    press(&mut s, KeyCode::Char('G'), &rows);
    assert_eq!((s.list.top, s.list.selected), (15, 24));
    assert_eq!(selected_user(&s).as_deref(), Some("u0024"));
    press(&mut s, KeyCode::Char('g'), &rows);
    assert_eq!((s.list.top, s.list.selected), (0, 0));
    press(&mut s, KeyCode::End, &rows);
    assert_eq!(s.list.selected, 24);
    press(&mut s, KeyCode::Home, &rows);
    assert_eq!(selected_user(&s).as_deref(), Some("u0000"));
    // With the thread focused the same keys still scroll the thread.
    fx::open_with(&mut s, rows[0].clone(), vec![]);
    assert_eq!(s.focus, Focus::Thread);
    let cmds = key(&mut s, KeyCode::PageDown);
    assert!(!cmds
        .iter()
        .any(|c| matches!(c, Command::Inbox(Request::List { .. }))));
    assert_eq!(s.list.selected, 0);
}

fn status_text(s: &State) -> String {
    s.status
        .message
        .as_ref()
        .map(|m| m.1.clone())
        .unwrap_or_default()
}

#[test]
fn a_marks_the_shown_rows_and_says_so_shift_a_all_matching_u_unmarks() {
    let mut s = fx::state(80, 24);
    let rows = many(25);
    fx::load_rows(&mut s, rows.clone());
    press(&mut s, KeyCode::PageDown, &rows);
    key(&mut s, KeyCode::Char('a'));
    assert_eq!(s.marked.len(), 10);
    assert!(s
        .marked
        .keys()
        .all(|k| k.user.as_str() >= "u0010" && k.user.as_str() < "u0020"));
    assert_eq!(
        status_text(&s),
        "marked 10 shown of 25 matching · A: all matching"
    );
    let cmds = key(&mut s, KeyCode::Char('A'));
    assert!(status_text(&s).starts_with("marking all 25 matching"));
    serve(&mut s, cmds, &rows);
    assert_eq!(s.marked.len(), 25);
    assert_eq!(status_text(&s), "marked all 25 matching conversation(s)");
    assert!(s.list.marking.is_none());
    key(&mut s, KeyCode::Char('U'));
    assert!(s.marked.is_empty());
    assert_eq!(status_text(&s), "unmarked 25 conversation(s)");
    // All matching rows on screen: marked at once, no load.
    let mut s = fx::state(80, 24);
    fx::load_rows(&mut s, three());
    assert!(key(&mut s, KeyCode::Char('A')).is_empty());
    assert_eq!(s.marked.len(), 3);
    assert_eq!(status_text(&s), "marked all 3 matching conversation(s)");
}

#[test]
fn marking_all_matching_pages_survives_a_superseded_page_and_stops_on_a_filter_change() {
    let mut s = fx::state(80, 24);
    let rows = many(2500);
    fx::load_rows(&mut s, rows.clone());
    let mut cmds = key(&mut s, KeyCode::Char('A'));
    // B waits for the marking to finish.
    key(&mut s, KeyCode::Char('B'));
    assert!(s.overlay.is_none());
    assert!(matches!(&s.status.message, Some((Level::Error, m)) if m.contains("still marking")));
    // A conversation update in the same batch: its window load is handed
    // over after the page, so the page never runs.
    let mut ann = rows[0].clone();
    ann.unread = 1;
    cmds.extend(update(
        &mut s,
        Event::Update(Update::Conversation(Box::new(ann))),
    ));
    serve(&mut s, cmds, &rows);
    assert_eq!(s.marked.len(), 2500);
    assert!(s.list.marking.is_none());
    assert_eq!(status_text(&s), "marked all 2500 matching conversation(s)");

    // A filter change stops it; later pages of the old filter are ignored.
    key(&mut s, KeyCode::Char('U'));
    let page = key(&mut s, KeyCode::Char('A'));
    key(&mut s, KeyCode::Char('u'));
    assert!(s.list.marking.is_none());
    assert!(status_text(&s).contains("stopped"));
    serve(&mut s, page, &rows);
    assert!(s.marked.is_empty());
}

// ---- one target: the open conversation, or the selected row -------------------

fn fourteen() -> Vec<Conversation> {
    (0..14)
        .map(|i| {
            fx::conv(
                Platform::Messenger,
                &format!("u{i}"),
                &format!("Customer {i}"),
                i * 10,
                0,
            )
        })
        .collect()
}

#[test]
fn after_an_urgent_jump_to_an_off_screen_row_actions_act_on_the_shown_conversation() {
    let mut s = fx::state(80, 24);
    let rows = fourteen();
    fx::load_rows(&mut s, rows.clone());
    let urgent = rows[13].clone(); // below the 10 rows on screen
    update(
        &mut s,
        Event::Inbox(Reply::Urgent(Some(Box::new(urgent.clone())))),
    );
    assert_eq!(s.open_key(), Some(&urgent.key));
    assert_eq!(s.focus, Focus::Thread);
    key(&mut s, KeyCode::Char('s'));
    let cmds = key(&mut s, KeyCode::Char('r'));
    assert_eq!(
        cmds,
        vec![Command::Inbox(Request::SetStatus {
            conv: urgent.key.clone(),
            status: ConvStatus::Resolved,
            snooze_until: None
        })]
    );
    assert_eq!(status_text(&s), "Customer 13: status resolved");
    assert!(
        key(&mut s, KeyCode::Char('R')).contains(&Command::Inbox(Request::MarkUnread {
            conv: urgent.key.clone()
        }))
    );
    assert_eq!(status_text(&s), "Customer 13: marked unread");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.focus, Focus::Composer);
    typ(&mut s, "on it");
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(matches!(jobs(&cmds)[..], [Job::Reply { conv, .. }] if *conv == urgent.key));
}

#[test]
fn the_status_menu_acts_on_the_conversation_it_named() {
    let mut s = fx::state(80, 24);
    let rows = fourteen();
    fx::load_rows(&mut s, rows.clone());
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('s'));
    assert!(matches!(&s.overlay, Some(Overlay::StatusMenu(c)) if c.key == rows[1].key));
    // The list reloads underneath: row 1 moves below the window and
    // another conversation takes its place.
    let mut moved = rows.clone();
    let one = moved.remove(1);
    moved.push(one);
    fx::load_rows(&mut s, moved);
    // A colleague changes its status meanwhile: the menu shows it.
    let mut theirs = rows[1].clone();
    theirs.status = ConvStatus::Resolved;
    update(
        &mut s,
        Event::Update(Update::Conversation(Box::new(theirs))),
    );
    assert!(matches!(&s.overlay, Some(Overlay::StatusMenu(c)) if c.status == ConvStatus::Resolved));
    let cmds = key(&mut s, KeyCode::Char('p'));
    assert_eq!(
        cmds,
        vec![Command::Inbox(Request::SetStatus {
            conv: rows[1].key.clone(),
            status: ConvStatus::Pending,
            snooze_until: None
        })]
    );
}

#[test]
fn compose_after_moving_the_list_cursor_opens_the_selected_conversation() {
    for k in [KeyCode::Char('i'), KeyCode::Tab] {
        let mut s = fx::state(100, 30);
        let rows = three();
        fx::load_rows(&mut s, rows.clone());
        key(&mut s, KeyCode::Enter); // Ann Lee open
        typ(&mut s, "i");
        typ(&mut s, "draft for Ann");
        key(&mut s, KeyCode::Esc);
        key(&mut s, KeyCode::Esc); // back to the list
        key(&mut s, KeyCode::Char('j')); // Bo Chen selected
        let cmds = key(&mut s, k);
        assert_eq!(s.open_key(), Some(&rows[1].key), "{k:?}");
        assert_eq!(s.focus, Focus::Composer);
        assert!(cmds.contains(&Command::Inbox(Request::SaveDraft {
            conv: rows[0].key.clone(),
            text: "draft for Ann".into()
        })));
        assert!(cmds.contains(&Command::Inbox(Request::Thread {
            conv: rows[1].key.clone(),
            limit: 200
        })));
        assert_eq!(s.composer.text(), "");
    }
    // The thread focused: the open conversation, whatever the list cursor.
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.open_key(), Some(&three()[0].key));
}

#[test]
fn space_marks_what_the_focused_pane_shows() {
    let mut s = fx::state(100, 30);
    let rows = three();
    fx::load_rows(&mut s, rows.clone());
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Enter); // Bo Chen open, thread focused
    key(&mut s, KeyCode::Char(' '));
    assert_eq!(s.marked.keys().collect::<Vec<_>>(), vec![&rows[1].key]);
    assert_eq!(status_text(&s), "marked Bo Chen");
    assert_eq!(s.list.selected, 1, "the list cursor stays");
}

#[test]
fn retry_or_copy_from_a_list_row_that_is_not_open_says_so() {
    let mut s = fx::state(100, 30);
    let rows = three();
    fx::load_rows(&mut s, rows.clone());
    let mut failed = fx::outbound(&rows[0].key, "local:o1", 1, "x", MsgStatus::Failed);
    failed.error = Some("boom".into());
    fx::open_with(&mut s, rows[0].clone(), vec![failed]);
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('j'));
    assert!(key(&mut s, KeyCode::Char('t')).is_empty());
    assert!(
        matches!(&s.status.message, Some((Level::Error, m)) if m.contains("open Bo Chen first"))
    );
    assert!(key(&mut s, KeyCode::Char('y')).is_empty());
    // On the open row it retries.
    key(&mut s, KeyCode::Char('k'));
    assert_eq!(
        jobs(&key(&mut s, KeyCode::Char('t'))),
        vec![&Job::Retry {
            outbox_id: "o1".into()
        }]
    );
}

/// The conversation the focused pane shows: the list's selected row, or
/// the open conversation in the thread and composer.
fn on_screen(s: &State) -> Option<ConvKey> {
    match s.focus {
        Focus::List => s.list.selected_row().map(|c| c.key.clone()),
        _ => s.open_key().cloned(),
    }
}

#[derive(Debug, Clone)]
enum Step {
    Key(KeyEvent),
    /// `!` answered with this row (often off-screen).
    Urgent(usize),
    /// A conversation changes and the list reorders under the agent.
    Reorder(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let extra = prop::sample::select(vec![
        KeyCode::Char('A'),
        KeyCode::Char('U'),
        KeyCode::Char('p'),
        KeyCode::Char('1'),
        KeyCode::Char('e'),
        KeyCode::Home,
        KeyCode::End,
    ])
    .prop_map(|c| KeyEvent::new(c, KeyModifiers::NONE));
    prop_oneof![
        6 => any_key().prop_map(Step::Key),
        1 => extra.prop_map(Step::Key),
        1 => (0usize..30).prop_map(Step::Urgent),
        1 => (0usize..30).prop_map(Step::Reorder),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// Every action names and acts on one target: what the focused pane
    /// shows. Status changes, read/unread, marks for a bulk send, replies,
    /// and the conversation a composing key opens.
    #[test]
    fn actions_act_on_the_conversation_on_screen(
        steps in prop::collection::vec(step(), 0..80),
        n in 1usize..30,
    ) {
        let mut s = fx::state(80, 24);
        let mut rows = many(n);
        // Some need a tag or are closed, so refusals happen too.
        for (i, c) in rows.iter_mut().enumerate() {
            c.last_inbound = Some(NOW.plus_ms(-(i as i64) * 3 * TimestampMs::HOUR));
            c.last_user_message = c.last_inbound;
        }
        fx::load_rows(&mut s, rows.clone());
        for st in steps {
            let before = on_screen(&s);
            let focus_before = s.focus;
            let overlay_before = s.overlay.clone();
            let marked_before: std::collections::BTreeSet<ConvKey> = s.marked.keys().cloned().collect();
            let shown_before: Vec<ConvKey> = s.list.shown().map(|(_, c)| c.key.clone()).collect();
            let mut cmds = match &st {
                Step::Key(k) => update(&mut s, Event::Key(*k)),
                Step::Urgent(i) => {
                    let c = rows[i % n].clone();
                    let cmds = update(&mut s, Event::Inbox(Reply::Urgent(Some(Box::new(c.clone())))));
                    prop_assert_eq!(on_screen(&s), Some(c.key.clone()), "after the jump");
                    cmds
                }
                Step::Reorder(i) => {
                    let c = rows.remove(i % n);
                    rows.insert(0, c.clone());
                    update(&mut s, Event::Update(Update::Conversation(Box::new(c))))
                }
            };
            let is_key = |code: KeyCode| matches!(&st, Step::Key(k) if k.code == code);
            for c in &cmds {
                match c {
                    Command::Inbox(Request::SetStatus { conv, .. }) => {
                        let Some(Overlay::StatusMenu(named)) = &overlay_before else {
                            return Err(TestCaseError::fail("a status change without the menu"));
                        };
                        prop_assert_eq!(conv, &named.key, "the status menu's own conversation");
                    }
                    Command::Inbox(Request::MarkUnread { conv: k }) => prop_assert_eq!(Some(k), before.as_ref()),
                    Command::Inbox(Request::MarkRead { conv: k }) if is_key(KeyCode::Char('r')) && overlay_before.is_none() => {
                        prop_assert_eq!(Some(k), before.as_ref())
                    }
                    // A campaign goes to the marked conversations, no other.
                    Command::Inbox(Request::Job { job: Job::Campaign { recipients, .. } }) => {
                        prop_assert!(recipients.iter().all(|r| marked_before.contains(r)));
                    }
                    Command::Inbox(Request::Job { job: Job::Reply { conv, .. } }) => match &overlay_before {
                        Some(Overlay::ConfirmSend(p)) => prop_assert_eq!(conv, &p.conv),
                        _ => {
                            prop_assert_eq!(focus_before, Focus::Composer);
                            prop_assert_eq!(Some(conv), before.as_ref());
                        }
                    },
                    _ => {}
                }
            }
            // The status menu names what was on screen when it opened.
            if let (None, Some(Overlay::StatusMenu(named))) = (&overlay_before, &s.overlay) {
                prop_assert_eq!(Some(&named.key), before.as_ref());
            }
            // Space marks or unmarks what was on screen, nothing else.
            if is_key(KeyCode::Char(' ')) && overlay_before.is_none() && focus_before != Focus::Composer {
                let now: std::collections::BTreeSet<ConvKey> = s.marked.keys().cloned().collect();
                let changed: Vec<&ConvKey> = now.symmetric_difference(&marked_before).collect();
                prop_assert_eq!(changed, before.iter().collect::<Vec<_>>());
            }
            // a marks the rows on screen, no other.
            if is_key(KeyCode::Char('a')) && overlay_before.is_none() && focus_before != Focus::Composer {
                for k in s.marked.keys().filter(|k| !marked_before.contains(*k)) {
                    prop_assert!(shown_before.contains(k));
                }
            }
            // A composing key from the list opens the selected row.
            if focus_before == Focus::List && overlay_before.is_none() && s.focus == Focus::Composer {
                if let Some(b) = &before {
                    prop_assert_eq!(s.open_key(), Some(b));
                }
            }
            // Answer list loads like the edge and the store.
            while cmds.iter().any(|c| matches!(c, Command::Inbox(Request::List { .. }))) {
                let pending = std::mem::take(&mut cmds);
                let Some(Command::Inbox(Request::List { filter, offset, limit, generation, .. })) = pending
                    .iter()
                    .rev()
                    .find(|c| matches!(c, Command::Inbox(Request::List { .. })))
                    .cloned()
                else {
                    break;
                };
                let matching: Vec<Conversation> =
                    rows.iter().filter(|c| filter.matches(c)).cloned().collect();
                cmds = update(
                    &mut s,
                    Event::Inbox(Reply::List(ListRows {
                        offset,
                        rows: matching.iter().skip(offset).take(limit).cloned().collect(),
                        total: Some(matching.len() as u64),
                        generation,
                    })),
                );
            }
            prop_assert!(s.list.selected <= s.list.max_index());
        }
    }
}

// ---- messages that go stale ----------------------------------------------------

fn outside_window_refused() -> (State, Conversation) {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u3", "Cy Diaz", 30 * 60, 0);
    fx::open_with(
        &mut s,
        c.clone(),
        vec![fx::inbound(&c.key, "m1", 30 * 60, "hello?")],
    );
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "sorry for the wait");
    key(&mut s, KeyCode::Enter);
    assert!(s.composer.refusal.is_some());
    assert!(matches!(&s.status.message, Some((Level::Error, m)) if m.starts_with("not sent")));
    (s, c)
}

#[test]
fn ctrl_t_updates_the_window_line_at_once_and_drops_the_refusal() {
    let (mut s, _) = outside_window_refused();
    ctrl(&mut s, 't');
    assert_eq!(
        s.composer.refusal, None,
        "the composer shows the window line again"
    );
    let (line, _) = dmdesk::ui::composer::window_line(&s).unwrap();
    assert!(line.contains("sending as HUMAN_AGENT"), "{line}");
    assert_eq!(
        status_text(&s),
        "HUMAN_AGENT on: this reply goes out as a person's reply"
    );
    ctrl(&mut s, 't');
    let (line, _) = dmdesk::ui::composer::window_line(&s).unwrap();
    assert!(line.contains("ctrl-t: reply as HUMAN_AGENT"), "{line}");
    assert_eq!(status_text(&s), "HUMAN_AGENT off");
}

#[test]
fn a_success_replaces_the_previous_refusal() {
    let (mut s, c) = outside_window_refused();
    ctrl(&mut s, 't');
    let cmds = key(&mut s, KeyCode::Enter);
    assert_eq!(jobs(&cmds).len(), 1);
    assert_eq!(s.composer.refusal, None);
    assert_eq!(
        s.status.message,
        Some((Level::Info, format!("reply to {} queued", c.name)))
    );
}

#[test]
fn notices_expire_with_the_clock_tick_errors_stay() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(1_000),
        },
    );
    key(&mut s, KeyCode::Char('S')); // "sync requested"
    assert_eq!(status_text(&s), "sync requested");
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(11_000),
        },
    );
    assert_eq!(status_text(&s), "sync requested", "still fresh");
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(16_000),
        },
    );
    assert_eq!(s.status.message, None, "expired");
    // An error waits for the agent (esc) or for a success.
    update(
        &mut s,
        Event::Update(Update::Error("store write failed".into())),
    );
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(3_600_000),
        },
    );
    assert!(matches!(&s.status.message, Some((Level::Error, _))));
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.status.message, None);
}

#[test]
fn after_a_filter_change_the_old_rows_are_no_target() {
    let mut s = fx::state(100, 30);
    let rows = three();
    fx::load_rows(&mut s, rows.clone());
    key(&mut s, KeyCode::Char('j'));
    let cmds = key(&mut s, KeyCode::Char('u')); // unread only: rows on their way
    assert_eq!(s.list.selected_row(), None);
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    key(&mut s, KeyCode::Char('s'));
    assert!(s.overlay.is_none());
    serve(&mut s, cmds, &rows);
    assert_eq!(selected_user(&s).as_deref(), Some("u1"), "Ann Lee, unread");
}

#[test]
fn copy_says_it_was_handed_to_the_terminal() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    let msgs = vec![fx::inbound(&c.key, "m1", 9, "first")];
    fx::open_with(&mut s, c, msgs);
    assert_eq!(copied(&key(&mut s, KeyCode::Char('y'))), Some("first"));
    let (level, text) = s.status.message.clone().unwrap();
    assert_eq!(level, Level::Info);
    assert_eq!(text, "copy handed to the terminal (OSC 52, 5 characters)");
    assert!(!text.contains("clipboard"));
}

// ---- views, draft marker, composer editing keys (issue 12) ---------------

/// The filter of the list load among the commands, and whether it counts.
fn list_load(cmds: &[Command]) -> (dmdesk::filter::ConvFilter, bool) {
    cmds.iter()
        .find_map(|c| match c {
            Command::Inbox(Request::List { filter, count, .. }) => Some((filter.clone(), *count)),
            _ => None,
        })
        .expect("a list load")
}

#[test]
fn f_cycles_the_views_and_the_store_judges_each() {
    use dmdesk::filter::View;
    let mut s = fx::state(100, 30);
    let (first, _) = list_load(&dmdesk::app::init(&mut s));
    assert_eq!(
        first.view,
        View::Open { at: NOW },
        "open is the default view"
    );
    let mut seen = vec![];
    for _ in 0..4 {
        let (f, count) = list_load(&key(&mut s, KeyCode::Char('f')));
        assert!(count, "a new view is counted again");
        seen.push(f.view);
    }
    assert_eq!(
        seen,
        [
            View::Resolved,
            View::Snoozed { at: NOW },
            View::All,
            View::Open { at: NOW }
        ]
    );
    // `c` clears the filters but stays in the view.
    key(&mut s, KeyCode::Char('f'));
    key(&mut s, KeyCode::Char('u'));
    let (f, _) = list_load(&key(&mut s, KeyCode::Char('c')));
    assert_eq!((f.view, f.unread_only), (View::Resolved, false));
}

#[test]
fn a_config_naming_the_old_status_filter_binds_the_view_key() {
    use dmdesk::app::keymap::Keymap;
    let user = [("filter_status".to_string(), vec!["v".to_string()])]
        .into_iter()
        .collect();
    let mut opts = fx::options();
    opts.keymap = Keymap::with_overrides(&user).expect("an old name still reads");
    let mut s = State::new(opts, NOW, (100, 30));
    key(&mut s, KeyCode::Char('f'));
    assert_eq!(s.list.filter.view.name(), "open", "f is rebound");
    let (f, _) = list_load(&key(&mut s, KeyCode::Char('v')));
    assert_eq!(f.view, dmdesk::filter::View::Resolved);
}

#[test]
fn a_row_leaving_the_view_recounts_and_a_snooze_wakes_into_the_open_view() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    let mut ann = three()[0].clone();
    ann.unread = 0;
    let (_, count) = list_load(&conv_update(&mut s, &ann));
    assert!(!count, "still in the view: the count stands");
    ann.status = ConvStatus::Resolved;
    let (_, count) = list_load(&conv_update(&mut s, &ann));
    assert!(count, "resolved leaves the open view: count again");
    // A snooze that ran out is open at the next load's time.
    let mut bo = three()[1].clone();
    bo.status = ConvStatus::Snoozed;
    bo.snooze_until = Some(NOW.plus_ms(60_000));
    let (f, _) = list_load(&conv_update(&mut s, &bo));
    assert!(!f.matches(&bo), "asleep for another minute");
    // NOW is 20 s into its minute: a tick in the same minute loads nothing,
    // the first tick of a new minute loads the view again, counted.
    let tick = |s: &mut State, ms| {
        update(
            s,
            Event::Tick {
                now: NOW.plus_ms(ms),
            },
        )
    };
    let same_minute = tick(&mut s, 30_000);
    assert!(!same_minute
        .iter()
        .any(|c| matches!(c, Command::Inbox(Request::List { .. }))));
    let (f, count) = list_load(&tick(&mut s, 61_000));
    assert!(count, "the view is counted again");
    assert!(
        f.matches(&bo),
        "the load after the snooze ran out judges it awake"
    );
}

#[test]
fn a_saved_draft_marks_its_row_and_sending_clears_it() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    let ann = three()[0].clone();
    fx::open_with(&mut s, ann.clone(), vec![]);
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "half a thought");
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('j'));
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(cmds.contains(&Command::Inbox(Request::SaveDraft {
        conv: ann.key.clone(),
        text: "half a thought".into()
    })));
    let row = |s: &State, k: &ConvKey| s.list.rows.iter().find(|r| &r.key == k).cloned();
    assert!(row(&s, &ann.key).expect("Ann's row").has_draft);
    assert!(!row(&s, &three()[1].key).expect("Bo's row").has_draft);
    // Back to Ann: the draft is sent, and the row loses its marker.
    fx::open_with(&mut s, ann.clone(), vec![]);
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "done");
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(cmds.contains(&Command::Inbox(Request::SaveDraft {
        conv: ann.key.clone(),
        text: String::new()
    })));
    assert!(!row(&s, &ann.key).expect("Ann's row").has_draft);
}

fn with(s: &mut State, code: KeyCode, m: KeyModifiers) -> Vec<Command> {
    update(s, Event::Key(KeyEvent::new(code, m)))
}

#[test]
fn composer_editing_keys_undo_and_clear() {
    let mut s = fx::state(100, 30);
    fx::open_with(&mut s, three()[0].clone(), vec![]);
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "hello big world");
    let text = |s: &State| s.composer.text();
    // ← moves inside the text instead of leaving the composer.
    key(&mut s, KeyCode::Left);
    typ(&mut s, "X");
    assert_eq!(
        (text(&s).as_str(), s.focus),
        ("hello big worlXd", Focus::Composer)
    );
    with(&mut s, KeyCode::End, KeyModifiers::NONE);
    with(&mut s, KeyCode::Char('b'), KeyModifiers::ALT);
    typ(&mut s, "_");
    assert_eq!(text(&s), "hello big _worlXd", "alt-b: back a word");
    with(&mut s, KeyCode::End, KeyModifiers::NONE);
    ctrl(&mut s, 'w');
    assert_eq!(text(&s), "hello big ", "ctrl-w deletes the word before");
    ctrl(&mut s, 'z');
    assert_eq!(text(&s), "hello big _worlXd", "ctrl-z undoes");
    with(&mut s, KeyCode::Char('z'), KeyModifiers::ALT);
    assert_eq!(text(&s), "hello big ", "alt-z redoes");
    ctrl(&mut s, 'l');
    assert_eq!(
        (text(&s).as_str(), s.focus),
        ("", Focus::Composer),
        "ctrl-l clears"
    );
    ctrl(&mut s, 'z');
    assert_eq!(text(&s), "hello big ", "a clear can be undone");
    with(&mut s, KeyCode::Home, KeyModifiers::NONE);
    ctrl(&mut s, 'k');
    assert_eq!(text(&s), "", "ctrl-k deletes to the end of the line");
    ctrl(&mut s, 'y');
    assert_eq!(text(&s), "hello big ", "ctrl-y pastes what was deleted");
}

/// The whole screen as text (TestBackend), to read what the agent sees.
fn screen(s: &State) -> String {
    let mut t =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| dmdesk::ui::render(s, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Issue 12: a dead page token is a standing status-bar item from the
/// moment the owner learns it (not only under a failed reply), and no
/// retry is offered for that page's failed sends while it is dead.
#[test]
fn a_dead_token_stands_on_the_status_bar_and_no_retry_is_offered() {
    let mut s = fx::state(120, 30);
    let rows = three();
    fx::load_rows(&mut s, rows.clone());
    let mut failed = fx::outbound(&rows[0].key, "local:o1", 1, "x", MsgStatus::Failed);
    failed.error = Some("Meta refused the token".into());
    fx::open_with(&mut s, rows[0].clone(), vec![failed]);
    assert!(screen(&s).contains("press t to retry"), "{}", screen(&s));

    let dead = dmdesk::update::DeadPage {
        accounts: vec![rows[0].key.account.clone()],
        text: "token of Shop (P1) is invalid: put a new one in the config".into(),
    };
    update(&mut s, Event::Update(Update::TokenDead(dead.clone())));
    // Said again (a second failure, or an attached UI's owner status): once.
    update(&mut s, Event::Update(Update::TokenDead(dead)));
    let shown = screen(&s);
    let bar = shown.lines().nth(29).unwrap();
    assert!(bar.contains("! token of Shop (P1) is invalid"), "{bar}");
    assert!(!bar.contains("+1 more"), "{bar}");
    assert!(!shown.contains("press t to retry"), "{shown}");
    assert!(
        shown.contains("Meta refused the token"),
        "the failure still shows"
    );

    // `t` does not retry, and says why.
    key(&mut s, KeyCode::Char('k'));
    assert!(jobs(&key(&mut s, KeyCode::Char('t'))).is_empty());
    assert!(
        matches!(&s.status.message, Some((Level::Error, m)) if m.contains("no retry: token of Shop")),
        "{:?}",
        s.status.message
    );
    // (Who a bulk send reaches with a dead token is the inbox service's
    // answer now: rules/eligibility.rs tests it, campaign_run.rs the service.)
    key(&mut s, KeyCode::Esc);
    // Transient notices expire; the dead token stays.
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(3_600_000),
        },
    );
    let bar = screen(&s).lines().nth(29).unwrap().to_string();
    assert!(bar.contains("! token of Shop (P1) is invalid"), "{bar}");
    // Another page's conversation still offers its retry.
    let mut other_failed = fx::outbound(&rows[1].key, "local:o2", 1, "y", MsgStatus::Failed);
    other_failed.error = Some("boom".into());
    assert_ne!(rows[1].key.account, rows[0].key.account);
    fx::open_with(&mut s, rows[1].clone(), vec![other_failed]);
    assert!(screen(&s).contains("press t to retry"), "{}", screen(&s));
}

/// Issue 12: an attached UI's status bar shows the owner's pid (after a
/// restart too), the owner's events today and its sync, not its own count.
#[test]
fn an_attached_status_bar_shows_the_owners_pid_events_and_sync() {
    let mut s = fx::state(120, 30);
    fx::load_rows(&mut s, three());
    for _ in 0..2 {
        update(&mut s, Event::Update(Update::EventReceived { at: NOW }));
    }
    let owner = |pid: u32, events: u64| dmdesk::update::OwnerStatus {
        pid,
        listen: Some("127.0.0.1:9000".into()),
        events_today: events,
        sync: Some(dmdesk::update::SyncProgress {
            running: false,
            pages: 1,
            conversations: 5,
            messages: 9,
            errors: 0,
            finished_at: Some(NOW.plus_ms(-3_600_000)),
        }),
        dead: vec![],
    };
    update(&mut s, Event::Update(Update::OwnerStatus(owner(4242, 40))));
    let bar = screen(&s).lines().nth(29).unwrap().to_string();
    assert!(
        bar.contains("127.0.0.1:9000 (attached to pid 4242)"),
        "{bar}"
    );
    assert!(bar.contains("events today 40"), "{bar}");
    assert!(bar.contains("synced "), "{bar}");
    // Digests add the owner's new events to its count.
    update(
        &mut s,
        Event::Update(Update::Digest {
            events: 2,
            inbound: 0,
            changed: vec![],
            more: false,
            unread_conversations: None,
        }),
    );
    assert!(screen(&s).contains("events today 42"));
    // The owner restarted (a new pid, its count anew).
    update(&mut s, Event::Update(Update::OwnerStatus(owner(5151, 0))));
    let bar = screen(&s).lines().nth(29).unwrap().to_string();
    assert!(bar.contains("(attached to pid 5151)"), "{bar}");
    assert!(bar.contains("events today 0"), "{bar}");
}
