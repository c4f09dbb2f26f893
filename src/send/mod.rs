//! Sending: replies through the outbox, campaigns, the rate limit and the
//! background worker (`dmdesk send` and `bulk` are in src/oneshot/send.rs).
//! The rules a send obeys (window, eligibility, template) are plain and
//! live in src/rules/.

pub mod attach;
pub mod campaign;
pub mod ratelimit;
pub mod recover;
pub mod reply;
pub mod staging;
pub mod worker;
