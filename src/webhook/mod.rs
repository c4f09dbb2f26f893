//! The embedded webhook server: Meta's verification handshake, signed event
//! delivery into the durable log, health and metrics.

pub mod media;
pub mod serve;
pub mod signature;

use crate::db::Db;
use crate::domain::TimestampMs;
use crate::metrics::{Metrics, Rejection};
use crate::secret::Secret;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Extension, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

/// Meta's events are a few hundred bytes; a 1000-event batch fits in 1 MiB.
pub const MAX_BODY: usize = 1024 * 1024;

/// How long a request waits for its write to become durable before 503
/// (Meta retries; its own timeout is 20 s).
const DURABLE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct WebhookState {
    pub store: Db,
    pub app_secret: Secret,
    /// The Instagram app's secret (apps set up with Instagram Login sign
    /// with it): a body valid under either secret is accepted.
    pub instagram_app_secret: Option<Secret>,
    pub verify_token: Secret,
    pub metrics: Arc<Metrics>,
    /// Poked after each durable append so ingest applies it at once.
    pub ingest: Arc<Notify>,
}

/// The router with the default limits (see [`serve::Limits`]).
pub fn router(state: WebhookState, path: &str) -> Router {
    router_with(state, path, &serve::Limits::for_this_process())
}

/// The router with the body limits of `limits` (timeout, large bodies at once).
pub fn router_with(state: WebhookState, path: &str, limits: &serve::Limits) -> Router {
    Router::new()
        .route(path, get(verify).post(receive))
        .route("/media/{token}", get(media::serve))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(Extension(serve::BodyLimits::new(limits)))
        .with_state(state)
}

/// `GET /webhook`: answer the challenge when mode and token match, else 403.
async fn verify(
    State(st): State<WebhookState>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let get = |k: &str| {
        q.get(&format!("hub.{k}"))
            .or_else(|| q.get(&format!("hub_{k}")))
    };
    let mode_ok = get("mode").is_some_and(|m| m == "subscribe");
    let token_ok = get("verify_token").is_some_and(|t| {
        !st.verify_token.is_empty()
            && bool::from(t.as_bytes().ct_eq(st.verify_token.expose().as_bytes()))
    });
    match (mode_ok && token_ok, get("challenge")) {
        (true, Some(c)) => (StatusCode::OK, c.clone()).into_response(),
        _ => {
            st.metrics.rejected(Rejection::BadVerifyToken);
            tracing::warn!("webhook verification refused: wrong mode or verify token");
            (StatusCode::FORBIDDEN, "forbidden").into_response()
        }
    }
}

/// A refusal that also closes the connection (the rest of the body, if
/// any, is never read).
fn refuse(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONNECTION, "close")], text).into_response()
}

/// `POST /webhook`: 413 over 1 MiB, 401 unless signed, 503 when too many
/// large bodies are being read or the applier lags too far behind, 408 when
/// the body is slow; 200 once durable.
/// Unsigned requests are refused before their body is read when they carry
/// no signature at all, and bodies are read under a deadline.
async fn receive(
    State(st): State<WebhookState>,
    Extension(limits): Extension<Arc<serve::BodyLimits>>,
    conn: Option<Extension<serve::ConnSlot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        st.metrics.rejected(Rejection::TooLarge);
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB");
    }
    let Some(sig) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
    else {
        st.metrics.rejected(Rejection::MissingSignature);
        return refuse(StatusCode::UNAUTHORIZED, "missing X-Hub-Signature-256");
    };
    // Only a few large bodies are buffered at once; small ones (all of
    // Meta's ordinary events) are bounded by the connection cap.
    let large = if declared.is_none_or(|n| n > serve::SMALL_BODY as u64) {
        match limits.large.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                tracing::debug!("large webhook body refused: too many being read");
                st.metrics.rejected(Rejection::Busy);
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "busy: retry later");
            }
        }
    } else {
        None
    };
    let read = tokio::time::timeout(limits.timeout, Limited::new(body, MAX_BODY).collect()).await;
    let body = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            st.metrics.rejected(Rejection::TooLarge);
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB");
        }
        Ok(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "body could not be read"),
        Err(_) => {
            tracing::debug!("webhook body not received in time");
            st.metrics.rejected(Rejection::SlowBody);
            return refuse(StatusCode::REQUEST_TIMEOUT, "body not received in time");
        }
    };
    drop(large);
    let secrets = std::iter::once(&st.app_secret).chain(st.instagram_app_secret.as_ref());
    if !signature::verify_any(secrets, &body, sig) {
        st.metrics.rejected(Rejection::BadSignature);
        tracing::warn!(len = body.len(), "webhook with a bad signature refused");
        return refuse(StatusCode::UNAUTHORIZED, "bad signature");
    }
    // Meta retries a 503, so a burst waits at Meta rather than in memory.
    if st.metrics.lagging() {
        st.metrics.rejected(Rejection::ApplyLag);
        tracing::warn!(
            lag = st.metrics.lag(),
            "applier behind; webhook refused for now"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "busy applying: retry later",
        )
            .into_response();
    }
    // A signed request: its connection is not closed to make room.
    let _busy = conn.map(|Extension(c)| c.busy());
    let appended = tokio::time::timeout(
        DURABLE_TIMEOUT,
        st.store.append_event(&body, TimestampMs::now()),
    )
    .await;
    match appended {
        Ok(Ok(seq)) => {
            st.metrics.logged(seq);
            st.metrics.received();
            st.ingest.notify_one();
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not log webhook event");
            st.metrics.rejected(Rejection::StoreUnavailable);
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
        Err(_) => {
            tracing::error!("webhook event not durable in time");
            st.metrics.rejected(Rejection::StoreUnavailable);
            (StatusCode::SERVICE_UNAVAILABLE, "store not durable in time").into_response()
        }
    }
}

/// `GET /healthz`: `ok`, or 503 with the reason while the store cannot
/// write (a load balancer or watchdog sees a full disk).
async fn healthz(State(st): State<WebhookState>) -> impl IntoResponse {
    match st.store.health() {
        Ok(()) => (StatusCode::OK, "ok".to_string()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {why}"),
        ),
    }
}

async fn metrics(State(st): State<WebhookState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
}
