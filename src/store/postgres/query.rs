//! Reads and the small single-row writes outside `apply`: each one query on
//! a pooled connection.

use super::{decode, encode, PgResult};
use crate::domain::{ConvKey, Conversation, Message};
use crate::filter::{AssigneeFilter, ConvFilter, ListOrder};
use crate::store::{DeadToken, OutboxRecord};
use deadpool_postgres::Pool;
use serde::{de::DeserializeOwned, Serialize};

/// Tables whose rows are one JSON document under a conversation key.
pub(super) const CONVERSATION: &str = "SELECT doc FROM conversations WHERE conv = $1";
pub(super) const CONTACT: &str = "SELECT doc FROM contacts WHERE conv = $1";

pub(super) async fn doc_by_key<T: DeserializeOwned>(
    pool: &Pool,
    sql: &str,
    key: &[u8],
) -> PgResult<Option<T>> {
    let client = pool.get().await?;
    match client.query_opt(sql, &[&key]).await? {
        Some(row) => Ok(Some(decode(row.get(0))?)),
        None => Ok(None),
    }
}

pub(super) async fn conversation_count(pool: &Pool) -> PgResult<u64> {
    let client = pool.get().await?;
    let n: i64 = client
        .query_one("SELECT count(*) FROM conversations", &[])
        .await?
        .get(0);
    Ok(n as u64)
}

/// The team's conditions (assignee, label) as SQL over the columns V2 added;
/// parameters $1 (an agent), $2 (unassigned only), $3 (a label). With
/// unnamed statements PostgreSQL plans with the values, so an absent
/// condition folds away and a present one can use its index.
const TEAM_WHERE: &str = "($1::text IS NULL OR assignee = $1) \
     AND (NOT $2::boolean OR assignee IS NULL) \
     AND ($3::text IS NULL OR labels @> ARRAY[$3::text])";

fn team_params(filter: &ConvFilter) -> (Option<String>, bool, Option<String>) {
    let (mine, unassigned) = match &filter.assignee {
        AssigneeFilter::Any => (None, false),
        AssigneeFilter::Mine(a) => (Some(a.as_str().to_string()), false),
        AssigneeFilter::Unassigned => (None, true),
    };
    (mine, unassigned, filter.label.clone())
}

/// A conversation's priority as a number, most urgent highest: the
/// expression V5's `conversations_by_priority` index is on.
const PRIORITY_RANK: &str = "(CASE doc->>'priority' \
     WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 \
     ELSE 0 END)";

/// The filter's order as SQL (ties by key, as the embedded backend).
fn order_by(order: ListOrder) -> String {
    match order {
        ListOrder::Activity => "last_activity DESC, conv".into(),
        ListOrder::Priority => format!("{PRIORITY_RANK} DESC, last_activity DESC, conv"),
    }
}

/// In the filter's order (newest activity first, or by priority), ties by
/// key: the embedded backend's order. The team's conditions are SQL; the
/// rest of the filter (search text, views, the window) is Rust over the
/// rows SQL chose, stopping early.
pub(super) async fn conversations(
    pool: &Pool,
    filter: &ConvFilter,
    offset: usize,
    limit: usize,
) -> PgResult<Vec<Conversation>> {
    let client = pool.get().await?;
    let (mine, unassigned, label) = team_params(filter);
    let order = order_by(filter.order);
    let rest = ConvFilter {
        order: ListOrder::Activity,
        ..filter.without_team()
    };
    if rest.is_empty() {
        let rows = client
            .query(
                &format!(
                    "SELECT doc FROM conversations WHERE {TEAM_WHERE} \
                     ORDER BY {order} OFFSET $4 LIMIT $5"
                ),
                &[
                    &mine,
                    &unassigned,
                    &label,
                    &(offset as i64),
                    &(limit as i64),
                ],
            )
            .await?;
        return rows.into_iter().map(|r| decode(r.get(0))).collect();
    }
    let rows = client
        .query(
            &format!(
                "SELECT doc FROM conversations WHERE {TEAM_WHERE} \
                 ORDER BY {order}"
            ),
            &[&mine, &unassigned, &label],
        )
        .await?;
    let mut out = Vec::new();
    let mut skipped = 0;
    for r in rows {
        let c: Conversation = decode(r.get(0))?;
        if !filter.matches(&c) {
            continue;
        }
        if skipped < offset {
            skipped += 1;
            continue;
        }
        out.push(c);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

pub(super) async fn count_matching(pool: &Pool, filter: &ConvFilter) -> PgResult<u64> {
    if filter.is_empty() {
        return conversation_count(pool).await;
    }
    let client = pool.get().await?;
    let (mine, unassigned, label) = team_params(filter);
    if filter.without_team().is_empty() {
        let n: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM conversations WHERE {TEAM_WHERE}"),
                &[&mine, &unassigned, &label],
            )
            .await?
            .get(0);
        return Ok(n as u64);
    }
    let mut n = 0;
    for r in client
        .query(
            &format!("SELECT doc FROM conversations WHERE {TEAM_WHERE}"),
            &[&mine, &unassigned, &label],
        )
        .await?
    {
        let c: Conversation = decode(r.get(0))?;
        n += u64::from(filter.matches(&c));
    }
    Ok(n)
}

pub(super) async fn unread_counts(pool: &Pool) -> PgResult<Vec<(ConvKey, u32)>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT doc->'key', unread FROM conversations WHERE unread > 0",
            &[],
        )
        .await?;
    rows.into_iter()
        .map(|r| Ok((decode(r.get(0))?, r.get::<_, i32>(1) as u32)))
        .collect()
}

/// Up to `limit` messages with skeys in `start..end`, the newest ones, oldest first.
pub(super) async fn messages_below(
    pool: &Pool,
    start: &[u8],
    end: &[u8],
    limit: usize,
) -> PgResult<Vec<Message>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT doc FROM messages WHERE skey >= $1 AND skey < $2 \
             ORDER BY skey DESC LIMIT $3",
            &[&start, &end, &(limit as i64)],
        )
        .await?;
    let mut v = rows
        .into_iter()
        .map(|r| decode(r.get(0)))
        .collect::<PgResult<Vec<Message>>>()?;
    v.reverse();
    Ok(v)
}

pub(super) async fn message(pool: &Pool, mid: &str) -> PgResult<Option<Message>> {
    let client = pool.get().await?;
    match client
        .query_opt("SELECT doc FROM messages WHERE mid = $1", &[&mid])
        .await?
    {
        Some(r) => Ok(Some(decode(r.get(0))?)),
        None => Ok(None),
    }
}

pub(super) async fn draft(pool: &Pool, conv: &[u8]) -> PgResult<Option<String>> {
    let client = pool.get().await?;
    Ok(client
        .query_opt("SELECT text FROM drafts WHERE conv = $1", &[&conv])
        .await?
        .map(|r| r.get(0)))
}

/// Save a draft; an empty one is removed.
/// The draft and the row's `has_draft` in one transaction, under the
/// conversation's apply lock (an apply rewrites the row's document, so it
/// must not hold an older flag).
pub(super) async fn set_draft(pool: &Pool, conv: &[u8], text: &str) -> PgResult<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&super::keys::lock_id(conv)],
    )
    .await?;
    if text.is_empty() {
        tx.execute("DELETE FROM drafts WHERE conv = $1", &[&conv])
            .await?;
    } else {
        tx.execute(
            "INSERT INTO drafts (conv, text) VALUES ($1, $2) \
             ON CONFLICT (conv) DO UPDATE SET text = EXCLUDED.text",
            &[&conv, &text],
        )
        .await?;
    }
    let has = !text.is_empty();
    tx.execute(
        "UPDATE conversations SET doc = jsonb_set(doc, '{has_draft}', to_jsonb($2::boolean)) \
         WHERE conv = $1",
        &[&conv, &has],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn outbox_get(pool: &Pool, id: &str) -> PgResult<Option<OutboxRecord>> {
    let client = pool.get().await?;
    match client
        .query_opt("SELECT doc FROM outbox WHERE id = $1", &[&id])
        .await?
    {
        Some(r) => Ok(Some(decode(r.get(0))?)),
        None => Ok(None),
    }
}

/// Every record, or only the pending ones, in id order.
pub(super) async fn outbox_records(pool: &Pool, pending_only: bool) -> PgResult<Vec<OutboxRecord>> {
    let client = pool.get().await?;
    client
        .query(
            "SELECT doc FROM outbox WHERE state = 'pending' OR NOT $1 ORDER BY id",
            &[&pending_only],
        )
        .await?
        .into_iter()
        .map(|r| decode(r.get(0)))
        .collect()
}

pub(super) async fn next_id(pool: &Pool) -> PgResult<u64> {
    let client = pool.get().await?;
    let n: i64 = client.query_one("SELECT nextval('ids')", &[]).await?.get(0);
    Ok(n as u64)
}

// ---- meta: small named values -----------------------------------------------

pub(super) async fn meta_get<T: DeserializeOwned>(pool: &Pool, key: &str) -> PgResult<Option<T>> {
    let client = pool.get().await?;
    match client
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
        .await?
    {
        Some(r) => Ok(Some(decode(r.get(0))?)),
        None => Ok(None),
    }
}

pub(super) async fn meta_put<T: Serialize>(pool: &Pool, key: &str, v: &T) -> PgResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &encode(v)],
        )
        .await?;
    Ok(())
}

pub(super) async fn meta_delete(pool: &Pool, key: &str) -> PgResult<()> {
    let client = pool.get().await?;
    client
        .execute("DELETE FROM meta WHERE key = $1", &[&key])
        .await?;
    Ok(())
}

/// The dead mark if it was made for this token; a mark for another (older)
/// token is removed, only if it is still that mark.
pub(super) async fn token_dead(
    pool: &Pool,
    key: &str,
    fingerprint: &str,
) -> PgResult<Option<DeadToken>> {
    let Some(d) = meta_get::<DeadToken>(pool, key).await? else {
        return Ok(None);
    };
    if d.fingerprint == fingerprint {
        return Ok(Some(d));
    }
    let client = pool.get().await?;
    client
        .execute(
            "DELETE FROM meta WHERE key = $1 AND value->>'fingerprint' = $2",
            &[&key, &d.fingerprint],
        )
        .await?;
    Ok(None)
}
