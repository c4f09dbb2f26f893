//! The fake Send API: Meta's checks in Meta's order, the window rule, and
//! what Meta does after a successful send (echo, delivery, read, maybe a reply).

use super::errors::GraphError;
use super::multipart::Part;
use super::world::{now_ms, SimAttachment, SimMessage, DAY_MS};
use super::{customers, payload, Inner};
use crate::domain::Platform;
use rand::Rng;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Meta's window rule as the fake applies it (independent of dmdesk's own).
pub fn window_check(
    platform: Platform,
    last_action_ms: Option<i64>,
    last_message_ms: Option<i64>,
    now: i64,
    messaging_type: &str,
    tag: Option<&str>,
    human_agent_permission: bool,
) -> Result<(), GraphError> {
    let instagram = platform == Platform::Instagram;
    match (messaging_type, tag) {
        ("MESSAGE_TAG", None) => {
            return Err(GraphError::invalid(
                "(#100) Tag is required for MESSAGE_TAG messaging type",
            ))
        }
        ("MESSAGE_TAG", Some(t)) => {
            // Retired in 2026: Meta answers a bare "(#100) Invalid parameter".
            let retired = [
                "CONFIRMED_EVENT_UPDATE",
                "POST_PURCHASE_UPDATE",
                "ACCOUNT_UPDATE",
            ];
            if retired.contains(&t) {
                return Err(GraphError::from_code(100, None));
            }
            let known = ["HUMAN_AGENT", "CUSTOMER_FEEDBACK"];
            if !known.contains(&t) {
                return Err(GraphError::invalid(format!(
                    "(#100) Param tag must be one of {known:?}"
                )));
            }
            if instagram && t != "HUMAN_AGENT" {
                return Err(GraphError::invalid(
                    "(#100) Only the HUMAN_AGENT tag is supported on Instagram",
                ));
            }
        }
        ("RESPONSE" | "UPDATE" | "UTILITY", _) => {}
        (other, _) => {
            return Err(GraphError::invalid(format!(
                "(#100) Invalid messaging_type {other}"
            )))
        }
    }
    if last_action_ms.is_some_and(|a| now - a <= DAY_MS) {
        return Ok(());
    }
    if messaging_type == "MESSAGE_TAG" {
        match tag {
            Some("HUMAN_AGENT") => {
                if !human_agent_permission {
                    return Err(GraphError::new(400, 10, Some(2018278), "(#10) This message is sent outside of allowed window. The HUMAN_AGENT tag needs the Human Agent permission."));
                }
                if last_message_ms.is_some_and(|m| now - m <= 7 * DAY_MS) {
                    return Ok(());
                }
            }
            // CUSTOMER_FEEDBACK (Messenger, feedback template only): 7 days.
            Some("CUSTOMER_FEEDBACK")
                if !instagram && last_message_ms.is_some_and(|m| now - m <= 7 * DAY_MS) =>
            {
                return Ok(())
            }
            _ => {}
        }
    }
    Err(GraphError::outside_window(instagram))
}

fn field(body: &Value, key: &str) -> Option<Value> {
    // Form posts carry JSON objects as strings.
    let v = match body.get(key)? {
        Value::String(s) if s.trim_start().starts_with('{') => serde_json::from_str(s).ok()?,
        v => v.clone(),
    };
    (!v.is_null()).then_some(v)
}

/// `POST /{page-id|me|ig-id}/messages`.
pub fn send(
    inner: &Arc<Inner>,
    account: &str,
    body: &Value,
    file: Option<&Part>,
) -> Result<Value, GraphError> {
    let ids = &inner.cfg.ids;
    inner.stats.send_call(Instant::now());
    let faults = inner.faults();
    if account != "me" && account != ids.page_id && account != ids.ig_id {
        return Err(GraphError::new(400, 100, Some(33), format!("Unsupported post request. Object with ID '{account}' does not exist, cannot be loaded due to missing permissions, or does not support this operation")));
    }
    if let Some(limit) = faults.send_limit_per_second {
        if inner.stats.sends_in_last_second(Instant::now()) > limit as usize {
            return Err(GraphError::from_code(613, None));
        }
    }
    if inner.usage.load(Ordering::Relaxed) >= 100 {
        return Err(GraphError::from_code(613, None));
    }
    let recipient = field(body, "recipient")
        .and_then(|r| crate::meta::lenient::id(r.get("id")))
        .ok_or_else(|| GraphError::invalid("(#100) The parameter recipient is required"))?;
    if let Some((code, sub)) = faults.user_errors.get(&recipient) {
        return Err(GraphError::from_code(*code, *sub));
    }
    if faults.send_fail_fraction > 0.0
        && inner
            .rng()
            .random_bool(faults.send_fail_fraction.clamp(0.0, 1.0))
    {
        let (code, sub) = faults.send_fail_code.unwrap_or((1200, None));
        return Err(GraphError::from_code(code, sub));
    }
    let idx = {
        let w = inner.world();
        let idx = w
            .customer_by_user(&recipient)
            .ok_or_else(|| GraphError::from_code(100, Some(2018001)))?;
        let c = &w.customers[idx];
        // An Instagram account cannot reach a Messenger PSID.
        if account == ids.ig_id && c.platform != Platform::Instagram {
            return Err(GraphError::from_code(100, Some(2018001)));
        }
        if !c.reachable {
            return Err(GraphError::from_code(551, Some(1545041)));
        }
        idx
    };
    if let Some(action) = body.get("sender_action").and_then(Value::as_str) {
        if !matches!(
            action,
            "typing_on" | "typing_off" | "mark_seen" | "react" | "unreact"
        ) {
            return Err(GraphError::invalid(format!(
                "(#100) Invalid sender_action {action}"
            )));
        }
        return Ok(json!({"recipient_id": recipient}));
    }
    let message = field(body, "message")
        .filter(Value::is_object)
        .ok_or_else(|| GraphError::invalid("(#100) The parameter message is required"))?;
    let text = message
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_string);
    let attachment = message.get("attachment").filter(|a| !a.is_null());
    if text.is_none() == attachment.is_none() {
        return Err(GraphError::invalid(
            "(#100) Exactly one of message[text] or message[attachment] must be set",
        ));
    }
    let metadata = message
        .get("metadata")
        .and_then(Value::as_str)
        .map(str::to_string);
    if metadata.as_ref().is_some_and(|m| m.chars().count() >= 1000) {
        return Err(GraphError::invalid(
            "(#100) Length of param message[metadata] must be less than 1000",
        ));
    }
    let messaging_type = body
        .get("messaging_type")
        .and_then(Value::as_str)
        .unwrap_or("RESPONSE")
        .to_string();
    let tag = body.get("tag").and_then(Value::as_str).map(str::to_string);
    let now = now_ms();
    let mut w = inner.world();
    let platform = w.customers[idx].platform;
    if let Some(t) = &text {
        let too_long = match platform {
            Platform::Messenger => t.chars().count() >= 2000,
            Platform::Instagram => t.len() > 1000,
        };
        if too_long {
            return Err(GraphError::new(400, 100, Some(2018047), "(#100) Length of param message[text] must be less than 2000 characters (1000 bytes on Instagram)"));
        }
    }
    let sent = attachment
        .map(|a| attachment_of(inner, a, file))
        .transpose()?;
    let th = &w.threads[idx];
    window_check(
        platform,
        th.last_action_ms,
        th.last_message_ms,
        now,
        &messaging_type,
        tag.as_deref(),
        inner.cfg.human_agent,
    )?;
    let mid = w.new_mid(idx);
    let (attachments, attachment_id) = match sent {
        Some((a, id)) => (vec![a], id),
        None => (Vec::new(), None),
    };
    // Keep thread order strict even within one millisecond.
    let ts = now.max(w.threads[idx].updated_ms() + 1);
    let msg = SimMessage {
        mid: mid.clone(),
        ts_ms: ts,
        from_customer: false,
        text,
        attachments,
        metadata,
    };
    w.push(idx, msg.clone());
    drop(w);
    inner.stats.sends_ok.fetch_add(1, Ordering::Relaxed);
    let task_inner = inner.clone();
    tokio::spawn(async move { after_send(task_inner, idx, msg).await });
    let mut answer = json!({"recipient_id": recipient, "message_id": mid});
    if let Some(id) = attachment_id {
        answer["attachment_id"] = json!(id);
    }
    Ok(answer)
}

/// Meta's limit for an uploaded file.
const MAX_UPLOAD: usize = 25 * 1024 * 1024;

fn upload_failure(why: &str) -> GraphError {
    GraphError::new(
        400,
        100,
        Some(2018047),
        format!("(#100) Upload attachment failure: {why}"),
    )
}

/// What a send's attachment names: a URL, an earlier upload
/// (`attachment_id`), or the file uploaded with it (`filedata`). Returns
/// the attachment and, for a reusable upload, its new id.
fn attachment_of(
    inner: &Inner,
    a: &Value,
    file: Option<&Part>,
) -> Result<(SimAttachment, Option<String>), GraphError> {
    let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
    let payload = a.get("payload").cloned().unwrap_or(Value::Null);
    let attachment = |url: String, mime: &str| SimAttachment {
        kind: kind.to_string(),
        url,
        mime: mime.to_string(),
    };
    if let Some(url) = payload.get("url").and_then(Value::as_str) {
        return Ok((
            attachment(url.to_string(), "application/octet-stream"),
            None,
        ));
    }
    if kind == "template" {
        let url = "https://cdn.example.com/upload".to_string();
        return Ok((attachment(url, "application/octet-stream"), None));
    }
    check_kind(kind)?;
    if let Some(id) = crate::meta::lenient::id(payload.get("attachment_id")) {
        let known = inner
            .uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned();
        return match known {
            Some(k) if k == kind => {
                Ok((attachment(cdn_url(&id), "application/octet-stream"), None))
            }
            Some(k) => Err(GraphError::invalid(format!(
                "(#100) attachment {id} is of type {k}, not {kind}"
            ))),
            None => Err(upload_failure("unknown attachment_id")),
        };
    }
    let Some(f) = file else {
        return Err(upload_failure("no url, attachment_id or filedata"));
    };
    check_file(f)?;
    let reusable = payload.get("is_reusable").and_then(Value::as_bool) == Some(true);
    let id = reusable.then(|| store_upload(inner, kind));
    let url = cdn_url(id.as_deref().unwrap_or("once"));
    let mime = f
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    Ok((attachment(url, mime), id))
}

fn cdn_url(id: &str) -> String {
    format!("https://cdn.example.com/attachments/{id}")
}

fn check_kind(kind: &str) -> Result<(), GraphError> {
    if matches!(kind, "image" | "video" | "audio" | "file") {
        Ok(())
    } else {
        Err(GraphError::invalid(format!(
            "(#100) param message[attachment][type] must be one of image, video, audio, file, template; got {kind:?}"
        )))
    }
}

fn check_file(f: &Part) -> Result<(), GraphError> {
    if f.data.is_empty() {
        return Err(upload_failure("the file is empty"));
    }
    if f.data.len() > MAX_UPLOAD {
        return Err(upload_failure("the file is larger than 25 MB"));
    }
    Ok(())
}

fn store_upload(inner: &Inner, kind: &str) -> String {
    let mut uploads = inner.uploads.lock().unwrap_or_else(|e| e.into_inner());
    let id = format!("{}", 7_100_000_000_000_000u64 + uploads.len() as u64 + 1);
    uploads.insert(id.clone(), kind.to_string());
    id
}

/// `POST /{page-id}/message_attachments`: the Attachment Upload API. A
/// reusable file in, its `attachment_id` out, for later sends to name.
pub fn upload(
    inner: &Arc<Inner>,
    account: &str,
    body: &Value,
    file: Option<&Part>,
) -> Result<Value, GraphError> {
    let ids = &inner.cfg.ids;
    if account != "me" && account != ids.page_id {
        return Err(GraphError::new(400, 100, Some(33), format!("Unsupported post request. Object with ID '{account}' does not exist, cannot be loaded due to missing permissions, or does not support this operation")));
    }
    let a = field(body, "message")
        .and_then(|m| m.get("attachment").cloned())
        .ok_or_else(|| {
            GraphError::invalid("(#100) The parameter message[attachment] is required")
        })?;
    let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
    check_kind(kind)?;
    let f = file.ok_or_else(|| upload_failure("no filedata"))?;
    check_file(f)?;
    Ok(json!({"attachment_id": store_upload(inner, kind)}))
}

/// Echo now, then delivery and read a moment later, and sometimes a reply.
async fn after_send(inner: Arc<Inner>, idx: usize, msg: SimMessage) {
    let cancel = inner.cancel.clone();
    let work = async {
        let customer = inner.world().customers[idx].clone();
        let echo = payload::echo(&inner.cfg.ids, &customer, &msg);
        inner
            .poster
            .post(&inner.stats, payload::to_meta_bytes(&echo))
            .await;
        tokio::time::sleep(inner.cfg.receipt_delay).await;
        if customer.platform == Platform::Messenger {
            let d = payload::delivery(&customer, &msg.mid, msg.ts_ms, now_ms());
            inner
                .poster
                .post(&inner.stats, payload::to_meta_bytes(&d))
                .await;
            tokio::time::sleep(inner.cfg.receipt_delay).await;
        }
        let r = payload::read(&customer, &msg.mid, msg.ts_ms, now_ms());
        inner
            .poster
            .post(&inner.stats, payload::to_meta_bytes(&r))
            .await;
        let p = inner.cfg.reply_probability.clamp(0.0, 1.0);
        let (reply, pause) = {
            let mut rng = inner.rng();
            (p > 0.0 && rng.random_bool(p), rng.random_range(1000..4000))
        };
        if reply {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            if let Some((_, body)) = customers::say(&inner, &customer.user_id, None) {
                inner.poster.post(&inner.stats, body).await;
            }
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = work => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;
    const H: i64 = 3_600_000;

    fn check(
        p: Platform,
        ago_h: i64,
        mt: &str,
        tag: Option<&str>,
    ) -> Result<(), (i64, Option<i64>)> {
        let t = Some(NOW - ago_h * H);
        window_check(p, t, t, NOW, mt, tag, true).map_err(|e| (e.code, e.subcode))
    }

    #[test]
    fn window_rule_like_meta() {
        assert!(check(Platform::Messenger, 2, "RESPONSE", None).is_ok());
        assert_eq!(
            check(Platform::Messenger, 25, "RESPONSE", None),
            Err((10, Some(2018278)))
        );
        assert!(check(Platform::Messenger, 25, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_ok());
        assert_eq!(
            check(
                Platform::Messenger,
                8 * 24,
                "MESSAGE_TAG",
                Some("HUMAN_AGENT")
            ),
            Err((10, Some(2018278)))
        );
        for retired in [
            "CONFIRMED_EVENT_UPDATE",
            "POST_PURCHASE_UPDATE",
            "ACCOUNT_UPDATE",
        ] {
            assert_eq!(
                check(Platform::Messenger, 30 * 24, "MESSAGE_TAG", Some(retired)),
                Err((100, None)),
                "{retired}"
            );
            assert_eq!(
                check(Platform::Messenger, 2, "MESSAGE_TAG", Some(retired)),
                Err((100, None)),
                "{retired} is refused inside the window too"
            );
        }
        assert_eq!(
            check(Platform::Instagram, 25, "RESPONSE", None),
            Err((10, Some(2534022)))
        );
        assert!(check(Platform::Instagram, 25, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_ok());
        assert_eq!(
            check(
                Platform::Instagram,
                2,
                "MESSAGE_TAG",
                Some("ACCOUNT_UPDATE")
            )
            .map_err(|e| e.0),
            Err(100)
        );
        assert_eq!(
            check(Platform::Messenger, 2, "MESSAGE_TAG", None).map_err(|e| e.0),
            Err(100)
        );
        let no_perm = window_check(
            Platform::Messenger,
            Some(NOW - 25 * H),
            Some(NOW - 25 * H),
            NOW,
            "MESSAGE_TAG",
            Some("HUMAN_AGENT"),
            false,
        );
        assert_eq!(no_perm.map_err(|e| e.code), Err(10));
    }
}
