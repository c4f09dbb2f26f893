//! The embedded webhook server: Meta's verification handshake, signed event
//! delivery into the durable log, health and metrics.

pub mod signature;

use crate::config::Secret;
use crate::db::Db;
use crate::domain::TimestampMs;
use crate::metrics::{Metrics, Rejection};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
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
    pub verify_token: Secret,
    pub metrics: Arc<Metrics>,
    /// Poked after each durable append so ingest applies it at once.
    pub ingest: Arc<Notify>,
}

pub fn router(state: WebhookState, path: &str) -> Router {
    Router::new()
        .route(path, get(verify).post(receive))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
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

/// `POST /webhook`: 401 unless signed, 413 over 1 MiB, 200 once durable.
async fn receive(
    State(st): State<WebhookState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> impl IntoResponse {
    let body = match body {
        Ok(b) => b,
        Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            st.metrics.rejected(Rejection::TooLarge);
            return (StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB").into_response();
        }
        Err(rej) => return rej.into_response(),
    };
    let Some(sig) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
    else {
        st.metrics.rejected(Rejection::MissingSignature);
        return (StatusCode::UNAUTHORIZED, "missing X-Hub-Signature-256").into_response();
    };
    if !signature::verify(st.app_secret.expose().as_bytes(), &body, sig) {
        st.metrics.rejected(Rejection::BadSignature);
        tracing::warn!(len = body.len(), "webhook with a bad signature refused");
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let appended = tokio::time::timeout(
        DURABLE_TIMEOUT,
        st.store.append_event(&body, TimestampMs::now()),
    )
    .await;
    match appended {
        Ok(Ok(_seq)) => {
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

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(st): State<WebhookState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
}
