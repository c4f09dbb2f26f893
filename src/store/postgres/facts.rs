//! Report facts on PostgreSQL (`report::facts`, table `report_facts`,
//! V7): written by apply in the event's transaction, as on sled: openings
//! and replies by themselves, a status change (or an opening older than
//! its conversation's newest event) recomputes that conversation's facts
//! from its history in time order. History from before V7 is filled once
//! by `FILL`, the same rules in SQL (`dmdesk migrate` runs it too).

use super::rows::pages;
use super::{decode, keys, query, PgResult, PgStore};
use crate::domain::{AccountId, ConvKey, Platform, TimestampMs};
use crate::report::facts::{moves_openings, of_conversation, standalone};
use crate::report::{Fact, FactKind};
use crate::store::{Rows, StoreError};
use crate::team::{AgentName, HistoryEvent, HistoryKind};
use deadpool_postgres::Pool;
use tokio_postgres::Transaction;

/// The meta key: every history event has its fact.
const BUILT: &str = "report_facts_built";

const UPSERT: &str =
    "INSERT INTO report_facts (id, at, platform, account, agent, kind, ms, in_window) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (id) DO UPDATE SET ms = EXCLUDED.ms, in_window = EXCLUDED.in_window";

/// Every fact of the history, by the rules of `report::facts::Openings`:
/// a resolution's time runs from the conversation's latest opening (an
/// opening, or a status change out of resolved) before it, if no other
/// resolution came between.
pub const FILL: &str = "
INSERT INTO report_facts (id, at, platform, account, agent, kind, ms, in_window)
SELECT id, at, doc->'conv'->>'platform', doc->'conv'->>'account', doc->>'by', 0, NULL, false
  FROM history WHERE doc->'kind'->>'kind' = 'opened'
UNION ALL
SELECT id, at, doc->'conv'->>'platform', doc->'conv'->>'account', doc->>'by', 2,
       CASE WHEN (doc->'kind'->>'first')::boolean
                 AND doc->'kind'->>'waited_ms' IS NOT NULL
            THEN GREATEST((doc->'kind'->>'waited_ms')::bigint, 0) END,
       (doc->'kind'->>'in_window')::boolean
  FROM history WHERE doc->'kind'->>'kind' = 'replied'
UNION ALL
SELECT id, at, doc->'conv'->>'platform', doc->'conv'->>'account', doc->>'by', 1,
       CASE WHEN prev_mark = 'open' THEN at - prev_at END, false
  FROM (SELECT id, at, doc, mark,
               lag(mark) OVER w AS prev_mark, lag(at) OVER w AS prev_at
          FROM (SELECT id, at, conv, doc,
                       CASE WHEN doc->'kind'->>'kind' = 'opened' THEN 'open'
                            WHEN doc->'kind'->>'from' = 'resolved'
                                 AND doc->'kind'->>'to' <> 'resolved' THEN 'open'
                            WHEN doc->'kind'->>'to' = 'resolved' THEN 'resolved'
                       END AS mark
                  FROM history WHERE doc->'kind'->>'kind' IN ('opened', 'status')) m
         WHERE mark IS NOT NULL
        WINDOW w AS (PARTITION BY conv ORDER BY at, id)) s
 WHERE mark = 'resolved'
ON CONFLICT (id) DO UPDATE SET ms = EXCLUDED.ms, in_window = EXCLUDED.in_window";

async fn put(tx: &Transaction<'_>, id: i64, f: &Fact) -> PgResult<()> {
    let (kind, ms, in_window) = match f.kind {
        FactKind::Opened => (0i16, None, false),
        FactKind::Resolved { took_ms } => (1, took_ms, false),
        FactKind::Replied {
            in_window,
            first_response_ms,
        } => (2, first_response_ms, in_window),
    };
    tx.execute(
        UPSERT,
        &[
            &id,
            &f.at.0,
            &f.platform.as_str(),
            &f.account.0,
            &f.by.as_ref().map(|a| a.as_str()),
            &kind,
            &ms,
            &in_window,
        ],
    )
    .await?;
    Ok(())
}

/// Apply's part: the facts of events just inserted (with their ids).
pub(super) async fn record(tx: &Transaction<'_>, events: &[(i64, HistoryEvent)]) -> PgResult<()> {
    let mut recompute: Vec<&ConvKey> = Vec::new();
    for (id, e) in events {
        if recompute.contains(&&e.conv) {
            continue;
        }
        let in_order = !moves_openings(&e.kind)
            || (matches!(e.kind, HistoryKind::Opened) && !older_than_newest(tx, *id, e).await?);
        if in_order {
            if let Some(f) = standalone(e) {
                put(tx, *id, &f).await?;
            }
        } else {
            recompute.push(&e.conv);
        }
    }
    for conv in recompute {
        let rows = tx
            .query(
                "SELECT id, doc FROM history WHERE conv = $1 ORDER BY at, id",
                &[&keys::conv(conv)],
            )
            .await?;
        let mut evs = Vec::with_capacity(rows.len());
        for r in rows {
            evs.push((r.get::<_, i64>(0), decode::<HistoryEvent>(r.get(1))?));
        }
        for (i, f) in of_conversation(evs.iter().map(|(_, e)| e)) {
            put(tx, evs[i].0, &f).await?;
        }
    }
    Ok(())
}

async fn older_than_newest(tx: &Transaction<'_>, id: i64, e: &HistoryEvent) -> PgResult<bool> {
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM history WHERE conv = $1 AND (at, id) > ($2, $3))",
            &[&keys::conv(&e.conv), &e.at.0, &id],
        )
        .await?;
    Ok(row.get(0))
}

/// Fill the facts of the whole history (a database from before V7, or
/// history `dmdesk migrate` copied in) and mark them built.
pub(super) async fn fill(pool: &Pool) -> PgResult<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute(FILL).await?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&BUILT, &serde_json::json!(true)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// On open: a database with history but no facts fills them once, in the
/// background (reports read the history meanwhile).
pub(super) async fn build_once(pool: Pool) -> PgResult<()> {
    if query::meta_get::<bool>(&pool, BUILT).await? == Some(true) {
        return Ok(());
    }
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match fill(&pool).await {
            Ok(()) => tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "report facts built"
            ),
            Err(e) => {
                tracing::warn!(error = ?e, "filling the report facts stopped; it starts again at the next open")
            }
        }
    });
    Ok(())
}

/// `Store::report_facts`: None until built.
pub(super) fn report_facts(
    store: &PgStore,
    from: TimestampMs,
) -> crate::store::Result<Option<Rows<'_, Fact>>> {
    let built = store.run(|p| async move { query::meta_get::<bool>(&p, BUILT).await })?;
    if built != Some(true) {
        return Ok(None);
    }
    const PAGE: i64 = 20_000;
    Ok(Some(pages(
        store,
        (from.0, -1i64),
        move |pool, (at, id)| async move {
            let client = pool.get().await?;
            let rows = client
            .query(
                "SELECT at, id, platform, account, agent, kind, ms, in_window FROM report_facts \
                 WHERE (at, id) > ($1, $2) ORDER BY at, id LIMIT $3",
                &[&at, &id, &PAGE],
            )
            .await?;
            rows.into_iter()
                .map(|r| {
                    let at: i64 = r.get(0);
                    let platform: &str = r.get(2);
                    let platform = Platform::parse(platform).ok_or_else(|| {
                        StoreError::Corrupt(format!("report fact: platform {platform}"))
                    })?;
                    let ms: Option<i64> = r.get(6);
                    let kind = match r.get::<_, i16>(5) {
                        0 => FactKind::Opened,
                        1 => FactKind::Resolved { took_ms: ms },
                        2 => FactKind::Replied {
                            in_window: r.get(7),
                            first_response_ms: ms,
                        },
                        k => {
                            return Err(StoreError::Corrupt(format!("report fact: kind {k}")).into())
                        }
                    };
                    let fact = Fact {
                        at: TimestampMs(at),
                        platform,
                        account: AccountId(r.get(3)),
                        by: r.get::<_, Option<String>>(4).map(AgentName),
                        kind,
                    };
                    Ok(((at, r.get::<_, i64>(1)), fact))
                })
                .collect()
        },
    )))
}
