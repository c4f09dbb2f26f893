//! `dmdesk sim populate`: fill a store with a large, realistic history for
//! benchmarks, through the ordinary apply path (`Store::apply`), in batches.

use super::ids;
use super::script;
use super::world::{now_ms, DAY_MS, HOUR_MS};
use super::SimError;
use crate::change::Change;
use crate::cli::PopulateArgs;
use crate::db::Db;
use crate::domain::{
    Attachment, ConvKey, Direction, Message, Mid, MsgStatus, Origin, Platform, TimestampMs,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct PopulateReport {
    pub conversations: u64,
    pub messages: u64,
    pub elapsed: Duration,
}

impl PopulateReport {
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Changes handed to one `apply` call.
const BATCH: usize = 2000;

/// Open the store named by `args` and fill it.
pub fn populate(args: &PopulateArgs) -> anyhow::Result<PopulateReport> {
    let store = Db::open(&args.store, 128, "sim populate")?;
    let report = populate_store(&store, args.conversations, args.messages, 7)?;
    store.flush()?;
    Ok(report)
}

/// Add exactly `conversations` new conversations holding `messages` new
/// messages in total (each conversation at least one). A third are on
/// Instagram, about a third of the messages are outbound, a fifth of the
/// conversations are outside the 24 h window.
pub fn populate_store(
    store: &Db,
    conversations: u64,
    messages: u64,
    seed: u64,
) -> Result<PopulateReport, SimError> {
    if messages < conversations {
        return Err(SimError::Usage(format!(
            "--messages ({messages}) must be at least --conversations ({conversations}): every conversation holds a message"
        )));
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let ids = ids::Ids::demo();
    let n = conversations as usize;
    // One message each, the rest skewed towards a few busy conversations.
    let mut counts = vec![1u32; n];
    for _ in 0..messages - conversations {
        let u: f64 = rng.random();
        counts[((u * u) * n as f64) as usize % n.max(1)] += 1;
    }
    // A run id keeps ids unique when populating the same store twice.
    let run: u32 = rng.random();
    let now = now_ms();
    let mut batch: Vec<Change> = Vec::with_capacity(BATCH + 64);
    let mut counter = 0u64;
    for (i, &count) in counts.iter().enumerate() {
        let platform = if i % 3 == 2 {
            Platform::Instagram
        } else {
            Platform::Messenger
        };
        let account = ids.account(platform).to_string();
        let user = match platform {
            Platform::Messenger => format!("3{:07}{:08}", run % 10_000_000, i),
            Platform::Instagram => format!("6{:08}{:08}", run % 100_000_000, i),
        };
        let conv = ConvKey::new(platform, account.clone(), user.clone());
        let lang = script::lang(&mut rng);
        let names = script::LANGS[lang].names;
        let (first, last, stem) = names[rng.random_range(0..names.len())];
        batch.push(Change::ContactSeen {
            conv: conv.clone(),
            name: Some(format!("{first} {last}")),
            username: (platform == Platform::Instagram).then(|| format!("{stem}{i}")),
        });
        let end = if rng.random_bool(0.2) {
            now - rng.random_range(2 * DAY_MS..30 * DAY_MS)
        } else {
            now - rng.random_range(60_000..20 * HOUR_MS)
        };
        let mut ts = end - count as i64 * 20 * 60_000;
        for j in 0..count {
            counter += 1;
            ts += rng.random_range(1..40 * 60_000);
            let inbound = j == 0 || rng.random_bool(0.65);
            let mid = Mid(ids::mid(
                platform,
                &account,
                &user,
                u64::from(run) ^ seed,
                counter,
            ));
            let mut msg = Message::inbound(conv.clone(), mid, TimestampMs(ts));
            if rng.random_bool(0.05) && inbound {
                let (kind, url, _) = script::attachment(&mut rng);
                msg.attachments.push(Attachment {
                    kind: kind.into(),
                    url: Some(url),
                    title: None,
                });
            } else if inbound {
                msg.text = Some(script::customer_text(&mut rng, lang));
            } else {
                msg.text = Some(script::page_text(&mut rng, lang));
            }
            if !inbound {
                msg.direction = Direction::Out;
                msg.status = [MsgStatus::Sent, MsgStatus::Delivered, MsgStatus::Read]
                    [rng.random_range(0..3)];
                msg.origin = Some(if rng.random_bool(0.7) {
                    Origin::Dmdesk
                } else {
                    Origin::PageInbox
                });
            }
            batch.push(Change::Message {
                msg,
                metadata: None,
                qualifying: inbound,
                from_sync: true,
            });
            if batch.len() >= BATCH {
                store.apply(&batch)?;
                batch.clear();
            }
        }
        if i > 0 && i % 10_000 == 0 {
            tracing::info!(conversations = i, messages = counter, "populating");
        }
    }
    if !batch.is_empty() {
        store.apply(&batch)?;
    }
    Ok(PopulateReport {
        conversations,
        messages: counter,
        elapsed: started.elapsed(),
    })
}
