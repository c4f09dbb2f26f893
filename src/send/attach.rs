//! A file as a message: the same outbox record, metadata and echo binding
//! as a text, so it is sent exactly once like one; the thread shows it as
//! an attachment of its kind (with the file's name) while it is pending.
//! The record keeps no copy of the file, so a failed one is not retried:
//! the agent sends the file again. Instagram takes media only by URL, so
//! there the file is served for an hour by this process's webhook server
//! (src/webhook/media.rs).

use super::reply::{prepare_reply, send_record_as, SendCtx, SendError};
use super::staging::Staging;
use crate::change::Change;
use crate::config::Config;
use crate::db::Db;
use crate::domain::{
    Attachment, ConvKey, Direction, Message, Mid, MsgStatus, Origin, Platform, TimestampMs,
};
use crate::media::outgoing::{Media, MediaKind};
use crate::meta::graph::Outgoing;
use crate::rules::window::{Refusal, Tag};
use crate::store::{OutboxRecord, Result, StoreError};
use crate::webhook::media::{ServedFiles, SERVE_FOR};

/// Whether a file can go to `platform` from this process. Instagram takes
/// media only by URL (meta-api.md, Instagram differences): Meta fetches the
/// file from this process's webhook server at `[server] public_url`.
pub fn check_platform(config: &Config, platform: Platform) -> std::result::Result<(), Refusal> {
    match platform {
        Platform::Messenger => Ok(()),
        Platform::Instagram if config.server.public_url.is_none() => Err(Refusal(
            "Instagram takes media only by URL: set [server] public_url to the HTTPS address Meta reaches this dmdesk at (README: Sending files), or send a link in the text".into(),
        )),
        Platform::Instagram if !config.server.enabled => Err(Refusal(
            "Instagram fetches the file from dmdesk's webhook server, which is off here ([server] enabled = false)".into(),
        )),
        Platform::Instagram => Ok(()),
    }
}

/// Every rule for this file on `platform` before anything is recorded:
/// where it can go, then Meta's type and size rules.
pub fn check_media(
    config: &Config,
    platform: Platform,
    media: &Media,
) -> std::result::Result<(), Refusal> {
    check_platform(config, platform)?;
    crate::media::outgoing::check_for(platform, media.kind, media.mime, media.bytes.len() as u64)
        .map_err(|r| Refusal(format!("{}: {r}", media.name)))
}

/// Write the outbox record and its pending thread message carrying the
/// attachment, in one atomic apply.
#[allow(clippy::too_many_arguments)]
pub fn create_outbound_file(
    store: &Db,
    conv: &ConvKey,
    kind: MediaKind,
    name: &str,
    tag: Option<&str>,
    agent: Option<&str>,
    campaign: Option<&str>,
    now: TimestampMs,
) -> Result<OutboxRecord> {
    let id = format!("o{:x}", store.next_id()?);
    // The record's text stays empty (a file record); the message queued
    // with it gets the attachment merged in by the second change.
    let local = Mid(format!("local:{id}"));
    let mut msg = Message::inbound(conv.clone(), local, now);
    msg.direction = Direction::Out;
    msg.status = MsgStatus::Pending;
    msg.origin = Some(Origin::Dmdesk);
    msg.attachments = vec![Attachment {
        kind: kind.as_str().to_string(),
        url: None,
        title: Some(name.to_string()),
    }];
    store.apply(&[
        Change::OutboundQueued {
            id: id.clone(),
            conv: conv.clone(),
            text: String::new(),
            tag: tag.map(str::to_string),
            agent: agent.map(str::to_string),
            campaign: campaign.map(str::to_string),
            at: now,
        },
        Change::Message {
            msg,
            metadata: None,
            qualifying: false,
            from_sync: false,
        },
    ])?;
    store
        .outbox_get(&id)?
        .ok_or_else(|| StoreError::NotFound(format!("outbox record {id} vanished")))
}

/// Send a file as a person's reply: the same checks as a text (window,
/// tag, token) but the text rules, Meta's rules for the file, then one
/// Send API call: a multipart upload on Messenger, a URL this process
/// serves on Instagram.
pub async fn reply_file(
    ctx: &SendCtx,
    key: &ConvKey,
    media: &Media,
    tag: Option<Tag>,
    agent: Option<&str>,
) -> std::result::Result<Mid, SendError> {
    check_media(&ctx.config, key.platform, media).map_err(SendError::Refused)?;
    let now = TimestampMs::now();
    let prep = prepare_reply(ctx, key, None, tag, now)?;
    // Served before anything is recorded: a full directory is a refusal.
    let url = match key.platform {
        Platform::Messenger => None,
        Platform::Instagram => Some(serve(ctx, media, now, SERVE_FOR).await?.0),
    };
    let rec = create_outbound_file(
        &ctx.store,
        key,
        media.kind,
        &media.name,
        tag.map(Tag::as_str),
        agent,
        None,
        now,
    )?;
    ctx.store.durable().await;
    if media.kind.is_audio_or_video() {
        ctx.av_limiter.acquire().await;
    }
    let what = match &url {
        None => Outgoing::Upload(media),
        Some(url) => Outgoing::Url {
            kind: media.kind,
            url,
        },
    };
    send_record_as(ctx, &rec, &prep, what).await
}

/// Put the file where Meta can fetch it for `ttl` (a reply's: [`SERVE_FOR`]);
/// its URL and token. It is deleted when that time is up (or by the next
/// sweep after a restart).
pub async fn serve(
    ctx: &SendCtx,
    media: &Media,
    now: TimestampMs,
    ttl: std::time::Duration,
) -> std::result::Result<(String, String), SendError> {
    let public = ctx
        .config
        .server
        .public_url
        .clone()
        .ok_or_else(|| SendError::Refused(Refusal("no [server] public_url".into())))?;
    let served = ServedFiles::under(ctx.store.path());
    let (files, bytes, mime) = (served.clone(), media.bytes.clone(), media.mime);
    let token = tokio::task::spawn_blocking(move || files.publish(&bytes, mime, now, ttl))
        .await
        .map_err(|e| SendError::Refused(Refusal(format!("cannot serve the file: {e}"))))?
        .map_err(|e| SendError::Refused(Refusal(e.to_string())))?;
    let url = crate::webhook::media::url(&public, &token);
    let remove = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ttl).await;
        let _ = tokio::task::spawn_blocking(move || served.remove(&remove)).await;
    });
    Ok((url, token))
}

/// Send a file a client staged (`Request::Upload`), as its uploader.
pub async fn reply_staged(
    ctx: &SendCtx,
    key: &ConvKey,
    upload: &str,
    tag: Option<Tag>,
    agent: Option<&str>,
) -> std::result::Result<Mid, SendError> {
    let media = take_staged(ctx.store.path(), upload, agent).await?;
    reply_file(ctx, key, &media, tag, agent).await
}

/// The staged upload as a file, taken from the staging directory.
pub async fn take_staged(
    store_dir: &std::path::Path,
    upload: &str,
    agent: Option<&str>,
) -> std::result::Result<Media, SendError> {
    let staging = Staging::under(store_dir);
    let (upload, agent) = (upload.to_string(), agent.map(str::to_string));
    tokio::task::spawn_blocking(move || staging.take(agent.as_deref(), &upload))
        .await
        .map_err(|e| SendError::Refused(Refusal(format!("cannot read the staged file: {e}"))))?
        .map_err(|e| SendError::Refused(Refusal(e)))
}
