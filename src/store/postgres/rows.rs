//! Whole-table scans (export, sweeps) as iterators that read one page at a
//! time in key order, so a million messages never sit in memory at once.

use super::{decode, PgResult, PgStore};
use crate::store::{Result, Rows};
use deadpool_postgres::Pool;
use serde::de::DeserializeOwned;
use std::future::Future;

/// Rows per page.
pub(super) const PAGE: i64 = 1000;

/// Rows read page by page: `fetch(pool, cursor)` returns the rows after the
/// cursor, each with its own cursor; an empty page ends the scan.
pub(super) fn pages<'s, C, T, F, Fut>(store: &'s PgStore, start: C, mut fetch: F) -> Rows<'s, T>
where
    C: Clone + Send + 'static,
    T: Send + 'static,
    F: FnMut(Pool, C) -> Fut + Send + 's,
    Fut: Future<Output = PgResult<Vec<(C, T)>>> + Send + 'static,
{
    let mut cursor = Some(start);
    let mut page: std::vec::IntoIter<T> = Vec::new().into_iter();
    Box::new(std::iter::from_fn(move || -> Option<Result<T>> {
        loop {
            if let Some(t) = page.next() {
                return Some(Ok(t));
            }
            let after = cursor.take()?;
            let fut = fetch(store.pool.clone(), after);
            match store.run(move |_| fut) {
                Ok(rows) if rows.is_empty() => return None,
                Ok(rows) => {
                    cursor = rows.last().map(|(c, _)| c.clone());
                    page = rows
                        .into_iter()
                        .map(|(_, t)| t)
                        .collect::<Vec<_>>()
                        .into_iter();
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }))
}

/// Tables of one JSON document per byte key.
#[derive(Clone, Copy)]
pub(super) enum Table {
    Messages,
    Contacts,
    Conversations,
}

impl Table {
    fn sql(self) -> &'static str {
        match self {
            Table::Messages => {
                "SELECT skey, doc FROM messages WHERE skey > $1 ORDER BY skey LIMIT $2"
            }
            Table::Contacts => {
                "SELECT conv, doc FROM contacts WHERE conv > $1 ORDER BY conv LIMIT $2"
            }
            Table::Conversations => {
                "SELECT conv, doc FROM conversations WHERE conv > $1 ORDER BY conv LIMIT $2"
            }
        }
    }
}

/// Every document of `table` in key order.
pub(super) fn paged<T: DeserializeOwned + Send + 'static>(
    store: &PgStore,
    table: Table,
) -> Rows<'_, T> {
    pages(store, Vec::<u8>::new(), move |pool, after| async move {
        let client = pool.get().await?;
        let rows = client.query(table.sql(), &[&after, &PAGE]).await?;
        rows.into_iter()
            .map(|r| Ok((r.get::<_, Vec<u8>>(0), decode(r.get(1))?)))
            .collect()
    })
}
