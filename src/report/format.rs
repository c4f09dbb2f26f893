//! A report printed three ways: an aligned table for terminals, one JSON
//! document, or CSV with one row per figure.

use super::{DayRow, Figures, Report, Times};
use crate::clock::{span, Zone};
use crate::domain::TimestampMs;
use chrono::FixedOffset;
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

pub fn render(r: &Report, f: Format) -> String {
    match f {
        Format::Table => table(r),
        Format::Json => json(r),
        Format::Csv => csv(r),
    }
}

/// The label of the no-agent row.
pub const NO_AGENT: &str = "(no agent)";

/// "45s", "12m", "3h05m", "2d4h"; "-" for none.
pub fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 60_000 => format!("{}s", ms.max(0) / 1000),
        Some(ms) => span(ms),
    }
}

/// "85%"; "-" without replies.
pub fn share(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| format!("{:.0}%", s * 100.0))
}

/// The report's own zone: the offset it was made at.
fn zone(r: &Report) -> Zone {
    let secs = r
        .utc_offset
        .parse::<FixedOffset>()
        .map_or(0, |o| o.local_minus_utc());
    Zone::Fixed(secs)
}

fn when(r: &Report, t: i64) -> String {
    zone(r)
        .at(TimestampMs(t))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

const HEAD: [&str; 11] = [
    "opened", "resolved", "replies", "in 24h", "1st n", "1st med", "1st p90", "1st mean",
    "res med", "res p90", "res mean",
];

fn cells(f: Option<&Figures>, opened: bool) -> Vec<String> {
    let Some(f) = f else {
        return vec!["-".into(); HEAD.len() - usize::from(!opened)];
    };
    let mut c = Vec::with_capacity(HEAD.len());
    if opened {
        c.push(f.opened.to_string());
    }
    c.extend([
        f.resolved.to_string(),
        f.replies.to_string(),
        share(f.in_window_share),
        f.first_response.count.to_string(),
        duration(f.first_response.median_ms),
        duration(f.first_response.p90_ms),
        duration(f.first_response.mean_ms),
        duration(f.resolution.median_ms),
        duration(f.resolution.p90_ms),
        duration(f.resolution.mean_ms),
    ]);
    c
}

/// Columns padded to their widest cell: the first left-aligned, the rest
/// right-aligned.
fn aligned(out: &mut String, head: Vec<String>, rows: Vec<Vec<String>>) {
    let mut w = vec![0usize; head.len()];
    for r in std::iter::once(&head).chain(&rows) {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.width());
        }
    }
    for r in std::iter::once(&head).chain(&rows) {
        let mut line = String::from("  ");
        for (i, c) in r.iter().enumerate() {
            let pad = " ".repeat(w[i] - c.width());
            if i == 0 {
                line.push_str(c);
                line.push_str(&pad);
            } else {
                line.push_str("  ");
                line.push_str(&pad);
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn head(first: &str, opened: bool) -> Vec<String> {
    std::iter::once(first)
        .chain(HEAD.iter().copied().skip(usize::from(!opened)))
        .map(str::to_string)
        .collect()
}

/// "2026-11-30 13:00 – 2026-12-07 13:00 (UTC+01:00)"
pub fn period(r: &Report) -> String {
    format!(
        "{} – {} (UTC{})",
        when(r, r.from_ms),
        when(r, r.to_ms),
        r.utc_offset
    )
}

pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Report {}\n", period(r));
    let _ = writeln!(s, "Total");
    aligned(
        &mut s,
        head("", true),
        vec![std::iter::once("all".to_string())
            .chain(cells(Some(&r.totals), true))
            .collect()],
    );
    let _ = writeln!(s, "\nBy agent");
    aligned(
        &mut s,
        head("agent", false),
        r.agents
            .iter()
            .map(|a| {
                std::iter::once(a.agent.clone().unwrap_or_else(|| NO_AGENT.into()))
                    .chain(cells(Some(&a.figures), false))
                    .collect()
            })
            .collect(),
    );
    let _ = writeln!(s, "\nBy page");
    aligned(
        &mut s,
        head("page", true),
        r.pages
            .iter()
            .map(|p| {
                std::iter::once(format!("{} {}", p.platform, p.account_id))
                    .chain(cells(Some(&p.figures), true))
                    .collect()
            })
            .collect(),
    );
    let _ = writeln!(s, "\nBy day");
    aligned(&mut s, head("date", true), day_rows(&r.days));
    let _ = writeln!(s);
    for n in &r.notes {
        let _ = writeln!(s, "* {n}");
    }
    s
}

fn day_rows(days: &[DayRow]) -> Vec<Vec<String>> {
    days.iter()
        .map(|d| {
            std::iter::once(d.date.clone())
                .chain(cells(d.figures.as_ref(), true))
                .collect()
        })
        .collect()
}

pub fn json(r: &Report) -> String {
    // A plain struct of numbers and strings: serialising cannot fail.
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

/// `scope,key,figure,value`: scope `period`, `total`, `agent`, `page`
/// (key `platform/account_id`) or `day` (key the local date); an empty
/// value is a figure that does not exist (no samples, or a day before the
/// history).
pub fn csv(r: &Report) -> String {
    let mut s = String::from("scope,key,figure,value\n");
    let mut row = |scope: &str, key: &str, figure: &str, value: String| {
        let _ = writeln!(s, "{scope},{},{figure},{value}", quote(key));
    };
    row("period", "", "from_ms", r.from_ms.to_string());
    row("period", "", "to_ms", r.to_ms.to_string());
    row("period", "", "utc_offset", r.utc_offset.clone());
    let mut figures = |scope: &str, key: &str, f: Option<&Figures>| {
        for (name, v) in named(f) {
            row(scope, key, name, v.unwrap_or_default());
        }
    };
    figures("total", "", Some(&r.totals));
    for a in &r.agents {
        figures(
            "agent",
            a.agent.as_deref().unwrap_or(NO_AGENT),
            Some(&a.figures),
        );
    }
    for p in &r.pages {
        figures(
            "page",
            &format!("{}/{}", p.platform, p.account_id),
            Some(&p.figures),
        );
    }
    for d in &r.days {
        figures("day", &d.date, d.figures.as_ref());
    }
    s
}

/// Every figure by its JSON name (flattened); None where it has no value.
pub fn named(f: Option<&Figures>) -> Vec<(&'static str, Option<String>)> {
    let n = |x: u64| Some(x.to_string());
    let ms = |x: Option<i64>| x.map(|x| x.to_string());
    let times = |t: Option<&Times>, names: [&'static str; 4]| {
        [
            (names[0], t.and_then(|t| n(t.count))),
            (names[1], t.and_then(|t| ms(t.median_ms))),
            (names[2], t.and_then(|t| ms(t.p90_ms))),
            (names[3], t.and_then(|t| ms(t.mean_ms))),
        ]
    };
    let mut v = vec![
        ("opened", f.and_then(|f| n(f.opened))),
        ("resolved", f.and_then(|f| n(f.resolved))),
        ("replies", f.and_then(|f| n(f.replies))),
        ("replies_in_window", f.and_then(|f| n(f.replies_in_window))),
        (
            "in_window_share",
            f.and_then(|f| f.in_window_share).map(|x| format!("{x:.4}")),
        ),
    ];
    v.extend(times(
        f.map(|f| &f.first_response),
        [
            "first_response_count",
            "first_response_median_ms",
            "first_response_p90_ms",
            "first_response_mean_ms",
        ],
    ));
    v.extend(times(
        f.map(|f| &f.resolution),
        [
            "resolution_count",
            "resolution_median_ms",
            "resolution_p90_ms",
            "resolution_mean_ms",
        ],
    ));
    v
}

/// RFC 4180: quote a field holding a comma, quote or line break.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_quotes() {
        assert_eq!(duration(None), "-");
        assert_eq!(duration(Some(45_000)), "45s");
        assert_eq!(duration(Some(3 * 3_600_000 + 5 * 60_000)), "3h05m");
        assert_eq!(share(Some(0.854)), "85%");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("alice"), "alice");
    }
}
