//! dmdesk: a terminal inbox for Facebook Messenger and Instagram.
//!
//! The module tree mirrors the architecture: `webhook` receives, `store`
//! keeps, `ingest` applies, `meta` talks to Meta, `app` + `ui` are the pure
//! terminal front end, `runtime` wires them together.
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app;
pub mod bus;
pub mod change;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod control;
pub mod db;
pub mod doctor;
pub mod domain;
pub mod filter;
pub mod inbox;
pub mod ingest;
pub mod job;
pub mod media;
pub mod meta;
pub mod metrics;
pub mod migrate;
pub mod oneshot;
pub mod pace;
pub mod pictures;
pub mod profiles;
pub mod report;
pub mod request;
pub mod rules;
pub mod runtime;
pub mod search;
pub mod secret;
pub mod send;
pub mod sim;
pub mod store;
pub mod sync;
pub mod team;
pub mod text;
pub mod token_life;
pub mod tokens;
pub mod tui;
pub mod ui;
pub mod update;
pub mod urgent;
pub mod webhook;
pub mod workers;
