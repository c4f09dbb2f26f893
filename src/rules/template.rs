//! Text variables, one rule for canned replies and campaigns (pure).
//!
//! `{first_name}`, `{name}` and `{page_name}` are filled per recipient.
//! Any other `{word}` (letters, digits, `_`) is an unknown variable and is
//! refused before anything is sent: a customer must never receive
//! `Thanks {frist_name}!`. Braces around anything else (`{ }`, `{:)}`,
//! JSON) are plain text.
//!
//! A name dmdesk does not know (no profile yet, or the "Unknown (id)"
//! placeholder) becomes "there": `Hi {first_name}!` → `Hi there!`.

use crate::domain::Contact;
use std::fmt;

/// A canned reply from `[[canned]]`: a named template the composer fills.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct CannedReply {
    pub name: String,
    pub text: String,
}

/// The variables a text may use.
pub const VARIABLES: [&str; 3] = ["first_name", "name", "page_name"];

/// What `{first_name}` and `{name}` become when the name is unknown.
pub const UNKNOWN_NAME: &str = "there";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable(pub String);

impl fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown variable {{{}}} (known: {{first_name}}, {{name}}, {{page_name}})",
            self.0
        )
    }
}

/// A checked text: every `{variable}` in it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

/// The values for one recipient. `None` leaves a variable as written
/// (only `{page_name}` where the page is not known, e.g. a canned reply
/// picked without one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    pub first_name: String,
    pub name: String,
    pub page_name: Option<String>,
}

impl Vars {
    /// From the contact (if fetched) and the conversation's display name.
    pub fn of(contact: Option<&Contact>, conv_name: &str, page_name: Option<&str>) -> Vars {
        let name = contact
            .map(Contact::display_name)
            .unwrap_or_else(|| conv_name.to_string());
        let name = known(&name).map(str::to_string);
        let first = contact
            .and_then(|c| c.first_name.as_deref())
            .and_then(known)
            .map(str::to_string)
            .or_else(|| {
                name.as_deref()
                    .and_then(|n| n.split_whitespace().next())
                    .map(str::to_string)
            });
        Vars {
            first_name: first.unwrap_or_else(|| UNKNOWN_NAME.to_string()),
            name: name.unwrap_or_else(|| UNKNOWN_NAME.to_string()),
            page_name: page_name.map(str::to_string),
        }
    }
}

/// A name worth greeting someone with: not empty, not the placeholder.
fn known(name: &str) -> Option<&str> {
    let n = name.trim();
    (!n.is_empty() && !n.starts_with("Unknown (")).then_some(n)
}

/// `{word}` tokens in `text`: (byte range, word).
fn tokens(text: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if b[i] == b'{' {
                let start = i;
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j > start + 1 && j < b.len() && b[j] == b'}' {
                    i = j + 1;
                    return Some((start..j + 1, &text[start + 1..j]));
                }
            }
            i += 1;
        }
        None
    })
}

impl Template {
    /// Check every `{variable}`; the first unknown one is the error.
    pub fn parse(text: &str) -> Result<Template, UnknownVariable> {
        if let Some((_, w)) = tokens(text).find(|(_, w)| !VARIABLES.contains(w)) {
            return Err(UnknownVariable(w.to_string()));
        }
        Ok(Template(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn has_variables(&self) -> bool {
        tokens(&self.0).next().is_some()
    }

    /// The text for one recipient: the same values give the same text.
    pub fn render(&self, v: &Vars) -> String {
        let mut out = String::with_capacity(self.0.len() + 16);
        let mut last = 0;
        for (range, w) in tokens(&self.0) {
            let value = match w {
                "first_name" => Some(v.first_name.as_str()),
                "name" => Some(v.name.as_str()),
                "page_name" => v.page_name.as_deref(),
                _ => None, // parse refused these
            };
            if let Some(value) = value {
                out.push_str(&self.0[last..range.start]);
                out.push_str(value);
                last = range.end;
            }
        }
        out.push_str(&self.0[last..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConvKey, Platform};

    fn contact(name: Option<&str>, first: Option<&str>) -> Contact {
        let mut c = Contact::new(ConvKey::new(Platform::Messenger, "p", "u"), "test");
        c.name = name.map(str::to_string);
        c.first_name = first.map(str::to_string);
        c
    }

    fn vars(name: &str) -> Vars {
        Vars::of(None, name, Some("Demo Coffee"))
    }

    #[test]
    fn fills_the_three_variables() {
        let t = Template::parse("Thanks {first_name}! {name}, {page_name} here.").unwrap();
        assert_eq!(
            t.render(&vars("Ann Lee")),
            "Thanks Ann! Ann Lee, Demo Coffee here."
        );
        let c = contact(Some("Ann Lee"), Some("Annie"));
        assert_eq!(
            t.render(&Vars::of(Some(&c), "x", Some("P"))),
            "Thanks Annie! Ann Lee, P here."
        );
    }

    #[test]
    fn unknown_names_become_there() {
        let t = Template::parse("Hi {first_name} / {name}").unwrap();
        assert_eq!(t.render(&vars("Unknown (123)")), "Hi there / there");
        assert_eq!(t.render(&vars("")), "Hi there / there");
        let c = contact(None, None); // display name "Unknown (u)"
        assert_eq!(
            t.render(&Vars::of(Some(&c), "Unknown (u)", None)),
            "Hi there / there"
        );
    }

    #[test]
    fn unknown_variables_are_refused_and_other_braces_are_text() {
        assert_eq!(
            Template::parse("Thanks {frist_name}!"),
            Err(UnknownVariable("frist_name".into()))
        );
        assert_eq!(
            Template::parse("{FIRST_NAME}"),
            Err(UnknownVariable("FIRST_NAME".into()))
        );
        let e = Template::parse("{x}").unwrap_err().to_string();
        assert!(e.contains("{x}") && e.contains("{first_name}"), "{e}");
        let t = Template::parse("{ } {:)} {\"a\": 1} {} {first_name").unwrap();
        assert!(!t.has_variables());
        assert_eq!(t.render(&vars("Ann")), t.as_str());
    }

    #[test]
    fn no_page_leaves_page_name_as_written() {
        let t = Template::parse("{page_name}: hi {first_name}").unwrap();
        assert_eq!(t.render(&Vars::of(None, "Bo", None)), "{page_name}: hi Bo");
    }

    #[test]
    fn a_value_with_braces_is_not_filled_again() {
        let t = Template::parse("{name} / {first_name}").unwrap();
        assert_eq!(
            t.render(&vars("{first_name}")),
            "{first_name} / {first_name}"
        );
    }
}
