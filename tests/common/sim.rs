//! Shared by the sim_* tests: a loopback webhook receiver that records
//! every request's signature header and exact body bytes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct Received {
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

pub struct Receiver {
    pub url: String,
    pub rx: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    /// Next request, or None after `secs`.
    pub async fn next(&mut self, secs: u64) -> Option<Received> {
        tokio::time::timeout(Duration::from_secs(secs), self.rx.recv())
            .await
            .ok()
            .flatten()
    }
}

pub async fn receiver() -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel();
    async fn hook(
        State(tx): State<mpsc::UnboundedSender<Received>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> &'static str {
        let signature = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let _ = tx.send(Received {
            signature,
            body: body.to_vec(),
        });
        "EVENT_RECEIVED"
    }
    let app = Router::new().route("/webhook", post(hook)).with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://{addr}/webhook"),
        rx,
    }
}

pub fn parse_ctx() -> dmdesk::meta::webhook::ParseCtx {
    dmdesk::meta::webhook::ParseCtx {
        app_id: Some("1000000000000001".into()),
        instagram_ids: vec![dmdesk::domain::AccountId::new("17840000000000001")],
        received: dmdesk::domain::TimestampMs::now(),
    }
}
