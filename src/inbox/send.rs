//! `Request::Send`: a person's message sent now, answered with Meta's mid
//! (`dmdesk send`). `handle` runs on a blocking thread; the send runs on
//! the caller's tokio runtime, waiting for the API's answer (not the echo).

use super::request::send_now::{NotSent, SendFile, Sent};
use crate::config::Config;
use crate::db::Db;
use crate::domain::ConvKey;
use crate::media::outgoing::Media;
use crate::meta::graph::GraphClient;
use crate::rules::window::Tag;
use crate::send::attach;
use crate::send::reply::{self, SendCtx, SendError};
use std::sync::Arc;

/// What the caller asked to send, as `agent`.
pub(super) struct Outgoing {
    pub conv: ConvKey,
    pub text: Option<String>,
    pub file: Option<SendFile>,
    pub tag: Option<Tag>,
}

/// Send `out` with the config's pages and tokens.
pub(super) fn send_now(
    store: &Db,
    config: Option<&Arc<Config>>,
    shared: Option<&SendCtx>,
    agent: Option<&str>,
    out: Outgoing,
) -> Result<Sent, String> {
    let config = config.ok_or("messages are sent where the config is")?;
    if out.text.is_none() && out.file.is_none() {
        return Err("nothing to send: give a text, a file or both".into());
    }
    let rt = tokio::runtime::Handle::try_current()
        .map_err(|_| "no runtime to send on in this process".to_string())?;
    let ctx = match shared {
        Some(ctx) => ctx.clone(),
        None => SendCtx::new(
            store.clone(),
            config.clone(),
            GraphClient::new(&config.graph),
        ),
    };
    Ok(rt.block_on(send(&ctx, out, agent)))
}

async fn send(ctx: &SendCtx, out: Outgoing, agent: Option<&str>) -> Sent {
    let mut sent = Sent {
        mids: Vec::new(),
        not_sent: None,
    };
    // Every check on the file before any call, so nothing half-sends.
    let media = match out.file {
        None => None,
        Some(file) => match checked(ctx, &out.conv, file, agent).await {
            Ok(media) => Some(media),
            Err(why) => {
                sent.not_sent = Some(NotSent::File(why));
                return sent;
            }
        },
    };
    if let Some(text) = &out.text {
        match reply::reply(ctx, &out.conv, text, out.tag, agent).await {
            Ok(mid) => sent.mids.push(mid),
            Err(e) => {
                sent.not_sent = Some(not_sent(e));
                return sent;
            }
        }
    }
    if let Some(media) = &media {
        match attach::reply_file(ctx, &out.conv, media, out.tag, agent).await {
            Ok(mid) => sent.mids.push(mid),
            Err(e) => sent.not_sent = Some(not_sent(e)),
        }
    }
    sent
}

/// The file, taken from staging if it was uploaded, and Meta's rules for
/// it on this conversation's platform.
async fn checked(
    ctx: &SendCtx,
    conv: &ConvKey,
    file: SendFile,
    agent: Option<&str>,
) -> Result<Media, String> {
    let media = match file {
        SendFile::Read(media) => media,
        SendFile::Upload(id) => attach::take_staged(ctx.store.path(), &id, agent)
            .await
            .map_err(|e| e.to_string())?,
    };
    attach::check_media(&ctx.config, conv.platform, &media).map_err(|r| r.to_string())?;
    Ok(media)
}

fn not_sent(e: SendError) -> NotSent {
    match e {
        SendError::Refused(r) => NotSent::Refused(r.to_string()),
        SendError::Failed { reason, .. } => NotSent::Failed(reason),
        SendError::Store(e) => NotSent::Store(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Caller, Inbox, Reply, Request};
    use super::*;
    use crate::change::Change;
    use crate::domain::{Message, Mid, Platform, TimestampMs};
    use serde_json::json;
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// An inbox whose page P1 talks to `meta`, with customer U1 who wrote
    /// a minute ago (inside the window).
    fn inbox(meta: &str) -> (tempfile::TempDir, Inbox, ConvKey) {
        let (dir, store, config, conv) = parts(meta);
        let (jobs, _) = tokio::sync::mpsc::unbounded_channel();
        (dir, Inbox::new(store, jobs).with_config(config), conv)
    }

    fn parts(meta: &str) -> (tempfile::TempDir, Db, Arc<Config>, ConvKey) {
        let dir = tempfile::tempdir().unwrap();
        let store = Db::open(&dir.path().join("store"), 8, "test").unwrap();
        let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
        let at = TimestampMs(TimestampMs::now().0 - 60_000);
        let m = Message::inbound(conv.clone(), Mid::new("m_in"), at);
        store
            .apply(&[Change::Message {
                msg: m,
                metadata: None,
                qualifying: true,
                from_sync: false,
            }])
            .unwrap();
        let toml = format!(
            "[graph]\nbase_url = \"{meta}\"\ntimeout = \"1s\"\n[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"t\"\n"
        );
        let config = Config::from_toml(&toml, &|_| None).unwrap();
        (dir, store, Arc::new(config), conv)
    }

    /// Given the send worker's context, a send uses it (its Graph client,
    /// and so its pace), not one of its own.
    #[tokio::test]
    async fn a_send_keeps_the_pace_of_the_context_it_is_given() {
        let meta = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex("/P1/messages$"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"recipient_id": "U1", "message_id": "m_out_2"})),
            )
            .mount(&meta)
            .await;
        let (_dir, store, config, conv) = parts(&meta.uri());
        let shared = SendCtx::new(
            store.clone(),
            config.clone(),
            GraphClient::new(&config.graph),
        );
        let (jobs, _) = tokio::sync::mpsc::unbounded_channel();
        let inbox = Inbox::new(store, jobs)
            .with_config(config)
            .with_send(shared.clone());
        let send = Request::Send {
            conv,
            text: Some("hi".into()),
            file: None,
            tag: None,
        };
        let r = ask(Arc::new(inbox), send).await;
        assert!(
            matches!(r, Ok(Reply::Sent(Sent { not_sent: None, .. }))),
            "{r:?}"
        );
        assert_eq!(
            shared.graph.calls_made(),
            1,
            "the call went through the given context"
        );
    }

    fn alice() -> Caller {
        Caller {
            session: 0,
            agent: Some("alice".into()),
        }
    }

    /// `handle` as the one-shot calls it: on a blocking thread.
    async fn ask(inbox: Arc<Inbox>, request: Request) -> Result<Reply, String> {
        tokio::task::spawn_blocking(move || inbox.handle(&alice(), request))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_text_goes_now_as_the_caller_and_the_reply_is_metas_mid() {
        let meta = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex("/P1/messages$"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"recipient_id": "U1", "message_id": "m_out_1"})),
            )
            .expect(1)
            .mount(&meta)
            .await;
        let (_dir, inbox, conv) = inbox(&meta.uri());
        let inbox = Arc::new(inbox);
        let send = Request::Send {
            conv: conv.clone(),
            text: Some("hello".into()),
            file: None,
            tag: None,
        };
        let r = ask(inbox.clone(), send).await;
        assert_eq!(
            r,
            Ok(Reply::Sent(Sent {
                mids: vec![Mid::new("m_out_1")],
                not_sent: None
            }))
        );
        let Ok(Reply::Thread(Some(t))) = ask(inbox, Request::Thread { conv, limit: 10 }).await
        else {
            panic!("no thread after the send");
        };
        let out = t
            .messages
            .iter()
            .find(|m| m.mid == Mid::new("m_out_1"))
            .expect("the sent message in the thread under Meta's mid");
        assert_eq!(
            (out.text.as_deref(), out.agent.as_deref()),
            (Some("hello"), Some("alice"))
        );
    }

    #[tokio::test]
    async fn a_file_that_cannot_go_stops_the_text_before_any_call() {
        let meta = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&meta)
            .await;
        let (_dir, inbox, conv) = inbox(&meta.uri());
        let send = Request::Send {
            conv,
            text: Some("hello".into()),
            file: Some(SendFile::Upload("0".repeat(32))),
            tag: None,
        };
        let Ok(Reply::Sent(sent)) = ask(Arc::new(inbox), send).await else {
            panic!("no Sent reply");
        };
        assert!(sent.mids.is_empty(), "{sent:?}");
        assert!(
            matches!(&sent.not_sent, Some(NotSent::File(why)) if !why.is_empty()),
            "{sent:?}"
        );
    }

    #[tokio::test]
    async fn a_refusal_and_metas_error_come_back_as_what_they_are() {
        let meta = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": {"message": "(#100) No matching user found", "type": "OAuthException", "code": 100}
            })))
            .expect(1)
            .mount(&meta)
            .await;
        let (_dir, inbox, conv) = inbox(&meta.uri());
        let inbox = Arc::new(inbox);
        let text = |conv: ConvKey| Request::Send {
            conv,
            text: Some("hello".into()),
            file: None,
            tag: None,
        };
        let stranger = ConvKey::new(Platform::Messenger, "NOPE", "U1");
        let Ok(Reply::Sent(sent)) = ask(inbox.clone(), text(stranger)).await else {
            panic!("no Sent reply");
        };
        assert!(
            matches!(&sent.not_sent, Some(NotSent::Refused(r)) if r.contains("not in the config")),
            "{sent:?}"
        );
        let Ok(Reply::Sent(sent)) = ask(inbox, text(conv)).await else {
            panic!("no Sent reply");
        };
        assert!(sent.mids.is_empty());
        assert!(
            matches!(&sent.not_sent, Some(NotSent::Failed(r)) if r.contains("No matching user")),
            "{sent:?}"
        );
    }

    #[test]
    fn without_a_runtime_it_is_a_sentence_not_a_panic() {
        let (_dir, inbox, conv) = inbox("http://127.0.0.1:9");
        let send = Request::Send {
            conv,
            text: Some("hello".into()),
            file: None,
            tag: None,
        };
        let e = inbox.handle(&alice(), send).unwrap_err();
        assert!(e.contains("no runtime"), "{e}");
    }

    #[test]
    fn a_file_read_here_never_travels() {
        let media = Media::from_bytes("a.txt", b"hi".to_vec()).unwrap();
        let send = Request::Send {
            conv: ConvKey::new(Platform::Messenger, "P1", "U1"),
            text: None,
            file: Some(SendFile::Read(media)),
            tag: None,
        };
        assert!(serde_json::to_string(&send).is_err());
    }
}
