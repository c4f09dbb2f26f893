//! Exactly-once campaigns across a crash. A recipient found `in_flight` at
//! resume was being sent when the process stopped: Meta may or may not have
//! the message. Before wave 2 it became `unknown` and was never sent; now
//! the recipient's thread is read through the Conversations API (filtered by
//! `user_id`, meta-api.md "List conversations"): our page's message with the
//! text rendered for this recipient, created after the attempt began, means
//! it was sent (its mid is kept); its absence, once the echo's grace period
//! has passed, means it was not, and it is sent now. Only when Graph cannot
//! answer does the recipient stay `unknown`.

use crate::change::Change;
use crate::config::PageConfig;
use crate::domain::{ConvKey, Direction, Mid, Platform, TimestampMs};
use crate::meta::graph::GraphClient;
use crate::sync::convert;

/// Graph's `created_time` has whole seconds and the two clocks differ a
/// little: a message this much older than the attempt still counts.
pub const CLOCK_SLACK_MS: i64 = 60_000;

/// How many of the thread's newest messages are read. The attempt is recent
/// (a resume follows a crash), so it is among the newest.
const NEWEST: u32 = 25;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Meta has our message: the send went through.
    Sent(Mid),
    /// The thread has no such message: it was not sent.
    Absent,
    /// Graph could not answer: the recipient stays `unknown`.
    Unresolved(String),
}

/// Look in `conv`'s thread for our page's message with `text`, created at
/// or after `since` (less [`CLOCK_SLACK_MS`]).
pub async fn find_our_send(
    graph: &GraphClient,
    page: &PageConfig,
    conv: &ConvKey,
    text: &str,
    since: TimestampMs,
) -> Lookup {
    let platform = match conv.platform {
        Platform::Messenger => "messenger",
        Platform::Instagram => "instagram",
    };
    let fields = format!("messages.limit({NEWEST}){{id,message,from,created_time}}");
    // An Instagram Login account has no Page: its own threads are `me`'s
    // on the Instagram host (the client picks the host by account).
    let path = if page.is_instagram_login() {
        "me/conversations".to_string()
    } else {
        format!("{}/conversations", page.id)
    };
    let query = [
        ("platform", platform),
        ("user_id", conv.user.as_str()),
        ("fields", fields.as_str()),
    ];
    let answer = graph
        .get_as(page.id.as_str(), true, &path, &page.access_token, &query)
        .await;
    let v = match answer {
        Ok(v) => v,
        Err(e) => return Lookup::Unresolved(e.to_string()),
    };
    let earliest = since.0.saturating_sub(CLOCK_SLACK_MS);
    for t in convert::data(&v) {
        let thread = convert::thread(t, conv.platform, &conv.account);
        if thread.conv.as_ref() != Some(conv) {
            continue;
        }
        for change in thread.changes {
            if let Change::Message { msg, .. } = change {
                if msg.direction == Direction::Out
                    && msg.text.as_deref() == Some(text)
                    && msg.timestamp.0 >= earliest
                {
                    return Lookup::Sent(msg.mid);
                }
            }
        }
    }
    Lookup::Absent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountId;
    use crate::meta::graph::GraphConfig;
    use crate::secret::Secret;
    use serde_json::json;
    use std::time::Duration;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn page() -> PageConfig {
        PageConfig {
            id: AccountId::from("P1"),
            name: "Shop".into(),
            access_token: Secret::new("tok"),
            instagram_id: None,
            human_agent: false,
        }
    }

    fn graph(server: &MockServer) -> GraphClient {
        GraphClient::new(&GraphConfig {
            base_url: server.uri(),
            version: "v25.0".into(),
            conversations_per_second: 1000,
            timeout: Duration::from_secs(5),
            instagram_base_url: "http://127.0.0.1:9".into(),
            instagram_login_ids: vec![],
        })
    }

    fn conv() -> ConvKey {
        ConvKey::new(Platform::Messenger, "P1", "U1")
    }

    /// A thread with the customer's message, an older copy of our text and
    /// (when `sent`) our message after the attempt began.
    async fn thread(server: &MockServer, sent: bool) {
        let mut messages = vec![
            json!({"id":"m_customer","message":"Thanks Ann!","from":{"id":"U1"},"created_time":"2026-11-29T10:00:05+0000"}),
            json!({"id":"m_last_week","message":"Thanks Ann!","from":{"id":"P1"},"created_time":"2026-11-22T10:00:00+0000"}),
        ];
        if sent {
            messages.insert(
                0,
                json!({"id":"m_ours","message":"Thanks Ann!","from":{"id":"P1"},"created_time":"2026-11-29T10:00:01+0000"}),
            );
        }
        Mock::given(method("GET"))
            .and(path("/v25.0/P1/conversations"))
            .and(query_param("user_id", "U1"))
            .and(query_param("platform", "messenger"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data":[{
                "id":"t_1",
                "participants":{"data":[{"id":"U1","name":"Ann"},{"id":"P1","name":"Shop"}]},
                "messages":{"data": messages}
            }]})))
            .mount(server)
            .await;
    }

    /// 2026-11-29T10:00:00Z: the attempt began.
    const ATTEMPT: TimestampMs = TimestampMs(1_795_946_400_000);

    #[tokio::test]
    async fn our_message_after_the_attempt_means_sent() {
        let server = MockServer::start().await;
        thread(&server, true).await;
        let found = find_our_send(&graph(&server), &page(), &conv(), "Thanks Ann!", ATTEMPT).await;
        assert_eq!(found, Lookup::Sent(Mid::from("m_ours")));
    }

    #[tokio::test]
    async fn an_older_copy_or_the_customers_words_are_not_our_send() {
        let server = MockServer::start().await;
        thread(&server, false).await;
        let g = graph(&server);
        assert_eq!(
            find_our_send(&g, &page(), &conv(), "Thanks Ann!", ATTEMPT).await,
            Lookup::Absent
        );
        // Another recipient's rendering is not this one's.
        assert_eq!(
            find_our_send(&g, &page(), &conv(), "Thanks Bo!", ATTEMPT).await,
            Lookup::Absent
        );
    }

    #[tokio::test]
    async fn graph_refusing_leaves_it_unresolved() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error":{
                "message":"(#100) Invalid parameter","type":"OAuthException","code":100}})))
            .mount(&server)
            .await;
        let found = find_our_send(&graph(&server), &page(), &conv(), "Thanks Ann!", ATTEMPT).await;
        assert!(
            matches!(&found, Lookup::Unresolved(why) if why.contains("Invalid parameter")),
            "{found:?}"
        );
    }
}
