//! dmdesk: a terminal inbox for Facebook Messenger and Instagram.
//!
//! The module tree mirrors the architecture: `webhook` receives, `store`
//! keeps, `ingest` applies, `meta` talks to Meta, `app` + `ui` are the pure
//! terminal front end, `runtime` wires them together.
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app;
pub mod change;
pub mod config;
pub mod domain;
pub mod meta;
pub mod send;
pub mod store;
pub mod tui;
pub mod ui;
pub mod workers;
