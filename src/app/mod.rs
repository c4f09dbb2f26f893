//! The pure front end: state, events, commands, and `update`. No I/O here:
//! no tokio, axum, sled or reqwest; the edge (src/tui/) does the rest.

pub mod attach;
pub mod canned;
pub mod command;
pub mod event;
pub mod fixtures;
pub mod keymap;
pub mod layout;
pub mod media;
pub mod names;
pub mod search;
pub mod state;
pub mod team;
pub mod thread_layout;
pub mod update;

pub use command::Command;
pub use event::Event;
pub use state::{Options, State};
pub use update::{init, update};
