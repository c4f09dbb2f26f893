//! Campaigns and their per-recipient state. Every state change of a
//! recipient is one record write; the runner makes `in_flight` durable
//! before it calls Meta, so a crash never leads to a second send.
//!
//! Keys: `campaigns`: id → record; `campaign_recipients`: id `/` index (u32
//! big-endian) → record, so one campaign's recipients are one prefix scan in
//! the order they were given.

use super::{decode, encode, OutboxState, Result, Store, StoreError};
use crate::domain::{ConvKey, Mid, TimestampMs};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Running,
    Done,
    Cancelled,
    /// Stopped by something that needs the operator (dead token, rate limit
    /// that would not lift); `dmdesk bulk --resume ID` continues it.
    Stopped,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Running => "running",
            CampaignStatus::Done => "done",
            CampaignStatus::Cancelled => "cancelled",
            CampaignStatus::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: String,
    pub title: String,
    pub text: String,
    pub tag: Option<String>,
    pub created_by: Option<String>,
    pub created_at: TimestampMs,
    pub status: CampaignStatus,
    /// Why it stopped or was cancelled.
    pub status_reason: Option<String>,
    pub total: u64,
    pub finished_at: Option<TimestampMs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    Queued,
    /// Written durably just before the Send API call.
    InFlight,
    Sent,
    Failed,
    Skipped,
    /// The process died during the call and no echo proved the send: the
    /// agent decides (never re-sent automatically).
    Unknown,
}

impl RecipientState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Queued => "queued",
            RecipientState::InFlight => "in_flight",
            RecipientState::Sent => "sent",
            RecipientState::Failed => "failed",
            RecipientState::Skipped => "skipped",
            RecipientState::Unknown => "unknown",
        }
    }
    pub fn is_final(self) -> bool {
        !matches!(self, RecipientState::Queued | RecipientState::InFlight)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRecord {
    pub campaign: String,
    pub index: u32,
    pub conv: ConvKey,
    pub state: RecipientState,
    pub reason: Option<String>,
    pub mid: Option<Mid>,
    /// The outbox record of this recipient's message (its echo binds it).
    pub outbox_id: Option<String>,
    /// Send API calls made for this recipient (refused ones included).
    pub attempts: u32,
    pub updated_at: TimestampMs,
}

/// Recipients per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignCounts {
    pub total: u64,
    pub queued: u64,
    pub in_flight: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub unknown: u64,
}

impl CampaignCounts {
    pub fn add(&mut self, s: RecipientState) {
        self.total += 1;
        match s {
            RecipientState::Queued => self.queued += 1,
            RecipientState::InFlight => self.in_flight += 1,
            RecipientState::Sent => self.sent += 1,
            RecipientState::Failed => self.failed += 1,
            RecipientState::Skipped => self.skipped += 1,
            RecipientState::Unknown => self.unknown += 1,
        }
    }
    pub fn done(&self) -> u64 {
        self.total - self.queued - self.in_flight
    }
}

/// One recipient as `dmdesk export --what campaigns` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientExport {
    pub platform: String,
    pub account_id: String,
    pub user_id: String,
    pub state: RecipientState,
    pub reason: Option<String>,
    pub mid: Option<String>,
}

/// One campaign line of `dmdesk export --what campaigns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignExport {
    pub id: String,
    pub title: String,
    pub status: CampaignStatus,
    pub status_reason: Option<String>,
    pub text: String,
    pub tag: Option<String>,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub counts: CampaignCounts,
    pub recipients: Vec<RecipientExport>,
}

/// A new recipient: its conversation and, when the preview already ruled it
/// out, the reason it is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecipient {
    pub conv: ConvKey,
    pub skip: Option<String>,
}

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

impl Store {
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

    /// Campaigns that were running (to resume at start).
    pub fn campaigns_running(&self) -> Result<Vec<CampaignRecord>> {
        Ok(self
            .campaigns_list()?
            .into_iter()
            .filter(|c| c.status == CampaignStatus::Running)
            .collect())
    }

    pub fn put_campaign(&self, rec: &CampaignRecord) -> Result<()> {
        self.campaigns.insert(rec.id.as_bytes(), encode(rec))?;
        Ok(())
    }

    /// Set a campaign's status (and why), stamping the finish time.
    pub fn set_campaign_status(
        &self,
        id: &str,
        status: CampaignStatus,
        reason: Option<&str>,
        now: TimestampMs,
    ) -> Result<CampaignRecord> {
        let mut rec = self
            .campaign(id)?
            .ok_or_else(|| StoreError::NotFound(format!("no campaign {id}")))?;
        rec.status = status;
        rec.status_reason = reason.map(str::to_string);
        rec.finished_at = (status != CampaignStatus::Running).then_some(now);
        self.put_campaign(&rec)?;
        Ok(rec)
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

    pub fn campaign_counts(&self, id: &str) -> Result<CampaignCounts> {
        let mut c = CampaignCounts::default();
        for r in self.campaign_recipients(id)? {
            c.add(self.effective_state(&r)?.0);
        }
        Ok(c)
    }

    /// A recipient's state with what the outbox knows since: an in-flight or
    /// unknown send whose echo arrived later is sent.
    pub fn effective_state(&self, r: &RecipientRecord) -> Result<(RecipientState, Option<Mid>)> {
        if matches!(r.state, RecipientState::InFlight | RecipientState::Unknown) {
            if let Some(o) = r
                .outbox_id
                .as_deref()
                .map(|id| self.outbox_get(id))
                .transpose()?
                .flatten()
            {
                if let (OutboxState::Sent, Some(mid)) = (o.state, o.mid) {
                    return Ok((RecipientState::Sent, Some(mid)));
                }
            }
        }
        Ok((r.state, r.mid.clone()))
    }

    /// Every campaign with its recipients, for `dmdesk export --what campaigns`.
    pub fn campaigns_export(&self) -> Result<Vec<CampaignExport>> {
        let mut out = Vec::new();
        for c in self.campaigns_list()? {
            let mut counts = CampaignCounts::default();
            let mut recipients = Vec::new();
            for r in self.campaign_recipients(&c.id)? {
                let (state, mid) = self.effective_state(&r)?;
                counts.add(state);
                recipients.push(RecipientExport {
                    platform: r.conv.platform.as_str().to_string(),
                    account_id: r.conv.account.0.clone(),
                    user_id: r.conv.user.0.clone(),
                    state,
                    reason: r.reason.clone(),
                    mid: mid.map(|m| m.0),
                });
            }
            out.push(CampaignExport {
                id: c.id,
                title: c.title,
                status: c.status,
                status_reason: c.status_reason,
                text: c.text,
                tag: c.tag,
                created_by: c.created_by,
                created_at_ms: c.created_at.0,
                finished_at_ms: c.finished_at.map(|t| t.0),
                counts,
                recipients,
            });
        }
        Ok(out)
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
    use crate::domain::Platform;

    #[test]
    fn base36_is_short() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }

    #[test]
    fn campaign_round_trip_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, "test").unwrap();
        let a = ConvKey::new(Platform::Messenger, "p1", "u1");
        let b = ConvKey::new(Platform::Instagram, "ig1", "u2");
        let c = store
            .create_campaign(
                "t",
                "hello",
                None,
                Some("ann"),
                &[
                    NewRecipient {
                        conv: a.clone(),
                        skip: None,
                    },
                    NewRecipient {
                        conv: b.clone(),
                        skip: Some("outside the window".into()),
                    },
                ],
                TimestampMs(5),
            )
            .unwrap();
        assert!(c.id.starts_with('c') && c.id.len() < 10);
        let rs = store.campaign_recipients(&c.id).unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].state, RecipientState::Queued);
        assert_eq!(rs[1].state, RecipientState::Skipped);
        // In flight with an outbox record whose echo arrived: exported as sent.
        let o = store
            .create_outbound(&a, "hello", None, None, Some(&c.id), TimestampMs(6))
            .unwrap();
        let mut r0 = rs[0].clone();
        r0.state = RecipientState::InFlight;
        r0.outbox_id = Some(o.id.clone());
        store.put_recipient(&r0).unwrap();
        assert_eq!(store.campaign_counts(&c.id).unwrap().in_flight, 1);
        store.outbound_sent(&o.id, &Mid::from("m_1")).unwrap();
        let ex = store.campaigns_export().unwrap();
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].counts.sent, 1);
        assert_eq!(ex[0].counts.skipped, 1);
        assert_eq!(ex[0].recipients[0].mid.as_deref(), Some("m_1"));
        let line = serde_json::to_value(&ex[0]).unwrap();
        assert_eq!(line["recipients"][1]["state"], "skipped");
        assert_eq!(line["status"], "running");
        assert_eq!(store.campaigns_running().unwrap().len(), 1);
        store
            .set_campaign_status(&c.id, CampaignStatus::Done, None, TimestampMs(9))
            .unwrap();
        assert!(store.campaigns_running().unwrap().is_empty());
    }
}
