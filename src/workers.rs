//! Channels to the background workers: the runtime routes each `Job` to
//! its worker; results come back as `Update`s on the bus, never as replies
//! the UI waits on.

pub use crate::job::Job;

pub type JobSender = tokio::sync::mpsc::UnboundedSender<Job>;
pub type JobReceiver = tokio::sync::mpsc::UnboundedReceiver<Job>;
