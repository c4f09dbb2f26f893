//! A private note set aside half-written, one per conversation (table
//! `note_drafts`, V8), beside the reply drafts.

use super::{keys, PgResult};
use crate::domain::ConvKey;
use deadpool_postgres::Pool;

pub(super) async fn get(pool: &Pool, conv: &[u8]) -> PgResult<Option<String>> {
    let client = pool.get().await?;
    Ok(client
        .query_opt("SELECT text FROM note_drafts WHERE conv = $1", &[&conv])
        .await?
        .map(|r| r.get(0)))
}

/// Every one, with its conversation (a key that does not decode is skipped).
pub(super) async fn all(pool: &Pool) -> PgResult<Vec<(ConvKey, String)>> {
    let client = pool.get().await?;
    let rows = client
        .query("SELECT conv, text FROM note_drafts ORDER BY conv", &[])
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let (conv, text): (&[u8], String) = (r.get(0), r.get(1));
            Some((keys::conv_from(conv)?.0, text))
        })
        .collect())
}

/// An empty text removes it.
pub(super) async fn set(pool: &Pool, conv: &[u8], text: &str) -> PgResult<()> {
    let client = pool.get().await?;
    if text.is_empty() {
        client
            .execute("DELETE FROM note_drafts WHERE conv = $1", &[&conv])
            .await?;
    } else {
        client
            .execute(
                "INSERT INTO note_drafts (conv, text) VALUES ($1, $2) \
                 ON CONFLICT (conv) DO UPDATE SET text = EXCLUDED.text",
                &[&conv, &text],
            )
            .await?;
    }
    Ok(())
}
