//! A person's reply: checks before any call (account configured, text
//! limits, window and tag), the outbox record made durable, then the Send
//! API. The API answer or the echo, whichever comes first, makes it sent.

use super::ratelimit::RateLimiter;
use crate::config::{Config, PageConfig};
use crate::db::Db;
use crate::domain::{ConvKey, Conversation, Mid, TimestampMs};
use crate::meta::error::{ErrorClass, GraphError};
use crate::meta::graph::{GraphClient, Outgoing};
use crate::rules::window::{self, Plan, Purpose, Refusal, Tag, WindowFacts};
use crate::store::{OutboxRecord, OutboxState, StoreError};
use std::sync::Arc;

/// What every sender needs: the store, the config (tokens), the Graph client
/// and the shared pacing of Send API calls.
#[derive(Clone)]
pub struct SendCtx {
    pub store: Db,
    pub config: Arc<Config>,
    pub graph: GraphClient,
    pub limiter: Arc<RateLimiter>,
    /// Audio and video sends' own, lower pace (Meta: 10 calls/s).
    pub av_limiter: Arc<RateLimiter>,
}

impl SendCtx {
    pub fn new(store: Db, config: Arc<Config>, graph: GraphClient) -> SendCtx {
        let limiter = Arc::new(RateLimiter::per_second(config.send.max_per_second));
        let av_limiter = Arc::new(RateLimiter::per_second(
            crate::media::outgoing::AV_PER_SECOND,
        ));
        SendCtx {
            store,
            config,
            graph,
            limiter,
            av_limiter,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Refused before any call to Meta.
    #[error("{0}")]
    Refused(Refusal),
    /// Meta refused or could not be reached; the outbox record is failed.
    #[error("{reason}")]
    Failed {
        outbox_id: String,
        reason: String,
        class: ErrorClass,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A checked send: the page whose token and endpoint it uses, and how it goes out.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub page: PageConfig,
    pub plan: Plan,
}

/// The configured page that answers for this conversation's account (a
/// page's Instagram account uses the page's token).
pub fn route<'a>(config: &'a Config, conv: &ConvKey) -> Result<&'a PageConfig, Refusal> {
    match config.page_for(&conv.account) {
        None => Err(Refusal(format!(
            "account {} is not in the config: add a [[pages]] block with this id (or as its instagram_id), or an [[instagram]] block, and a token",
            conv.account
        ))),
        Some((_, p)) if p != conv.platform => Err(Refusal(format!(
            "account {} is a {p} account in the config, not {}",
            conv.account, conv.platform
        ))),
        Some((page, _)) => Ok(page),
    }
}

/// Every check made before a call: account, text (None: an attachment,
/// checked by `media/outgoing.rs`), standby, window and tag.
pub fn prepare(
    config: &Config,
    key: &ConvKey,
    conv: Option<&Conversation>,
    text: Option<&str>,
    tag: Option<Tag>,
    purpose: Purpose,
    now: TimestampMs,
) -> Result<Prepared, Refusal> {
    let page = route(config, key)?;
    if let Some(text) = text {
        window::check_text(key.platform, text)?;
    }
    if conv.is_some_and(|c| c.standby) {
        return Err(Refusal(
            "another app controls this conversation (standby): take the thread back first".into(),
        ));
    }
    let facts = match conv {
        Some(c) => WindowFacts::of(c, page.human_agent),
        None => WindowFacts {
            platform: key.platform,
            last_inbound: None,
            last_user_message: None,
            human_agent_allowed: page.human_agent,
        },
    };
    let plan = window::plan(&facts, now, tag, purpose)?;
    Ok(Prepared {
        page: page.clone(),
        plan,
    })
}

/// Whether Meta certainly did not deliver: it answered with an error, or the
/// request never left. A timeout or a broken answer may hide a send that
/// went through, so it is never retried blindly.
pub fn certainly_not_sent(e: &GraphError) -> bool {
    e.code.is_some()
        || e.http_status.is_some_and(|s| s >= 400)
        || e.message.starts_with("could not connect")
}

/// The reason recorded for a failed send.
pub fn failure_reason(e: &GraphError) -> String {
    if certainly_not_sent(e) {
        e.describe()
    } else {
        format!(
            "{}; it may still have reached the customer: check the thread before retrying",
            e.describe()
        )
    }
}

/// Every check before a person's reply is recorded or retried: `prepare`
/// on the stored conversation, and no token Meta already refused (190).
pub(super) fn prepare_reply(
    ctx: &SendCtx,
    key: &ConvKey,
    text: Option<&str>,
    tag: Option<Tag>,
    now: TimestampMs,
) -> Result<Prepared, SendError> {
    let conv = ctx.store.conversation(key)?;
    let prep = prepare(
        &ctx.config,
        key,
        conv.as_ref(),
        text,
        tag,
        Purpose::Reply,
        now,
    )
    .map_err(SendError::Refused)?;
    if let Some(dead) = crate::tokens::dead_token(&ctx.store, &prep.page) {
        return Err(SendError::Refused(Refusal(format!(
            "page {} has an invalid token ({}); put a new one in the config",
            prep.page.name, dead.reason
        ))));
    }
    Ok(prep)
}

/// Send a reply: checks, outbox record (durable), Send API. Returns Meta's mid.
pub async fn reply(
    ctx: &SendCtx,
    key: &ConvKey,
    text: &str,
    tag: Option<Tag>,
    agent: Option<&str>,
) -> Result<Mid, SendError> {
    let now = TimestampMs::now();
    let prep = prepare_reply(ctx, key, Some(text), tag, now)?;
    let rec = ctx
        .store
        .create_outbound(key, text, tag.map(Tag::as_str), agent, None, now)?;
    ctx.store.durable().await;
    send_record(ctx, &rec, &prep).await
}

/// Like `reply`, but a refusal still leaves the text in the thread as a
/// failed message the agent can retry (the UI's path: nothing typed is lost).
pub async fn reply_keeping_refused(
    ctx: &SendCtx,
    key: &ConvKey,
    text: &str,
    tag: Option<Tag>,
    agent: Option<&str>,
) -> Result<Mid, SendError> {
    match reply(ctx, key, text, tag, agent).await {
        Err(SendError::Refused(r)) => {
            let rec = ctx.store.create_outbound(
                key,
                text,
                tag.map(Tag::as_str),
                agent,
                None,
                TimestampMs::now(),
            )?;
            ctx.store.outbound_failed(&rec.id, &r.0)?;
            Err(SendError::Refused(r))
        }
        other => other,
    }
}

/// Try a failed reply again (same outbox record, same thread message).
pub async fn retry(ctx: &SendCtx, outbox_id: &str) -> Result<Mid, SendError> {
    let Some(rec) = ctx.store.outbox_get(outbox_id)? else {
        return Err(SendError::Refused(Refusal(format!(
            "no outgoing message {outbox_id}"
        ))));
    };
    if let Some(mid) = rec.mid.clone() {
        return Ok(mid); // already sent: never twice
    }
    if rec.state != OutboxState::Failed {
        return Err(SendError::Refused(Refusal(
            "this message is still being sent; it may reach Meta: wait for its echo".into(),
        )));
    }
    if rec.campaign.is_some() {
        return Err(SendError::Refused(Refusal(
            "campaign messages are not retried one by one; send a new message instead".into(),
        )));
    }
    if rec.is_file() {
        return Err(SendError::Refused(Refusal(
            "dmdesk does not keep a sent file: send it again with `dmdesk send --file`".into(),
        )));
    }
    // A message recorded with a tag Meta has since retired is not sent again
    // with it (error 100); the agent reads why.
    let tag = match rec.tag.as_deref().map(Tag::parse).transpose() {
        Ok(t) => t,
        Err(e) => {
            let r = Refusal(e.to_string());
            ctx.store.outbound_failed(&rec.id, &r.0)?;
            return Err(SendError::Refused(r));
        }
    };
    let prep = match prepare_reply(ctx, &rec.conv, Some(&rec.text), tag, TimestampMs::now()) {
        Ok(p) => p,
        Err(SendError::Refused(r)) => {
            ctx.store.outbound_failed(&rec.id, &r.0)?;
            return Err(SendError::Refused(r));
        }
        Err(e) => return Err(e),
    };
    let rec = ctx.store.outbound_retry(outbox_id)?;
    ctx.store.durable().await;
    send_record(ctx, &rec, &prep).await
}

/// The Send API call for a durable outbox record, and its outcome recorded.
pub async fn send_record(
    ctx: &SendCtx,
    rec: &OutboxRecord,
    prep: &Prepared,
) -> Result<Mid, SendError> {
    send_record_as(ctx, rec, prep, Outgoing::Text(&rec.text)).await
}

/// [`send_record`] with what the record's message carries given (a file
/// is not kept in the record).
pub async fn send_record_as(
    ctx: &SendCtx,
    rec: &OutboxRecord,
    prep: &Prepared,
    what: Outgoing<'_>,
) -> Result<Mid, SendError> {
    ctx.limiter.acquire().await;
    let res = ctx
        .graph
        .send(
            &prep.page.id,
            &prep.page.access_token,
            &rec.conv.user,
            what,
            prep.plan,
            &rec.metadata(),
        )
        .await;
    match res {
        Ok(r) => {
            ctx.store.outbound_sent(&rec.id, &r.message_id)?;
            Ok(r.message_id)
        }
        Err(e) => {
            if e.class == ErrorClass::TokenInvalid {
                crate::tokens::token_died(&ctx.store, &prep.page, &e);
            }
            let reason = failure_reason(&e);
            ctx.store.outbound_failed(&rec.id, &reason)?;
            // The echo may have proved it sent meanwhile.
            if let Some(mid) = ctx.store.outbox_get(&rec.id)?.and_then(|r| r.mid) {
                return Ok(mid);
            }
            Err(SendError::Failed {
                outbox_id: rec.id.clone(),
                reason,
                class: e.class,
            })
        }
    }
}
