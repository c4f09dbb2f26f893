//! One recipient's send: the same eligibility rule as the preview, the
//! outbox record and in_flight made durable before the call, and what each
//! answer from Meta does to the recipient and to the whole run.

use super::runner::Runner;
use crate::domain::TimestampMs;
use crate::meta::error::ErrorClass;
use crate::meta::graph::Outgoing;
use crate::rules::eligibility::{self, Body, Recipient, Verdict};
use crate::rules::window::Tag;
use crate::send::attach::create_outbound_file;
use crate::send::reply::{certainly_not_sent, failure_reason, route};
use crate::store::{RecipientRecord, RecipientState, StoreError, Swap};
use std::sync::atomic::Ordering;

/// After an attempt: the recipient is settled (or left queued), or try again.
enum Next {
    Done,
    Again,
}

impl Runner<'_> {
    pub(super) async fn send_one(&self, mut r: RecipientRecord) -> Result<(), StoreError> {
        let mut transient_tries = 0;
        loop {
            match self.attempt(&mut r, &mut transient_tries).await? {
                Next::Done => return Ok(()),
                Next::Again => continue,
            }
        }
    }

    async fn attempt(
        &self,
        r: &mut RecipientRecord,
        transient_tries: &mut u32,
    ) -> Result<Next, StoreError> {
        let store = &self.ctx.store;
        if self.halted() {
            return Ok(Next::Done); // stays queued
        }
        let now = TimestampMs::now();
        let file = match &self.file {
            Ok(f) => f.as_ref(),
            Err(e) => {
                self.stop(format!(
                    "its file record cannot be read ({e}); fix it, then resume"
                ));
                return Ok(Next::Done);
            }
        };
        if file.is_none() && self.camp.text.is_empty() {
            self.stop(format!(
                "it sends a file whose record (campaign-files/{}.json in the store directory) is missing; nothing more can be sent",
                self.camp.id
            ));
            return Ok(Next::Done);
        }
        let conv = store.conversation(&r.conv)?;
        let contact = store.contact(&r.conv)?;
        // A first attempt rendered the text into the outbox record: a retry
        // or a resume sends exactly that text again.
        let first_text = match &r.outbox_id {
            Some(o) => store.outbox_get(o)?.map(|o| o.text),
            None => None,
        };
        let recipient = Recipient {
            key: &r.conv,
            conv: conv.as_ref(),
            contact: contact.as_ref(),
        };
        // Only this recipient's page matters: read its token state alone
        // (Meta may have refused it since the campaign started).
        let with_dead;
        let pages = match route(&self.ctx.config, &r.conv) {
            Ok(page) if crate::tokens::dead_token(store, page).is_some() => {
                let mut p = self.pages.clone();
                p.dead.insert(page.id.clone());
                with_dead = p;
                &with_dead
            }
            _ => &self.pages,
        };
        let about = file.map(|f| f.about());
        let verdict = match (&about, &first_text, &self.template) {
            (Some(about), _, _) => {
                let instagram = file.map_or(Ok(()), |f| f.instagram_url(now).map(|_| ()));
                let body = Body::File { about, instagram };
                eligibility::check(pages, recipient, body, self.tag, now)
            }
            (None, Some(t), _) => {
                eligibility::check(pages, recipient, Body::Rendered(t), self.tag, now)
            }
            (None, None, Ok(t)) => {
                eligibility::check(pages, recipient, Body::Template(t), self.tag, now)
            }
            // Stored with an unknown variable (before they were refused): never sent.
            (None, None, Err(e)) => Verdict::Skip(eligibility::Skip::UnknownVariable(e.clone())),
        };
        let (plan, text) = match verdict {
            Verdict::Send { plan, text } => (plan, text),
            Verdict::Skip(skip) if skip.stops_campaign() => {
                // Meta refused this page's token before (190): stop, nothing
                // is sent; a new token and a resume continue the campaign.
                let page = route(&self.ctx.config, &r.conv).ok();
                match page.and_then(|p| crate::tokens::dead_token(store, p).map(|d| (p, d))) {
                    Some((page, dead)) => self.stop(format!(
                        "page {} ({}): the token is invalid ({}); put a new one in the config, then resume",
                        page.name, page.id, dead.reason
                    )),
                    None => self.stop(format!("{skip}, then resume")),
                }
                return Ok(Next::Done);
            }
            Verdict::Skip(skip) => {
                r.state = RecipientState::Skipped;
                r.reason = Some(skip.to_string());
                r.updated_at = now;
                store.put_recipient(r)?;
                self.finished(RecipientState::Skipped);
                return Ok(Next::Done);
            }
        };
        let page = match route(&self.ctx.config, &r.conv) {
            Ok(p) => p,
            Err(reason) => {
                r.state = RecipientState::Skipped;
                r.reason = Some(reason.0);
                store.put_recipient(r)?;
                self.finished(RecipientState::Skipped);
                return Ok(Next::Done);
            }
        };
        let carried = match file.map(|f| f.outgoing(r.conv.platform, page.id.as_str(), now)) {
            None => None,
            Some(Ok(carried)) => Some(carried),
            Some(Err(why)) => {
                r.state = RecipientState::Failed;
                r.reason = Some(why);
                r.updated_at = now;
                store.put_recipient(r)?;
                self.finished(RecipientState::Failed);
                return Ok(Next::Done);
            }
        };
        // The outbox record first (its metadata binds the echo), then
        // in_flight made durable, then the call.
        let outbox = match (&r.outbox_id, file) {
            (Some(o), _) => store.outbound_retry(o)?,
            (None, Some(f)) => create_outbound_file(
                store,
                &r.conv,
                f.kind,
                &f.name,
                plan.tag().map(Tag::as_str),
                self.camp.created_by.as_deref(),
                Some(&self.camp.id),
                now,
            )?,
            (None, None) => store.create_outbound(
                &r.conv,
                &text,
                plan.tag().map(Tag::as_str),
                self.camp.created_by.as_deref(),
                Some(&self.camp.id),
                now,
            )?,
        };
        let from = r.state;
        r.outbox_id = Some(outbox.id.clone());
        r.state = RecipientState::InFlight;
        r.attempts += 1;
        r.updated_at = now;
        // Claim it: with several runners on one store only one sends.
        if let Swap::Lost(cur) = store.swap_recipient(r, from)? {
            store.outbound_failed(&outbox.id, "another runner took this recipient")?;
            if let Some(cur) = cur {
                *r = cur;
            }
            return Ok(Next::Done);
        }
        store.durable().await;

        if file.is_some_and(|f| f.kind.is_audio_or_video()) {
            // Meta's lower Send API rate for audio and video.
            self.ctx.av_limiter.acquire().await;
        }
        // A halt already given wins over a permit that is also ready: no
        // call starts after cancel or shutdown.
        let acquired = tokio::select! {
            biased;
            _ = self.halt.cancelled() => false,
            _ = self.ctx.limiter.acquire() => true,
        };
        if !acquired {
            // No call was made: safe to put it back.
            r.state = RecipientState::Queued;
            store.put_recipient(r)?;
            store.outbound_failed(&outbox.id, "campaign paused before this send")?;
            return Ok(Next::Done);
        }
        let res = self
            .ctx
            .graph
            .send(
                &page.id,
                &page.access_token,
                &r.conv.user,
                carried.unwrap_or(Outgoing::Text(&outbox.text)),
                plan,
                &outbox.metadata(),
            )
            .await;
        let e = match res {
            Ok(resp) => {
                store.outbound_sent(&outbox.id, &resp.message_id)?;
                r.state = RecipientState::Sent;
                r.mid = Some(resp.message_id);
                r.reason = None;
                r.updated_at = TimestampMs::now();
                store.put_recipient(r)?;
                self.rl_streak.store(0, Ordering::Relaxed);
                self.finished(RecipientState::Sent);
                return Ok(Next::Done);
            }
            Err(e) => e,
        };
        let reason = failure_reason(&e);
        store.outbound_failed(&outbox.id, &reason)?;
        // An echo may have bound the record meanwhile: then it was sent.
        if let Some(mid) = store.outbox_get(&outbox.id)?.and_then(|o| o.mid) {
            r.state = RecipientState::Sent;
            r.mid = Some(mid);
            store.put_recipient(r)?;
            self.finished(RecipientState::Sent);
            return Ok(Next::Done);
        }
        r.reason = Some(reason.clone());
        r.updated_at = TimestampMs::now();
        match e.class {
            ErrorClass::RateLimited => {
                // Meta refused it: not sent, back in the queue; the whole campaign pauses.
                r.state = RecipientState::Queued;
                store.put_recipient(r)?;
                let streak = self.rl_streak.fetch_add(1, Ordering::Relaxed) + 1;
                if streak > self.tuning.max_rate_limit_streak {
                    self.stop(format!(
                        "Meta kept refusing with rate-limit errors: {}",
                        e.describe()
                    ));
                    return Ok(Next::Done);
                }
                let backoff = self
                    .tuning
                    .rate_limit_pause
                    .saturating_mul(1 << (streak - 1).min(10))
                    .min(self.tuning.max_rate_limit_pause);
                let pause = e
                    .retry_after
                    .unwrap_or(backoff)
                    .min(self.tuning.max_rate_limit_pause);
                tracing::warn!(campaign = %self.camp.id, ?pause, "rate limited by Meta; pausing the campaign");
                self.ctx.limiter.pause(pause);
                Ok(Next::Again)
            }
            ErrorClass::TokenInvalid => {
                crate::tokens::token_died(store, page, &e);
                r.state = RecipientState::Queued;
                store.put_recipient(r)?;
                self.stop(format!(
                    "page {} ({}): {}",
                    page.name,
                    page.id,
                    e.describe()
                ));
                Ok(Next::Done)
            }
            ErrorClass::Transient
                if certainly_not_sent(&e) && *transient_tries < self.tuning.transient_retries =>
            {
                *transient_tries += 1;
                r.state = RecipientState::Queued;
                store.put_recipient(r)?;
                let wait = self
                    .tuning
                    .transient_backoff
                    .saturating_mul(1 << (*transient_tries - 1).min(6));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.halt.cancelled() => return Ok(Next::Done),
                }
                Ok(Next::Again)
            }
            ErrorClass::Transient if !certainly_not_sent(&e) => {
                // A timeout: Meta may have sent it. Never guess twice.
                r.state = RecipientState::Unknown;
                store.put_recipient(r)?;
                self.finished(RecipientState::Unknown);
                Ok(Next::Done)
            }
            _ => {
                if e.class == ErrorClass::Transient {
                    r.reason = Some(format!(
                        "{reason} (after {} attempts)",
                        *transient_tries + 1
                    ));
                }
                r.state = RecipientState::Failed;
                store.put_recipient(r)?;
                self.finished(RecipientState::Failed);
                Ok(Next::Done)
            }
        }
    }
}
