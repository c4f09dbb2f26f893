//! How the screen names a customer: the name, and when another loaded
//! conversation has the same name, what tells them apart (their handle,
//! else the end of their user id), so a title or a notice never leaves the
//! agent guessing which of two "Sam Park"s it means.

use super::state::State;
use crate::domain::{ConvKey, Conversation};
use crate::text::truncate;

/// What tells `c` apart from another customer of the same name, with its
/// leading space: " @handle" (cut to 10), else " ·" and the id's last 4.
pub fn tag(c: &Conversation) -> String {
    if let Some(h) = &c.handle {
        return format!(" @{}", truncate(h, 10));
    }
    let id = c.key.user.as_str();
    let tail: String = id
        .chars()
        .skip(id.chars().count().saturating_sub(4))
        .collect();
    format!(" ·{tail}")
}

/// The conversations the UI holds: list rows, the open thread, marked ones.
fn held(s: &State) -> impl Iterator<Item = &Conversation> {
    s.list
        .rows
        .iter()
        .chain(s.thread.as_ref().map(|t| &t.conv))
        .chain(s.marked.values())
}

/// Whether another conversation the UI holds has `c`'s name.
pub fn has_twin(s: &State, c: &Conversation) -> bool {
    held(s).any(|o| o.name == c.name && o.key != c.key)
}

/// `c`'s name as titles and notices give it: tagged when it has a twin.
pub fn who(s: &State, c: &Conversation) -> String {
    if has_twin(s, c) {
        format!("{}{}", c.name, tag(c))
    } else {
        c.name.clone()
    }
}

/// The name the screen knows conversation `k` by (tagged as `who` does),
/// else its customer's id.
pub fn of_key(s: &State, k: &ConvKey) -> String {
    held(s)
        .find(|c| &c.key == k)
        .map(|c| who(s, c))
        .unwrap_or_else(|| k.user.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures as fx;
    use crate::domain::Platform;

    #[test]
    fn a_name_is_tagged_only_while_another_customer_has_it() {
        let mut s = fx::state(100, 30);
        let mut rows = fx::three();
        let mut twin = rows[0].clone();
        twin.key = fx::key(Platform::Instagram, "u77771234");
        twin.handle = Some("ann.lee.shop".into());
        assert_eq!(who(&s, &rows[0]), rows[0].name, "nothing loaded: no twin");
        rows.push(twin.clone());
        fx::load_rows(&mut s, rows.clone());
        assert_eq!(who(&s, &rows[0]), format!("{} ·u1", rows[0].name));
        assert_eq!(who(&s, &twin), format!("{} @ann.lee.s…", twin.name));
        assert_eq!(who(&s, &rows[1]), rows[1].name, "no twin, no tag");
        // The open thread's title and the composer's name the one open.
        fx::open_with(&mut s, twin.clone(), vec![]);
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
        t.draw(|f| crate::ui::render(&s, f)).unwrap();
        let screen = format!("{:?}", t.backend());
        assert!(
            screen.contains("Ann Lee @ann.lee.s… · Instagram"),
            "{screen}"
        );
        assert!(screen.contains("to Ann Lee @ann.lee.s…"), "{screen}");
    }
}
