//! Sending: the window rule, replies through the outbox, campaigns, the
//! rate limit, the background worker and the one-shot commands.

pub mod attach;
pub mod campaign;
pub mod cli;
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
