//! Campaigns: one message to many conversations, in the background.
//!
//! - `plan.rs`: `preview` (pure) says, per recipient, whether it is sent or
//!   skipped and why, by the one rule in `rules/eligibility.rs` the runner also
//!   applies before each send; `create` stores the campaign. Campaigns go only
//!   to customers inside the 24-hour window (no tag is left for them:
//!   HUMAN_AGENT is for a person, the update tags were retired). The text is a
//!   template rendered per recipient at its first attempt and kept in the
//!   outbox record, which retries and resumes send.
//! - `runner.rs`: `run` sends with bounded concurrency, paced by the shared
//!   token bucket, and resumes what a previous run left; `attempt.rs` is one
//!   recipient's send. Each recipient goes queued → in_flight (durable before
//!   the call) → sent | failed | skipped | unknown. Meta's rate-limit errors
//!   pause the whole campaign; a dead token stops it (resumable); permanent
//!   errors are recorded and not retried; transient errors Meta answered are
//!   retried a few times. A recipient found in_flight at resume is never
//!   called again: its outbox record (bound by the echo's metadata) says
//!   whether it was sent, otherwise it becomes `unknown` after a grace period.
//! - `report.rs`: the final report, built from the store.

mod attempt;
mod file;
mod plan;
mod report;
mod runner;

pub use file::{CampaignFile, ServedCopy, INSTAGRAM_SEND_FOR, INSTAGRAM_SERVE_FOR};
pub use plan::{
    check_campaign_tag, create, pages_now, preview, preview_file, preview_file_from_store,
    preview_from_store, write, Known,
};
pub use report::report;
pub use runner::{cancel_idle, run, CampaignError, Tuning};
