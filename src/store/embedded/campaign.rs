//! Campaigns and their per-recipient state. Every state change of a
//! recipient is one record write; the runner makes `in_flight` durable
//! before it calls Meta, so a crash never leads to a second send.
//!
//! Keys: `campaigns`: id → record; `campaign_recipients`: id `/` index (u32
//! big-endian) → record, so one campaign's recipients are one prefix scan in
//! the order they were given.

use super::{decode, encode, Result, SledStore};
use crate::domain::TimestampMs;
use crate::store::{
    CampaignRecord, CampaignStatus, NewRecipient, RecipientRecord, RecipientState, StoreError, Swap,
};

fn recipient_key(campaign: &str, index: u32) -> Vec<u8> {
    let mut k = recipient_prefix(campaign);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn recipient_prefix(campaign: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(campaign.len() + 5);
    k.extend_from_slice(campaign.as_bytes());
    k.push(b'/');
    k
}

impl SledStore {
    /// Write a campaign and all its recipients (queued, or skipped with the
    /// preview's reason). Callers make it durable before sending.
    #[allow(clippy::too_many_arguments)]
    pub fn create_campaign(
        &self,
        title: &str,
        text: &str,
        tag: Option<&str>,
        created_by: Option<&str>,
        recipients: &[NewRecipient],
        now: TimestampMs,
    ) -> Result<CampaignRecord> {
        // Short and printable: `c` + the store's monotonic id in base 36.
        let id = format!("c{}", base36(self.db.generate_id()?));
        let rec = CampaignRecord {
            id: id.clone(),
            title: title.to_string(),
            text: text.to_string(),
            tag: tag.map(str::to_string),
            created_by: created_by.map(str::to_string),
            created_at: now,
            status: CampaignStatus::Running,
            status_reason: None,
            total: recipients.len() as u64,
            finished_at: None,
        };
        let mut batch = sled::Batch::default();
        for (i, r) in recipients.iter().enumerate() {
            let index =
                u32::try_from(i).map_err(|_| StoreError::Corrupt("too many recipients".into()))?;
            let rr = RecipientRecord {
                campaign: id.clone(),
                index,
                conv: r.conv.clone(),
                state: if r.skip.is_some() {
                    RecipientState::Skipped
                } else {
                    RecipientState::Queued
                },
                reason: r.skip.clone(),
                mid: None,
                outbox_id: None,
                attempts: 0,
                updated_at: now,
            };
            batch.insert(recipient_key(&id, index), encode(&rr));
        }
        self.campaign_recipients.apply_batch(batch)?;
        // The campaign record last: a campaign that exists has all its recipients.
        self.campaigns.insert(id.as_bytes(), encode(&rec))?;
        Ok(rec)
    }

    pub fn campaign(&self, id: &str) -> Result<Option<CampaignRecord>> {
        self.campaigns
            .get(id.as_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Every campaign, oldest first.
    pub fn campaigns_list(&self) -> Result<Vec<CampaignRecord>> {
        let mut v: Vec<CampaignRecord> = self
            .campaigns
            .iter()
            .values()
            .map(|r| decode(&r?))
            .collect::<Result<_>>()?;
        v.sort_by_key(|c| c.created_at);
        Ok(v)
    }

    pub fn put_campaign(&self, rec: &CampaignRecord) -> Result<()> {
        self.campaigns.insert(rec.id.as_bytes(), encode(rec))?;
        Ok(())
    }

    /// A campaign's recipients in the order they were given.
    pub fn campaign_recipients(&self, id: &str) -> Result<Vec<RecipientRecord>> {
        self.campaign_recipients
            .scan_prefix(recipient_prefix(id))
            .values()
            .map(|r| decode(&r?))
            .collect()
    }

    pub fn campaign_recipient(&self, id: &str, index: u32) -> Result<Option<RecipientRecord>> {
        self.campaign_recipients
            .get(recipient_key(id, index))?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Write one recipient's state (not yet durable: call `durable()`).
    pub fn put_recipient(&self, r: &RecipientRecord) -> Result<()> {
        self.campaign_recipients
            .insert(recipient_key(&r.campaign, r.index), encode(r))?;
        Ok(())
    }

    /// Write `r` if the stored recipient is still in state `expect`.
    pub fn swap_recipient(
        &self,
        r: &RecipientRecord,
        expect: RecipientState,
    ) -> Result<Swap<RecipientRecord>> {
        let key = recipient_key(&r.campaign, r.index);
        loop {
            let cur = self.campaign_recipients.get(&key)?;
            let rec: Option<RecipientRecord> = cur.as_ref().map(|v| decode(v)).transpose()?;
            if rec.as_ref().map(|c| c.state) != Some(expect) {
                return Ok(Swap::Lost(rec));
            }
            // Compare the bytes we read: a concurrent writer makes us look again.
            match self
                .campaign_recipients
                .compare_and_swap(&key, cur, Some(encode(r)))?
            {
                Ok(()) => return Ok(Swap::Done),
                Err(_) => continue,
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_is_short() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }
}
