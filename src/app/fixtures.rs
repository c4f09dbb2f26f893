//! Fixed data for tests and benchmarks: a fixed clock, a fixed zone, a few
//! conversations and messages.

use super::command::Command;
use super::event::{Event, ListRows, Reply, ThreadData};
use super::keymap::Keymap;
use super::state::{Options, State};
use crate::clock::Zone;
use crate::domain::*;
use crate::job::Job;
use crate::request::Request;
use crate::rules::template::CannedReply;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashSet;

/// 2023-11-14 22:13:20 UTC.
pub const NOW: TimestampMs = TimestampMs(1_700_000_000_000);
pub const PAGE: &str = "100200300";
pub const IG: &str = "17840000000000001";

pub fn options() -> Options {
    let ids: HashSet<AccountId> = [AccountId::new(PAGE), AccountId::new(IG)]
        .into_iter()
        .collect();
    Options {
        zone: Zone::Fixed(0),
        listen: Some("127.0.0.1:8080".into()),
        demo: false,
        no_color: true,
        bell: true,
        title: true,
        keymap: Keymap::default(),
        canned: vec![
            CannedReply {
                name: "greeting".into(),
                text: "Hi {first_name}, how can I help?".into(),
            },
            CannedReply {
                name: "shipping".into(),
                text: "Orders ship within 2 days, {name}.".into(),
            },
        ],
        human_agent: ids.clone(),
        configured: ids,
        me: Some("alice".into()),
        session: 1,
        pages: vec![crate::domain::PageInfo {
            id: AccountId::new(PAGE),
            name: "Demo Coffee Co.".into(),
            instagram_id: Some(AccountId::new(IG)),
            human_agent: true,
        }],
        ascii: false,
        dead_tokens: Vec::new(),
        synced: None,
        media: Default::default(),
        agents: vec!["alice".into(), "bob".into(), "carol".into()],
        labels: [("vip", "magenta"), ("refund", "red")]
            .into_iter()
            .map(|(l, c)| (l.to_string(), c.to_string()))
            .collect(),
    }
}

pub fn state(width: u16, height: u16) -> State {
    State::new(options(), NOW, (width, height))
}

pub fn key(p: Platform, user: &str) -> ConvKey {
    let acc = match p {
        Platform::Messenger => PAGE,
        Platform::Instagram => IG,
    };
    ConvKey::new(p, acc, user)
}

/// A conversation whose customer last wrote `ago_min` minutes before NOW.
pub fn conv(p: Platform, user: &str, name: &str, ago_min: i64, unread: u32) -> Conversation {
    let mut c = Conversation::new(key(p, user), name.into());
    let t = NOW.plus_ms(-ago_min * 60_000);
    c.last_activity = t;
    c.last_inbound = Some(t);
    c.last_user_message = Some(t);
    c.last_direction = Some(Direction::In);
    c.unread = unread;
    c.message_count = 1;
    c.last_preview = format!("message from {name}");
    c
}

pub fn inbound(c: &ConvKey, mid: &str, ago_min: i64, text: &str) -> Message {
    let mut m = Message::inbound(c.clone(), Mid::new(mid), NOW.plus_ms(-ago_min * 60_000));
    m.text = Some(text.into());
    m
}

pub fn outbound(c: &ConvKey, mid: &str, ago_min: i64, text: &str, status: MsgStatus) -> Message {
    let mut m = inbound(c, mid, ago_min, text);
    m.direction = Direction::Out;
    m.status = status;
    m.origin = Some(Origin::Dmdesk);
    m
}

/// Feed the list rows as if the store returned them.
pub fn load_rows(s: &mut State, rows: Vec<Conversation>) {
    let total = Some(rows.len() as u64);
    let visible = s.list.visible;
    let top = s.list.top;
    let shown = rows.iter().skip(top).take(visible).cloned().collect();
    super::update(
        s,
        Event::Inbox(Reply::List(ListRows {
            offset: top,
            rows: shown,
            total,
            generation: s.list.generation,
        })),
    );
}

/// Open a thread with these messages as if loaded.
pub fn open_with(s: &mut State, c: Conversation, messages: Vec<Message>) {
    s.thread = None;
    s.focus = super::state::Focus::List;
    s.overlay = None;
    let mut rows = s.list.rows.clone();
    if !rows.iter().any(|r| r.key == c.key) {
        rows.insert(0, c.clone());
        load_rows(s, rows);
    }
    if let Some(i) = s.list.rows.iter().position(|r| r.key == c.key) {
        s.list.selected = s.list.rows_top + i;
        s.list.selected_key = Some(c.key.clone());
    }
    let _ = super::update(
        s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let limit = messages.len() + 1;
    super::update(
        s,
        Event::Inbox(Reply::Thread(Some(Box::new(ThreadData {
            conv: c,
            contact: None,
            messages,
            limit,
            draft: None,
            notes: vec![],
            history: vec![],
        })))),
    );
}

/// Press a key with no modifiers.
pub fn press(s: &mut State, code: KeyCode) -> Vec<Command> {
    super::update(s, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Press ctrl and a letter.
pub fn ctrl(s: &mut State, c: char) -> Vec<Command> {
    super::update(
        s,
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

/// Type text one key at a time.
pub fn typ(s: &mut State, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

/// The jobs among the commands.
pub fn jobs(cmds: &[Command]) -> Vec<&Job> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Inbox(Request::Job { job: j }) => Some(j),
            _ => None,
        })
        .collect()
}

/// Three conversations: Ann (unread, 5 min), Bo (Instagram, 1 h), Cy
/// (unread, 30 h: outside the 24-hour window).
pub fn three() -> Vec<Conversation> {
    vec![
        conv(Platform::Messenger, "u1", "Ann Lee", 5, 2),
        conv(Platform::Instagram, "u2", "Bo Chen", 60, 0),
        conv(Platform::Messenger, "u3", "Cy Diaz", 30 * 60, 1),
    ]
}
