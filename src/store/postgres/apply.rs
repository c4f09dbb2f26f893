//! The one apply path on PostgreSQL: every change of one call in one
//! transaction, idempotent by mid, race-free across processes.
//!
//! Before it reads anything, an apply takes a transaction-level advisory
//! lock per conversation it names (in one global order, so two applies
//! cannot deadlock on them); a conversation reached only through an outbox
//! record is locked when it is reached. Two receivers applying the same mid
//! therefore run one after the other and the second finds the message. The
//! conversation summary is read and written under that lock, and the unique
//! mid is the last guard: a conflict, a deadlock or a serialisation failure
//! rolls the transaction back and runs it again.

use super::{decode, encode, keys, PgError, PgResult};
use crate::change::Change;
use crate::domain::{
    Contact, ConvKey, Conversation, Direction, Message, Mid, MsgStatus, Origin, TimestampMs,
};
use crate::meta::webhook::METADATA_PREFIX;
use crate::store::rules::{
    self, apply_deferred, count_new_message, merge_redelivery, status_from_watermarks, Deferred,
};
use crate::store::{Applied, OutboxRecord, OutboxState, StoreError};
use crate::team::{HistoryEvent, MailItem, Note};
use crate::update::Update;
use deadpool_postgres::Pool;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Transaction;

/// Runs of one apply after a conflict with another writer.
const ATTEMPTS: usize = 8;

pub(super) async fn apply(pool: &Pool, changes: &[Change], origin: &str) -> PgResult<Applied> {
    let mut attempt = 1;
    loop {
        match apply_once(pool, changes, origin).await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                tracing::debug!(
                    attempt,
                    "apply conflicted with another writer; running it again"
                );
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn apply_once(pool: &Pool, changes: &[Change], origin: &str) -> PgResult<Applied> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let mut txn = Txn {
        tx: &tx,
        convs: HashMap::new(),
        locked: HashSet::new(),
        search: Default::default(),
        out: Applied::default(),
    };
    let mut named: Vec<&ConvKey> = changes.iter().filter_map(Change::conv).collect();
    named.sort_by_key(|k| keys::lock_id(&keys::conv(k)));
    for k in named {
        txn.lock(k).await?;
    }
    for ch in changes {
        apply_one(&mut txn, ch).await?;
    }
    super::search::write_pending(&tx, &mut txn.search).await?;
    let out = txn.write_conversations().await?;
    super::feed_write::record(&tx, origin, &out.updates).await?;
    tx.commit().await?;
    Ok(out)
}

struct Txn<'t> {
    tx: &'t Transaction<'t>,
    /// Summaries read under their lock, written once at the end.
    convs: HashMap<ConvKey, Slot>,
    locked: HashSet<ConvKey>,
    /// Message texts to add to the search index before commit.
    search: crate::search::Pending,
    out: Applied,
}

struct Slot {
    conv: Conversation,
    /// As stored before this apply (None: new); unchanged rows are not written.
    before: Option<Conversation>,
}

impl Txn<'_> {
    fn publish(&mut self, u: Update) {
        self.out.updates.push(u);
    }

    async fn lock(&mut self, key: &ConvKey) -> PgResult<()> {
        if self.locked.insert(key.clone()) {
            let id = keys::lock_id(&keys::conv(key));
            self.tx
                .execute("SELECT pg_advisory_xact_lock($1)", &[&id])
                .await?;
        }
        Ok(())
    }

    /// The conversation inside this apply, created with its contact if new.
    async fn conv(&mut self, key: &ConvKey) -> PgResult<&mut Conversation> {
        if !self.convs.contains_key(key) {
            let slot = match self.stored_conv(key).await? {
                Some(c) => Slot {
                    before: Some(c.clone()),
                    conv: c,
                },
                None => Slot {
                    conv: self.new_conv(key).await?,
                    before: None,
                },
            };
            self.convs.insert(key.clone(), slot);
        }
        Ok(&mut self.convs.get_mut(key).expect("inserted above").conv)
    }

    /// The conversation if it exists (agents' actions never create one).
    async fn existing_conv(&mut self, key: &ConvKey) -> PgResult<Option<&mut Conversation>> {
        if !self.convs.contains_key(key) {
            match self.stored_conv(key).await? {
                Some(c) => {
                    self.convs.insert(
                        key.clone(),
                        Slot {
                            before: Some(c.clone()),
                            conv: c,
                        },
                    );
                }
                None => return Ok(None),
            }
        }
        Ok(self.convs.get_mut(key).map(|s| &mut s.conv))
    }

    async fn stored_conv(&mut self, key: &ConvKey) -> PgResult<Option<Conversation>> {
        self.lock(key).await?;
        let row = self
            .tx
            .query_opt(
                "SELECT doc FROM conversations WHERE conv = $1",
                &[&keys::conv(key)],
            )
            .await?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    /// A new conversation (and contact, if none), written at the end.
    async fn new_conv(&mut self, key: &ConvKey) -> PgResult<Conversation> {
        let contact = match self.contact(key).await? {
            Some(c) => c,
            None => {
                let c = Contact::new(key.clone(), "webhook");
                self.put_contact_row(&c).await?;
                self.out.new_contacts.push(key.clone());
                self.publish(Update::Contact(Box::new(c.clone())));
                c
            }
        };
        Ok(Conversation::of_contact(key.clone(), &contact))
    }

    async fn contact(&mut self, key: &ConvKey) -> PgResult<Option<Contact>> {
        self.lock(key).await?;
        let row = self
            .tx
            .query_opt(
                "SELECT doc FROM contacts WHERE conv = $1",
                &[&keys::conv(key)],
            )
            .await?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    async fn put_contact_row(&mut self, c: &Contact) -> PgResult<()> {
        self.tx
            .execute(
                "INSERT INTO contacts (conv, doc) VALUES ($1, $2) \
                 ON CONFLICT (conv) DO UPDATE SET doc = EXCLUDED.doc",
                &[&keys::conv(&c.conv), &encode(c)],
            )
            .await?;
        Ok(())
    }

    async fn message_by_mid(&mut self, mid: &Mid) -> PgResult<Option<Message>> {
        let row = self
            .tx
            .query_opt("SELECT doc FROM messages WHERE mid = $1", &[&mid.as_str()])
            .await?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    /// Insert a new message; a concurrent insert of the same mid is a
    /// conflict that reruns the apply (which then finds it).
    async fn insert_message(&mut self, m: &Message) -> PgResult<()> {
        self.search.add(m);
        self.tx
            .execute(
                "INSERT INTO messages (mid, skey, doc) VALUES ($1, $2, $3)",
                &[
                    &m.mid.as_str(),
                    &keys::message(&m.conv, m.timestamp, &m.mid),
                    &encode(m),
                ],
            )
            .await?;
        Ok(())
    }

    async fn update_message(&mut self, m: &Message) -> PgResult<()> {
        self.tx
            .execute(
                "UPDATE messages SET doc = $2 WHERE mid = $1",
                &[&m.mid.as_str(), &encode(m)],
            )
            .await?;
        Ok(())
    }

    async fn remove_message(&mut self, mid: &Mid) -> PgResult<()> {
        self.tx
            .execute("DELETE FROM messages WHERE mid = $1", &[&mid.as_str()])
            .await?;
        Ok(())
    }

    /// The outbox record, locked: its conversation first (the global order),
    /// then the row, read again under the lock.
    async fn outbox(&mut self, id: &str) -> PgResult<Option<OutboxRecord>> {
        let Some(row) = self
            .tx
            .query_opt("SELECT doc FROM outbox WHERE id = $1", &[&id])
            .await?
        else {
            return Ok(None);
        };
        let rec: OutboxRecord = decode(row.get(0))?;
        self.lock(&rec.conv).await?;
        let row = self
            .tx
            .query_opt("SELECT doc FROM outbox WHERE id = $1 FOR UPDATE", &[&id])
            .await?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    async fn put_outbox(&mut self, rec: &OutboxRecord) -> PgResult<()> {
        let state = outbox_state(rec.state);
        self.tx
            .execute(
                "INSERT INTO outbox (id, state, doc) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, doc = EXCLUDED.doc",
                &[&rec.id, &state, &encode(rec)],
            )
            .await?;
        Ok(())
    }

    /// Append history events and publish them.
    async fn record(&mut self, events: Vec<HistoryEvent>) -> PgResult<()> {
        let mut recorded = Vec::with_capacity(events.len());
        for e in events {
            let row = self
                .tx
                .query_one(
                    "INSERT INTO history (conv, at, doc) VALUES ($1, $2, $3) RETURNING id",
                    &[&keys::conv(&e.conv), &e.at.0, &encode(&e)],
                )
                .await?;
            recorded.push((row.get::<_, i64>(0), e));
        }
        super::facts::record(self.tx, &recorded).await?;
        for (_, e) in recorded {
            self.publish(crate::update::Update::History(Box::new(e)));
        }
        Ok(())
    }

    async fn mail(&mut self, items: Vec<MailItem>) -> PgResult<()> {
        for m in items {
            self.tx
                .execute(
                    "INSERT INTO mailbox (agent, id, at, doc) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (agent, id) DO NOTHING",
                    &[&m.agent.as_str(), &m.id, &m.at.0, &encode(&m)],
                )
                .await?;
            self.publish(Update::Mail(Box::new(m)));
        }
        Ok(())
    }

    /// A note once (its id is unique), with the mail its mentions send.
    async fn note(&mut self, n: &Note) -> PgResult<()> {
        let inserted = self
            .tx
            .execute(
                "INSERT INTO notes (id, conv, at, doc) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
                &[&n.id, &keys::conv(&n.conv), &n.at.0, &encode(n)],
            )
            .await?;
        if inserted == 1 {
            self.mail(rules::note_mail(n)).await?;
            self.publish(Update::Note(Box::new(n.clone())));
        }
        Ok(())
    }

    /// Write every changed summary; the updates are the caller's to publish
    /// once the transaction committed.
    async fn write_conversations(mut self) -> PgResult<Applied> {
        let convs = std::mem::take(&mut self.convs);
        for slot in convs.into_values() {
            if slot.before.as_ref() == Some(&slot.conv) {
                continue;
            }
            let c = &slot.conv;
            self.tx
                .execute(
                    "INSERT INTO conversations \
                     (conv, last_activity, unread, doc, assignee, labels) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (conv) DO UPDATE SET \
                     last_activity = EXCLUDED.last_activity, unread = EXCLUDED.unread, \
                     doc = EXCLUDED.doc, assignee = EXCLUDED.assignee, \
                     labels = EXCLUDED.labels",
                    &[
                        &keys::conv(&c.key),
                        &c.last_activity.0,
                        &(c.unread.min(i32::MAX as u32) as i32),
                        &encode(c),
                        &c.assignee.as_ref().map(|a| a.as_str()),
                        &c.labels,
                    ],
                )
                .await?;
            self.publish(Update::Conversation(Box::new(slot.conv)));
        }
        Ok(self.out)
    }
}

async fn apply_one(txn: &mut Txn<'_>, ch: &Change) -> PgResult<()> {
    match ch {
        Change::Message {
            msg,
            metadata,
            qualifying,
            from_sync,
        } => apply_message(txn, msg, metadata.as_deref(), *qualifying, *from_sync).await,
        Change::Delivery {
            conv,
            mids,
            watermark,
        } => {
            for mid in mids {
                update_or_defer(txn, mid, Deferred::Status(MsgStatus::Delivered)).await?;
            }
            if let Some(w) = watermark {
                watermark_to(txn, conv, *w, MsgStatus::Delivered).await?;
            }
            Ok(())
        }
        Change::Read {
            conv,
            watermark,
            mid,
        } => {
            if let Some(mid) = mid {
                // Instagram: "seen" names one message; everything before it is seen too.
                match txn.message_by_mid(mid).await? {
                    Some(m) => watermark_to(txn, conv, m.timestamp, MsgStatus::Read).await?,
                    None => defer(txn, mid, Deferred::Status(MsgStatus::Read)).await?,
                }
            }
            if let Some(w) = watermark {
                watermark_to(txn, conv, *w, MsgStatus::Read).await?;
            }
            Ok(())
        }
        Change::Reaction {
            conv,
            target,
            emoji,
            by,
            at,
        } => {
            if by == conv.user.as_str() {
                // A reaction is a qualifying customer action (see rules::window).
                let c = txn.conv(conv).await?;
                if c.last_inbound.is_none_or(|t| t < *at) {
                    c.last_inbound = Some(*at);
                }
            }
            let d = Deferred::React {
                emoji: emoji.clone(),
                by: by.clone(),
            };
            update_or_defer(txn, target, d).await
        }
        Change::Edit { mid, text, .. } => {
            update_or_defer(txn, mid, Deferred::Edit(text.clone())).await
        }
        Change::Delete { mid, .. } => update_or_defer(txn, mid, Deferred::Delete).await,
        Change::Handover { conv, standby, .. } => {
            txn.conv(conv).await?.standby = *standby;
            Ok(())
        }
        Change::ContactSeen {
            conv,
            name,
            username,
        } => {
            txn.conv(conv).await?;
            let mut contact = txn
                .contact(conv)
                .await?
                .unwrap_or_else(|| Contact::new(conv.clone(), "sync"));
            if rules::fill_seen(&mut contact, name, username) {
                put_contact(txn, &contact).await?;
            }
            Ok(())
        }
        Change::OutboundQueued {
            id,
            conv,
            text,
            tag,
            agent,
            campaign,
            at,
        } => {
            let rec = OutboxRecord {
                id: id.clone(),
                conv: conv.clone(),
                text: text.clone(),
                tag: tag.clone(),
                created: *at,
                state: OutboxState::Pending,
                mid: None,
                error: None,
                agent: agent.clone(),
                campaign: campaign.clone(),
            };
            outbound_queued(txn, rec).await
        }
        Change::OutboundSent { id, mid } => {
            if !resolve(txn, id, mid, MsgStatus::Sent).await? {
                return Err(not_found(id));
            }
            Ok(())
        }
        Change::OutboundFailed { id, reason } => outbound_failed(txn, id, reason).await,
        Change::OutboundRetry { id } => outbound_retry(txn, id).await,
        Change::MarkRead { conv, read } => {
            if let Some(c) = txn.existing_conv(conv).await? {
                c.unread = if *read { 0 } else { c.unread.max(1) };
            }
            Ok(())
        }
        Change::Status {
            conv,
            status,
            snooze_until,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv).await? else {
                return Ok(());
            };
            let e = rules::set_status(c, *status, *snooze_until, by.clone(), *at);
            txn.record(e.into_iter().collect()).await
        }
        Change::Assign {
            conv,
            expect,
            to,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv).await? else {
                return Ok(());
            };
            match rules::assign(c, expect, to, by, *at) {
                Ok(r) => {
                    txn.record(r.history).await?;
                    txn.mail(r.mail).await
                }
                Err(current) => {
                    txn.out.assign_lost.push((conv.clone(), current));
                    Ok(())
                }
            }
        }
        Change::Labels {
            conv,
            add,
            remove,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv).await? else {
                return Ok(());
            };
            let e = rules::labels(c, add, remove, by, *at);
            txn.record(e.into_iter().collect()).await
        }
        Change::Priority {
            conv,
            priority,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv).await? else {
                return Ok(());
            };
            let e = rules::priority(c, *priority, by, *at);
            txn.record(e.into_iter().collect()).await
        }
        Change::Note(n) => {
            if txn.existing_conv(&n.conv).await?.is_none() {
                return Ok(());
            }
            txn.note(n).await
        }
        Change::Contact(c) => put_contact(txn, c).await,
        Change::Profile { conv, profile, at } => {
            let mut c = txn
                .contact(conv)
                .await?
                .unwrap_or_else(|| Contact::new(conv.clone(), "profile"));
            rules::take_profile(&mut c, profile.as_deref(), *at);
            put_contact(txn, &c).await
        }
        Change::Notice { text } => {
            tracing::warn!("{text}");
            txn.publish(Update::Notice(text.clone()));
            Ok(())
        }
        Change::Ignored { kind } => {
            tracing::debug!(kind, "event kind kept in the log only");
            Ok(())
        }
    }
}

fn not_found(id: &str) -> PgError {
    PgError::Store(StoreError::NotFound(format!("no outbox record {id}")))
}

/// Save a contact and carry its name to the conversation row, if any.
async fn put_contact(txn: &mut Txn<'_>, c: &Contact) -> PgResult<()> {
    txn.put_contact_row(c).await?;
    let named = Conversation::of_contact(c.conv.clone(), c);
    if let Some(conv) = txn.existing_conv(&c.conv).await? {
        if (&conv.name, &conv.handle) != (&named.name, &named.handle) {
            (conv.name, conv.handle) = (named.name, named.handle);
        }
    }
    txn.publish(Update::Contact(Box::new(c.clone())));
    Ok(())
}

async fn apply_message(
    txn: &mut Txn<'_>,
    msg: &Message,
    metadata: Option<&str>,
    qualifying: bool,
    from_sync: bool,
) -> PgResult<()> {
    // Our own send coming back: bind the outbox record to Meta's mid.
    if let Some(id) = metadata.and_then(|m| m.strip_prefix(METADATA_PREFIX)) {
        if resolve(txn, id, &msg.mid, MsgStatus::Sent).await? {
            return Ok(());
        }
    }
    if let Some(mut existing) = txn.message_by_mid(&msg.mid).await? {
        // Duplicate delivery, replay, or sync overlap: merge, never duplicate.
        let changed = merge_redelivery(&mut existing, msg);
        if changed {
            txn.update_message(&existing).await?;
            // A redelivery may bring the content the row previews.
            refresh_preview(txn, &existing).await?;
            txn.publish(Update::Message(Box::new(existing)));
        }
        return Ok(());
    }

    let conv = txn.conv(&msg.conv).await?;
    let mut m = msg.clone();
    status_from_watermarks(&mut m, conv);
    for d in take_deferred(txn, &m.mid).await? {
        apply_deferred(&mut m, d);
    }
    txn.insert_message(&m).await?;
    txn.out.new_messages += 1;

    let conv = txn.conv(&msg.conv).await?;
    let history = count_new_message(conv, &m, qualifying, from_sync);
    txn.publish(Update::Message(Box::new(m)));
    txn.record(history).await
}

/// Rows read per step of a watermark's walk back through a thread.
const WALK: i64 = 256;

/// Move outbound messages at or before `w` to `status`, newest first,
/// stopping at the first one an earlier watermark already moved.
async fn watermark_to(
    txn: &mut Txn<'_>,
    conv: &ConvKey,
    w: TimestampMs,
    status: MsgStatus,
) -> PgResult<()> {
    let c = txn.conv(conv).await?;
    let slot = match status {
        MsgStatus::Read => &mut c.read_watermark,
        _ => &mut c.delivered_watermark,
    };
    if slot.is_some_and(|old| old >= w) {
        return Ok(());
    }
    *slot = Some(w);
    let start = keys::conv(conv);
    let mut end = keys::message(conv, w.plus_ms(1), &Mid::default());
    let mut moved = Vec::new();
    'walk: loop {
        let rows = txn
            .tx
            .query(
                "SELECT skey, doc FROM messages WHERE skey >= $1 AND skey < $2 \
                 ORDER BY skey DESC LIMIT $3",
                &[&start, &end, &WALK],
            )
            .await?;
        let full = rows.len() as i64 == WALK;
        for r in rows {
            end = r.get(0);
            let mut m: Message = decode(r.get(1))?;
            if m.direction != Direction::Out || m.status < MsgStatus::Sent {
                continue;
            }
            if m.status >= status {
                break 'walk; // everything older already moved with an earlier watermark
            }
            m.status = status;
            moved.push(m);
        }
        if !full {
            break;
        }
    }
    for m in moved {
        txn.update_message(&m).await?;
        txn.publish(Update::Message(Box::new(m)));
    }
    Ok(())
}

async fn update_or_defer(txn: &mut Txn<'_>, mid: &Mid, d: Deferred) -> PgResult<()> {
    match txn.message_by_mid(mid).await? {
        Some(mut m) => {
            let before = m.clone();
            apply_deferred(&mut m, d);
            if m != before {
                if m.text != before.text {
                    txn.search.add(&m); // an edit: its new text is found
                }
                txn.update_message(&m).await?;
                refresh_preview(txn, &m).await?;
                txn.publish(Update::Message(Box::new(m)));
            }
            Ok(())
        }
        None => defer(txn, mid, d).await,
    }
}

/// Keep the list preview in step with an edited or unsent last message.
async fn refresh_preview(txn: &mut Txn<'_>, m: &Message) -> PgResult<()> {
    let preview = m.preview();
    let c = txn.conv(&m.conv).await?;
    if rules::is_previewed(c, m) && c.last_preview != preview {
        c.last_preview = preview;
    }
    Ok(())
}

async fn defer(txn: &mut Txn<'_>, mid: &Mid, d: Deferred) -> PgResult<()> {
    txn.tx
        .execute(
            "INSERT INTO deferred (mid, item) VALUES ($1, $2) ON CONFLICT (mid, item) DO NOTHING",
            &[&mid.as_str(), &encode(&d)],
        )
        .await?;
    Ok(())
}

async fn take_deferred(txn: &mut Txn<'_>, mid: &Mid) -> PgResult<Vec<Deferred>> {
    let mut rows = txn
        .tx
        .query(
            "DELETE FROM deferred WHERE mid = $1 RETURNING id, item",
            &[&mid.as_str()],
        )
        .await?;
    // In the order they arrived.
    rows.sort_by_key(|r| r.get::<_, i64>(0));
    rows.into_iter().map(|r| decode(r.get(1))).collect()
}

// ---- outbound messages written by dmdesk ------------------------------------
// The outbox record comes first, then the Send API call. The echo (metadata
// `dmdesk:<id>`) or the API answer, whichever comes first, binds the record
// to Meta's mid; the other is a no-op.

/// The outbox record and a pending message in the thread.
async fn outbound_queued(txn: &mut Txn<'_>, rec: OutboxRecord) -> PgResult<()> {
    if txn.outbox(&rec.id).await?.is_some() {
        return Ok(()); // applied before
    }
    txn.put_outbox(&rec).await?;
    let now = rec.created;
    let mut m = Message::inbound(rec.conv.clone(), rec.local_mid(), now);
    m.direction = Direction::Out;
    m.status = MsgStatus::Pending;
    m.origin = Some(Origin::Dmdesk);
    m.text = Some(rec.text.clone());
    m.agent = rec.agent.clone();
    m.tag = rec.tag.clone();
    txn.insert_message(&m).await?;
    let c = txn.conv(&rec.conv).await?;
    c.message_count += 1;
    rules::take_preview(c, &m);
    txn.publish(Update::Message(Box::new(m)));
    Ok(())
}

/// Bind an outbox record to Meta's mid. False when there is no such record.
async fn resolve(txn: &mut Txn<'_>, id: &str, mid: &Mid, status: MsgStatus) -> PgResult<bool> {
    let Some(mut rec) = txn.outbox(id).await? else {
        return Ok(false);
    };
    if rec.mid.is_some() {
        return Ok(true); // the echo or the answer already did it
    }
    rec.mid = Some(mid.clone());
    rec.state = OutboxState::Sent;
    rec.error = None;
    txn.put_outbox(&rec).await?;
    let local = rec.local_mid();
    let mut m = match txn.message_by_mid(&local).await? {
        Some(m) => {
            txn.remove_message(&local).await?;
            m
        }
        None => {
            let mut m = Message::inbound(rec.conv.clone(), mid.clone(), rec.created);
            m.direction = Direction::Out;
            m.text = Some(rec.text.clone());
            m.origin = Some(Origin::Dmdesk);
            m
        }
    };
    m.mid = mid.clone();
    m.status = m.status.max(status);
    m.error = None;
    if txn.message_by_mid(mid).await?.is_none() {
        txn.insert_message(&m).await?;
    }
    txn.publish(Update::Message(Box::new(m)));
    let c = txn.conv(&rec.conv).await?;
    let history = rules::reply_reached_meta(c, &rec);
    txn.record(history.into_iter().collect()).await?;
    Ok(true)
}

/// The send failed for good (or for now: it can be retried).
async fn outbound_failed(txn: &mut Txn<'_>, id: &str, reason: &str) -> PgResult<()> {
    let Some(mut rec) = txn.outbox(id).await? else {
        return Err(not_found(id));
    };
    if rec.mid.is_some() {
        return Ok(()); // an echo proved it was sent
    }
    rec.state = OutboxState::Failed;
    rec.error = Some(reason.to_string());
    txn.put_outbox(&rec).await?;
    set_local_status(txn, &rec, MsgStatus::Failed, Some(reason)).await
}

/// Put a failed record back to pending for another attempt.
async fn outbound_retry(txn: &mut Txn<'_>, id: &str) -> PgResult<()> {
    let Some(mut rec) = txn.outbox(id).await? else {
        return Err(not_found(id));
    };
    if rec.mid.is_some() {
        return Ok(()); // sent after all: nothing to retry
    }
    rec.state = OutboxState::Pending;
    rec.error = None;
    txn.put_outbox(&rec).await?;
    set_local_status(txn, &rec, MsgStatus::Pending, None).await
}

async fn set_local_status(
    txn: &mut Txn<'_>,
    rec: &OutboxRecord,
    status: MsgStatus,
    error: Option<&str>,
) -> PgResult<()> {
    if let Some(mut m) = txn.message_by_mid(&rec.local_mid()).await? {
        m.status = status;
        m.error = error.map(str::to_string);
        txn.update_message(&m).await?;
        txn.publish(Update::Message(Box::new(m)));
    }
    Ok(())
}

/// The outbox table's `state` column (its pending index filters on it).
pub(super) fn outbox_state(s: OutboxState) -> &'static str {
    match s {
        OutboxState::Pending => "pending",
        OutboxState::Sent => "sent",
        OutboxState::Failed => "failed",
    }
}
