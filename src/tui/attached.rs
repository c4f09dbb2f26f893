//! The attached UI's side of the data seam: inbox requests go to the
//! owning process over the control socket unchanged, and its pushed frames
//! become the loop's events.

use super::port::Port;
use crate::app::event::Event;
use crate::control::client::{Pushed, Remote};
use crate::inbox::{Reply, Request};
use crate::update::Update;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// [`Port`] through the owner. Runs on the data worker thread, so it may
/// wait for each answer.
pub struct RemotePort {
    pub remote: Remote,
    pub handle: Handle,
}

impl Port for RemotePort {
    fn call(&self, request: Request) -> Result<Reply, String> {
        self.handle.block_on(self.remote.inbox(request))
    }
}

/// The owner's pushed frames as the loop's events; a lost owner shows on
/// the status bar, and coming back reloads everything shown.
pub fn pump(mut pushed: mpsc::UnboundedReceiver<Pushed>) -> mpsc::UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(p) = pushed.recv().await {
            let evs = match p {
                Pushed::Update(u) => vec![Event::Update(*u)],
                Pushed::Lagged => vec![Event::Lagged],
                Pushed::Lost => vec![Event::Update(Update::Error(
                    "owner stopped; reconnecting…".into(),
                ))],
                Pushed::Back { hello } => match *hello {
                    crate::control::protocol::Reply::Hello { session, .. } => {
                        vec![Event::Reattached { session }]
                    }
                    // Not a greeting: reload what is shown all the same.
                    _ => vec![Event::Lagged],
                },
            };
            for ev in evs {
                if tx.send(ev).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// A picture's bytes from the owner's cache (which fetches it from Meta if
/// it is missing), a piece per request: the attached agent needs no
/// access to Meta's CDN, and no line nears the socket's limit.
pub async fn picture(
    remote: &Remote,
    key: &crate::media::picture::PicKey,
    max: u64,
) -> Result<Vec<u8>, crate::media::picture::Unavailable> {
    crate::pictures::chunks::assemble(max, |offset| async move {
        let request = Request::Picture {
            key: key.clone(),
            offset,
        };
        match remote.inbox(request).await? {
            Reply::Picture(piece) => Ok(piece),
            other => Err(format!("unexpected answer to a picture: {other:?}")),
        }
    })
    .await
}
