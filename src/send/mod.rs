//! Sending: the window rule, replies through the outbox, campaigns, the
//! rate limit and the background worker (`dmdesk send` and `bulk` are in
//! src/oneshot/send.rs).

pub mod attach;
pub mod campaign;
pub mod eligibility;
pub mod media;
pub mod ratelimit;
pub mod recover;
pub mod reply;
pub mod staging;
pub mod stream;
pub mod template;
pub mod window;
pub mod worker;
