//! What the inbox answers about a campaign (plain values): the preview the
//! agent confirms before it starts, and the report when it ends. Computed
//! by src/send/campaign/.

use crate::domain::ConvKey;
use crate::store::{CampaignCounts, CampaignStatus};
use std::collections::BTreeMap;
use std::fmt;

/// Where one recipient stands before the campaign starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Eligibility {
    /// Inside the 24-hour window: a standard message.
    Inside,
    /// Not sent, with the reason the agent reads.
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PreviewRow {
    pub conv: ConvKey,
    pub eligibility: Eligibility,
}

/// One recipient's rendered message, shown before the agent confirms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Example {
    pub to: String,
    pub text: String,
}

/// What the agent confirms: counts and the reasons for skips.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preview {
    pub rows: Vec<PreviewRow>,
    pub inside: usize,
    pub skipped: usize,
    pub skip_reasons: BTreeMap<String, usize>,
    /// The message as the first recipient who gets it will read it.
    pub example: Option<Example>,
}

impl Preview {
    pub fn sendable(&self) -> usize {
        self.inside
    }

    /// Lines for a terminal or a popup.
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![format!("{} recipient(s):", self.rows.len())];
        v.push(format!("  {:>6}  inside the 24-hour window", self.inside));
        v.push(format!("  {:>6}  will not be sent:", self.skipped));
        for (reason, n) in &self.skip_reasons {
            v.push(format!("  {n:>10}  {reason}"));
        }
        if let Some(e) = &self.example {
            v.push(format!("example, to {}: {}", e.to, e.text));
        }
        v
    }
}

/// Why Instagram recipients of a file campaign are skipped when its file
/// is not served.
pub const NOT_SERVED: &str = "Instagram takes media only by URL, and this campaign's file is not served: run bulk --file through a running dmdesk whose webhook server has [server] public_url";

/// The final report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CampaignReport {
    pub id: String,
    pub title: String,
    pub status: CampaignStatus,
    pub status_reason: Option<String>,
    pub created_by: Option<String>,
    pub counts: CampaignCounts,
    pub failed_by_reason: BTreeMap<String, u64>,
    pub skipped_by_reason: BTreeMap<String, u64>,
    pub unknown: Vec<ConvKey>,
}

impl fmt::Display for CampaignReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "campaign {} \"{}\": {}",
            self.id,
            self.title,
            self.status.as_str()
        )?;
        if let Some(r) = &self.status_reason {
            writeln!(f, "  reason: {r}")?;
        }
        if let Some(a) = &self.created_by {
            writeln!(f, "  created by {a}")?;
        }
        writeln!(f, "  sent     {}", c.sent)?;
        writeln!(f, "  failed   {}", c.failed)?;
        for (r, n) in &self.failed_by_reason {
            writeln!(f, "    {n:>6}  {r}")?;
        }
        writeln!(f, "  skipped  {}", c.skipped)?;
        for (r, n) in &self.skipped_by_reason {
            writeln!(f, "    {n:>6}  {r}")?;
        }
        if c.unknown > 0 {
            writeln!(
                f,
                "  unknown  {} (the process stopped during the send and no echo came: check these threads)",
                c.unknown
            )?;
            for k in &self.unknown {
                writeln!(f, "    {k}")?;
            }
        }
        if c.queued + c.in_flight > 0 {
            writeln!(
                f,
                "  not sent yet {} (resume with: dmdesk bulk --resume {})",
                c.queued + c.in_flight,
                self.id
            )?;
        }
        write!(f, "  total    {}", c.total)
    }
}

/// Group key for a reason: what happened, without Meta's free text.
pub fn reason_group(r: &str) -> String {
    r.split(": ").next().unwrap_or(r).to_string()
}
