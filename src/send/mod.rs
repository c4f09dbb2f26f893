//! Sending: the window rule, the reply outbox worker and campaigns.

pub mod window;
