//! What `update` asks the edge (src/tui/) to do. Inbox requests go to the
//! data worker and come back as `Event::Inbox`; the rest are the terminal's.

use crate::request::Request;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A read or write of the inbox (src/inbox/), answered off the loop.
    Inbox(Request),
    /// Suspend the terminal and edit `text` in $EDITOR.
    OpenEditor {
        text: String,
    },
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    Bell,
    SetTitle(String),
    /// Fetch (and keep) a picture, and decode it when shown (src/media/).
    Picture(crate::media::picture::PictureRequest),
    /// A desktop notification (`[notify]`).
    Notify {
        title: String,
        body: String,
    },
    /// Open a link with the platform opener (a local display).
    OpenLink(String),
    /// List and look at the attach prompt's path (answered with
    /// `Event::FileLooked`).
    LookFile(String),
    /// Stream a local file to the store's owner and send it.
    SendFile(crate::app::attach::FileSend),
    Quit,
}
