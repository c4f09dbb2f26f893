//! Meta's usage headers: how close an app or page is to its rate limit.
//!
//! `X-App-Usage` / `X-Page-Usage`: `{"call_count":28,"total_cputime":25,"total_time":25}`.
//! `X-Business-Use-Case-Usage`: `{"<id>":[{"type":"pages","call_count":95,...,
//! "estimated_time_to_regain_access":0}]}` (minutes). Percentages; 100 = throttled.

use serde_json::Value;
use std::time::Duration;

pub const APP_USAGE: &str = "x-app-usage";
pub const PAGE_USAGE: &str = "x-page-usage";
pub const BUC_USAGE: &str = "x-business-use-case-usage";

/// The worst of what the headers said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Highest percentage among call count, CPU time and total time.
    pub percent: u32,
    /// Meta's estimate of when access returns, if throttled.
    pub regain: Option<Duration>,
}

impl Usage {
    pub fn throttled(&self) -> bool {
        self.percent >= 100 || self.regain.is_some()
    }

    fn merge(self, o: Usage) -> Usage {
        Usage {
            percent: self.percent.max(o.percent),
            regain: match (self.regain, o.regain) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

fn pct(v: &Value, k: &str) -> u32 {
    match v.get(k) {
        Some(Value::Number(n)) => n
            .as_f64()
            .map(|f| f.clamp(0.0, 10_000.0) as u32)
            .unwrap_or(0),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(|f| f.clamp(0.0, 10_000.0) as u32)
            .unwrap_or(0),
        _ => 0,
    }
}

fn one(v: &Value) -> Usage {
    let percent = [
        "call_count",
        "total_cputime",
        "total_time",
        "acc_id_util_pct",
    ]
    .iter()
    .map(|k| pct(v, k))
    .max()
    .unwrap_or(0);
    let minutes = pct(v, "estimated_time_to_regain_access");
    Usage {
        percent,
        regain: (minutes > 0).then(|| Duration::from_secs(u64::from(minutes) * 60)),
    }
}

/// `X-App-Usage` or `X-Page-Usage`.
pub fn parse_app_usage(s: &str) -> Option<Usage> {
    let v: Value = serde_json::from_str(s).ok()?;
    v.is_object().then(|| one(&v))
}

/// `X-Business-Use-Case-Usage`: every id, every type; the worst wins.
pub fn parse_buc_usage(s: &str) -> Option<Usage> {
    let v: Value = serde_json::from_str(s).ok()?;
    let mut out: Option<Usage> = None;
    for entries in v.as_object()?.values() {
        let list: Vec<&Value> = match entries {
            Value::Array(a) => a.iter().collect(),
            o @ Value::Object(_) => vec![o],
            _ => continue,
        };
        for e in list {
            let u = one(e);
            out = Some(out.map_or(u, |o| o.merge(u)));
        }
    }
    out
}

/// All usage headers of a response, merged; `None` when there are none.
pub fn from_headers(get: impl Fn(&str) -> Option<String>) -> Option<Usage> {
    let parts = [
        get(APP_USAGE).and_then(|s| parse_app_usage(&s)),
        get(PAGE_USAGE).and_then(|s| parse_app_usage(&s)),
        get(BUC_USAGE).and_then(|s| parse_buc_usage(&s)),
    ];
    parts.into_iter().flatten().reduce(Usage::merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_usage() {
        let u = parse_app_usage(r#"{"call_count":28,"total_cputime":25,"total_time":81}"#).unwrap();
        assert_eq!(u.percent, 81);
        assert!(!u.throttled());
        assert!(parse_app_usage("nope").is_none());
    }

    #[test]
    fn buc_usage_worst_wins_and_regain_is_minutes() {
        let h = r#"{"123":[{"type":"pages","call_count":40,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0},
                          {"type":"messenger","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":3}]}"#;
        let u = parse_buc_usage(h).unwrap();
        assert_eq!(u.percent, 100);
        assert_eq!(u.regain, Some(Duration::from_secs(180)));
        assert!(u.throttled());
    }

    #[test]
    fn merged_headers() {
        let u = from_headers(|k| match k {
            APP_USAGE => Some(r#"{"call_count":10}"#.into()),
            BUC_USAGE => Some(r#"{"1":[{"type":"instagram","call_count":"77"}]}"#.into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(u.percent, 77);
        assert!(from_headers(|_| None).is_none());
    }
}
