//! Canned replies: fuzzy pick by name or text, variables filled from the contact.

use crate::config::CannedReply;
use crate::domain::Contact;

/// Subsequence match score (higher is better), None when `query` is not a
/// subsequence of `text`. Consecutive and word-start hits score more.
pub fn fuzzy_score(query: &str, text: &str) -> Option<i64> {
    if query.is_empty() {
        return Some(0);
    }
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let mut score = 0i64;
    let mut ti = 0usize;
    let mut last: Option<usize> = None;
    for q in query.to_lowercase().chars() {
        let pos = (ti..text.len()).find(|&i| text[i] == q)?;
        score += 1;
        if last.is_some_and(|l| l + 1 == pos) {
            score += 5;
        }
        if pos == 0 || !text[pos - 1].is_alphanumeric() {
            score += 3;
        }
        last = Some(pos);
        ti = pos + 1;
    }
    Some(score - (text.len() as i64 / 50))
}

/// Indices of the canned replies matching `query`, best first.
pub fn matches(canned: &[CannedReply], query: &str) -> Vec<usize> {
    let mut v: Vec<(i64, usize)> = canned
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let by_name = fuzzy_score(query, &c.name).map(|s| s + 10);
            let by_text = fuzzy_score(query, &c.text);
            by_name.max(by_text).map(|s| (s, i))
        })
        .collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, i)| i).collect()
}

/// Fill `{first_name}` and `{name}`.
pub fn fill(text: &str, contact: Option<&Contact>, fallback_name: &str) -> String {
    let name = contact
        .map(Contact::display_name)
        .unwrap_or_else(|| fallback_name.to_string());
    let first = contact
        .and_then(|c| c.first_name.clone())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| {
            if name.starts_with("Unknown (") {
                "there".to_string()
            } else {
                name.split_whitespace()
                    .next()
                    .unwrap_or("there")
                    .to_string()
            }
        });
    text.replace("{first_name}", &first)
        .replace("{name}", &name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConvKey, Platform};

    fn canned() -> Vec<CannedReply> {
        vec![
            CannedReply {
                name: "greeting".into(),
                text: "Hi {first_name}!".into(),
            },
            CannedReply {
                name: "shipping".into(),
                text: "Orders ship in 2 days, {name}.".into(),
            },
        ]
    }

    #[test]
    fn fuzzy_finds_by_name_and_text() {
        assert_eq!(matches(&canned(), "shp"), vec![1]);
        assert_eq!(matches(&canned(), "gre")[0], 0);
        assert_eq!(matches(&canned(), "").len(), 2);
        assert!(matches(&canned(), "zzz").is_empty());
    }

    #[test]
    fn fills_variables_from_contact() {
        let mut c = Contact::new(ConvKey::new(Platform::Messenger, "p", "u"), "test");
        c.name = Some("Ann Lee".into());
        assert_eq!(
            fill("Hi {first_name}, {name}", Some(&c), "x"),
            "Hi Ann, Ann Lee"
        );
        c.first_name = Some("Annie".into());
        assert_eq!(fill("Hi {first_name}", Some(&c), "x"), "Hi Annie");
        assert_eq!(fill("Hi {first_name}", None, "Unknown (1)"), "Hi there");
    }
}
