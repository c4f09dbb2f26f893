//! Campaigns and their recipients. A recipient's state is a column beside
//! its document, so claiming one is a single conditional UPDATE: of two
//! runners in two processes, exactly one moves it out of `queued`.

use super::{decode, encode, PgResult};
use crate::domain::TimestampMs;
use crate::store::{
    CampaignRecord, CampaignStatus, NewRecipient, RecipientRecord, RecipientState, StoreError, Swap,
};
use deadpool_postgres::Pool;

pub(super) struct NewCampaign {
    pub title: String,
    pub text: String,
    pub tag: Option<String>,
    pub created_by: Option<String>,
    pub recipients: Vec<NewRecipient>,
    pub now: TimestampMs,
}

/// The campaign and all its recipients in one transaction.
pub(super) async fn create(pool: &Pool, new: NewCampaign) -> PgResult<CampaignRecord> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let n: i64 = tx.query_one("SELECT nextval('ids')", &[]).await?.get(0);
    // Short and printable, like the embedded backend's: `c` + base 36.
    let id = format!("c{}", base36(n as u64));
    let rec = CampaignRecord {
        id: id.clone(),
        title: new.title,
        text: new.text,
        tag: new.tag,
        created_by: new.created_by,
        created_at: new.now,
        status: CampaignStatus::Running,
        status_reason: None,
        total: new.recipients.len() as u64,
        finished_at: None,
    };
    tx.execute(
        "INSERT INTO campaigns (id, created_at, doc) VALUES ($1, $2, $3)",
        &[&id, &rec.created_at.0, &encode(&rec)],
    )
    .await?;
    let insert = tx
        .prepare(
            "INSERT INTO campaign_recipients (campaign, idx, state, doc) VALUES ($1, $2, $3, $4)",
        )
        .await?;
    for (i, r) in new.recipients.into_iter().enumerate() {
        let index =
            u32::try_from(i).map_err(|_| StoreError::Corrupt("too many recipients".into()))?;
        let rr = RecipientRecord {
            campaign: id.clone(),
            index,
            state: if r.skip.is_some() {
                RecipientState::Skipped
            } else {
                RecipientState::Queued
            },
            conv: r.conv,
            reason: r.skip,
            mid: None,
            outbox_id: None,
            attempts: 0,
            updated_at: new.now,
        };
        tx.execute(
            &insert,
            &[&id, &(index as i32), &rr.state.as_str(), &encode(&rr)],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rec)
}

pub(super) async fn get(pool: &Pool, id: &str) -> PgResult<Option<CampaignRecord>> {
    let client = pool.get().await?;
    match client
        .query_opt("SELECT doc FROM campaigns WHERE id = $1", &[&id])
        .await?
    {
        Some(r) => Ok(Some(decode(r.get(0))?)),
        None => Ok(None),
    }
}

/// Every campaign, oldest first.
pub(super) async fn list(pool: &Pool) -> PgResult<Vec<CampaignRecord>> {
    let client = pool.get().await?;
    client
        .query("SELECT doc FROM campaigns ORDER BY created_at, id", &[])
        .await?
        .into_iter()
        .map(|r| decode(r.get(0)))
        .collect()
}

pub(super) async fn put(pool: &Pool, rec: &CampaignRecord) -> PgResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO campaigns (id, created_at, doc) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc",
            &[&rec.id, &rec.created_at.0, &encode(rec)],
        )
        .await?;
    Ok(())
}

pub(super) async fn recipients(pool: &Pool, id: &str) -> PgResult<Vec<RecipientRecord>> {
    let client = pool.get().await?;
    client
        .query(
            "SELECT doc FROM campaign_recipients WHERE campaign = $1 ORDER BY idx",
            &[&id],
        )
        .await?
        .into_iter()
        .map(|r| decode(r.get(0)))
        .collect()
}

pub(super) async fn recipient(
    pool: &Pool,
    id: &str,
    index: u32,
) -> PgResult<Option<RecipientRecord>> {
    let client = pool.get().await?;
    match client
        .query_opt(
            "SELECT doc FROM campaign_recipients WHERE campaign = $1 AND idx = $2",
            &[&id, &(index as i32)],
        )
        .await?
    {
        Some(r) => Ok(Some(decode(r.get(0))?)),
        None => Ok(None),
    }
}

pub(super) async fn put_recipient(pool: &Pool, r: &RecipientRecord) -> PgResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO campaign_recipients (campaign, idx, state, doc) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (campaign, idx) DO UPDATE SET state = EXCLUDED.state, doc = EXCLUDED.doc",
            &[
                &r.campaign,
                &(r.index as i32),
                &r.state.as_str(),
                &encode(r),
            ],
        )
        .await?;
    Ok(())
}

/// Write `r` only if the stored recipient is still in state `expect`.
pub(super) async fn swap_recipient(
    pool: &Pool,
    r: &RecipientRecord,
    expect: RecipientState,
) -> PgResult<Swap<RecipientRecord>> {
    let client = pool.get().await?;
    let n = client
        .execute(
            "UPDATE campaign_recipients SET state = $3, doc = $4 \
             WHERE campaign = $1 AND idx = $2 AND state = $5",
            &[
                &r.campaign,
                &(r.index as i32),
                &r.state.as_str(),
                &encode(r),
                &expect.as_str(),
            ],
        )
        .await?;
    if n == 1 {
        return Ok(Swap::Done);
    }
    let current = client
        .query_opt(
            "SELECT doc FROM campaign_recipients WHERE campaign = $1 AND idx = $2",
            &[&r.campaign, &(r.index as i32)],
        )
        .await?
        .map(|row| decode(row.get(0)))
        .transpose()?;
    Ok(Swap::Lost(current))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut v = Vec::new();
    loop {
        v.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    v.reverse();
    String::from_utf8(v).expect("base36 digits are ASCII")
}
