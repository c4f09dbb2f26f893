//! Simulated customers: at a steady rate, one of them writes (text in their
//! language, an attachment now and then) or reacts to the page's last
//! message. Each event is written to the world first (so the Graph API
//! agrees), then posted as a signed webhook.

use super::world::now_ms;
use super::{payload, script, Inner};
use crate::domain::Platform;
use rand::Rng;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::time::MissedTickBehavior;

/// Generate events until `count`, or until cancelled; then mark `done`.
pub(crate) async fn run(inner: Arc<Inner>, done: watch::Sender<bool>) {
    let cfg = &inner.cfg;
    if cfg.rate > 0.0 && cfg.customers > 0 {
        generate(&inner).await;
    }
    let _ = done.send(true);
}

async fn generate(inner: &Arc<Inner>) {
    let cfg = &inner.cfg;
    let period = Duration::from_secs_f64(1.0 / cfg.rate).max(Duration::from_micros(50));
    let mut tick = tokio::time::interval(period);
    // Catch up after a stall so the average rate holds.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let conc = cfg.post_concurrency.max(1);
    let sem = Arc::new(Semaphore::new(conc));
    let mut n = 0u64;
    loop {
        if cfg.count > 0 && n >= cfg.count {
            break;
        }
        tokio::select! {
            _ = inner.cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(body) = event(inner) else { return };
        n += 1;
        let permit = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let task_inner = inner.clone();
        tokio::spawn(async move {
            task_inner.poster.post(&task_inner.stats, body).await;
            drop(permit);
        });
    }
    // Wait for the posts still in flight so "done" means delivered.
    let _ = tokio::time::timeout(Duration::from_secs(30), sem.acquire_many(conc as u32)).await;
}

/// One spontaneous customer event as a signed-ready body.
fn event(inner: &Inner) -> Option<Vec<u8>> {
    let mut rng = inner.rng();
    let mut w = inner.world();
    if w.customers.is_empty() {
        return None;
    }
    let active: Vec<usize> = (0..w.customers.len())
        .filter(|i| !w.customers[*i].dormant)
        .collect();
    // Now and then a quiet customer comes back (reopening their window).
    let idx = if active.is_empty() || rng.random_bool(0.03) {
        rng.random_range(0..w.customers.len())
    } else {
        active[rng.random_range(0..active.len())]
    };
    let ts = now_ms().max(w.threads[idx].updated_ms() + 1);
    inner.stats.customer_events.fetch_add(1, Ordering::Relaxed);
    let last_page = w.threads[idx]
        .messages
        .last()
        .filter(|m| !m.from_customer)
        .map(|m| m.mid.clone());
    if let Some(target) = last_page {
        if rng.random_bool(inner.cfg.reaction_probability.clamp(0.0, 1.0)) {
            let (name, emoji) = script::REACTIONS[rng.random_range(0..script::REACTIONS.len())];
            w.record_reaction(idx, ts);
            let body = payload::reaction(&w.customers[idx], &target, name, emoji, ts);
            return Some(payload::to_meta_bytes(&body));
        }
    }
    // Now and then a customer corrects (Messenger) or unsends (Instagram)
    // their last text.
    let last_own = w.threads[idx]
        .messages
        .last()
        .filter(|m| m.from_customer && m.text.is_some())
        .map(|m| (m.mid.clone(), m.text.clone().unwrap_or_default()));
    if let Some((mid, text)) = last_own {
        if rng.random_bool(inner.cfg.edit_probability.clamp(0.0, 1.0)) {
            let c = w.customers[idx].clone();
            let body = match c.platform {
                Platform::Messenger => {
                    let fixed = format!("{text} (edited)");
                    w.edit(&mid, &fixed);
                    payload::edit(&c, &mid, &fixed, 1, ts)
                }
                Platform::Instagram => {
                    w.unsend(&mid);
                    payload::unsend(&c, &mid, ts)
                }
            };
            return Some(payload::to_meta_bytes(&body));
        }
    }
    let msg = w.customer_message(idx, ts, &mut rng);
    let body = payload::customer_message(&w.customers[idx], &msg);
    w.push(idx, msg);
    Some(payload::to_meta_bytes(&body))
}

/// Customer `user_id` writes now: `text`, or a scripted line. Returns the
/// mid and the body to post.
pub(crate) fn say(inner: &Inner, user_id: &str, text: Option<String>) -> Option<(String, Vec<u8>)> {
    let mut rng = inner.rng();
    let mut w = inner.world();
    let idx = w.customer_by_user(user_id)?;
    let ts = now_ms().max(w.threads[idx].updated_ms() + 1);
    let mut msg = w.customer_message(idx, ts, &mut rng);
    if let Some(t) = text {
        msg.text = Some(t);
        msg.attachments.clear();
    }
    let body = payload::customer_message(&w.customers[idx], &msg);
    let mid = msg.mid.clone();
    w.push(idx, msg);
    inner.stats.customer_events.fetch_add(1, Ordering::Relaxed);
    Some((mid, payload::to_meta_bytes(&body)))
}
