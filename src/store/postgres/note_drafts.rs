//! A private note set aside half-written, one per conversation (table
//! `note_drafts`, V8), beside the reply drafts.

use super::PgResult;
use deadpool_postgres::Pool;

pub(super) async fn get(pool: &Pool, conv: &[u8]) -> PgResult<Option<String>> {
    let client = pool.get().await?;
    Ok(client
        .query_opt("SELECT text FROM note_drafts WHERE conv = $1", &[&conv])
        .await?
        .map(|r| r.get(0)))
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
