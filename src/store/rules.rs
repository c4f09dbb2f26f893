//! The apply rules every backend shares, as pure functions over a message
//! and its conversation's summary: a rule is written (and fixed) once, and
//! the backends only read and write what these decide.

use crate::domain::{
    Contact, ConvStatus, Conversation, Direction, Message, MsgKind, MsgStatus, Origin,
    ProfileState, Reaction, TimestampMs,
};
use crate::team::{AgentName, HistoryEvent, HistoryKind, MailItem, MailKind, Note, Priority};
use serde::{Deserialize, Serialize};

/// A fetched profile onto the contact the store has (a field the profile
/// lacks keeps what was known); `None`: the fetch failed, counted.
pub(crate) fn take_profile(c: &mut Contact, profile: Option<&Contact>, at: TimestampMs) {
    match profile {
        Some(p) => {
            let p = p.clone();
            c.name = p.name.or(c.name.take());
            c.first_name = p.first_name.or(c.first_name.take());
            c.last_name = p.last_name.or(c.last_name.take());
            c.username = p.username.or(c.username.take());
            c.profile_pic = p.profile_pic.or(c.profile_pic.take());
            c.profile_state = ProfileState::Fetched;
            c.source = "profile".into();
        }
        None => {
            c.profile_state = ProfileState::Failed;
            c.fetch_attempts += 1;
        }
    }
    c.fetched_at = Some(at);
}

/// A name and username a sync saw fill only what the contact lacks;
/// whether anything changed.
pub(crate) fn fill_seen(c: &mut Contact, name: &Option<String>, username: &Option<String>) -> bool {
    let mut changed = false;
    for (have, seen) in [(&mut c.name, name), (&mut c.username, username)] {
        if have.is_none() && seen.is_some() {
            *have = seen.clone();
            changed = true;
        }
    }
    changed
}

/// A receipt, reaction, edit or unsend kept until its message lands. Both
/// backends store it as JSON: the shape is part of their stored data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) enum Deferred {
    Status(MsgStatus),
    React { emoji: Option<String>, by: String },
    Edit(String),
    Delete,
}

pub(crate) fn apply_deferred(m: &mut Message, d: Deferred) {
    match d {
        Deferred::Status(s) => {
            if m.direction == Direction::Out && m.status >= MsgStatus::Sent && s > m.status {
                m.status = s;
            }
        }
        Deferred::React { emoji, by } => {
            m.reactions.retain(|r| r.by != by);
            if let Some(emoji) = emoji {
                m.reactions.push(Reaction { emoji, by });
            }
        }
        Deferred::Edit(text) => {
            if !m.deleted && m.text.as_deref() != Some(text.as_str()) {
                m.text = Some(text);
                m.edited = true;
            }
        }
        Deferred::Delete => {
            // The customer unsent it: drop the content, keep the fact.
            m.deleted = true;
            m.text = None;
            m.attachments.clear();
        }
    }
}

/// A message delivered again (a duplicate webhook, a replay, sync overlap)
/// merged into the stored one, never duplicated: whether it changed.
pub(crate) fn merge_redelivery(existing: &mut Message, msg: &Message) -> bool {
    let mut changed = false;
    if existing.text.is_none() && msg.text.is_some() && !existing.deleted {
        existing.text = msg.text.clone();
        changed = true;
    }
    // An unsent message stays empty: a redelivery must not bring back
    // what the customer took away.
    if existing.attachments.is_empty() && !msg.attachments.is_empty() && !existing.deleted {
        existing.attachments = msg.attachments.clone();
        changed = true;
    }
    if existing.origin.is_none() && msg.origin.is_some() {
        existing.origin = msg.origin;
        changed = true;
    }
    if existing.direction == Direction::Out && existing.status < msg.status {
        existing.status = msg.status;
        changed = true;
    }
    changed
}

/// An outbound message arriving after a watermark that covers it starts
/// out delivered or read.
pub(crate) fn status_from_watermarks(m: &mut Message, conv: &Conversation) {
    if m.direction == Direction::Out && m.status >= MsgStatus::Sent {
        if conv.read_watermark.is_some_and(|w| m.timestamp <= w) {
            m.status = MsgStatus::Read;
        } else if conv.delivered_watermark.is_some_and(|w| m.timestamp <= w) {
            m.status = MsgStatus::Delivered;
        }
    }
}

/// Show `m` as the row's last message if it is last in thread order (time,
/// then mid): applied in any order, messages sharing a millisecond leave
/// the same preview.
pub(crate) fn take_preview(conv: &mut Conversation, m: &Message) {
    let last = (conv.last_activity, conv.last_mid.as_ref());
    if (m.timestamp, Some(&m.mid)) >= last {
        conv.last_activity = m.timestamp;
        conv.last_preview = m.preview();
        conv.last_direction = Some(m.direction);
        conv.last_mid = Some(m.mid.clone());
    }
}

/// Whether `m` is the message the row previews (an edit or unsend of it
/// changes the preview). Rows written before `last_mid` go by time.
pub(crate) fn is_previewed(conv: &Conversation, m: &Message) -> bool {
    match &conv.last_mid {
        Some(last) => *last == m.mid,
        None => conv.last_activity == m.timestamp,
    }
}

/// A new message in the conversation's summary: count, preview, window
/// times, unread, and a customer's message reopening the thread. A live
/// customer message opens a new (or resolved) conversation and starts the
/// wait for an answer; the page inbox's live echo is a reply. Returns the
/// history it records (sync records none).
pub(crate) fn count_new_message(
    conv: &mut Conversation,
    m: &Message,
    qualifying: bool,
    from_sync: bool,
) -> Vec<HistoryEvent> {
    let mut history = Vec::new();
    let was_new = conv.message_count == 0;
    conv.message_count += 1;
    take_preview(conv, m);
    if m.direction == Direction::In {
        if qualifying && conv.last_inbound.is_none_or(|t| t < m.timestamp) {
            conv.last_inbound = Some(m.timestamp);
        }
        if m.kind == MsgKind::Message && conv.last_user_message.is_none_or(|t| t < m.timestamp) {
            conv.last_user_message = Some(m.timestamp);
        }
        if !from_sync {
            conv.unread += 1;
            let before = conv.status;
            // A customer's new message reopens a snoozed or resolved thread.
            if matches!(before, ConvStatus::Snoozed | ConvStatus::Resolved) {
                conv.status = ConvStatus::Open;
                conv.snooze_until = None;
                history.push(event(
                    conv,
                    m.timestamp,
                    None,
                    HistoryKind::Status {
                        from: before,
                        to: ConvStatus::Open,
                    },
                ));
            }
            if was_new || before == ConvStatus::Resolved {
                conv.first_reply_due = true;
                history.push(event(conv, m.timestamp, None, HistoryKind::Opened));
            }
            if conv.awaiting_since.is_none() {
                conv.awaiting_since = Some(m.timestamp);
            }
        }
    } else if !from_sync && m.origin == Some(Origin::PageInbox) {
        // A person answering in Meta's page inbox (who, dmdesk cannot tell).
        history.push(replied(conv, None, m.timestamp));
    }
    history
}

fn event(
    conv: &Conversation,
    at: TimestampMs,
    by: Option<AgentName>,
    kind: HistoryKind,
) -> HistoryEvent {
    HistoryEvent {
        conv: conv.key.clone(),
        at,
        by,
        kind,
    }
}

/// A reply dmdesk sent reached Meta (its API answer or its echo, whichever
/// came first): it answers the customer, timed from when the agent wrote
/// it. A send that failed answered nobody; a campaign's message answers
/// nobody either.
pub(crate) fn reply_reached_meta(
    conv: &mut Conversation,
    rec: &super::OutboxRecord,
) -> Option<HistoryEvent> {
    rec.campaign
        .is_none()
        .then(|| replied(conv, rec.agent.as_deref().map(AgentName::from), rec.created))
}

/// An agent's reply (sent by dmdesk, or echoed from the page inbox):
/// how long the customer waited, whether it is the first since the
/// conversation opened and inside the 24-hour window; nothing waits after it.
pub(crate) fn replied(
    conv: &mut Conversation,
    by: Option<AgentName>,
    at: TimestampMs,
) -> HistoryEvent {
    let kind = HistoryKind::Replied {
        waited_ms: conv.awaiting_since.map(|t| (at.0 - t.0).max(0)),
        first: std::mem::take(&mut conv.first_reply_due),
        in_window: conv
            .last_inbound
            .is_some_and(|t| at.0 - t.0 < TimestampMs::DAY),
    };
    conv.awaiting_since = None;
    event(conv, at, by, kind)
}

/// Set the status (a snooze keeps its wake time); resolving ends the wait.
pub(crate) fn set_status(
    conv: &mut Conversation,
    status: ConvStatus,
    snooze_until: Option<TimestampMs>,
    by: Option<AgentName>,
    at: TimestampMs,
) -> Option<HistoryEvent> {
    let from = conv.status;
    conv.status = status;
    conv.snooze_until = (status == ConvStatus::Snoozed)
        .then_some(snooze_until)
        .flatten();
    if status == ConvStatus::Resolved {
        conv.awaiting_since = None;
        conv.first_reply_due = false;
    }
    (from != status).then(|| event(conv, at, by, HistoryKind::Status { from, to: status }))
}

/// What a team change records in the same apply: its history and the mail
/// it sends.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Recorded {
    pub history: Vec<HistoryEvent>,
    pub mail: Vec<MailItem>,
}

/// Assign by compare-and-set: Err(current assignee) when it is no longer
/// `expect`. Asking for what is already so changes nothing (a re-apply).
pub(crate) fn assign(
    conv: &mut Conversation,
    expect: &Option<AgentName>,
    to: &Option<AgentName>,
    by: &Option<AgentName>,
    at: TimestampMs,
) -> Result<Recorded, Option<AgentName>> {
    if conv.assignee == *to {
        return Ok(Recorded::default());
    }
    if conv.assignee != *expect {
        return Err(conv.assignee.clone());
    }
    let from = std::mem::replace(&mut conv.assignee, to.clone());
    let mut rec = Recorded::default();
    let mail = |agent: &AgentName, kind: MailKind| MailItem {
        id: format!(
            "{}:{}:{}",
            match kind {
                MailKind::Assigned => "assigned",
                _ => "taken",
            },
            at.0,
            conv.key
        ),
        agent: agent.clone(),
        conv: conv.key.clone(),
        at,
        by: by.clone(),
        kind,
    };
    if let Some(prev) = from.as_ref().filter(|p| Some(*p) != by.as_ref()) {
        rec.mail
            .push(mail(prev, MailKind::TakenOver { to: to.clone() }));
    }
    if let Some(new) = to.as_ref().filter(|n| Some(*n) != by.as_ref()) {
        rec.mail.push(mail(new, MailKind::Assigned));
    }
    rec.history.push(event(
        conv,
        at,
        by.clone(),
        HistoryKind::Assigned {
            from,
            to: to.clone(),
        },
    ));
    Ok(rec)
}

/// Add, then remove; only what really changed is recorded.
pub(crate) fn labels(
    conv: &mut Conversation,
    add: &[String],
    remove: &[String],
    by: &Option<AgentName>,
    at: TimestampMs,
) -> Option<HistoryEvent> {
    let before = conv.labels.clone();
    for l in add {
        if !conv.labels.contains(l) {
            conv.labels.push(l.clone());
        }
    }
    conv.labels.retain(|l| !remove.contains(l));
    let added: Vec<String> = conv
        .labels
        .iter()
        .filter(|l| !before.contains(l))
        .cloned()
        .collect();
    let removed: Vec<String> = before
        .iter()
        .filter(|l| !conv.labels.contains(l))
        .cloned()
        .collect();
    (!added.is_empty() || !removed.is_empty())
        .then(|| event(conv, at, by.clone(), HistoryKind::Labels { added, removed }))
}

pub(crate) fn priority(
    conv: &mut Conversation,
    to: Priority,
    by: &Option<AgentName>,
    at: TimestampMs,
) -> Option<HistoryEvent> {
    let from = std::mem::replace(&mut conv.priority, to);
    (from != to).then(|| event(conv, at, by.clone(), HistoryKind::Priority { from, to }))
}

/// The mail a note sends: each mentioned agent but its author.
pub(crate) fn note_mail(n: &Note) -> Vec<MailItem> {
    n.mentions
        .iter()
        .filter(|a| **a != n.author)
        .map(|a| MailItem {
            id: format!("note:{}", n.id),
            agent: a.clone(),
            conv: n.conv.clone(),
            at: n.at,
            by: Some(n.author.clone()),
            kind: MailKind::Mention {
                note_id: n.id.clone(),
                text: n.text.clone(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConvKey, Mid, Platform};

    fn fresh() -> Conversation {
        Conversation::new(ConvKey::new(Platform::Messenger, "P", "U"), "U".into())
    }

    #[test]
    fn a_profile_keeps_what_it_lacks_and_a_failed_fetch_is_counted() {
        let conv = ConvKey::new(Platform::Messenger, "P", "U");
        let mut c = Contact::new(conv.clone(), "sync");
        c.name = Some("Ann".into());
        c.username = Some("ann_k".into());
        let mut p = Contact::new(conv, "graph");
        p.first_name = Some("Ann".into());
        p.name = Some("Ann Kim".into());
        take_profile(&mut c, Some(&p), TimestampMs(5));
        assert_eq!(c.name.as_deref(), Some("Ann Kim"));
        assert_eq!(c.first_name.as_deref(), Some("Ann"));
        assert_eq!(
            c.username.as_deref(),
            Some("ann_k"),
            "kept: the profile has none"
        );
        assert_eq!(
            (c.profile_state, c.fetched_at),
            (ProfileState::Fetched, Some(TimestampMs(5)))
        );
        take_profile(&mut c, None, TimestampMs(9));
        assert_eq!(
            (c.profile_state, c.fetch_attempts),
            (ProfileState::Failed, 1)
        );
        assert_eq!(
            c.name.as_deref(),
            Some("Ann Kim"),
            "a failed fetch forgets nothing"
        );
    }

    #[test]
    fn a_name_seen_in_a_sync_fills_only_what_is_missing() {
        let mut c = Contact::new(ConvKey::new(Platform::Instagram, "IG", "U"), "sync");
        c.name = Some("Known".into());
        let seen = |n: &str| Some(n.to_string());
        assert!(fill_seen(&mut c, &seen("Other"), &seen("handle")));
        assert_eq!(
            (c.name.as_deref(), c.username.as_deref()),
            (Some("Known"), Some("handle"))
        );
        assert!(
            !fill_seen(&mut c, &seen("Other"), &seen("other_handle")),
            "nothing new"
        );
        assert!(!fill_seen(&mut c, &None, &None));
    }

    fn customer(c: &mut Conversation, t: i64, from_sync: bool) -> Vec<HistoryKind> {
        let m = Message::inbound(
            c.key.clone(),
            Mid::from(format!("m{t}").as_str()),
            TimestampMs(t),
        );
        count_new_message(c, &m, true, from_sync)
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    fn alice() -> Option<AgentName> {
        Some(AgentName::from("alice"))
    }

    #[test]
    fn a_live_first_message_opens_and_starts_the_wait_and_the_reply_measures_it() {
        let mut c = fresh();
        assert_eq!(customer(&mut c, 1_000, false), [HistoryKind::Opened]);
        // A second unanswered message keeps the first wait.
        assert_eq!(customer(&mut c, 5_000, false), []);
        assert_eq!(c.awaiting_since, Some(TimestampMs(1_000)));
        let r = replied(&mut c, alice(), TimestampMs(61_000));
        assert_eq!(
            r.kind,
            HistoryKind::Replied {
                waited_ms: Some(60_000),
                first: true,
                in_window: true
            }
        );
        assert_eq!((r.by, c.awaiting_since), (alice(), None));
        // The next reply waits for nothing and is not the first.
        let again = replied(&mut c, alice(), TimestampMs(62_000));
        assert_eq!(
            again.kind,
            HistoryKind::Replied {
                waited_ms: None,
                first: false,
                in_window: true
            }
        );
        // Outside the 24-hour window.
        customer(&mut c, 100_000, false);
        let late = replied(&mut c, None, TimestampMs(100_000 + TimestampMs::DAY));
        assert!(matches!(
            late.kind,
            HistoryKind::Replied {
                in_window: false,
                ..
            }
        ));
    }

    #[test]
    fn sync_records_nothing_and_a_resolved_thread_reopens_with_history() {
        let mut c = fresh();
        assert_eq!(customer(&mut c, 1_000, true), []);
        assert_eq!(c.awaiting_since, None);
        let e = set_status(
            &mut c,
            ConvStatus::Resolved,
            None,
            alice(),
            TimestampMs(2_000),
        );
        assert_eq!(
            e.map(|e| e.kind),
            Some(HistoryKind::Status {
                from: ConvStatus::Open,
                to: ConvStatus::Resolved
            })
        );
        // Setting it again changes nothing.
        assert_eq!(
            set_status(
                &mut c,
                ConvStatus::Resolved,
                None,
                alice(),
                TimestampMs(2_500)
            ),
            None
        );
        assert_eq!(
            customer(&mut c, 3_000, false),
            [
                HistoryKind::Status {
                    from: ConvStatus::Resolved,
                    to: ConvStatus::Open
                },
                HistoryKind::Opened
            ]
        );
        assert!(c.first_reply_due);
    }

    #[test]
    fn the_page_inbox_echo_is_a_reply_by_nobody_known_and_dmdesk_echo_is_not() {
        let mut c = fresh();
        customer(&mut c, 1_000, false);
        let mut echo = Message::inbound(c.key.clone(), Mid::from("e1"), TimestampMs(4_000));
        echo.direction = Direction::Out;
        echo.origin = Some(Origin::OtherApp);
        assert!(count_new_message(&mut c, &echo, false, false).is_empty());
        echo.mid = Mid::from("e2");
        echo.origin = Some(Origin::PageInbox);
        let h = count_new_message(&mut c, &echo, false, false);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].by, None);
        assert!(matches!(
            h[0].kind,
            HistoryKind::Replied {
                waited_ms: Some(3_000),
                first: true,
                ..
            }
        ));
    }

    #[test]
    fn assign_is_a_compare_and_set_that_tells_the_others() {
        let mut c = fresh();
        let bob = Some(AgentName::from("bob"));
        let r = assign(&mut c, &None, &alice(), &alice(), TimestampMs(1)).unwrap();
        assert_eq!(r.mail, []); // taking it yourself tells nobody
        assert_eq!(r.history.len(), 1);
        // bob saw it unassigned too: he loses and learns who has it.
        assert_eq!(
            assign(&mut c, &None, &bob, &bob, TimestampMs(2)),
            Err(alice())
        );
        // Asking again for what is so is no change (a re-apply).
        assert_eq!(
            assign(&mut c, &None, &alice(), &alice(), TimestampMs(3)),
            Ok(Recorded::default())
        );
        // bob takes it over knowingly: alice is told.
        let r = assign(&mut c, &alice(), &bob, &bob, TimestampMs(4)).unwrap();
        assert_eq!(r.mail.len(), 1);
        assert_eq!(r.mail[0].agent.as_str(), "alice");
        assert_eq!(r.mail[0].kind, MailKind::TakenOver { to: bob.clone() });
        // carol hands it to alice: bob (taken over) and alice (assigned) are told.
        let carol = Some(AgentName::from("carol"));
        let r = assign(&mut c, &bob, &alice(), &carol, TimestampMs(5)).unwrap();
        let to: Vec<_> = r.mail.iter().map(|m| (m.agent.as_str(), &m.kind)).collect();
        assert_eq!(
            to,
            [
                ("bob", &MailKind::TakenOver { to: alice() }),
                ("alice", &MailKind::Assigned)
            ]
        );
    }

    #[test]
    fn labels_and_priority_record_only_real_changes() {
        let mut c = fresh();
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = labels(
            &mut c,
            &l(&["vip", "refund"]),
            &[],
            &alice(),
            TimestampMs(1),
        );
        assert_eq!(
            e.unwrap().kind,
            HistoryKind::Labels {
                added: l(&["vip", "refund"]),
                removed: vec![]
            }
        );
        assert_eq!(
            labels(
                &mut c,
                &l(&["vip"]),
                &l(&["nope"]),
                &alice(),
                TimestampMs(2)
            ),
            None
        );
        let e = labels(&mut c, &l(&["new"]), &l(&["vip"]), &alice(), TimestampMs(3));
        assert_eq!(
            e.unwrap().kind,
            HistoryKind::Labels {
                added: l(&["new"]),
                removed: l(&["vip"])
            }
        );
        assert_eq!(c.labels, l(&["refund", "new"]));
        assert!(priority(&mut c, Priority::High, &alice(), TimestampMs(4)).is_some());
        assert_eq!(
            priority(&mut c, Priority::High, &alice(), TimestampMs(5)),
            None
        );
    }

    #[test]
    fn a_note_mails_the_mentioned_but_not_its_author() {
        let n = Note {
            id: "n1".into(),
            conv: fresh().key,
            author: "alice".into(),
            text: "@bob @alice look".into(),
            at: TimestampMs(9),
            mentions: vec!["bob".into(), "alice".into()],
        };
        let mail = note_mail(&n);
        assert_eq!(mail.len(), 1);
        assert_eq!(
            (mail[0].agent.as_str(), mail[0].id.as_str()),
            ("bob", "note:n1")
        );
    }
}
