//! The team's records on PostgreSQL: history, notes, mailboxes. Apply
//! writes them (see apply.rs); these are the reads and the mailbox's
//! acknowledgement.

use super::rows::{pages, PAGE};
use super::{decode, PgResult, PgStore};
use crate::domain::TimestampMs;
use crate::store::Rows;
use crate::team::{HistoryEvent, MailItem, Note};
use deadpool_postgres::Pool;
use serde::de::DeserializeOwned;

/// Every document a query returns, in its order.
pub(super) async fn docs<T: DeserializeOwned>(
    pool: &Pool,
    sql: &str,
    key: &(dyn tokio_postgres::types::ToSql + Sync),
) -> PgResult<Vec<T>> {
    let client = pool.get().await?;
    client
        .query(sql, &[key])
        .await?
        .into_iter()
        .map(|r| decode(r.get(0)))
        .collect()
}

pub(super) const HISTORY: &str = "SELECT doc FROM history WHERE conv = $1 ORDER BY at, id";
pub(super) const NOTES: &str = "SELECT doc FROM notes WHERE conv = $1 ORDER BY at, id";
pub(super) const MAILBOX: &str = "SELECT doc FROM mailbox WHERE agent = $1 ORDER BY at, id";

/// History at or after `since`, by (at, id), a page at a time (the
/// `history_by_time` index).
pub(super) fn history_since(store: &PgStore, since: TimestampMs) -> Rows<'_, HistoryEvent> {
    pages(store, (since.0, 0i64), move |pool, (at, id)| async move {
        let client = pool.get().await?;
        let rows = client
            .query(
                "SELECT at, id, doc FROM history WHERE (at, id) >= ($1, $2) \
                 ORDER BY at, id LIMIT $3",
                &[&at, &id.saturating_add(1), &PAGE],
            )
            .await?;
        rows.into_iter()
            .map(|r| Ok(((r.get::<_, i64>(0), r.get::<_, i64>(1)), decode(r.get(2))?)))
            .collect()
    })
}

/// `Store::report_history`: the kinds it counts, filtered in SQL (the
/// `history_by_time` range; each document's `kind.kind` tells).
pub(super) fn report_history(
    store: &PgStore,
    context: TimestampMs,
    from: TimestampMs,
) -> Rows<'_, HistoryEvent> {
    const REPORT_PAGE: i64 = 5000;
    pages(store, (context.0, 0i64), move |pool, (at, id)| async move {
        let client = pool.get().await?;
        let rows = client
            .query(
                "SELECT at, id, doc FROM history WHERE (at, id) >= ($1, $2) \
                 AND (doc->'kind'->>'kind' IN ('opened', 'status') \
                      OR (doc->'kind'->>'kind' = 'replied' AND at >= $4)) \
                 ORDER BY at, id LIMIT $3",
                &[&at, &id.saturating_add(1), &REPORT_PAGE, &from.0],
            )
            .await?;
        rows.into_iter()
            .map(|r| Ok(((r.get::<_, i64>(0), r.get::<_, i64>(1)), decode(r.get(2))?)))
            .collect()
    })
}

/// Conversations last active before `t` (an index range).
pub(super) async fn conversations_active_before(pool: &Pool, t: TimestampMs) -> PgResult<u64> {
    let client = pool.get().await?;
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM conversations WHERE last_activity < $1",
            &[&t.0],
        )
        .await?
        .get(0);
    Ok(n as u64)
}

/// The whole history by id.
pub(super) fn all_history(store: &PgStore) -> Rows<'_, (u64, HistoryEvent)> {
    // A copied store's ids start at 0.
    pages(store, -1i64, move |pool, after| async move {
        let client = pool.get().await?;
        let rows = client
            .query(
                "SELECT id, doc FROM history WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &PAGE],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                let id: i64 = r.get(0);
                Ok((id, (id as u64, decode(r.get(1))?)))
            })
            .collect()
    })
}

/// Every mailbox item, by agent and id.
pub(super) fn all_mail(store: &PgStore) -> Rows<'_, MailItem> {
    pages(
        store,
        (String::new(), String::new()),
        move |pool, (agent, id)| async move {
            let client = pool.get().await?;
            let rows = client
                .query(
                    "SELECT agent, id, doc FROM mailbox WHERE (agent, id) > ($1, $2) \
                 ORDER BY agent, id LIMIT $3",
                    &[&agent, &id, &PAGE],
                )
                .await?;
            rows.into_iter()
                .map(|r| {
                    Ok((
                        (r.get::<_, String>(0), r.get::<_, String>(1)),
                        decode(r.get(2))?,
                    ))
                })
                .collect()
        },
    )
}

/// Every note, by id.
pub(super) fn all_notes(store: &PgStore) -> Rows<'_, Note> {
    pages(store, String::new(), move |pool, after| async move {
        let client = pool.get().await?;
        let rows = client
            .query(
                "SELECT id, doc FROM notes WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &PAGE],
            )
            .await?;
        rows.into_iter()
            .map(|r| Ok((r.get::<_, String>(0), decode(r.get(1))?)))
            .collect()
    })
}

pub(super) async fn mailbox_ack(pool: &Pool, agent: &str, ids: &[String]) -> PgResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "DELETE FROM mailbox WHERE agent = $1 AND id = ANY($2)",
            &[&agent, &ids],
        )
        .await?;
    Ok(())
}
