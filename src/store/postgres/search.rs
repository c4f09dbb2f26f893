//! The search index on PostgreSQL: the same signatures as the embedded
//! backend (`crate::search`) in `search_sig`, merged with `|` by apply's
//! transaction, and the query that reads them.

use super::{decode, keys, query, PgResult};
use crate::domain::{ConvKey, Conversation, Message, TimestampMs};
use crate::search::{
    BuildProgress, Needle, Pending, SearchFrom, SearchHit, SearchResults, Signature, BUDGET,
};
use deadpool_postgres::Pool;
use std::collections::HashMap;
use std::time::Instant;
use tokio_postgres::GenericClient;

/// Set in `meta` once the messages written before the index existed are in it.
const INDEXED: &str = "search_indexed";
/// Messages read per step of that one-time build.
const BUILD_STEP: i64 = 5_000;
/// Messages read per step of a candidate's verification, newest first.
const VERIFY_STEP: i64 = 256;

/// Parameter `$n` (signature bytes) as a `bit(2048)` value.
fn sig_param(n: u8) -> String {
    format!("('x' || encode(${n}, 'hex'))::bit(2048)")
}

async fn merge(client: &impl GenericClient, conv: &[u8], sig: &Signature) -> PgResult<()> {
    client
        .execute(
            &format!(
                "INSERT INTO search_sig (conv, sig) VALUES ($1, {}) \
                 ON CONFLICT (conv) DO UPDATE SET sig = search_sig.sig | EXCLUDED.sig",
                sig_param(2)
            ),
            &[&conv, &&sig.0[..]],
        )
        .await?;
    Ok(())
}

/// Apply's part, inside its transaction (the `|` keeps it right when two
/// processes index one conversation at once).
pub(super) async fn write_pending(
    tx: &tokio_postgres::Transaction<'_>,
    pending: &mut Pending,
) -> PgResult<()> {
    for (conv, sig) in pending.take() {
        merge(tx, &keys::conv(&conv), &sig).await?;
    }
    Ok(())
}

/// A database written before the index existed: index its messages once,
/// in the background (searches meanwhile say how far it got). New
/// messages are indexed by apply from the start.
pub(super) async fn index_old_messages(pool: Pool, progress: BuildProgress) -> PgResult<()> {
    if query::meta_get::<u64>(&pool, INDEXED).await?.is_some() {
        return Ok(());
    }
    let client = pool.get().await?;
    let any = client
        .query_opt("SELECT 1 FROM messages LIMIT 1", &[])
        .await?
        .is_some();
    drop(client);
    if !any {
        return query::meta_put(&pool, INDEXED, &1u64).await;
    }
    progress.set(Some(0));
    tokio::spawn(async move {
        if let Err(e) = build(&pool, &progress).await {
            progress.set(None);
            tracing::warn!(error = ?e, "building the search index stopped; it resumes at the next start");
        }
    });
    Ok(())
}

async fn build(pool: &Pool, progress: &BuildProgress) -> PgResult<()> {
    tracing::info!("building the search index of messages stored before it existed");
    let total = query::conversation_count(pool).await?;
    let mut after: Vec<u8> = vec![];
    let mut convs_done = 0u64;
    loop {
        let client = pool.get().await?;
        let rows = client
            .query(
                "SELECT skey, doc FROM messages WHERE skey > $1 ORDER BY skey LIMIT $2",
                &[&after, &BUILD_STEP],
            )
            .await?;
        if rows.is_empty() {
            query::meta_put(pool, INDEXED, &1u64).await?;
            progress.set(None);
            tracing::info!("search index built");
            return Ok(());
        }
        let mut step: HashMap<ConvKey, Signature> = HashMap::new();
        for r in rows {
            after = r.get(0);
            let m: Message = decode(r.get(1))?;
            if let Some(t) = m.text.as_deref().filter(|_| !m.deleted) {
                step.entry(m.conv).or_default().add_text(t);
            }
        }
        convs_done += step.len() as u64;
        for (conv, sig) in step {
            merge(&**client, &keys::conv(&conv), &sig).await?;
        }
        progress.set_part(convs_done, total);
    }
}

pub(super) async fn search(
    pool: &Pool,
    query: &str,
    from: Option<SearchFrom>,
    limit: usize,
    progress: BuildProgress,
) -> PgResult<SearchResults> {
    let started = Instant::now();
    let (Some(q), Some(needle)) = (Signature::of_query(query), Needle::new(query)) else {
        return Ok(SearchResults::default());
    };
    let client = pool.get().await?;
    // Candidates' keys only, in the list's order (after `from`: the list
    // sorts by activity descending, then key ascending); rows are read for hits.
    let (after_ts, after_conv) = match &from {
        Some(f) => (f.activity.0, keys::conv(&f.conv)),
        None => (i64::MAX, vec![]),
    };
    let candidates = client
        .query(
            &format!(
                "SELECT s.conv, c.last_activity FROM search_sig s \
                 JOIN conversations c ON c.conv = s.conv \
                 WHERE s.sig & {q} = {q} \
                 AND (c.last_activity < $2 OR (c.last_activity = $2 AND c.conv > $3)) \
                 ORDER BY c.last_activity DESC, c.conv",
                q = sig_param(1)
            ),
            &[&&q.0[..], &after_ts, &after_conv],
        )
        .await?;
    let mut out = SearchResults {
        indexing: progress.get(),
        ..SearchResults::default()
    };
    // The last candidate looked at (the ones in between failed the filter).
    let mut last: Option<(Vec<u8>, i64)> = None;
    for row in &candidates {
        if out.hits.len() >= limit || (!out.hits.is_empty() && started.elapsed() > BUDGET) {
            out.next = last.and_then(|(conv, ts)| {
                Some(SearchFrom {
                    activity: TimestampMs(ts),
                    // Both backends encode conversation keys alike.
                    conv: super::keys::conv_from(&conv)?.0,
                })
            });
            break;
        }
        let key: Vec<u8> = row.get(0);
        last = Some((key.clone(), row.get(1)));
        let Some(message) = newest_match(&**client, &key, &needle).await? else {
            continue;
        };
        let conv: Option<Conversation> =
            match client.query_opt(query::CONVERSATION, &[&key]).await? {
                Some(r) => Some(decode(r.get(0))?),
                None => None,
            };
        if let Some(conv) = conv {
            out.hits.push(SearchHit { conv, message });
        }
    }
    Ok(out)
}

/// The conversation's newest message that contains the query (only the
/// others' text and unsent flag are read).
async fn newest_match(
    client: &impl GenericClient,
    conv: &[u8],
    needle: &Needle,
) -> PgResult<Option<Message>> {
    let mut end = {
        let mut e = conv.to_vec();
        if let Some(last) = e.last_mut() {
            *last = 1; // the first key after the conversation's (see keys::conv_end)
        }
        e
    };
    loop {
        let rows = client
            .query(
                "SELECT skey, doc->>'text', coalesce((doc->>'deleted')::bool, false) \
                 FROM messages WHERE skey >= $1 AND skey < $2 \
                 ORDER BY skey DESC LIMIT $3",
                &[&conv, &end, &VERIFY_STEP],
            )
            .await?;
        let n = rows.len() as i64;
        for r in rows {
            end = r.get(0);
            let text: Option<&str> = r.get(1);
            let deleted: bool = r.get(2);
            if !deleted && text.is_some_and(|t| needle.in_text(t)) {
                let doc = client
                    .query_one("SELECT doc FROM messages WHERE skey = $1", &[&end])
                    .await?;
                return Ok(Some(decode(doc.get(0))?));
            }
        }
        if n < VERIFY_STEP {
            return Ok(None);
        }
    }
}
