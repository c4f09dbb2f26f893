//! What a campaign will do: per recipient, sent or skipped and why (the
//! preview the agent confirms), and the stored campaign made from it.

use crate::config::Config;
use crate::db::Db;
use crate::domain::{Contact, ConvKey, Conversation, TimestampMs};
use crate::request::campaign::{Eligibility, Example, Preview, PreviewRow};
use crate::rules::eligibility::{self, Pages, Recipient, Verdict};
use crate::rules::window::{Refusal, Tag};
use crate::store::{CampaignRecord, NewRecipient, StoreError};

/// HUMAN_AGENT is for a person answering, and no other tag is left for
/// campaigns (Meta retired the update tags in 2026).
pub fn check_campaign_tag(tag: Option<Tag>) -> Result<(), Refusal> {
    match tag {
        Some(Tag::HumanAgent) => Err(Refusal(
            "HUMAN_AGENT is for a person answering a customer; it is never allowed on a campaign (campaigns go only to customers inside the 24-hour window)".into(),
        )),
        None => Ok(()),
    }
}

/// What the store knows of one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub key: ConvKey,
    pub conv: Option<Conversation>,
    pub contact: Option<Contact>,
}

impl Known {
    fn recipient(&self) -> Recipient<'_> {
        Recipient {
            key: &self.key,
            conv: self.conv.as_ref(),
            contact: self.contact.as_ref(),
        }
    }
}

/// Preview for recipients given with what the store knows of them (pure):
/// the same rule the runner applies to each (rules/eligibility.rs).
pub fn preview(
    pages: &Pages,
    recipients: &[Known],
    text: &str,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Preview {
    preview_with(recipients, |r| {
        eligibility::check_text(pages, r, text, tag, now)
    })
}

/// [`preview`] for a campaign sending one file (`about` describes it;
/// `instagram`: whether Instagram customers can be sent it, or why not).
pub fn preview_file(
    pages: &Pages,
    recipients: &[Known],
    about: &str,
    instagram: Result<(), &str>,
    now: TimestampMs,
) -> Preview {
    let body = eligibility::Body::File { about, instagram };
    preview_with(recipients, |r| {
        eligibility::check(pages, r, body, None, now)
    })
}

fn preview_with(recipients: &[Known], verdict: impl Fn(Recipient<'_>) -> Verdict) -> Preview {
    let mut p = Preview::default();
    for k in recipients {
        let e = match verdict(k.recipient()) {
            Verdict::Send { text, .. } => {
                p.inside += 1;
                if p.example.is_none() {
                    p.example = Some(Example {
                        to: k
                            .conv
                            .as_ref()
                            .map_or_else(|| k.key.to_string(), |c| c.name.clone()),
                        text,
                    });
                }
                Eligibility::Inside
            }
            Verdict::Skip(s) => {
                let r = s.to_string();
                p.skipped += 1;
                *p.skip_reasons.entry(r.clone()).or_default() += 1;
                Eligibility::Skip(r)
            }
        };
        p.rows.push(PreviewRow {
            conv: k.key.clone(),
            eligibility: e,
        });
    }
    p
}

/// The configured pages as the rule sees them, with the tokens Meta has
/// refused (read from the store).
pub fn pages_now(store: &Db, config: &Config) -> Pages {
    let mut pages = Pages::from_config(config);
    for page in &config.pages {
        if crate::tokens::dead_token(store, page).is_some() {
            pages.dead.insert(page.id.clone());
        }
    }
    pages
}

/// Read the recipients' conversations and contacts, and preview them.
pub fn preview_from_store(
    store: &Db,
    config: &Config,
    recipients: &[ConvKey],
    text: &str,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Result<Preview, StoreError> {
    let known = known(store, recipients)?;
    Ok(preview(&pages_now(store, config), &known, text, tag, now))
}

/// [`preview_from_store`] for a campaign sending one file.
pub fn preview_file_from_store(
    store: &Db,
    config: &Config,
    recipients: &[ConvKey],
    about: &str,
    instagram: Result<(), &str>,
    now: TimestampMs,
) -> Result<Preview, StoreError> {
    let known = known(store, recipients)?;
    Ok(preview_file(
        &pages_now(store, config),
        &known,
        about,
        instagram,
        now,
    ))
}

fn known(store: &Db, recipients: &[ConvKey]) -> Result<Vec<Known>, StoreError> {
    let mut known = Vec::with_capacity(recipients.len());
    let mut seen = std::collections::HashSet::new();
    for k in recipients {
        // One message per conversation, even if it was listed twice.
        if seen.insert(k.clone()) {
            known.push(Known {
                key: k.clone(),
                conv: store.conversation(k)?,
                contact: store.contact(k)?,
            });
        }
    }
    Ok(known)
}

/// Write a campaign from a preview (skipped recipients recorded with their
/// reason) and make it durable.
pub async fn create(
    store: &Db,
    title: &str,
    text: &str,
    tag: Option<Tag>,
    created_by: Option<&str>,
    preview: &Preview,
    now: TimestampMs,
) -> Result<CampaignRecord, StoreError> {
    let rec = write(store, title, text, tag, created_by, preview, now)?;
    store.durable().await;
    Ok(rec)
}

/// [`create`]'s write alone: the caller makes it durable.
pub fn write(
    store: &Db,
    title: &str,
    text: &str,
    tag: Option<Tag>,
    created_by: Option<&str>,
    preview: &Preview,
    now: TimestampMs,
) -> Result<CampaignRecord, StoreError> {
    let recipients: Vec<NewRecipient> = preview
        .rows
        .iter()
        .map(|r| NewRecipient {
            conv: r.conv.clone(),
            skip: match &r.eligibility {
                Eligibility::Skip(reason) => Some(reason.clone()),
                _ => None,
            },
        })
        .collect();
    store.create_campaign(
        title,
        text,
        tag.map(Tag::as_str),
        created_by,
        &recipients,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, PageInfo, Platform};
    use crate::rules::eligibility::Skip;
    use std::collections::BTreeMap;

    const NOW: TimestampMs = TimestampMs(1_700_000_000_000);

    fn pages() -> Pages {
        Pages::new(vec![PageInfo {
            id: AccountId::new("p1"),
            name: "Coffee".into(),
            instagram_id: None,
            human_agent: true,
        }])
    }

    /// A recipient on page p1 whose last message was `ago_h` hours ago
    /// (None: no conversation in the store).
    fn known(user: &str, name: &str, ago_h: Option<i64>) -> Known {
        let key = ConvKey::new(Platform::Messenger, "p1", user);
        let conv = ago_h.map(|h| {
            let mut c = Conversation::new(key.clone(), name.into());
            c.last_inbound = Some(NOW.plus_ms(-h * TimestampMs::HOUR));
            c.last_user_message = c.last_inbound;
            c
        });
        Known {
            key,
            conv,
            contact: None,
        }
    }

    #[test]
    fn preview_counts_who_gets_it_and_groups_why_the_others_do_not() {
        let never = Skip::NeverWrote.to_string();
        let recipients = [
            known("a", "Ann Lee", Some(1)),
            known("b", "Bo", Some(30)),
            known("c", "Cy", None),
            known("d", "Di", Some(2)),
            known("e", "Ed", None),
        ];
        let p = preview(&pages(), &recipients, "Hi {first_name}!", None, NOW);
        assert_eq!((p.inside, p.skipped, p.sendable()), (2, 3, 2));
        assert_eq!(
            p.rows
                .iter()
                .map(|r| r.conv.user.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"],
            "rows keep the given order"
        );
        assert_eq!(p.rows[0].eligibility, Eligibility::Inside);
        assert_eq!(p.rows[2].eligibility, Eligibility::Skip(never.clone()));
        assert_eq!(p.skip_reasons.get(&never), Some(&2));
        let Eligibility::Skip(window) = &p.rows[1].eligibility else {
            panic!("30 hours after the last message is outside the window")
        };
        assert_eq!(p.skip_reasons.get(window), Some(&1));
        assert_eq!(p.skip_reasons.values().sum::<usize>(), 3);
        // The example is the first recipient who gets it, text rendered for them.
        assert_eq!(
            p.example,
            Some(Example {
                to: "Ann Lee".into(),
                text: "Hi Ann!".into()
            })
        );
    }

    #[test]
    fn a_file_reaches_instagram_only_when_it_is_served_there() {
        let mut pages = pages();
        pages.pages[0].instagram_id = Some(AccountId::new("ig1"));
        let mut ig = known("i", "Ida", Some(1));
        ig.key = ConvKey::new(Platform::Instagram, "ig1", "i");
        if let Some(c) = &mut ig.conv {
            c.key = ig.key.clone();
        }
        let both = [known("a", "Ann", Some(1)), ig];
        let p = preview_file(&pages, &both, "[image] sale.png", Ok(()), NOW);
        assert_eq!((p.inside, p.skipped), (2, 0), "{p:?}");
        let p = preview_file(&pages, &both, "[image] sale.png", Err("no public_url"), NOW);
        assert_eq!((p.inside, p.skipped), (1, 1));
        assert_eq!(p.rows[0].eligibility, Eligibility::Inside);
        assert_eq!(
            p.rows[1].eligibility,
            Eligibility::Skip("no public_url".into())
        );
    }

    #[test]
    fn nobody_inside_means_no_example() {
        let p = preview(&pages(), &[known("b", "Bo", Some(30))], "hi", None, NOW);
        assert_eq!((p.inside, p.skipped), (0, 1));
        assert_eq!(p.example, None);
    }

    #[test]
    fn a_campaign_never_carries_human_agent() {
        assert!(check_campaign_tag(None).is_ok());
        let refused = check_campaign_tag(Some(Tag::HumanAgent)).unwrap_err();
        assert!(
            refused.0.contains("never allowed on a campaign"),
            "{}",
            refused.0
        );
        // The rule the preview applies agrees: every recipient is skipped.
        let p = preview(
            &pages(),
            &[known("a", "Ann", Some(1))],
            "hi",
            Some(Tag::HumanAgent),
            NOW,
        );
        assert_eq!((p.inside, p.skipped), (0, 1));
    }

    #[test]
    fn preview_lines_show_counts_reasons_and_the_example() {
        let p = Preview {
            rows: vec![],
            inside: 12,
            skipped: 3,
            skip_reasons: BTreeMap::from([("outside".to_string(), 2), ("standby".to_string(), 1)]),
            example: Some(Example {
                to: "Ann".into(),
                text: "Hi Ann".into(),
            }),
        };
        assert_eq!(
            p.lines(),
            [
                "0 recipient(s):",
                "      12  inside the 24-hour window",
                "       3  will not be sent:",
                "           2  outside",
                "           1  standby",
                "example, to Ann: Hi Ann",
            ]
        );
    }
}
