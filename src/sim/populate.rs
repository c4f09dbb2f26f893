//! `dmdesk sim populate`: fill a store with a large, realistic history for
//! benchmarks, through the ordinary apply path (`Store::apply`), in batches.
//! The team's workflow (`history::plan`) goes in as the changes agents and
//! customers make, so the store records its history events itself.

use super::history::{self, Step};
use super::ids;
use super::script;
use super::world::now_ms;
use super::SimError;
use crate::change::Change;
use crate::cli::PopulateArgs;
use crate::db::Db;
use crate::domain::{
    Attachment, ConvStatus, Direction, Message, Mid, MsgStatus, Origin, Platform, TimestampMs,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct PopulateReport {
    pub conversations: u64,
    pub messages: u64,
    /// Of `messages`, the agents' replies sent through the outbox.
    pub replies: u64,
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
/// Instagram; a tenth predate the team history (synced); the rest are
/// sessions of live customer messages, replies queued and sent by agents
/// (a tenth from Meta's page inbox), assignments, labels, priorities and
/// resolutions over the last 45 days.
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
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    // A run id keeps ids unique when populating the same store twice.
    let run: u32 = rng.random();
    let plan = history::plan(conversations, messages, seed, run, TimestampMs(now_ms()));
    let ids = ids::Ids::demo();
    let mut batch: Vec<Change> = Vec::with_capacity(BATCH + 64);
    let (mut counter, mut replies) = (0u64, 0u64);
    for (i, conv) in plan.convs.into_iter().enumerate() {
        let key = conv.key;
        let platform = key.platform;
        let account = ids.account(platform).to_string();
        let lang = script::lang(&mut rng);
        let names = script::LANGS[lang].names;
        let (first, last, stem) = names[rng.random_range(0..names.len())];
        batch.push(Change::ContactSeen {
            conv: key.clone(),
            name: Some(format!("{first} {last}")),
            username: (platform == Platform::Instagram).then(|| format!("{stem}{i}")),
        });
        for step in conv.steps {
            let mut mid = || {
                counter += 1;
                Mid(ids::mid(
                    platform,
                    &account,
                    key.user.as_str(),
                    u64::from(run) ^ seed,
                    counter,
                ))
            };
            match step {
                Step::Customer { at, .. } => {
                    let mut msg = Message::inbound(key.clone(), mid(), TimestampMs(at));
                    if rng.random_bool(0.05) {
                        let (kind, url, _) = script::attachment(&mut rng);
                        msg.attachments.push(Attachment {
                            kind: kind.into(),
                            url: Some(url),
                            title: None,
                        });
                    } else {
                        msg.text = Some(script::customer_text(&mut rng, lang));
                    }
                    batch.push(Change::Message {
                        msg,
                        metadata: None,
                        qualifying: true,
                        from_sync: conv.predating,
                    });
                }
                // dmdesk's agents: queued, then sent (nothing left pending).
                Step::Reply {
                    at,
                    by: Some(agent),
                } => {
                    let mid = mid();
                    let id = format!("pop{run:08x}{counter}");
                    replies += 1;
                    batch.push(Change::OutboundQueued {
                        id: id.clone(),
                        conv: key.clone(),
                        text: script::page_text(&mut rng, lang),
                        tag: None,
                        agent: Some(agent.to_string()),
                        campaign: None,
                        at: TimestampMs(at),
                    });
                    batch.push(Change::OutboundSent { id, mid });
                }
                // Meta's page inbox (live echo), or the synced past.
                Step::Reply { at, by: None } => {
                    let mut msg = Message::inbound(key.clone(), mid(), TimestampMs(at));
                    msg.direction = Direction::Out;
                    msg.status = [MsgStatus::Sent, MsgStatus::Delivered, MsgStatus::Read]
                        [rng.random_range(0..3)];
                    msg.origin = Some(Origin::PageInbox);
                    msg.text = Some(script::page_text(&mut rng, lang));
                    batch.push(Change::Message {
                        msg,
                        metadata: None,
                        qualifying: false,
                        from_sync: conv.predating,
                    });
                }
                Step::Assign { at, to } => batch.push(Change::Assign {
                    conv: key.clone(),
                    expect: None,
                    to: Some(to.clone()),
                    by: Some(to),
                    at: TimestampMs(at),
                }),
                Step::Label { at, by, label } => batch.push(Change::Labels {
                    conv: key.clone(),
                    add: vec![label],
                    remove: vec![],
                    by: Some(by),
                    at: TimestampMs(at),
                }),
                Step::Priority { at, by, to } => batch.push(Change::Priority {
                    conv: key.clone(),
                    priority: to,
                    by,
                    at: TimestampMs(at),
                }),
                Step::Resolve { at, by } => batch.push(Change::Status {
                    conv: key.clone(),
                    status: ConvStatus::Resolved,
                    snooze_until: None,
                    by: Some(by),
                    at: TimestampMs(at),
                }),
            }
        }
        if batch.len() >= BATCH {
            store.apply(&batch)?;
            batch.clear();
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
        replies,
        elapsed: started.elapsed(),
    })
}
