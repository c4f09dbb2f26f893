//! The store boundary's contract, run against every backend.
//!
//! Each check is a function over a fresh, empty `Db`; `contract!` turns the
//! list into tests for one backend. A second backend adds one line at the
//! bottom: `contract!(name, opener);`. An opener returns None when its
//! backend is not available here (it has said why).

use dmdesk::bus::Bus;
use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::{
    ConvKey, ConvStatus, Direction, Message, Mid, MsgStatus, Platform, TimestampMs,
};
use dmdesk::filter::{AssigneeFilter, ConvFilter, ListOrder, View};
use dmdesk::store::embedded::SledStore;
use dmdesk::store::postgres::PgStore;
use dmdesk::store::{NewRecipient, RecipientState, Store, Swap};
use dmdesk::team::{AgentName, HistoryKind, MailKind, Note, Priority};
use dmdesk::update::{Update, Viewer};
use std::sync::Arc;

/// A store under test and whatever keeps it alive (a temp directory).
pub struct Fixture {
    pub db: Db,
    _keep: Box<dyn std::any::Any>,
}

#[path = "common/pg.rs"]
mod pg;

fn open_sled(_test: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), 16, "test").expect("open");
    Some(Fixture {
        db,
        _keep: Box::new(dir),
    })
}

/// A store on a fresh database of its own (dropped after the test).
fn open_postgres(test: &str) -> Option<Fixture> {
    let temp = pg::TempDb::create(test)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PgStore::open(&temp.url, dir.path(), "test").expect("open postgres");
    Some(Fixture {
        db: Db::new(store, Bus::new()),
        // Fields drop in order: the store's pool before the database.
        _keep: Box::new((dir, temp)),
    })
}

fn conv(user: &str) -> ConvKey {
    ConvKey::new(Platform::Messenger, "P1", user)
}

fn inbound(user: &str, mid: &str, t: i64) -> Change {
    let mut m = Message::inbound(conv(user), Mid::from(mid), TimestampMs(t));
    m.text = Some(format!("text of {mid}"));
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: false,
    }
}

fn outbound(user: &str, mid: &str, t: i64, metadata: Option<&str>) -> Change {
    let mut m = Message::inbound(conv(user), Mid::from(mid), TimestampMs(t));
    m.direction = Direction::Out;
    m.status = MsgStatus::Sent;
    m.text = Some("from the page".into());
    Change::Message {
        msg: m,
        metadata: metadata.map(str::to_string),
        qualifying: false,
        from_sync: false,
    }
}

pub fn apply_is_idempotent(f: Fixture) {
    let db = &f.db;
    let batch = vec![
        inbound("U1", "m1", 1_000),
        inbound("U1", "m2", 2_000),
        Change::Reaction {
            conv: conv("U1"),
            target: Mid::from("m1"),
            emoji: Some("❤".into()),
            by: "U1".into(),
            at: TimestampMs(2_500),
        },
        outbound("U1", "m3", 3_000, None),
    ];
    let first = db.apply(&batch).expect("apply");
    assert_eq!(first.new_messages, 3);
    assert_eq!(first.new_contacts, vec![conv("U1")]);
    let c1 = db.conversation(&conv("U1")).unwrap().expect("conversation");
    assert_eq!((c1.message_count, c1.unread), (3, 2));
    assert_eq!(
        c1.last_inbound,
        Some(TimestampMs(2_500)),
        "the reaction opens the window"
    );

    let again = db.apply(&batch).expect("re-apply");
    assert_eq!(again.new_messages, 0);
    assert!(again.new_contacts.is_empty());
    assert_eq!(db.conversation(&conv("U1")).unwrap(), Some(c1));
    assert_eq!(db.messages_latest(&conv("U1"), 10).unwrap().len(), 3);
    assert_eq!(db.conversation_count().unwrap(), 1);
    let m1 = db.message(&Mid::from("m1")).unwrap().expect("m1");
    assert_eq!(m1.reactions.len(), 1, "the reaction is not doubled");
}

pub fn early_receipts_wait_for_their_message(f: Fixture) {
    let db = &f.db;
    // Receipts, a reaction and an edit before the message they name.
    db.apply(&[
        Change::Delivery {
            conv: conv("U1"),
            mids: vec![Mid::from("out1")],
            watermark: None,
        },
        Change::Reaction {
            conv: conv("U1"),
            target: Mid::from("in1"),
            emoji: Some("👍".into()),
            by: "P1".into(),
            at: TimestampMs(50),
        },
        Change::Edit {
            conv: conv("U1"),
            mid: Mid::from("in1"),
            text: "edited".into(),
            at: TimestampMs(60),
        },
    ])
    .unwrap();
    assert!(db.message(&Mid::from("in1")).unwrap().is_none());
    db.apply(&[inbound("U1", "in1", 10), outbound("U1", "out1", 20, None)])
        .unwrap();
    let in1 = db.message(&Mid::from("in1")).unwrap().expect("in1");
    assert_eq!(in1.text.as_deref(), Some("edited"));
    assert!(in1.edited);
    assert_eq!(in1.reactions.len(), 1);
    assert_eq!(in1.reactions[0].by, "P1");
    let out1 = db.message(&Mid::from("out1")).unwrap().expect("out1");
    assert_eq!(out1.status, MsgStatus::Delivered);
    // A read watermark moves every earlier outbound message, once.
    db.apply(&[Change::Read {
        conv: conv("U1"),
        watermark: Some(TimestampMs(25)),
        mid: None,
    }])
    .unwrap();
    assert_eq!(
        db.message(&Mid::from("out1")).unwrap().unwrap().status,
        MsgStatus::Read
    );
}

pub fn watermark_in_the_same_apply_as_its_messages(f: Fixture) {
    let db = &f.db;
    // The watermark sees messages written earlier in the same apply.
    db.apply(&[
        inbound("U1", "in1", 10),
        outbound("U1", "o1", 20, None),
        outbound("U1", "o2", 30, None),
        Change::Read {
            conv: conv("U1"),
            watermark: Some(TimestampMs(25)),
            mid: None,
        },
    ])
    .unwrap();
    let st = |m: &str| db.message(&Mid::from(m)).unwrap().unwrap().status;
    assert_eq!((st("o1"), st("o2")), (MsgStatus::Read, MsgStatus::Sent));
}

pub fn outbound_lifecycle(f: Fixture) {
    let db = &f.db;
    db.apply(&[inbound("U1", "in1", 1_000)]).unwrap();
    let rec = db
        .create_outbound(
            &conv("U1"),
            "hello",
            None,
            Some("ann"),
            None,
            TimestampMs(2_000),
        )
        .expect("queued");
    let pending = db
        .message(&rec.local_mid())
        .unwrap()
        .expect("pending message");
    assert_eq!(pending.status, MsgStatus::Pending);
    assert_eq!(db.outbox_pending().unwrap(), vec![rec.clone()]);
    let c = db.conversation(&conv("U1")).unwrap().unwrap();
    assert_eq!(
        (c.message_count, c.last_direction),
        (2, Some(Direction::Out))
    );

    db.outbound_failed(&rec.id, "network").unwrap();
    let failed = db.message(&rec.local_mid()).unwrap().unwrap();
    assert_eq!(failed.status, MsgStatus::Failed);
    assert!(db.outbox_pending().unwrap().is_empty());
    // Every record is listed, the failed one too (what `migrate` copies).
    let all = db.all_outbox().unwrap();
    assert_eq!(all.iter().map(|r| &r.id).collect::<Vec<_>>(), [&rec.id]);

    let again = db.outbound_retry(&rec.id).unwrap();
    assert_eq!(again.id, rec.id);
    assert_eq!(db.outbox_pending().unwrap().len(), 1);

    db.outbound_sent(&rec.id, &Mid::from("m_sent")).unwrap();
    assert!(db.message(&rec.local_mid()).unwrap().is_none(), "re-keyed");
    let sent = db.message(&Mid::from("m_sent")).unwrap().expect("sent");
    assert_eq!(
        (sent.status, sent.text.as_deref()),
        (MsgStatus::Sent, Some("hello"))
    );

    // The echo, carrying our metadata, neither duplicates nor counts twice.
    let echo = outbound("U1", "m_sent", 2_100, Some(&rec.metadata()));
    db.apply(&[echo]).unwrap();
    let c = db.conversation(&conv("U1")).unwrap().unwrap();
    assert_eq!(c.message_count, 2);
    assert_eq!(db.messages_latest(&conv("U1"), 10).unwrap().len(), 2);

    // A failure after the send is known changes nothing.
    db.outbound_failed(&rec.id, "late").unwrap();
    assert_eq!(
        db.message(&Mid::from("m_sent")).unwrap().unwrap().status,
        MsgStatus::Sent
    );
    assert!(db.outbound_sent("nope", &Mid::from("x")).is_err());
}

pub fn echo_before_the_api_answer(f: Fixture) {
    let db = &f.db;
    let rec = db
        .create_outbound(&conv("U1"), "hi", None, None, None, TimestampMs(100))
        .unwrap();
    db.apply(&[outbound("U1", "m_e", 101, Some(&rec.metadata()))])
        .unwrap();
    db.outbound_sent(&rec.id, &Mid::from("m_e")).unwrap();
    let msgs = db.messages_latest(&conv("U1"), 10).unwrap();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0].mid, Mid::from("m_e"));
}

pub fn campaign_state_and_claims(f: Fixture) {
    let db = &f.db;
    let (a, b) = (conv("U1"), ConvKey::new(Platform::Instagram, "IG1", "U2"));
    let c = db
        .create_campaign(
            "t",
            "hello",
            None,
            Some("ann"),
            &[
                NewRecipient {
                    conv: a.clone(),
                    skip: None,
                },
                NewRecipient {
                    conv: b.clone(),
                    skip: Some("outside the window".into()),
                },
            ],
            TimestampMs(5),
        )
        .unwrap();
    let rs = db.campaign_recipients(&c.id).unwrap();
    assert_eq!(
        rs.iter().map(|r| r.state).collect::<Vec<_>>(),
        vec![RecipientState::Queued, RecipientState::Skipped]
    );
    // Claiming: the first swap from queued wins, the second is told what is there.
    let o = db
        .create_outbound(&a, "hello", None, None, Some(&c.id), TimestampMs(6))
        .unwrap();
    let mut claim = rs[0].clone();
    claim.state = RecipientState::InFlight;
    claim.outbox_id = Some(o.id.clone());
    assert_eq!(
        db.swap_recipient(&claim, RecipientState::Queued).unwrap(),
        Swap::Done
    );
    match db.swap_recipient(&claim, RecipientState::Queued).unwrap() {
        Swap::Lost(Some(cur)) => assert_eq!(cur.state, RecipientState::InFlight),
        other => panic!("second claim must lose: {other:?}"),
    }
    assert_eq!(db.campaign_counts(&c.id).unwrap().in_flight, 1);
    // The echo binds the outbox record: the recipient counts as sent.
    db.outbound_sent(&o.id, &Mid::from("m_1")).unwrap();
    let ex = db.campaigns_export().unwrap();
    assert_eq!((ex[0].counts.sent, ex[0].counts.skipped), (1, 1));
    assert_eq!(ex[0].recipients[0].mid.as_deref(), Some("m_1"));
    assert_eq!(db.campaigns_running().unwrap().len(), 1);
    db.set_campaign_status(
        &c.id,
        dmdesk::store::CampaignStatus::Done,
        None,
        TimestampMs(9),
    )
    .unwrap();
    assert!(db.campaigns_running().unwrap().is_empty());
    assert_eq!(
        db.campaign(&c.id).unwrap().unwrap().finished_at,
        Some(TimestampMs(9))
    );
}

pub fn drafts_statuses_and_reads(f: Fixture) {
    let db = &f.db;
    db.apply(&[inbound("U1", "m1", 10), inbound("U1", "m2", 20)])
        .unwrap();
    assert_eq!(db.draft(&conv("U1")).unwrap(), None);
    db.set_draft(&conv("U1"), "half a reply").unwrap();
    assert_eq!(
        db.draft(&conv("U1")).unwrap().as_deref(),
        Some("half a reply")
    );
    db.set_draft(&conv("U1"), "").unwrap();
    assert_eq!(db.draft(&conv("U1")).unwrap(), None, "empty removes");

    db.mark_read(&conv("U1")).unwrap();
    assert_eq!(db.conversation(&conv("U1")).unwrap().unwrap().unread, 0);
    db.mark_unread(&conv("U1")).unwrap();
    assert_eq!(db.conversation(&conv("U1")).unwrap().unwrap().unread, 1);

    db.set_status(&conv("U1"), ConvStatus::Snoozed, Some(TimestampMs(500)))
        .unwrap();
    assert_eq!(db.wake_snoozed(TimestampMs(499)).unwrap(), 0);
    assert_eq!(db.wake_snoozed(TimestampMs(500)).unwrap(), 1);
    let c = db.conversation(&conv("U1")).unwrap().unwrap();
    assert_eq!((c.status, c.snooze_until), (ConvStatus::Open, None));
    // Actions on a conversation that does not exist create nothing.
    db.mark_read(&conv("nobody")).unwrap();
    db.set_status(&conv("nobody"), ConvStatus::Resolved, None)
        .unwrap();
    assert!(db.conversation(&conv("nobody")).unwrap().is_none());
    assert_eq!(db.conversation_count().unwrap(), 1);
}

pub fn unread_counts_cover_every_conversation(f: Fixture) {
    let db = &f.db;
    assert!(db.unread_counts().unwrap().is_empty());
    // More conversations than any list window would show.
    let batch: Vec<Change> = (0..300)
        .map(|i| inbound(&format!("U{i}"), &format!("m{i}"), 1_000 + i))
        .collect();
    db.apply(&batch).unwrap();
    db.apply(&[inbound("U7", "m7b", 5_000)]).unwrap();
    db.mark_read(&conv("U3")).unwrap();
    db.mark_read(&conv("U4")).unwrap();
    db.mark_unread(&conv("U4")).unwrap();
    let counts: std::collections::HashMap<ConvKey, u32> =
        db.unread_counts().unwrap().into_iter().collect();
    assert_eq!(counts.len(), 299, "all but the one marked read");
    assert_eq!(counts.get(&conv("U7")), Some(&2));
    assert_eq!(counts.get(&conv("U4")), Some(&1));
    assert!(!counts.contains_key(&conv("U3")));
    // The list reads newest first, in windows.
    let first = db
        .conversations(&Default::default(), 0, 2)
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect::<Vec<_>>();
    assert_eq!(first, vec![conv("U7"), conv("U299")]);
}

pub fn updates_follow_the_commit(f: Fixture) {
    let db = &f.db;
    let mut sub = db.subscribe();
    db.apply(&[inbound("U1", "m1", 10)]).unwrap();
    let mut kinds = Vec::new();
    let mut seqs = Vec::new();
    while let Some(Ok(p)) = sub.try_recv() {
        seqs.push(p.seq);
        kinds.push(match &*p.update {
            Update::Contact(_) => "contact",
            Update::Message(_) => "message",
            Update::Conversation(_) => "conversation",
            Update::History(_) => "history",
            _ => "other",
        });
    }
    // The live first message opened the conversation (history).
    assert_eq!(kinds, vec!["contact", "message", "history", "conversation"]);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    // A re-apply that changes nothing publishes nothing.
    db.apply(&[inbound("U1", "m1", 10)]).unwrap();
    assert!(sub.try_recv().is_none());
}

pub fn presence_table(f: Fixture) {
    let db = &f.db;
    let v = Viewer {
        agent: "ann".into(),
        session: 7,
        conv: conv("U1"),
        typing_at: None,
    };
    db.presence_put(7, Some(v.clone()));
    assert_eq!(db.presence_get(7), Some(v.clone()));
    assert_eq!(db.presence_list(), vec![v]);
    db.presence_put(7, None);
    assert!(db.presence_list().is_empty());
}

/// An unsent message stays empty however often it is delivered again, and
/// whether the unsend came before or after it (found by tests/fuzz_webhook.rs).
pub fn an_unsent_message_stays_unsent(f: Fixture) {
    let db = &f.db;
    let mut with_picture = Message::inbound(conv("U1"), Mid::from("m1"), TimestampMs(1_000));
    with_picture.attachments = vec![dmdesk::domain::Attachment {
        kind: "image".into(),
        url: Some("https://x.test/a.jpg".into()),
        title: None,
    }];
    with_picture.text = Some("look".into());
    let message = Change::Message {
        msg: with_picture,
        metadata: None,
        qualifying: true,
        from_sync: false,
    };
    let unsend = Change::Delete {
        conv: conv("U1"),
        mid: Mid::from("m1"),
        at: TimestampMs(1_500),
    };
    for batch in [
        vec![unsend.clone(), message.clone()],
        vec![message.clone(), unsend.clone()],
        vec![message.clone()],
    ] {
        db.apply(&batch).expect("apply");
        let m = db.message(&Mid::from("m1")).unwrap().expect("m1");
        assert!(m.deleted, "{batch:?}");
        assert_eq!((m.text, m.attachments.len()), (None, 0), "{batch:?}");
    }
}

/// The list's views are judged by the store (rows, paging and counts
/// agree), and a saved draft shows on its conversation's row.
pub fn views_and_draft_flag(f: Fixture) {
    let db = &f.db;
    for (i, u) in ["U1", "U2", "U3", "U4", "U5"].iter().enumerate() {
        db.apply(&[inbound(u, &format!("m{i}"), 1_000 + i as i64)])
            .expect("apply");
    }
    db.set_status(&conv("U2"), ConvStatus::Resolved, None)
        .unwrap();
    db.set_status(&conv("U3"), ConvStatus::Snoozed, Some(TimestampMs(9_000)))
        .unwrap();
    db.set_status(&conv("U4"), ConvStatus::Pending, None)
        .unwrap();
    db.set_status(&conv("U5"), ConvStatus::Snoozed, Some(TimestampMs(5_000)))
        .unwrap();
    let users = |v: View| {
        let f = ConvFilter {
            view: v,
            ..Default::default()
        };
        let rows: Vec<String> = db
            .conversations(&f, 0, 100)
            .unwrap()
            .into_iter()
            .map(|c| c.key.user.as_str().to_string())
            .collect();
        assert_eq!(db.count_matching(&f).unwrap(), rows.len() as u64, "{v:?}");
        rows
    };
    // At 6 s U5's snooze has run out (it counts as open), U3's has not.
    let at = TimestampMs(6_000);
    assert_eq!(users(View::Open { at }), ["U5", "U4", "U1"]);
    assert_eq!(users(View::Resolved), ["U2"]);
    assert_eq!(users(View::Snoozed { at }), ["U3"]);
    assert_eq!(users(View::All).len(), 5);
    // Paging within a view skips only rows of that view.
    let open = ConvFilter {
        view: View::Open { at },
        ..Default::default()
    };
    let page: Vec<_> = db.conversations(&open, 1, 1).unwrap();
    assert_eq!(page[0].key.user.as_str(), "U4");

    let has_draft = |u: &str| db.conversation(&conv(u)).unwrap().expect(u).has_draft;
    assert!(!has_draft("U1"));
    db.set_draft(&conv("U1"), "half a thought").unwrap();
    assert!(has_draft("U1"));
    assert_eq!(
        db.draft(&conv("U1")).unwrap().as_deref(),
        Some("half a thought")
    );
    // A later message keeps the flag; clearing the draft drops it.
    db.apply(&[inbound("U1", "m9", 9_500)]).unwrap();
    assert!(has_draft("U1"));
    db.set_draft(&conv("U1"), "").unwrap();
    assert!(!has_draft("U1"));
    assert_eq!(db.draft(&conv("U1")).unwrap(), None);
}

// ---- the team's workflow (issue 18) ----------------------------------------

fn agent(name: &str) -> AgentName {
    AgentName::from(name)
}

fn kinds(db: &Db, user: &str) -> Vec<HistoryKind> {
    db.history(&conv(user))
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

pub fn team_changes_are_recorded_once_in_time_order(f: Fixture) {
    let db = &f.db;
    let (alice, bob) = (agent("alice"), agent("bob"));
    db.apply(&[inbound("U1", "m1", 1_000), inbound("U1", "m2", 2_000)])
        .unwrap();
    let c = db.conversation(&conv("U1")).unwrap().unwrap();
    assert_eq!(c.awaiting_since, Some(TimestampMs(1_000)));
    // Two takes of an unassigned conversation: the first wins, the second
    // learns who has it and writes nothing.
    let take =
        |who: &AgentName, at| db.assign(&conv("U1"), None, Some(who), Some(who), TimestampMs(at));
    assert_eq!(take(&alice, 3_000).unwrap(), Swap::Done);
    assert_eq!(take(&bob, 3_001).unwrap(), Swap::Lost(Some(alice.clone())));
    // The winner's take again (a retry) is no change and no error.
    assert_eq!(take(&alice, 3_002).unwrap(), Swap::Done);
    let add = vec!["vip".to_string(), "refund".to_string()];
    db.set_labels(&conv("U1"), &add, &[], Some(&alice), TimestampMs(4_000))
        .unwrap();
    db.set_labels(&conv("U1"), &add, &[], Some(&alice), TimestampMs(4_001))
        .unwrap();
    db.set_priority(
        &conv("U1"),
        Priority::High,
        Some(&alice),
        TimestampMs(5_000),
    )
    .unwrap();
    // alice's reply through the outbox, a reply once Meta has it; a
    // campaign's message is no reply.
    let hello = db
        .create_outbound(
            &conv("U1"),
            "hello",
            None,
            Some("alice"),
            None,
            TimestampMs(6_000),
        )
        .unwrap();
    db.outbound_sent(&hello.id, &Mid::from("m_hello")).unwrap();
    db.create_outbound(
        &conv("U1"),
        "sale",
        None,
        None,
        Some("c1"),
        TimestampMs(6_500),
    )
    .unwrap();
    db.set_status_by(
        &conv("U1"),
        ConvStatus::Resolved,
        None,
        Some(&alice),
        TimestampMs(7_000),
    )
    .unwrap();
    // Sync history records nothing; another conversation's events interleave.
    let mut old = Message::inbound(conv("U2"), Mid::from("s1"), TimestampMs(2_500));
    old.text = Some("old".into());
    db.apply(&[Change::Message {
        msg: old,
        metadata: None,
        qualifying: true,
        from_sync: true,
    }])
    .unwrap();
    db.apply(&[inbound("U3", "m3", 5_500)]).unwrap();

    let c = db.conversation(&conv("U1")).unwrap().unwrap();
    assert_eq!(c.assignee, Some(alice.clone()));
    assert_eq!(c.labels, add);
    assert_eq!(c.priority, Priority::High);
    assert_eq!(c.awaiting_since, None);
    assert_eq!(
        kinds(db, "U1"),
        vec![
            HistoryKind::Opened,
            HistoryKind::Assigned {
                from: None,
                to: Some(alice.clone())
            },
            HistoryKind::Labels {
                added: add.clone(),
                removed: vec![]
            },
            HistoryKind::Priority {
                from: Priority::None,
                to: Priority::High
            },
            HistoryKind::Replied {
                waited_ms: Some(5_000),
                first: true,
                in_window: true
            },
            HistoryKind::Status {
                from: ConvStatus::Open,
                to: ConvStatus::Resolved
            },
        ]
    );
    let h = db.history(&conv("U1")).unwrap();
    assert_eq!(h[4].by, Some(alice.clone()));
    assert_eq!(h[0].by, None);
    assert!(kinds(db, "U2").is_empty(), "sync records no history");

    // The whole store by time, and from a time on.
    let all: Vec<_> = db
        .history_since(TimestampMs(0))
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at), "{all:?}");
    assert_eq!(all[4].conv, conv("U3"));
    let later: Vec<_> = db
        .history_since(TimestampMs(5_000))
        .map(|e| e.unwrap().at.0)
        .collect();
    assert_eq!(later, vec![5_000, 5_500, 6_000, 7_000]);

    // A customer's message on the resolved conversation opens it again.
    db.apply(&[inbound("U1", "m4", 8_000)]).unwrap();
    let tail: Vec<_> = kinds(db, "U1").into_iter().skip(6).collect();
    assert_eq!(
        tail,
        vec![
            HistoryKind::Status {
                from: ConvStatus::Resolved,
                to: ConvStatus::Open
            },
            HistoryKind::Opened
        ]
    );
    // Nothing for a conversation that does not exist.
    assert_eq!(
        db.assign(
            &conv("nobody"),
            None,
            Some(&alice),
            Some(&alice),
            TimestampMs(9)
        )
        .unwrap(),
        Swap::Done
    );
    assert!(db.conversation(&conv("nobody")).unwrap().is_none());
    assert!(kinds(db, "nobody").is_empty());
}

pub fn notes_once_and_mail_until_acknowledged(f: Fixture) {
    let db = &f.db;
    let (alice, bob) = (agent("alice"), agent("bob"));
    db.apply(&[inbound("U1", "m1", 1_000)]).unwrap();
    let mut sub = db.subscribe();
    let n = db
        .add_note(
            &conv("U1"),
            &alice,
            "@bob can you check the refund?",
            vec![bob.clone()],
            TimestampMs(2_000),
        )
        .unwrap();
    // The same note applied again (a retry) is still one note, one mail.
    db.apply(&[Change::Note(Box::new(n.clone()))]).unwrap();
    let second = Note {
        id: format!("{}x", n.id),
        text: "second".into(),
        at: TimestampMs(3_000),
        mentions: vec![],
        ..n.clone()
    };
    db.apply(&[Change::Note(Box::new(second.clone()))]).unwrap();
    assert_eq!(db.notes(&conv("U1")).unwrap(), vec![n.clone(), second]);
    assert_eq!(db.all_notes().count(), 2);
    assert!(db.notes(&conv("U2")).unwrap().is_empty());
    let mut published = Vec::new();
    while let Some(Ok(p)) = sub.try_recv() {
        published.push(p.update);
    }
    let notes = published
        .iter()
        .filter(|u| matches!(&***u, Update::Note(_)))
        .count();
    let mails = published
        .iter()
        .filter(|u| matches!(&***u, Update::Mail(_)))
        .count();
    assert_eq!((notes, mails), (2, 1), "{published:?}");

    // bob was offline: the mention waits in his mailbox.
    let mail = db.mailbox(&bob).unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(
        mail[0].kind,
        MailKind::Mention {
            note_id: n.id.clone(),
            text: n.text.clone()
        }
    );
    assert!(db.mailbox(&alice).unwrap().is_empty());
    // bob takes the conversation alice holds: alice learns of it.
    db.assign(
        &conv("U1"),
        None,
        Some(&alice),
        Some(&alice),
        TimestampMs(4_000),
    )
    .unwrap();
    db.assign(
        &conv("U1"),
        Some(&alice),
        Some(&bob),
        Some(&bob),
        TimestampMs(5_000),
    )
    .unwrap();
    let mail = db.mailbox(&alice).unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(
        mail[0].kind,
        MailKind::TakenOver {
            to: Some(bob.clone())
        }
    );
    assert_eq!(mail[0].by, Some(bob.clone()));
    // Acknowledged: gone; others stay; an unknown id is harmless.
    db.mailbox_ack(&bob, &[format!("note:{}", n.id), "nope".into()])
        .unwrap();
    assert!(db.mailbox(&bob).unwrap().is_empty());
    assert_eq!(db.mailbox(&alice).unwrap().len(), 1);
}

pub fn team_views_in_lists_and_counts(f: Fixture) {
    let db = &f.db;
    let (alice, bob) = (agent("alice"), agent("bob"));
    for (i, u) in ["U1", "U2", "U3", "U4"].iter().enumerate() {
        db.apply(&[inbound(u, &format!("m{i}"), 1_000 + i as i64)])
            .unwrap();
    }
    db.assign(&conv("U1"), None, Some(&alice), None, TimestampMs(10))
        .unwrap();
    db.assign(&conv("U3"), None, Some(&alice), None, TimestampMs(10))
        .unwrap();
    db.assign(&conv("U2"), None, Some(&bob), None, TimestampMs(10))
        .unwrap();
    db.set_labels(&conv("U3"), &["vip".into()], &[], None, TimestampMs(11))
        .unwrap();
    db.set_labels(&conv("U4"), &["vip".into()], &[], None, TimestampMs(11))
        .unwrap();
    let users = |filter: &ConvFilter| -> Vec<String> {
        db.conversations(filter, 0, 10)
            .unwrap()
            .into_iter()
            .map(|c| c.key.user.0)
            .collect()
    };
    let mine = ConvFilter {
        assignee: AssigneeFilter::Mine(alice.clone()),
        ..ConvFilter::default()
    };
    assert_eq!(users(&mine), vec!["U3", "U1"]);
    assert_eq!(db.count_matching(&mine).unwrap(), 2);
    let unassigned = ConvFilter {
        assignee: AssigneeFilter::Unassigned,
        ..ConvFilter::default()
    };
    assert_eq!(users(&unassigned), vec!["U4"]);
    assert_eq!(db.count_matching(&unassigned).unwrap(), 1);
    let vip = ConvFilter {
        label: Some("vip".into()),
        ..ConvFilter::default()
    };
    assert_eq!(users(&vip), vec!["U4", "U3"]);
    let mine_vip = ConvFilter {
        label: Some("vip".into()),
        ..mine.clone()
    };
    assert_eq!(users(&mine_vip), vec!["U3"]);
    assert_eq!(db.count_matching(&mine_vip).unwrap(), 1);
    // With a condition beside the team's (search text), paged.
    let mine_text = ConvFilter {
        text: Some("text of".into()),
        ..mine.clone()
    };
    assert_eq!(db.conversations(&mine_text, 1, 10).unwrap().len(), 1);
    assert_eq!(db.count_matching(&mine_text).unwrap(), 2);
    let paged: Vec<_> = db
        .conversations(&mine, 1, 1)
        .unwrap()
        .into_iter()
        .map(|c| c.key.user.0)
        .collect();
    assert_eq!(paged, vec!["U1"]);
    // Unassigning moves it to the unassigned view.
    db.assign(
        &conv("U1"),
        Some(&alice),
        None,
        Some(&alice),
        TimestampMs(12),
    )
    .unwrap();
    assert_eq!(users(&unassigned), vec!["U4", "U1"]);
    db.set_labels(&conv("U4"), &[], &["vip".into()], None, TimestampMs(13))
        .unwrap();
    assert_eq!(users(&vip), vec!["U3"]);
}

/// A fetched profile's username becomes the row's handle (issue 12: two
/// customers of one name are told apart by it in the list).
pub fn a_profile_username_is_the_rows_handle(f: Fixture) {
    let db = &f.db;
    db.apply(&[inbound("U1", "m1", 1_000)]).unwrap();
    assert_eq!(db.conversation(&conv("U1")).unwrap().unwrap().handle, None);
    let mut p = dmdesk::domain::Contact::new(conv("U1"), "profile");
    p.name = Some("Sam Park".into());
    p.username = Some("sam.parks".into());
    db.apply(&[Change::Profile {
        conv: conv("U1"),
        profile: Some(Box::new(p)),
        at: TimestampMs(2_000),
    }])
    .unwrap();
    let c = db.conversation(&conv("U1")).unwrap().unwrap();
    assert_eq!(
        (c.name.as_str(), c.handle.as_deref()),
        ("Sam Park", Some("sam.parks"))
    );
}

/// The list by priority (most urgent first, then latest activity), paged,
/// alone and beside a team view, as the store orders it.
pub fn priority_order_by_the_store(f: Fixture) {
    let db = &f.db;
    for (i, u) in ["U1", "U2", "U3", "U4", "U5"].iter().enumerate() {
        db.apply(&[inbound(u, &format!("m{i}"), 1_000 * (i as i64 + 1))])
            .unwrap();
    }
    for (u, p) in [
        ("U1", Priority::Urgent),
        ("U3", Priority::High),
        ("U4", Priority::Urgent),
        ("U5", Priority::Low),
    ] {
        db.set_priority(&conv(u), p, None, TimestampMs(9_000))
            .unwrap();
    }
    let alice = agent("alice");
    for u in ["U1", "U2", "U3"] {
        db.assign(&conv(u), None, Some(&alice), None, TimestampMs(9_100))
            .unwrap();
    }
    let users = |filter: &ConvFilter, offset, limit| -> Vec<String> {
        db.conversations(filter, offset, limit)
            .unwrap()
            .into_iter()
            .map(|c| c.key.user.0)
            .collect()
    };
    let by_priority = ConvFilter {
        order: ListOrder::Priority,
        ..ConvFilter::default()
    };
    assert_eq!(
        users(&ConvFilter::default(), 0, 10),
        vec!["U5", "U4", "U3", "U2", "U1"],
        "by activity"
    );
    assert_eq!(
        users(&by_priority, 0, 10),
        vec!["U4", "U1", "U3", "U5", "U2"]
    );
    assert_eq!(users(&by_priority, 1, 2), vec!["U1", "U3"], "a window");
    assert_eq!(users(&by_priority, 4, 10), vec!["U2"]);
    assert!(users(&by_priority, 5, 10).is_empty());
    let mine = ConvFilter {
        assignee: AssigneeFilter::Mine(alice.clone()),
        order: ListOrder::Priority,
        ..ConvFilter::default()
    };
    assert_eq!(users(&mine, 0, 10), vec!["U1", "U3", "U2"]);
    // Beside a condition the backend checks row by row (search text).
    let text = ConvFilter {
        text: Some("text of".into()),
        ..mine.clone()
    };
    assert_eq!(users(&text, 1, 10), vec!["U3", "U2"]);
    assert_eq!(
        db.count_matching(&mine).unwrap(),
        3,
        "the order counts nothing"
    );
    // A priority change moves the row.
    db.set_priority(&conv("U2"), Priority::Urgent, None, TimestampMs(9_200))
        .unwrap();
    assert_eq!(users(&by_priority, 0, 3), vec!["U4", "U2", "U1"]);
}

/// Mine, unassigned and all under one filter, counted in one call.
pub fn view_counts_in_one_call(f: Fixture) {
    let db = &f.db;
    for (i, u) in ["U1", "U2", "U3", "U4", "U5"].iter().enumerate() {
        db.apply(&[inbound(u, &format!("m{i}"), 1_000 * (i as i64 + 1))])
            .unwrap();
    }
    let (alice, bob) = (agent("alice"), agent("bob"));
    for (u, a) in [("U1", &alice), ("U2", &bob), ("U3", &alice)] {
        db.assign(&conv(u), None, Some(a), None, TimestampMs(9_000))
            .unwrap();
    }
    db.set_status_by(
        &conv("U3"),
        ConvStatus::Resolved,
        None,
        None,
        TimestampMs(9_100),
    )
    .unwrap();
    db.set_labels(&conv("U4"), &["vip".into()], &[], None, TimestampMs(9_100))
        .unwrap();
    let counts = |me: Option<&AgentName>, filter: &ConvFilter| {
        let n = db.view_counts(me, filter).unwrap();
        (n.mine, n.unassigned, n.all)
    };
    let all = ConvFilter::default();
    assert_eq!(counts(Some(&alice), &all), (2, 2, 5));
    assert_eq!(counts(Some(&bob), &all), (1, 2, 5));
    assert_eq!(counts(None, &all), (0, 2, 5), "nobody's is mine");
    let open = ConvFilter {
        view: View::Open {
            at: TimestampMs(10_000),
        },
        ..ConvFilter::default()
    };
    assert_eq!(counts(Some(&alice), &open), (1, 2, 4), "U3 is resolved");
    // The filter's own assignee is set aside; its label is not.
    let vip_mine = ConvFilter {
        label: Some("vip".into()),
        assignee: AssigneeFilter::Mine(bob.clone()),
        ..ConvFilter::default()
    };
    assert_eq!(counts(Some(&alice), &vip_mine), (0, 1, 1));
    // Each agrees with the views' own counts.
    for (me, f) in [(&alice, &all), (&alice, &open), (&bob, &open)] {
        let n = db.view_counts(Some(me), f).unwrap();
        let with = |a: AssigneeFilter| {
            db.count_matching(&ConvFilter {
                assignee: a,
                ..f.clone()
            })
            .unwrap()
        };
        assert_eq!(n.mine, with(AssigneeFilter::Mine(me.clone())));
        assert_eq!(n.unassigned, with(AssigneeFilter::Unassigned));
        assert_eq!(n.all, with(AssigneeFilter::Any));
    }
}

/// What a report reads: every opening and status change from the context
/// on, replies only from its days on, nothing else; and the count of
/// conversations before the history.
pub fn report_reads_what_it_counts(f: Fixture) {
    let db = &f.db;
    let alice = agent("alice");
    for (i, u) in ["U1", "U2", "U3"].iter().enumerate() {
        let t = 1_000 * (i as i64 + 1);
        db.apply(&[inbound(u, &format!("m{i}"), t)]).unwrap();
        db.assign(&conv(u), None, Some(&alice), None, TimestampMs(t + 10))
            .unwrap();
        db.set_labels(&conv(u), &["x".into()], &[], None, TimestampMs(t + 20))
            .unwrap();
        db.set_priority(&conv(u), Priority::High, None, TimestampMs(t + 30))
            .unwrap();
        let rec = db
            .create_outbound(
                &conv(u),
                "an answer",
                None,
                Some("alice"),
                None,
                TimestampMs(t + 40),
            )
            .unwrap();
        db.outbound_sent(&rec.id, &Mid::from(format!("r{i}").as_str()))
            .unwrap();
        db.set_status_by(
            &conv(u),
            ConvStatus::Resolved,
            None,
            Some(&alice),
            TimestampMs(t + 50),
        )
        .unwrap();
    }
    let all: Vec<_> = db
        .history_since(TimestampMs(i64::MIN))
        .map(|e| e.unwrap())
        .collect();
    let has = |k: fn(&HistoryKind) -> bool| all.iter().any(|e| k(&e.kind));
    assert!(has(|k| matches!(k, HistoryKind::Replied { .. })), "{all:?}");
    assert!(has(|k| matches!(k, HistoryKind::Labels { .. })));
    for (context, from) in [
        (0, 0),
        (0, 2_000),
        (1_500, 2_500),
        (0, 10_000),
        (5_000, 6_000),
    ] {
        let got: Vec<_> = db
            .report_history(TimestampMs(context), TimestampMs(from))
            .map(|e| e.unwrap())
            .collect();
        let want: Vec<_> = all
            .iter()
            .filter(|e| e.at.0 >= context)
            .filter(|e| match e.kind {
                HistoryKind::Opened | HistoryKind::Status { .. } => true,
                HistoryKind::Replied { .. } => e.at.0 >= from,
                _ => false,
            })
            .cloned()
            .collect();
        assert_eq!(got, want, "context {context}, from {from}");
    }
    for t in [0, 1_000, 1_001, 2_500, 100_000] {
        // Activity moves with each write: count what the rows say.
        let want = db
            .all_conversations()
            .filter(|c| c.as_ref().unwrap().last_activity.0 < t)
            .count() as u64;
        assert_eq!(
            db.conversations_active_before(TimestampMs(t)).unwrap(),
            want,
            "before {t}"
        );
    }
    assert_eq!(
        db.conversations_active_before(TimestampMs(i64::MAX))
            .unwrap(),
        3
    );
}

macro_rules! contract {
    ($backend:ident, $open:expr) => {
        mod $backend {
            use super::*;
            #[test]
            fn a_profile_username_is_the_rows_handle() {
                if let Some(f) = $open(concat!(
                    stringify!($backend),
                    "::a_profile_username_is_the_rows_handle"
                )) {
                    super::a_profile_username_is_the_rows_handle(f);
                }
            }
            #[test]
            fn apply_is_idempotent() {
                if let Some(f) = $open(concat!(stringify!($backend), "::apply_is_idempotent")) {
                    super::apply_is_idempotent(f);
                }
            }
            #[test]
            fn early_receipts_wait_for_their_message() {
                if let Some(f) = $open(concat!(
                    stringify!($backend),
                    "::early_receipts_wait_for_their_message"
                )) {
                    super::early_receipts_wait_for_their_message(f);
                }
            }
            #[test]
            fn watermark_in_the_same_apply_as_its_messages() {
                if let Some(f) = $open(concat!(
                    stringify!($backend),
                    "::watermark_in_the_same_apply_as_its_messages"
                )) {
                    super::watermark_in_the_same_apply_as_its_messages(f);
                }
            }
            #[test]
            fn outbound_lifecycle() {
                if let Some(f) = $open(concat!(stringify!($backend), "::outbound_lifecycle")) {
                    super::outbound_lifecycle(f);
                }
            }
            #[test]
            fn echo_before_the_api_answer() {
                if let Some(f) = $open(concat!(
                    stringify!($backend),
                    "::echo_before_the_api_answer"
                )) {
                    super::echo_before_the_api_answer(f);
                }
            }
            #[test]
            fn campaign_state_and_claims() {
                if let Some(f) = $open(concat!(stringify!($backend), "::campaign_state_and_claims"))
                {
                    super::campaign_state_and_claims(f);
                }
            }
            #[test]
            fn drafts_statuses_and_reads() {
                if let Some(f) = $open(concat!(stringify!($backend), "::drafts_statuses_and_reads"))
                {
                    super::drafts_statuses_and_reads(f);
                }
            }
            #[test]
            fn unread_counts_cover_every_conversation() {
                if let Some(f) = $open(concat!(
                    stringify!($backend),
                    "::unread_counts_cover_every_conversation"
                )) {
                    super::unread_counts_cover_every_conversation(f);
                }
            }
            #[test]
            fn updates_follow_the_commit() {
                if let Some(f) = $open(concat!(stringify!($backend), "::updates_follow_the_commit"))
                {
                    super::updates_follow_the_commit(f);
                }
            }
            #[test]
            fn presence_table() {
                if let Some(f) = $open(concat!(stringify!($backend), "::presence_table")) {
                    super::presence_table(f);
                }
            }
            #[test]
            fn an_unsent_message_stays_unsent() {
                if let Some(f) = $open(concat!(
                    stringify!($backend),
                    "::an_unsent_message_stays_unsent"
                )) {
                    super::an_unsent_message_stays_unsent(f);
                }
            }
            #[test]
            fn team_changes_are_recorded_once_in_time_order() {
                if let Some(f) = $open(concat!(stringify!($backend), "::team_changes_recorded")) {
                    super::team_changes_are_recorded_once_in_time_order(f);
                }
            }
            #[test]
            fn notes_once_and_mail_until_acknowledged() {
                if let Some(f) = $open(concat!(stringify!($backend), "::notes_and_mail")) {
                    super::notes_once_and_mail_until_acknowledged(f);
                }
            }
            #[test]
            fn team_views_in_lists_and_counts() {
                if let Some(f) = $open(concat!(stringify!($backend), "::team_views")) {
                    super::team_views_in_lists_and_counts(f);
                }
            }
            #[test]
            fn priority_order_by_the_store() {
                if let Some(f) = $open(concat!(stringify!($backend), "::priority_order")) {
                    super::priority_order_by_the_store(f);
                }
            }
            #[test]
            fn view_counts_in_one_call() {
                if let Some(f) = $open(concat!(stringify!($backend), "::view_counts")) {
                    super::view_counts_in_one_call(f);
                }
            }
            #[test]
            fn report_reads_what_it_counts() {
                if let Some(f) = $open(concat!(stringify!($backend), "::report_reads")) {
                    super::report_reads_what_it_counts(f);
                }
            }
            #[test]
            fn views_and_draft_flag() {
                if let Some(f) = $open(concat!(stringify!($backend), "::views_and_draft_flag")) {
                    super::views_and_draft_flag(f);
                }
            }
        }
    };
}

contract!(sled, open_sled);
contract!(postgres, open_postgres);

// ---- the embedded backend's atomicity, through its failpoint -------------

/// A failure between an apply's writes leaves none of them: the re-apply
/// then counts the conversation right (with separate writes, the message
/// would have been kept and its counts lost for good).
#[test]
fn sled_apply_failing_between_writes_leaves_nothing_and_reapply_counts_right() {
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(dir.path(), 16, "test").unwrap();
    let db = Db::new(sled.clone() as Arc<dyn dmdesk::store::Store>, Bus::new());
    db.apply(&[inbound("U1", "m0", 5)]).unwrap();
    let mut sub = db.subscribe();
    let batch = [inbound("U1", "m1", 10), inbound("U2", "m2", 20)];
    for after in [1, 3, 6] {
        sled.fail_next_commit_after(after);
        let err = db.apply(&batch).expect_err("injected failure");
        assert!(err.to_string().contains("injected"), "{err}");
        assert!(
            db.message(&Mid::from("m1")).unwrap().is_none(),
            "after {after}"
        );
        assert!(db.conversation(&conv("U2")).unwrap().is_none());
        let c = db.conversation(&conv("U1")).unwrap().unwrap();
        assert_eq!((c.message_count, c.unread), (1, 1));
        assert_eq!(db.conversation_count().unwrap(), 1);
        assert!(
            sub.try_recv().is_none(),
            "nothing published for a failed apply"
        );
    }
    let out = db.apply(&batch).expect("re-apply");
    assert_eq!(out.new_messages, 2);
    let c1 = db.conversation(&conv("U1")).unwrap().unwrap();
    assert_eq!((c1.message_count, c1.unread), (2, 2));
    let c2 = db.conversation(&conv("U2")).unwrap().unwrap();
    assert_eq!((c2.message_count, c2.unread), (1, 1));
    assert_eq!(db.conversation_count().unwrap(), 2);
    let listed = db.conversations(&Default::default(), 0, 10).unwrap();
    assert_eq!(listed.len(), 2, "the activity index agrees with the rows");
}

// ---- PostgreSQL: several processes on one database -------------------------
// Each `PgStore` has its own pool and runtime, as each `dmdesk serve`
// process would; they meet only in the database.

/// Two stores opened on one fresh database (None: skipped, said why).
type Keep = Box<dyn std::any::Any>;

/// The guard comes first: bound first, it is dropped last.
fn two_stores(test: &str) -> Option<(Keep, Arc<PgStore>, Arc<PgStore>)> {
    let temp = pg::TempDb::create(test)?;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = PgStore::open(&temp.url, da.path(), "serve").expect("open a");
    let b = PgStore::open(&temp.url, db.path(), "serve").expect("open b");
    Some((Box::new((da, db, temp)), a, b))
}

#[test]
fn postgres_two_processes_applying_the_same_mids_make_one_message_each() {
    let Some((_keep, a, b)) = two_stores("postgres_two_processes_applying_the_same_mids") else {
        return;
    };
    let n = 40;
    let barrier = std::sync::Barrier::new(4);
    let new_messages = std::sync::atomic::AtomicU64::new(0);
    let new_contacts = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..4 {
            let store: &PgStore = if t % 2 == 0 { &a } else { &b };
            let (barrier, new_messages, new_contacts) = (&barrier, &new_messages, &new_contacts);
            s.spawn(move || {
                barrier.wait();
                for i in 0..n {
                    // Half the writers name the two conversations in the other order.
                    let (x, y) = (
                        inbound("U1", &format!("a{i}"), 1_000 + i),
                        inbound("U2", &format!("b{i}"), 1_000 + i),
                    );
                    let batch = if t < 2 { [x, y] } else { [y, x] };
                    let out = store.apply(&batch).expect("apply");
                    new_messages.fetch_add(out.new_messages, std::sync::atomic::Ordering::Relaxed);
                    new_contacts.fetch_add(
                        out.new_contacts.len() as u64,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
            });
        }
    });
    let n = n as u64;
    assert_eq!(
        new_messages.into_inner(),
        2 * n,
        "each mid is new exactly once"
    );
    assert_eq!(new_contacts.into_inner(), 2, "each contact is created once");
    for (user, first) in [("U1", "a0"), ("U2", "b0")] {
        let c = a.conversation(&conv(user)).unwrap().expect("conversation");
        assert_eq!((c.message_count, c.unread as u64), (n, n), "{user}");
        assert_eq!(
            b.messages_latest(&conv(user), 1000).unwrap().len() as u64,
            n
        );
        assert!(b.message(&Mid::from(first)).unwrap().is_some());
    }
    assert_eq!(b.conversation_count().unwrap(), 2);
}

#[test]
fn postgres_two_processes_claim_each_recipient_once() {
    let Some((_keep, a, b)) = two_stores("postgres_two_processes_claim_each_recipient_once") else {
        return;
    };
    let recipients: Vec<NewRecipient> = (0..30)
        .map(|i| NewRecipient {
            conv: conv(&format!("U{i}")),
            skip: None,
        })
        .collect();
    let c = a
        .create_campaign("t", "hi", None, None, &recipients, TimestampMs(1))
        .unwrap();
    let barrier = std::sync::Barrier::new(4);
    let wins: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let store: &PgStore = if t % 2 == 0 { &a } else { &b };
                let (barrier, id) = (&barrier, &c.id);
                s.spawn(move || {
                    barrier.wait();
                    let mut won = Vec::new();
                    for r in store.campaign_recipients(id).unwrap() {
                        let mut claim = r.clone();
                        claim.state = RecipientState::InFlight;
                        claim.attempts = t;
                        match store
                            .swap_recipient(&claim, RecipientState::Queued)
                            .unwrap()
                        {
                            Swap::Done => won.push(r.index),
                            Swap::Lost(cur) => {
                                assert_eq!(cur.map(|c| c.state), Some(RecipientState::InFlight))
                            }
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u32> = wins.concat();
    all.sort();
    assert_eq!(
        all,
        (0..30).collect::<Vec<u32>>(),
        "every recipient claimed exactly once"
    );
    assert_eq!(b.campaign_counts(&c.id).unwrap().in_flight, 30);
}

#[test]
fn postgres_event_seqs_from_two_processes_are_distinct_and_in_order() {
    let Some((_keep, a, b)) = two_stores("postgres_event_seqs_from_two_processes") else {
        return;
    };
    let seqs: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let store: &PgStore = if t % 2 == 0 { &a } else { &b };
                s.spawn(move || {
                    (0..25)
                        .map(|i| {
                            let body = format!("{{\"t\":{t},\"i\":{i}}}");
                            store
                                .append_event_nowait(body.as_bytes(), TimestampMs(i))
                                .unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=100).collect::<Vec<u64>>());
    let logged = b.events_after(0, 1000).unwrap();
    assert_eq!(logged.iter().map(|e| e.seq).collect::<Vec<_>>(), sorted);
    b.set_applied_seq(60).unwrap();
    b.quarantine_event(70, "bad").unwrap();
    let e = a.get_event(70).unwrap().unwrap();
    assert_eq!(e.state.reason(), Some("bad"));
    assert_eq!(a.get_event(60).unwrap().unwrap().state.name(), "applied");
    assert_eq!(a.get_event(61).unwrap().unwrap().state.name(), "pending");
    assert_eq!(a.all_events().count(), 100);
}

#[test]
fn postgres_describe_reports_server_and_schema_after_two_opens() {
    let Some((_keep, a, _b)) = two_stores("postgres_describe_reports_server_and_schema") else {
        return;
    };
    let d = a.describe().expect("describe");
    assert!(
        d.server_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit()),
        "{d:?}"
    );
    assert!(d.database.starts_with("dmdesk_test_"), "{d:?}");
    assert_eq!(d.schema_version, d.schema_latest, "{d:?}");
    assert!(d.schema_version >= 1);
}

/// The sync calls run on the store's own threads: calling them (and
/// dropping the store) from inside a tokio runtime must not panic.
#[tokio::test(flavor = "current_thread")]
async fn postgres_calls_work_inside_a_runtime() {
    let Some(f) = open_postgres("postgres_calls_work_inside_a_runtime") else {
        return;
    };
    let seq =
        f.db.append_event(b"{}", TimestampMs(5))
            .await
            .expect("append");
    assert_eq!(seq, 1);
    f.db.apply(&[inbound("U1", "m1", 10)]).expect("apply");
    assert_eq!(f.db.all_messages().count(), 1);
    assert_eq!(f.db.all_conversations().count(), 1);
    assert_eq!(f.db.all_contacts().count(), 1);
    drop(f);
}

#[test]
fn postgres_open_errors_never_show_the_password() {
    // Port 1 on loopback: nothing listens, the connection is refused.
    let url =
        dmdesk::store::postgres::PgUrl::parse("postgres://ann:hunter2@127.0.0.1:1/x").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = match PgStore::open(&url, dir.path(), "test") {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => e.to_string(),
    };
    assert!(!err.contains("hunter2"), "{err}");
    assert!(
        err.contains("postgres://ann:***@127.0.0.1:1/x"),
        "names the database: {err}"
    );
}
