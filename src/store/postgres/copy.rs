//! Another store's records copied in as they are (`dmdesk migrate`): each
//! row keeps its key (mid, conversation, outbox id, campaign id, event seq)
//! and is inserted `ON CONFLICT DO NOTHING`, so a second run adds nothing
//! and a row the database already has is never overwritten.

use super::{encode, keys, to_i64, PgResult, PgStore};
use crate::domain::{Contact, ConvKey, Conversation, Message};
use crate::store::{
    CampaignRecord, EventRecord, EventState, OutboxRecord, RecipientRecord, Result,
};
use crate::team::{HistoryEvent, MailItem, Note};
use deadpool_postgres::Pool;

/// One batch of one kind of record.
pub enum CopyRows {
    Contacts(Vec<Contact>),
    Conversations(Vec<Conversation>),
    Messages(Vec<Message>),
    Outbox(Vec<OutboxRecord>),
    Campaign(Box<CampaignRecord>, Vec<RecipientRecord>),
    Drafts(Vec<(ConvKey, String)>),
    /// Events with their seqs, quarantine reasons included.
    Events(Vec<EventRecord>),
    /// History events with their ids in the source (kept: their order
    /// within a millisecond, and what makes a second copy add nothing).
    History(Vec<(u64, HistoryEvent)>),
    Notes(Vec<Note>),
    Mail(Vec<MailItem>),
    /// Small named values (ingest mark, last sync per account), kept if set.
    Meta(Vec<(String, serde_json::Value)>),
}

/// Rows per table, for the count check.
pub const TABLES: [&str; 13] = [
    "contacts",
    "conversations",
    "messages",
    "outbox",
    "campaigns",
    "campaign_recipients",
    "drafts",
    "note_drafts",
    "events",
    "quarantine",
    "history",
    "notes",
    "mailbox",
];

impl PgStore {
    /// Insert what is not there yet; returns how many rows were new: in
    /// the batch's table, and in its second one (a campaign's recipients,
    /// events' quarantine reasons; 0 for the others).
    pub fn copy_in(&self, rows: CopyRows) -> Result<(u64, u64)> {
        self.run(|p| async move { copy(&p, rows).await })
    }

    /// Rows in each of [`TABLES`], in that order.
    pub fn table_counts(&self) -> Result<Vec<(&'static str, u64)>> {
        self.run(|p| async move {
            let client = p.get().await?;
            let mut out = Vec::new();
            for t in TABLES {
                let n: i64 = client
                    .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                    .await?
                    .get(0);
                out.push((t, n as u64));
            }
            Ok(out)
        })
    }

    /// A value of the `meta` table (e.g. which store this database is a
    /// copy of).
    pub fn meta_text(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_string();
        self.run(|p| async move { super::query::meta_get(&p, &key).await })
    }

    pub fn set_meta_text(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run(|p| async move { super::query::meta_put(&p, &key, &value).await })
    }

    /// Make record ids handed out from now on larger than `n` (the copied
    /// store's ids), so a new outbox record never takes a copied one's id,
    /// nor a new history event a copied one's.
    pub fn ids_at_least(&self, n: u64) -> Result<()> {
        self.run(|p| async move {
            let client = p.get().await?;
            client
                .execute(
                    "SELECT setval('ids', GREATEST((SELECT last_value FROM ids), $1))",
                    &[&to_i64(n.max(1))],
                )
                .await?;
            client
                .execute(
                    "SELECT setval(pg_get_serial_sequence('history', 'id'), \
                     GREATEST((SELECT max(id) FROM history), $1))",
                    &[&to_i64(n.max(1))],
                )
                .await?;
            Ok(())
        })
    }
}

async fn copy(pool: &Pool, rows: CopyRows) -> PgResult<(u64, u64)> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let (mut new, mut second) = (0, 0);
    match rows {
        CopyRows::Contacts(v) => {
            let st = tx
                .prepare("INSERT INTO contacts (conv, doc) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .await?;
            for c in &v {
                new += tx.execute(&st, &[&keys::conv(&c.conv), &encode(c)]).await?;
            }
        }
        CopyRows::Conversations(v) => {
            let st = tx
                .prepare(
                    "INSERT INTO conversations \
                     (conv, last_activity, unread, doc, assignee, labels) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .await?;
            for c in &v {
                let unread = c.unread.min(i32::MAX as u32) as i32;
                // The view columns too: mine/unassigned and label views
                // filter on them in SQL.
                new += tx
                    .execute(
                        &st,
                        &[
                            &keys::conv(&c.key),
                            &c.last_activity.0,
                            &unread,
                            &encode(c),
                            &c.assignee.as_ref().map(|a| a.as_str()),
                            &c.labels,
                        ],
                    )
                    .await?;
            }
        }
        CopyRows::Messages(v) => {
            let st = tx
                .prepare(
                    "INSERT INTO messages (mid, skey, doc) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            // Indexed for search as apply indexes them: the database's own
            // first open found no messages and marked the index built.
            let mut grams = crate::search::Pending::default();
            for m in &v {
                let skey = keys::message(&m.conv, m.timestamp, &m.mid);
                new += tx
                    .execute(&st, &[&m.mid.as_str(), &skey, &encode(m)])
                    .await?;
                grams.add(m);
            }
            super::search::write_pending(&tx, &mut grams).await?;
        }
        CopyRows::Outbox(v) => {
            let st = tx
                .prepare(
                    "INSERT INTO outbox (id, state, doc) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            for r in &v {
                let state = super::apply::outbox_state(r.state);
                new += tx.execute(&st, &[&r.id, &state, &encode(r)]).await?;
            }
        }
        CopyRows::Campaign(c, recipients) => {
            new += tx
                .execute(
                    "INSERT INTO campaigns (id, created_at, doc) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                    &[&c.id, &c.created_at.0, &encode(&*c)],
                )
                .await?;
            let st = tx
                .prepare(
                    "INSERT INTO campaign_recipients (campaign, idx, state, doc) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .await?;
            for r in &recipients {
                second += tx
                    .execute(
                        &st,
                        &[
                            &r.campaign,
                            &(r.index as i32),
                            &r.state.as_str(),
                            &encode(r),
                        ],
                    )
                    .await?;
            }
        }
        CopyRows::Drafts(v) => {
            let st = tx
                .prepare("INSERT INTO drafts (conv, text) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .await?;
            for (k, text) in &v {
                new += tx.execute(&st, &[&keys::conv(k), text]).await?;
            }
        }
        CopyRows::Events(v) => {
            let st = tx
                .prepare(
                    "INSERT INTO events (seq, received_ms, body) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            let q = tx
                .prepare(
                    "INSERT INTO quarantine (seq, reason) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .await?;
            for e in &v {
                let seq = to_i64(e.seq);
                new += tx.execute(&st, &[&seq, &e.received_ms, &e.body]).await?;
                if let EventState::Quarantined(reason) = &e.state {
                    second += tx.execute(&q, &[&seq, reason]).await?;
                }
            }
        }
        CopyRows::History(v) => {
            let st = tx
                .prepare(
                    "INSERT INTO history (id, conv, at, doc) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            for (id, e) in &v {
                new += tx
                    .execute(
                        &st,
                        &[&to_i64(*id), &keys::conv(&e.conv), &e.at.0, &encode(e)],
                    )
                    .await?;
            }
        }
        CopyRows::Notes(v) => {
            let st = tx
                .prepare(
                    "INSERT INTO notes (id, conv, at, doc) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            for n in &v {
                new += tx
                    .execute(&st, &[&n.id, &keys::conv(&n.conv), &n.at.0, &encode(n)])
                    .await?;
            }
        }
        CopyRows::Mail(v) => {
            let st = tx
                .prepare(
                    "INSERT INTO mailbox (agent, id, at, doc) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            for m in &v {
                new += tx
                    .execute(&st, &[&m.agent.as_str(), &m.id, &m.at.0, &encode(m)])
                    .await?;
            }
        }
        CopyRows::Meta(v) => {
            for (k, value) in &v {
                new += tx
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[k, value],
                    )
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok((new, second))
}
