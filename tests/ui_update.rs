//! The pure update: keys, store updates, window rules, selection, bulk.

use dmdesk::app::command::Command;
use dmdesk::app::event::Event;
use dmdesk::app::fixtures::{self as fx, NOW};
use dmdesk::app::state::{Focus, Level, Overlay};
use dmdesk::app::{update, State};
use dmdesk::domain::*;
use dmdesk::send::window::Tag;
use dmdesk::store::{CampaignProgress, Update};
use dmdesk::workers::Job;
use proptest::prelude::*;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(s: &mut State, code: KeyCode) -> Vec<Command> {
    update(s, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}
fn ctrl(s: &mut State, c: char) -> Vec<Command> {
    update(
        s,
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}
fn typ(s: &mut State, text: &str) {
    for c in text.chars() {
        key(s, KeyCode::Char(c));
    }
}
fn jobs(cmds: &[Command]) -> Vec<&Job> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Job(j) => Some(j),
            _ => None,
        })
        .collect()
}

fn three() -> Vec<Conversation> {
    vec![
        fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 2),
        fx::conv(Platform::Instagram, "u2", "Bo Chen", 60, 0),
        fx::conv(Platform::Messenger, "u3", "Cy Diaz", 30 * 60, 1),
    ]
}

#[test]
fn selection_stays_in_bounds() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    key(&mut s, KeyCode::Char('k'));
    assert_eq!(s.list.selected, 0);
    for _ in 0..5 {
        key(&mut s, KeyCode::Char('j'));
    }
    assert_eq!(s.list.selected, 2);
    key(&mut s, KeyCode::Up);
    assert_eq!(s.list.selected, 1);
    assert_eq!(
        s.list.selected_key.as_ref().map(|k| k.user.as_str()),
        Some("u2")
    );
}

#[test]
fn enter_opens_thread_and_marks_read() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    let cmds = key(&mut s, KeyCode::Enter);
    let k = fx::key(Platform::Messenger, "u1");
    assert!(cmds.contains(&Command::LoadThread {
        conv: k.clone(),
        limit: 200
    }));
    assert!(cmds.contains(&Command::MarkRead(k.clone())));
    assert_eq!(s.focus, Focus::Thread);
    assert_eq!(s.open_key(), Some(&k));
}

#[test]
fn reply_inside_window_emits_job() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    fx::open_with(
        &mut s,
        c.clone(),
        vec![fx::inbound(&c.key, "m1", 5, "hello")],
    );
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.focus, Focus::Composer);
    typ(&mut s, "hi there");
    let cmds = key(&mut s, KeyCode::Enter);
    assert_eq!(
        jobs(&cmds),
        vec![&Job::Reply {
            conv: c.key.clone(),
            text: "hi there".into(),
            tag: None,
            agent: None
        }]
    );
    assert!(cmds.contains(&Command::SaveDraft {
        conv: c.key,
        text: String::new()
    }));
    assert_eq!(s.composer.text(), "");
}

#[test]
fn reply_outside_window_is_refused_until_human_agent_chosen() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u3", "Cy Diaz", 30 * 60, 0);
    fx::open_with(
        &mut s,
        c.clone(),
        vec![fx::inbound(&c.key, "m1", 30 * 60, "hello?")],
    );
    key(&mut s, KeyCode::Tab);
    typ(&mut s, "sorry for the wait");
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(jobs(&cmds).is_empty(), "refused sends emit no job");
    assert!(s
        .composer
        .refusal
        .as_deref()
        .unwrap_or("")
        .contains("HUMAN_AGENT"));
    assert!(matches!(&s.status.message, Some((Level::Error, m)) if m.starts_with("not sent")));
    assert_eq!(
        s.composer.text(),
        "sorry for the wait",
        "text kept after a refusal"
    );
    ctrl(&mut s, 't');
    assert_eq!(s.composer.tag, Some(Tag::HumanAgent));
    let cmds = key(&mut s, KeyCode::Enter);
    assert_eq!(
        jobs(&cmds),
        vec![&Job::Reply {
            conv: c.key,
            text: "sorry for the wait".into(),
            tag: Some(Tag::HumanAgent),
            agent: None
        }]
    );
}

#[test]
fn closed_and_empty_and_unconfigured_are_refused() {
    // Past 7 days: even HUMAN_AGENT is refused.
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Instagram, "u9", "Old", 8 * 24 * 60, 0);
    fx::open_with(&mut s, c.clone(), vec![]);
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "hello");
    assert!(jobs(&key(&mut s, KeyCode::Enter)).is_empty());
    ctrl(&mut s, 't');
    assert!(jobs(&key(&mut s, KeyCode::Enter)).is_empty());

    // Empty text.
    let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
    fx::open_with(&mut s, c, vec![]);
    key(&mut s, KeyCode::Char('i'));
    assert!(jobs(&key(&mut s, KeyCode::Enter)).is_empty());
    assert!(s.composer.refusal.is_some());

    // An account with no configured page.
    let mut c = fx::conv(Platform::Messenger, "u5", "Eve", 5, 0);
    c.key.account = AccountId::new("999");
    fx::open_with(&mut s, c, vec![]);
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "hi");
    assert!(jobs(&key(&mut s, KeyCode::Enter)).is_empty());
    assert!(s
        .composer
        .refusal
        .as_deref()
        .unwrap_or("")
        .contains("not configured"));
}

#[test]
fn conversation_update_reloads_list_and_follows_selection() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('j')); // Cy Diaz selected
    let mut cy = three()[2].clone();
    cy.last_activity = NOW;
    cy.unread = 2;
    let cmds = update(
        &mut s,
        Event::Update(Update::Conversation(Box::new(cy.clone()))),
    );
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::LoadList { offset: 0, .. })));
    // The store answers with Cy on top: the selection follows Cy.
    let mut rows = three();
    rows.remove(2);
    rows.insert(0, cy);
    fx::load_rows(&mut s, rows);
    assert_eq!(s.list.selected, 0);
    assert_eq!(
        s.list.selected_row().map(|c| c.name.as_str()),
        Some("Cy Diaz")
    );
}

#[test]
fn live_message_follows_or_counts_new_when_scrolled_up() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    let msgs: Vec<Message> = (0..40)
        .map(|i| fx::inbound(&c.key, &format!("m{i}"), 200 - i, "line"))
        .collect();
    fx::open_with(&mut s, c.clone(), msgs);
    let mut m = fx::inbound(&c.key, "new1", 0, "are you there?");
    m.timestamp = NOW;
    let cmds = update(&mut s, Event::Update(Update::Message(Box::new(m))));
    assert!(cmds.contains(&Command::Bell));
    assert!(cmds.contains(&Command::MarkRead(c.key.clone())));
    assert_eq!(s.thread.as_ref().map(|t| t.messages.len()), Some(41));
    assert_eq!(s.thread.as_ref().map(|t| t.scroll), Some(0));

    key(&mut s, KeyCode::PageUp);
    let before = s.thread.as_ref().map(|t| t.scroll).unwrap_or(0);
    assert!(before > 0);
    let mut m = fx::inbound(&c.key, "new2", 0, "hello??");
    m.timestamp = NOW.plus_ms(1000);
    let cmds = update(&mut s, Event::Update(Update::Message(Box::new(m))));
    assert!(
        !cmds.contains(&Command::MarkRead(c.key.clone())),
        "scrolled up: not read yet"
    );
    let t = s.thread.as_ref().unwrap();
    assert_eq!(t.new_below, 1);
    assert!(t.scroll > before, "the view stays where the agent was");
    key(&mut s, KeyCode::Char('G'));
    assert_eq!(
        s.thread.as_ref().map(|t| (t.scroll, t.new_below)),
        Some((0, 0))
    );
}

#[test]
fn pending_copy_is_replaced_by_sent_message() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
    let local = fx::outbound(&c.key, "local:o1", 1, "hi", MsgStatus::Pending);
    fx::open_with(&mut s, c.clone(), vec![local.clone()]);
    let mut sent = local.clone();
    sent.mid = Mid::new("m_real");
    sent.status = MsgStatus::Sent;
    update(&mut s, Event::Update(Update::Message(Box::new(sent))));
    let t = s.thread.as_ref().unwrap();
    assert_eq!(t.messages.len(), 1);
    assert_eq!(t.messages[0].mid.as_str(), "m_real");
}

#[test]
fn retry_sends_outbox_id_of_failed_message() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
    let mut failed = fx::outbound(&c.key, "local:o42", 1, "hi", MsgStatus::Failed);
    failed.error = Some("(#10) outside window".into());
    fx::open_with(&mut s, c, vec![failed]);
    let cmds = key(&mut s, KeyCode::Char('t'));
    assert_eq!(
        jobs(&cmds),
        vec![&Job::Retry {
            outbox_id: "o42".into()
        }]
    );
}

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
    let p = dmdesk::app::update::bulk_preview(&s, None);
    assert_eq!((p.inside, p.needs_tag, p.unreachable.len()), (2, 1, 1));
    typ(&mut s, "We moved!");
    key(&mut s, KeyCode::Tab); // CONFIRMED_EVENT_UPDATE
    key(&mut s, KeyCode::Tab); // POST_PURCHASE_UPDATE
    let p = dmdesk::app::update::bulk_preview(&s, Some(Tag::PostPurchaseUpdate));
    assert_eq!((p.inside, p.tagged, p.unreachable.len()), (2, 1, 1));
    key(&mut s, KeyCode::Enter);
    assert!(
        matches!(&s.overlay, Some(Overlay::Bulk(b)) if b.stage == dmdesk::app::state::BulkStage::Confirm)
    );
    let cmds = key(&mut s, KeyCode::Char('y'));
    match jobs(&cmds).as_slice() {
        [Job::Campaign {
            text,
            tag,
            recipients,
            ..
        }] => {
            assert_eq!(text, "We moved!");
            assert_eq!(*tag, Some(Tag::PostPurchaseUpdate));
            assert_eq!(recipients.len(), 3);
        }
        other => panic!("expected one campaign, got {other:?}"),
    }
    assert!(s.marked.is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn bulk_without_marks_is_refused() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    let cmds = key(&mut s, KeyCode::Char('B'));
    assert!(cmds.is_empty() || jobs(&cmds).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn status_bar_counters() {
    let mut s = fx::state(100, 30);
    update(&mut s, Event::Update(Update::EventReceived { at: NOW }));
    update(
        &mut s,
        Event::Update(Update::EventReceived {
            at: NOW.plus_ms(-2 * TimestampMs::DAY),
        }),
    );
    assert_eq!(s.status.events_today.1, 1);
    update(
        &mut s,
        Event::Tick {
            now: NOW.plus_ms(TimestampMs::DAY),
        },
    );
    assert_eq!(s.status.events_today.1, 0, "a new day starts at zero");
    let p = CampaignProgress {
        id: "c1".into(),
        title: "Sale".into(),
        total: 10,
        done: 3,
        running: true,
        ..Default::default()
    };
    update(&mut s, Event::Update(Update::Campaign(p.clone())));
    assert_eq!(s.status.campaigns.len(), 1);
    update(
        &mut s,
        Event::Update(Update::Campaign(CampaignProgress {
            running: false,
            done: 10,
            sent: 10,
            ..p
        })),
    );
    assert!(s.status.campaigns.is_empty());
    update(&mut s, Event::Update(Update::Error("token expired".into())));
    assert_eq!(
        s.status.message,
        Some((Level::Error, "token expired".into()))
    );
}

#[test]
fn set_status_snooze_tomorrow() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    key(&mut s, KeyCode::Char('s'));
    let cmds = key(&mut s, KeyCode::Char('t'));
    let expect = dmdesk::app::clock::tomorrow_at(NOW, s.opts.zone, 9);
    assert_eq!(
        cmds.first(),
        Some(&Command::SetStatus {
            conv: fx::key(Platform::Messenger, "u1"),
            status: ConvStatus::Snoozed,
            snooze_until: Some(expect)
        })
    );
}

#[test]
fn canned_reply_fills_variables_into_composer() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann Lee", 5, 0);
    fx::open_with(&mut s, c, vec![]);
    key(&mut s, KeyCode::Char('i'));
    ctrl(&mut s, 'r');
    typ(&mut s, "gree");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.composer.text(), "Hi Ann, how can I help?");
    assert!(s.overlay.is_none());
}

#[test]
fn quit_saves_draft() {
    let mut s = fx::state(100, 30);
    let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
    fx::open_with(&mut s, c.clone(), vec![]);
    key(&mut s, KeyCode::Char('i'));
    typ(&mut s, "half a thought");
    let cmds = ctrl(&mut s, 'c');
    assert_eq!(
        cmds,
        vec![
            Command::SaveDraft {
                conv: c.key,
                text: "half a thought".into()
            },
            Command::Quit
        ]
    );
    assert!(s.quit);
}

#[test]
fn search_filters_and_esc_clears() {
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, three());
    key(&mut s, KeyCode::Char('/'));
    let cmds = key(&mut s, KeyCode::Char('b'));
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadList { filter, count: true, .. } if filter.text.as_deref() == Some("b"))));
    key(&mut s, KeyCode::Esc);
    assert!(s.list.filter.text.is_none());
    key(&mut s, KeyCode::Char('u'));
    assert!(s.list.filter.unread_only);
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
            // Answer list loads like the store would.
            if cmds.iter().any(|c| matches!(c, Command::LoadList { .. })) {
                let answer = if s.list.filter.is_empty() { rows.clone() } else { vec![] };
                fx::load_rows(&mut s, answer);
            }
            prop_assert!(s.list.selected <= s.list.max_index());
            if let Some(total) = s.list.total {
                prop_assert!(total == 0 || (s.list.selected as u64) < total);
            }
            for c in &cmds {
                match c {
                    Command::MarkRead(k) | Command::MarkUnread(k) | Command::LoadThread { conv: k, .. }
                    | Command::SetStatus { conv: k, .. } | Command::SaveDraft { conv: k, .. } => {
                        prop_assert!(known.contains(k), "command for an unknown conversation");
                    }
                    Command::Job(Job::Reply { conv, text, .. }) => {
                        prop_assert!(known.contains(conv));
                        prop_assert!(!text.trim().is_empty());
                        prop_assert_eq!(s.open_key(), Some(conv));
                    }
                    Command::Job(Job::Campaign { recipients, .. }) => {
                        prop_assert!(!recipients.is_empty());
                        prop_assert!(recipients.iter().all(|r| known.contains(r)));
                    }
                    _ => {}
                }
            }
        }
    }
}
