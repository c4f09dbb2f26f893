//! `dmdesk migrate --to postgres`: copy a sled store into an empty
//! PostgreSQL database, a team's move from one machine to a shared database.
//!
//! Every record keeps its key and is inserted only if absent, so the copy
//! can be run again (after an interruption, or to pick up what the old
//! store received meanwhile) and adds nothing twice. The database must be
//! empty or a copy of this same store (a `meta` mark says which). At the
//! end the rows of each table are counted on both sides.

pub mod cli;
mod progress;

use crate::domain::ConvKey;
use crate::store::postgres::{CopyRows, PgStore};
use crate::store::{Store, StoreError};
use progress::Progress;
use std::collections::BTreeSet;

/// Records per insert transaction.
const BATCH: usize = 1000;
/// The `meta` key naming the store this database is a copy of.
const SOURCE_KEY: &str = "migrated_from";

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the database already holds other data ({0}); migrate copies into an empty database \
         (or one that is a copy of this same store)"
    )]
    NotEmpty(String),
    #[error("count check failed: {0}")]
    Counts(String),
}

/// One table's rows: in the store, new in the database this run, and in
/// the database at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub source: u64,
    pub added: u64,
    pub target: u64,
}

/// Copy `source` into `target`; progress on stderr (a bar on a terminal).
pub fn to_postgres(source: &dyn Store, target: &PgStore) -> Result<Vec<TableCount>, MigrateError> {
    let identity = source.path().display().to_string();
    let before = target.table_counts()?;
    let held: Vec<String> = before
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    let mark = target.meta_text(SOURCE_KEY)?;
    if !held.is_empty() && mark.as_deref() != Some(identity.as_str()) {
        return Err(MigrateError::NotEmpty(held.join(", ")));
    }
    // Marked first, so an interrupted copy can be run again.
    target.set_meta_text(SOURCE_KEY, &identity)?;

    let mut counts: Vec<TableCount> = crate::store::postgres::TABLES
        .iter()
        .map(|t| TableCount {
            table: t,
            source: 0,
            added: 0,
            target: 0,
        })
        .collect();
    let mut tally = |table: &str, source: u64, added: u64| {
        let c = counts
            .iter_mut()
            .find(|c| c.table == table)
            .expect("a known table");
        c.source += source;
        c.added += added;
    };
    let progress = Progress::new();

    // Contacts, conversations and messages, in batches.
    let step = progress.step("contacts", None);
    copy_rows(source.all_contacts(), &step, |v| {
        let n = v.len() as u64;
        let (added, _) = target.copy_in(CopyRows::Contacts(v))?;
        tally("contacts", n, added);
        Ok(())
    })?;
    step.finish();

    let mut accounts = BTreeSet::new();
    let mut with_draft: Vec<ConvKey> = Vec::new();
    // Set-aside notes have no flag on the conversation: every one is asked.
    let step = progress.step("conversations", source.conversation_count().ok());
    copy_rows(source.all_conversations(), &step, |v| {
        for c in &v {
            accounts.insert(c.key.account.as_str().to_string());
            if c.has_draft {
                with_draft.push(c.key.clone());
            }
        }
        let n = v.len() as u64;
        let (added, _) = target.copy_in(CopyRows::Conversations(v))?;
        tally("conversations", n, added);
        Ok(())
    })?;
    step.finish();

    let step = progress.step("messages", None);
    copy_rows(source.all_messages(), &step, |v| {
        let n = v.len() as u64;
        let (added, _) = target.copy_in(CopyRows::Messages(v))?;
        tally("messages", n, added);
        Ok(())
    })?;
    step.finish();

    // Drafts: the conversations that say they have one.
    let step = progress.step("drafts", Some(with_draft.len() as u64));
    let mut drafts = Vec::new();
    for k in with_draft {
        if let Some(text) = source.draft(&k)? {
            drafts.push((k, text));
        }
        step.inc(1);
    }
    let n = drafts.len() as u64;
    let (added, _) = target.copy_in(CopyRows::Drafts(drafts))?;
    tally("drafts", n, added);
    step.finish();

    // Private notes set aside half-written: written only where the
    // database has none, so a second run adds nothing.
    let kept = source.note_drafts()?;
    let step = progress.step("note drafts", Some(kept.len() as u64));
    let (n, mut added) = (kept.len() as u64, 0);
    for (k, text) in kept {
        if target.note_draft(&k)?.is_none() {
            target.set_note_draft(&k, &text)?;
            added += 1;
        }
        step.inc(1);
    }
    tally("note_drafts", n, added);
    step.finish();

    // Outbox records, then the record ids past every one the source gave.
    let outbox = source.all_outbox()?;
    let step = progress.step("outbox", Some(outbox.len() as u64));
    for batch in outbox.chunks(BATCH) {
        let n = batch.len() as u64;
        let (added, _) = target.copy_in(CopyRows::Outbox(batch.to_vec()))?;
        tally("outbox", n, added);
        step.inc(n);
    }
    target.ids_at_least(source.next_id()?)?;
    step.finish();

    let campaigns = source.campaigns_list()?;
    let step = progress.step("campaigns", Some(campaigns.len() as u64));
    for c in campaigns {
        let recipients = source.campaign_recipients(&c.id)?;
        let r = recipients.len() as u64;
        let (added, added_r) = target.copy_in(CopyRows::Campaign(Box::new(c), recipients))?;
        tally("campaigns", 1, added);
        tally("campaign_recipients", r, added_r);
        step.inc(1);
    }
    step.finish();

    let step = progress.step("events", None);
    copy_rows(source.all_events(), &step, |v| {
        let n = v.len() as u64;
        let q = v
            .iter()
            .filter(|e| matches!(e.state, crate::store::EventState::Quarantined(_)))
            .count() as u64;
        let (added, added_q) = target.copy_in(CopyRows::Events(v))?;
        tally("events", n, added);
        tally("quarantine", q, added_q);
        Ok(())
    })?;
    step.finish();

    // The team's records: history (with its ids), notes, mailboxes.
    let step = progress.step("history", None);
    copy_rows(source.all_history(), &step, |v| {
        let n = v.len() as u64;
        let (added, _) = target.copy_in(CopyRows::History(v))?;
        tally("history", n, added);
        Ok(())
    })?;
    step.finish();
    // The report's facts of the history just copied (computed from it).
    let step = progress.step("report facts", None);
    target.rebuild_report_facts()?;
    step.finish();
    let step = progress.step("notes", None);
    copy_rows(source.all_notes(), &step, |v| {
        let n = v.len() as u64;
        let (added, _) = target.copy_in(CopyRows::Notes(v))?;
        tally("notes", n, added);
        Ok(())
    })?;
    step.finish();
    let step = progress.step("mailboxes", None);
    copy_rows(source.all_mail(), &step, |v| {
        let n = v.len() as u64;
        let (added, _) = target.copy_in(CopyRows::Mail(v))?;
        tally("mailbox", n, added);
        Ok(())
    })?;
    step.finish();
    target.ids_at_least(source.next_id()?)?;

    // The ingest mark and each account's last sync.
    let mut meta = vec![(
        "ingest_applied".to_string(),
        serde_json::json!(source.applied_seq()?),
    )];
    for a in &accounts {
        if let Some(at) = source.last_sync(a)? {
            meta.push((format!("last_sync:{a}"), serde_json::json!(at)));
        }
    }
    target.copy_in(CopyRows::Meta(meta))?;

    // The count check.
    let after = target.table_counts()?;
    let mut wrong = Vec::new();
    for c in &mut counts {
        c.target = after.iter().find(|(t, _)| *t == c.table).map_or(0, |x| x.1);
        if c.target != c.source {
            wrong.push(format!(
                "{}: {} in the store, {} in the database",
                c.table, c.source, c.target
            ));
        }
    }
    if !wrong.is_empty() {
        return Err(MigrateError::Counts(wrong.join("; ")));
    }
    Ok(counts)
}

/// Feed `rows` to `put` in batches, counting on `step`.
fn copy_rows<T>(
    rows: crate::store::Rows<'_, T>,
    step: &progress::Step,
    mut put: impl FnMut(Vec<T>) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    let mut batch = Vec::with_capacity(BATCH);
    for r in rows {
        batch.push(r?);
        if batch.len() == BATCH {
            step.inc(BATCH as u64);
            put(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))?;
        }
    }
    step.inc(batch.len() as u64);
    if !batch.is_empty() {
        put(batch)?;
    }
    Ok(())
}
