//! The simulated Meta side's memory: customers, their threads and every
//! message in them. The fake Graph API serves it and the customers write to
//! it before posting webhooks, so history and live events always agree.

use super::ids::{self, Ids};
use super::script;
use crate::domain::Platform;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::HashMap;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Where a customer's thread stands against Meta's windows right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowClass {
    /// Customer wrote within 24 h.
    Open,
    /// 24 h – 7 days: only HUMAN_AGENT.
    HumanAgent,
    /// Older than 7 days (or never wrote).
    Closed,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub platform: Platform,
    pub user_id: String,
    /// Page id (Messenger) or Instagram account id.
    pub account: String,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub lang: usize,
    pub profile_pic: String,
    /// Profile API answers "No profile available" (2018218 / consent) when false.
    pub profile_available: bool,
    /// Blocked the page / deactivated: the Send API answers 551/1545041.
    pub reachable: bool,
    /// Old history, does not write spontaneously (outside the window).
    pub dormant: bool,
}

impl Customer {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone)]
pub struct SimAttachment {
    pub kind: String,
    pub url: String,
    pub mime: String,
}

#[derive(Debug, Clone)]
pub struct SimMessage {
    pub mid: String,
    pub ts_ms: i64,
    pub from_customer: bool,
    pub text: Option<String>,
    pub attachments: Vec<SimAttachment>,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Thread {
    pub conv_id: String,
    pub customer: usize,
    /// Oldest first.
    pub messages: Vec<SimMessage>,
    /// Last qualifying customer action (message or reaction): the 24 h window.
    pub last_action_ms: Option<i64>,
    /// Last customer message: HUMAN_AGENT's 7 days.
    pub last_message_ms: Option<i64>,
}

impl Thread {
    pub fn updated_ms(&self) -> i64 {
        self.messages.last().map(|m| m.ts_ms).unwrap_or(0)
    }
    pub fn window(&self, now: i64) -> WindowClass {
        match (self.last_action_ms, self.last_message_ms) {
            (Some(a), _) if now - a <= DAY_MS => WindowClass::Open,
            (_, Some(m)) if now - m <= 7 * DAY_MS => WindowClass::HumanAgent,
            _ => WindowClass::Closed,
        }
    }
}

/// Knobs for generating the world.
#[derive(Debug, Clone)]
pub struct WorldShape {
    pub customers: usize,
    /// Share of customers whose history is old (outside the 24 h window).
    pub outside_fraction: f64,
    /// Messages of history per thread (inclusive range).
    pub history: (usize, usize),
}

pub struct World {
    pub ids: Ids,
    pub customers: Vec<Customer>,
    /// One thread per customer, same index.
    pub threads: Vec<Thread>,
    by_user: HashMap<String, usize>,
    by_conv: HashMap<String, usize>,
    by_mid: HashMap<String, (usize, usize)>,
    seed: u64,
    counter: u64,
}

impl World {
    pub fn generate(ids: Ids, shape: &WorldShape, seed: u64, rng: &mut StdRng, now: i64) -> World {
        let mut w = World {
            ids,
            customers: vec![],
            threads: vec![],
            by_user: HashMap::new(),
            by_conv: HashMap::new(),
            by_mid: HashMap::new(),
            seed,
            counter: 0,
        };
        for i in 0..shape.customers {
            // Two Messenger customers for each Instagram one.
            let platform = if i % 3 == 2 {
                Platform::Instagram
            } else {
                Platform::Messenger
            };
            let account = match platform {
                Platform::Messenger => w.ids.page_id.clone(),
                Platform::Instagram => w.ids.ig_id.clone(),
            };
            let user_id = loop {
                let id = ids::user_id(rng, platform);
                if !w.by_user.contains_key(&id) && id != w.ids.page_id && id != w.ids.ig_id {
                    break id;
                }
            };
            let lang = script::lang(rng);
            let names = script::LANGS[lang].names;
            let (first, last, stem) = names[rng.random_range(0..names.len())];
            let dormant = rng.random_bool(shape.outside_fraction.clamp(0.0, 1.0));
            let customer = Customer {
                platform,
                user_id: user_id.clone(),
                account,
                first_name: first.into(),
                last_name: last.into(),
                username: format!("{stem}{}", rng.random_range(1..999)),
                lang,
                profile_pic: format!("https://platform-lookaside.fbsbx.example.com/platform/profilepic/?psid={user_id}&height=200&width=200&ext=1&hash=Ab{i}"),
                profile_available: rng.random_range(0..17) != 0,
                reachable: rng.random_range(0..25) != 0,
                dormant,
            };
            let conv_id = ids::conv_id(&w.ids, platform, &user_id);
            w.by_user.insert(user_id, i);
            w.by_conv.insert(conv_id.clone(), i);
            w.customers.push(customer);
            w.threads.push(Thread {
                conv_id,
                customer: i,
                messages: vec![],
                last_action_ms: None,
                last_message_ms: None,
            });
            // When the history ends: active customers within the last day,
            // dormant ones either in the HUMAN_AGENT week or long ago.
            let end = if !dormant {
                now - rng.random_range(5 * 60_000..20 * HOUR_MS)
            } else if rng.random_bool(0.5) {
                now - rng.random_range(30 * HOUR_MS..6 * DAY_MS)
            } else {
                now - rng.random_range(8 * DAY_MS..40 * DAY_MS)
            };
            let (lo, hi) = shape.history;
            let mut len = rng.random_range(lo.max(1)..=hi.max(lo.max(1)));
            if platform == Platform::Instagram && rng.random_bool(0.3) {
                // Longer than the 20 messages Instagram lets an app read.
                len = len.max(26);
            }
            w.generate_history(i, len, end, rng);
        }
        w
    }

    fn generate_history(&mut self, idx: usize, len: usize, end: i64, rng: &mut StdRng) {
        let lang = self.customers[idx].lang;
        let mut times: Vec<i64> = Vec::with_capacity(len);
        let mut t = end;
        for _ in 0..len {
            times.push(t);
            t -= rng.random_range(60_000..3 * HOUR_MS);
        }
        times.reverse();
        for (n, ts) in times.into_iter().enumerate() {
            // The thread opens with the customer and ends with them (the window).
            let from_customer = n == 0 || n + 1 == len || rng.random_bool(0.55);
            let msg = if from_customer {
                self.customer_message(idx, ts, rng)
            } else {
                SimMessage {
                    mid: self.new_mid(idx),
                    ts_ms: ts,
                    from_customer: false,
                    text: Some(script::page_text(rng, lang)),
                    attachments: vec![],
                    metadata: None,
                }
            };
            self.push(idx, msg);
        }
    }

    /// A new customer message (text, or now and then an attachment).
    pub fn customer_message(&mut self, idx: usize, ts: i64, rng: &mut StdRng) -> SimMessage {
        let lang = self.customers[idx].lang;
        let mid = self.new_mid(idx);
        if rng.random_bool(0.12) {
            let (kind, url, mime) = script::attachment(rng);
            SimMessage {
                mid,
                ts_ms: ts,
                from_customer: true,
                text: None,
                attachments: vec![SimAttachment {
                    kind: kind.into(),
                    url,
                    mime: mime.into(),
                }],
                metadata: None,
            }
        } else {
            SimMessage {
                mid,
                ts_ms: ts,
                from_customer: true,
                text: Some(script::customer_text(rng, lang)),
                attachments: vec![],
                metadata: None,
            }
        }
    }

    /// Append a message to a thread (keeps the thread sorted by time).
    pub fn push(&mut self, idx: usize, msg: SimMessage) {
        let th = &mut self.threads[idx];
        if msg.from_customer {
            th.last_action_ms = th.last_action_ms.max(Some(msg.ts_ms));
            th.last_message_ms = th.last_message_ms.max(Some(msg.ts_ms));
        }
        let pos = th.messages.partition_point(|m| m.ts_ms <= msg.ts_ms);
        let mid = msg.mid.clone();
        th.messages.insert(pos, msg);
        // Positions after the insert point moved: reindex this thread's tail.
        for (j, m) in th.messages.iter().enumerate().skip(pos) {
            self.by_mid.insert(m.mid.clone(), (idx, j));
        }
        debug_assert!(self.by_mid.contains_key(&mid));
    }

    /// Replace a message's text (a Messenger edit).
    pub fn edit(&mut self, mid: &str, text: &str) -> bool {
        let Some(&(t, j)) = self.by_mid.get(mid) else {
            return false;
        };
        self.threads[t].messages[j].text = Some(text.to_string());
        true
    }

    /// Remove a message (an Instagram unsend): Graph no longer lists it.
    pub fn unsend(&mut self, mid: &str) -> bool {
        let Some((t, j)) = self.by_mid.remove(mid) else {
            return false;
        };
        self.threads[t].messages.remove(j);
        for (k, m) in self.threads[t].messages.iter().enumerate().skip(j) {
            self.by_mid.insert(m.mid.clone(), (t, k));
        }
        true
    }

    /// A reaction counts as a qualifying action (opens the window).
    pub fn record_reaction(&mut self, idx: usize, ts: i64) {
        let th = &mut self.threads[idx];
        th.last_action_ms = th.last_action_ms.max(Some(ts));
    }

    pub fn new_mid(&mut self, idx: usize) -> String {
        self.counter += 1;
        let c = &self.customers[idx];
        ids::mid(c.platform, &c.account, &c.user_id, self.seed, self.counter)
    }

    pub fn customer_by_user(&self, user: &str) -> Option<usize> {
        self.by_user.get(user).copied()
    }
    pub fn thread_by_conv(&self, conv_id: &str) -> Option<usize> {
        self.by_conv.get(conv_id).copied()
    }
    pub fn message_by_mid(&self, mid: &str) -> Option<(usize, &SimMessage)> {
        let (t, j) = *self.by_mid.get(mid)?;
        Some((t, self.threads.get(t)?.messages.get(j)?))
    }
    pub fn message_count(&self) -> usize {
        self.threads.iter().map(|t| t.messages.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn world(seed: u64) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        World::generate(
            Ids::demo(),
            &WorldShape {
                customers: 30,
                outside_fraction: 0.3,
                history: (2, 8),
            },
            seed,
            &mut rng,
            1_700_000_000_000,
        )
    }

    #[test]
    fn generation_is_deterministic_and_indexed() {
        let a = world(7);
        let b = world(7);
        assert_eq!(a.customers.len(), 30);
        for (x, y) in a.threads.iter().zip(&b.threads) {
            assert_eq!(x.conv_id, y.conv_id);
            assert_eq!(x.messages.len(), y.messages.len());
            assert_eq!(x.messages[0].mid, y.messages[0].mid);
        }
        for (i, th) in a.threads.iter().enumerate() {
            assert!(th.messages.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
            for m in &th.messages {
                assert_eq!(a.message_by_mid(&m.mid).map(|(t, _)| t), Some(i));
            }
            assert_eq!(a.customer_by_user(&a.customers[i].user_id), Some(i));
        }
        let mut a = a;
        let th = a.threads[0].clone();
        let first = th.messages[0].mid.clone();
        let second = th.messages[1].mid.clone();
        assert!(a.edit(&second, "edited"));
        assert!(a.unsend(&first));
        assert!(a.message_by_mid(&first).is_none());
        let (t, m) = a.message_by_mid(&second).unwrap();
        assert_eq!((t, m.text.as_deref()), (0, Some("edited")));
        assert_eq!(a.threads[0].messages.len(), th.messages.len() - 1);
        let now = 1_700_000_000_000;
        let classes: Vec<_> = a.threads.iter().map(|t| t.window(now)).collect();
        assert!(classes.contains(&WindowClass::Open));
        assert!(classes.iter().any(|c| *c != WindowClass::Open));
        for (c, th) in a.customers.iter().zip(&a.threads) {
            assert_eq!(
                c.dormant,
                th.window(now) != WindowClass::Open,
                "{}",
                c.user_id
            );
        }
    }
}
