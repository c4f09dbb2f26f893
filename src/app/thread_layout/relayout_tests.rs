//! The memo's layout, brought up to date edit by edit through the real
//! `update`, against a layout of the same thread from scratch.

use super::{lay_out, message_lines, Laid, LaidLine, Layout};
use crate::app::event::{Event, Reply};
use crate::app::fixtures::{self as fx, NOW};
use crate::app::media::PicState;
use crate::app::state::State;
use crate::app::update;
use crate::domain::*;
use crate::media::picture::{PicKey, Unavailable};
use crate::team::Note;
use crate::update::Update;
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

const MIN: i64 = 60_000;

/// A message as the strategy describes it; `n` makes its mid.
#[derive(Debug, Clone)]
struct Spec {
    out: bool,
    words: usize,
    /// Minutes after the previous message (days apart sometimes).
    gap: i64,
    reacted: bool,
    status: MsgStatus,
    agent: Option<&'static str>,
    /// Replies to the message this many places before (0: none).
    reply_back: usize,
    attachment: Option<&'static str>,
    deleted: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        0usize..30,
        prop_oneof![1i64..90, 1_000i64..3_000],
        prop::bool::weighted(0.2),
        prop::sample::select(vec![
            MsgStatus::Sent,
            MsgStatus::Delivered,
            MsgStatus::Read,
            MsgStatus::Failed,
            MsgStatus::Pending,
        ]),
        prop::sample::select(vec![None, Some("alice"), Some("bob")]),
        prop_oneof![4 => Just(0usize), 1 => 1usize..5],
        prop::sample::select(vec![None, None, None, Some("image"), Some("file")]),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(out, words, gap, reacted, status, agent, reply_back, attachment, deleted)| Spec {
                out,
                words,
                gap,
                reacted,
                status,
                agent,
                reply_back,
                attachment,
                deleted,
            },
        )
}

fn text(words: usize, salt: usize) -> String {
    let w = [
        "hello",
        "order",
        "shipping",
        "你好",
        "👋🏽",
        "a-very-long-word-indeed",
        "ok",
    ];
    (0..words)
        .map(|j| w[(salt + j * 3) % w.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn make(c: &ConvKey, mid: &str, at: TimestampMs, s: &Spec, mids: &[Mid]) -> Message {
    let mut m = Message::inbound(c.clone(), Mid::new(mid), at);
    m.text = Some(text(s.words, mid.len() + s.words));
    if s.out {
        m.direction = Direction::Out;
        m.status = s.status;
        m.origin = Some(Origin::Dmdesk);
        m.agent = s.agent.map(str::to_string);
        if s.status == MsgStatus::Failed {
            m.error = Some("Meta refused it".into());
        }
    }
    if s.reacted {
        m.reactions.push(Reaction {
            emoji: "👍".into(),
            by: c.user.to_string(),
        });
    }
    if s.reply_back > 0 {
        m.reply_to = mids.iter().rev().nth(s.reply_back - 1).cloned();
    }
    if let Some(kind) = s.attachment {
        m.attachments.push(Attachment {
            kind: kind.into(),
            url: Some(format!("https://cdn.example/{mid}")),
            title: None,
        });
    }
    m.deleted = s.deleted;
    m
}

#[derive(Debug, Clone)]
enum Op {
    NewAtEnd(Spec),
    /// A message arriving late, between loaded ones (index, spec).
    Between(usize, Spec),
    Reaction(usize),
    Edit(usize, usize),
    Status(usize, MsgStatus),
    Unsend(usize),
    /// Our reply shown as pending, then Meta's copy replacing it.
    SendThenConfirm(usize),
    /// An older page put above what is loaded (count, the start reached).
    Older(usize, bool),
    Contact(String),
    Note(usize),
    Picture(usize),
    PageUp,
    Resize(u16),
    /// The page's token dies: failed replies stop offering a retry.
    TokenDead,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => spec().prop_map(Op::NewAtEnd),
        1 => (any::<prop::sample::Index>(), spec())
            .prop_map(|(i, s)| Op::Between(i.index(1 << 20), s)),
        3 => any::<prop::sample::Index>().prop_map(|i| Op::Reaction(i.index(1 << 20))),
        3 => (any::<prop::sample::Index>(), 0usize..40)
            .prop_map(|(i, w)| Op::Edit(i.index(1 << 20), w)),
        3 => (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![MsgStatus::Delivered, MsgStatus::Read, MsgStatus::Failed])
        )
            .prop_map(|(i, s)| Op::Status(i.index(1 << 20), s)),
        3 => any::<prop::sample::Index>().prop_map(|i| Op::Unsend(i.index(1 << 20))),
        1 => (0usize..20).prop_map(Op::SendThenConfirm),
        1 => (1usize..6, any::<bool>()).prop_map(|(n, r)| Op::Older(n, r)),
        1 => prop::sample::select(vec!["Ann Lee", "Ann Lee-Smith", "A"])
            .prop_map(|n| Op::Contact(n.to_string())),
        1 => any::<prop::sample::Index>().prop_map(|i| Op::Note(i.index(1 << 20))),
        1 => any::<prop::sample::Index>().prop_map(|i| Op::Picture(i.index(1 << 20))),
        1 => Just(Op::PageUp),
        1 => prop::sample::select(vec![60u16, 100, 140]).prop_map(Op::Resize),
        1 => Just(Op::TokenDead),
    ]
}

struct Run {
    s: State,
    c: Conversation,
    next: usize,
    term: Terminal<TestBackend>,
}

impl Run {
    fn mid(&mut self) -> String {
        self.next += 1;
        format!("m{}", self.next)
    }
    fn messages(&self) -> &[Message] {
        self.s.thread.as_ref().map_or(&[], |t| &t.messages)
    }
    /// The loaded message at `i` (wrapped), changed by `f`, as an update.
    fn change(&mut self, i: usize, f: impl FnOnce(&mut Message)) {
        let n = self.messages().len();
        if n == 0 {
            return;
        }
        let mut m = self.messages()[i % n].clone();
        f(&mut m);
        self.update(Event::Update(Update::Message(Box::new(m))));
    }
    fn update(&mut self, e: Event) {
        let _ = update(&mut self.s, e);
    }

    fn apply(&mut self, op: Op) {
        let key = self.c.key.clone();
        let last = self
            .messages()
            .last()
            .map_or(NOW.plus_ms(-600 * MIN), |m| m.timestamp);
        let mids: Vec<Mid> = self.messages().iter().map(|m| m.mid.clone()).collect();
        match op {
            Op::NewAtEnd(sp) => {
                let mid = self.mid();
                let m = make(&key, &mid, last.plus_ms(sp.gap * MIN), &sp, &mids);
                self.update(Event::Update(Update::Message(Box::new(m))));
            }
            Op::Between(i, sp) => {
                let Some(at) = mids
                    .len()
                    .checked_sub(1)
                    .filter(|n| *n > 0)
                    .map(|n| self.messages()[i % n].timestamp)
                else {
                    return;
                };
                let mid = self.mid();
                let m = make(&key, &mid, at.plus_ms(1), &sp, &mids);
                self.update(Event::Update(Update::Message(Box::new(m))));
            }
            Op::Reaction(i) => self.change(i, |m| {
                m.reactions.push(Reaction {
                    emoji: "❤".into(),
                    by: fx::PAGE.into(),
                })
            }),
            Op::Edit(i, words) => self.change(i, |m| {
                m.text = Some(text(words, words + 1));
                m.edited = true;
            }),
            Op::Status(i, st) => self.change(i, |m| {
                m.status = st;
                m.error = (st == MsgStatus::Failed).then(|| "timed out".to_string());
            }),
            Op::Unsend(i) => self.change(i, |m| m.deleted = true),
            Op::SendThenConfirm(words) => {
                let at = last.plus_ms(MIN);
                let local = fx::outbound(
                    &key,
                    &format!("local:{}", self.mid()),
                    0,
                    "",
                    MsgStatus::Pending,
                );
                let mut local = Message {
                    timestamp: at,
                    ..local
                };
                local.text = Some(text(words, 2));
                self.update(Event::Update(Update::Message(Box::new(local.clone()))));
                let mut sent = local;
                sent.mid = Mid::new(self.mid());
                sent.status = MsgStatus::Sent;
                self.update(Event::Update(Update::Message(Box::new(sent))));
            }
            Op::Older(n, reached) => {
                let first = self.messages().first().map_or(NOW, |m| m.timestamp);
                let page: Vec<Message> = (0..n)
                    .map(|j| {
                        let mid = self.mid();
                        let at = first.plus_ms(-((n - j) as i64) * 700 * MIN);
                        fx::inbound(&key, &mid, 0, &text(j * 5, j)).clone_at(at)
                    })
                    .collect();
                let limit = if reached { n + 1 } else { n };
                self.update(Event::Inbox(Reply::Older {
                    conv: key,
                    messages: page,
                    limit,
                }));
            }
            Op::Contact(name) => {
                let mut ct = Contact::new(key, "webhook");
                ct.name = Some(name);
                self.update(Event::Update(Update::Contact(Box::new(ct))));
            }
            Op::Note(i) => {
                let at = match mids.len() {
                    0 => NOW,
                    n => self.messages()[i % n].timestamp.plus_ms(1),
                };
                let id = self.mid();
                self.update(Event::Update(Update::Note(Box::new(Note {
                    id,
                    conv: key,
                    author: "bob".into(),
                    text: "check the refund".into(),
                    at,
                    mentions: vec![],
                }))));
            }
            Op::Picture(i) => {
                let Some(t) = self.s.thread.as_mut() else {
                    return;
                };
                let with: Vec<Mid> = t
                    .messages
                    .iter()
                    .filter(|m| !m.attachments.is_empty())
                    .map(|m| m.mid.clone())
                    .collect();
                if let Some(mid) = with.get(i % with.len().max(1)) {
                    let state = if i % 2 == 0 {
                        PicState::Loading
                    } else {
                        PicState::Unavailable(Unavailable::Expired)
                    };
                    t.pictures.map.insert(
                        PicKey {
                            mid: mid.clone(),
                            index: 0,
                        },
                        state,
                    );
                    t.pictures.rev += 1;
                }
            }
            Op::PageUp => {
                self.update(Event::Key(KeyEvent::new(
                    KeyCode::PageUp,
                    KeyModifiers::NONE,
                )));
            }
            Op::TokenDead => {
                self.update(Event::Update(Update::TokenDead(crate::update::DeadPage {
                    accounts: vec![key.account.clone()],
                    text: "the token is dead".into(),
                })))
            }
            Op::Resize(w) => self.update(Event::Resize {
                width: w,
                height: 30,
            }),
        }
    }

    /// The memo's layouts (measured, then drawn) against one from scratch.
    fn check(&mut self, draw: bool) -> Result<(), TestCaseError> {
        let Some(t) = self.s.thread.as_ref() else {
            return Ok(());
        };
        let (w, h) = crate::app::layout::thread_inner(&self.s.panes());
        let (zone, now) = (self.s.opts.zone, self.s.now);
        let me = self.s.opts.me.clone();
        let measured = t.memo.measure(&t.layout_source(), w, zone, now);
        let fresh = lay_out(&t.layout_source(), w, zone, now, me.as_deref());
        // Measuring may use another "me": headers may differ, lines may not.
        prop_assert_eq!(measured.owners(), fresh.owners.clone());
        same_geometry(&measured, &fresh, h as usize, false)?;
        if draw {
            let s = &self.s;
            self.term.draw(|f| crate::ui::render(s, f)).expect("draw");
            let drawn = t.memo.draw(&t.layout_source(), w, zone, now, me.as_deref());
            prop_assert_eq!(drawn.flatten(), fresh.clone());
            same_geometry(&drawn, &fresh, h as usize, true)?;
        }
        Ok(())
    }
}

/// Offsets, owners and slices (with their lines when `lines`) of `l` as
/// the flat layout has them.
fn same_geometry(l: &Layout, flat: &Laid, h: usize, lines: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(l.len(), flat.lines.len());
    let n = flat.owners.iter().flatten().max().map_or(0, |m| m + 1);
    for i in 0..n + 1 {
        prop_assert_eq!(
            l.message_lines(i),
            message_lines(&flat.owners, i),
            "message {}",
            i
        );
    }
    for line in 0..flat.lines.len() {
        prop_assert_eq!(l.owner(line), flat.owners[line]);
        let above = flat.owners[..=line].iter().rev().flatten().next().copied();
        prop_assert_eq!(l.owner_at_or_above(line), above);
    }
    for start in (0..flat.lines.len()).step_by(h.max(1) / 2 + 1) {
        let end = (start + h).min(flat.lines.len());
        let got = l.slice(start, end);
        let owners: Vec<Option<usize>> = got.iter().map(|(_, o)| *o).collect();
        prop_assert_eq!(&owners[..], &flat.owners[start..end]);
        if lines {
            let got: Vec<LaidLine> = got.into_iter().map(|(x, _)| x.clone()).collect();
            prop_assert_eq!(&got[..], &flat.lines[start..end]);
        }
    }
    Ok(())
}

trait At {
    fn clone_at(self, at: TimestampMs) -> Message;
}
impl At for Message {
    fn clone_at(mut self, at: TimestampMs) -> Message {
        self.timestamp = at;
        self
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn incremental_layout_equals_a_full_one(
        specs in prop::collection::vec(spec(), 0..30),
        instagram in prop::bool::weighted(0.2),
        start_reached in any::<bool>(),
        ops in prop::collection::vec((op(), prop::bool::weighted(0.6), any::<bool>()), 1..30),
    ) {
        let platform = if instagram { Platform::Instagram } else { Platform::Messenger };
        let c = fx::conv(platform, "u1", "Ann Lee", 5, 0);
        let mut run = Run {
            s: fx::state(100, 30),
            c: c.clone(),
            next: 0,
            term: Terminal::new(TestBackend::new(100, 30)).expect("terminal"),
        };
        let mut msgs: Vec<Message> = Vec::new();
        let mut at = NOW.plus_ms(-(specs.len() as i64) * 500 * MIN);
        for sp in &specs {
            at = at.plus_ms(sp.gap * MIN);
            let mid = run.mid();
            let mids: Vec<Mid> = msgs.iter().map(|m| m.mid.clone()).collect();
            msgs.push(make(&c.key, &mid, at, sp, &mids));
        }
        fx::open_with(&mut run.s, c, msgs);
        if let Some(t) = run.s.thread.as_mut() {
            t.reached_start = start_reached;
        }
        run.check(true)?;
        for (op, check, draw) in ops {
            run.apply(op);
            if check {
                run.check(draw)?;
            }
        }
        run.check(true)?;
    }
}
