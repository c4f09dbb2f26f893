//! Canned replies: fuzzy pick by name or text, variables filled from the contact.

use crate::domain::Contact;
use crate::rules::template::{CannedReply, Template, Vars};

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

/// Fill `{first_name}` and `{name}` (the same rule as campaigns:
/// src/rules/template.rs). `{page_name}` and unknown `{words}` stay as
/// written: the agent sees them in the composer before sending (and the
/// config refuses canned replies with unknown variables at load).
pub fn fill(text: &str, contact: Option<&Contact>, fallback_name: &str) -> String {
    fill_for_page(text, contact, fallback_name, None)
}

/// `fill` with the page's name for `{page_name}`.
pub fn fill_for_page(
    text: &str,
    contact: Option<&Contact>,
    fallback_name: &str,
    page_name: Option<&str>,
) -> String {
    let vars = Vars::of(contact, fallback_name, page_name);
    match Template::parse(text) {
        Ok(t) => t.render(&vars),
        // Not reachable from a loaded config; keep the text as written.
        Err(_) => text.to_string(),
    }
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
        assert_eq!(fill("Hi {name}", None, "Unknown (1)"), "Hi there");
        assert_eq!(
            fill_for_page("{page_name}: {first_name}", None, "Bo", Some("Shop")),
            "Shop: Bo"
        );
    }
}
