//! The report of a campaign, built from the store (the source of truth):
//! counts, failures and skips grouped by reason, and the recipients whose
//! fate is unknown.

use crate::db::Db;
use crate::request::campaign::{reason_group, CampaignReport};
use crate::store::{CampaignCounts, RecipientState, StoreError};
use std::collections::BTreeMap;

/// Build the report from the store (the source of truth).
pub fn report(store: &Db, id: &str) -> Result<CampaignReport, StoreError> {
    let c = store
        .campaign(id)?
        .ok_or_else(|| StoreError::NotFound(format!("no campaign {id}")))?;
    let mut counts = CampaignCounts::default();
    let mut failed = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    let mut unknown = Vec::new();
    for r in store.campaign_recipients(id)? {
        let (state, _) = store.effective_state(&r)?;
        counts.add(state);
        let reason = r.reason.as_deref().unwrap_or("no reason recorded");
        match state {
            RecipientState::Failed => *failed.entry(reason_group(reason)).or_default() += 1,
            RecipientState::Skipped => *skipped.entry(reason_group(reason)).or_default() += 1,
            RecipientState::Unknown => unknown.push(r.conv.clone()),
            _ => {}
        }
    }
    Ok(CampaignReport {
        id: c.id,
        title: c.title,
        status: c.status,
        status_reason: c.status_reason,
        created_by: c.created_by,
        counts,
        failed_by_reason: failed,
        skipped_by_reason: skipped,
        unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConvKey, Platform, TimestampMs};
    use crate::store::{CampaignStatus, NewRecipient, RecipientState};

    fn conv(user: &str) -> ConvKey {
        ConvKey::new(Platform::Messenger, "p1", user)
    }

    #[test]
    fn reasons_group_by_what_happened_without_meta_s_free_text() {
        assert_eq!(
            reason_group("Meta error 551: This person isn't available right now."),
            "Meta error 551"
        );
        assert_eq!(reason_group("campaign cancelled"), "campaign cancelled");
    }

    #[test]
    fn the_report_shows_counts_reasons_unknowns_and_how_to_resume() {
        let r = CampaignReport {
            id: "c1".into(),
            title: "Sale".into(),
            status: CampaignStatus::Stopped,
            status_reason: Some("page Shop (p1): the token is invalid".into()),
            created_by: Some("ann".into()),
            counts: CampaignCounts {
                total: 9,
                queued: 2,
                in_flight: 1,
                sent: 3,
                failed: 1,
                skipped: 1,
                unknown: 1,
            },
            failed_by_reason: BTreeMap::from([("Meta error 551".to_string(), 1)]),
            skipped_by_reason: BTreeMap::from([("standby".to_string(), 1)]),
            unknown: vec![conv("u7")],
        };
        assert_eq!(
            r.to_string(),
            format!(
                "campaign c1 \"Sale\": {}\n  reason: page Shop (p1): the token is invalid\n  created by ann\n  sent     3\n  failed   1\n         1  Meta error 551\n  skipped  1\n         1  standby\n  unknown  1 (the process stopped during the send and no echo came: check these threads)\n    {}\n  not sent yet 3 (resume with: dmdesk bulk --resume c1)\n  total    9",
                CampaignStatus::Stopped.as_str(),
                conv("u7")
            )
        );
    }

    #[test]
    fn a_finished_report_has_no_unknown_or_resume_lines() {
        let r = CampaignReport {
            id: "c2".into(),
            title: "t".into(),
            status: CampaignStatus::Done,
            status_reason: None,
            created_by: None,
            counts: CampaignCounts {
                total: 1,
                sent: 1,
                ..Default::default()
            },
            failed_by_reason: BTreeMap::new(),
            skipped_by_reason: BTreeMap::new(),
            unknown: vec![],
        };
        let text = r.to_string();
        assert!(!text.contains("unknown") && !text.contains("resume") && !text.contains("reason"));
        assert!(text.ends_with("  total    1"), "{text}");
    }

    #[test]
    fn report_reads_each_recipient_s_state_from_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Db::open(dir.path(), 8, "test").expect("store");
        let skip = |r: &str| Some(r.to_string());
        let rec = store
            .create_campaign(
                "Sale",
                "hi",
                None,
                Some("ann"),
                &[
                    NewRecipient {
                        conv: conv("a"),
                        skip: None,
                    },
                    NewRecipient {
                        conv: conv("b"),
                        skip: None,
                    },
                    NewRecipient {
                        conv: conv("c"),
                        skip: None,
                    },
                    NewRecipient {
                        conv: conv("d"),
                        skip: skip("standby"),
                    },
                    NewRecipient {
                        conv: conv("e"),
                        skip: skip("standby"),
                    },
                ],
                TimestampMs(1),
            )
            .expect("create");
        let mut rs = store.campaign_recipients(&rec.id).expect("recipients");
        rs[0].state = RecipientState::Failed;
        rs[0].reason = Some("Meta error 551: This person isn't available".into());
        rs[1].state = RecipientState::Unknown;
        for r in &rs[..2] {
            store.put_recipient(r).expect("put");
        }
        assert!(matches!(
            report(&store, "no-such-campaign"),
            Err(StoreError::NotFound(_))
        ));
        let rep = report(&store, &rec.id).expect("report");
        assert_eq!(
            (rep.title.as_str(), rep.created_by.as_deref()),
            ("Sale", Some("ann"))
        );
        assert_eq!(
            rep.counts,
            CampaignCounts {
                total: 5,
                queued: 1,
                failed: 1,
                skipped: 2,
                unknown: 1,
                ..Default::default()
            }
        );
        assert_eq!(
            rep.failed_by_reason,
            BTreeMap::from([("Meta error 551".to_string(), 1)])
        );
        assert_eq!(
            rep.skipped_by_reason,
            BTreeMap::from([("standby".to_string(), 2)])
        );
        assert_eq!(rep.unknown, vec![conv("b")]);
    }
}
