//! Width-aware wrapping and truncation (emoji and CJK take two columns).
//!
//! Text from customers may hold tabs and control characters. A terminal
//! moves the cursor for those (or ratatui drops them) while their measured
//! width is 0, so rows and indents would drift: [`clean`] expands or
//! replaces them first, and every helper here measures cleaned text.

use std::borrow::Cow;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns between tab stops.
const TAB: usize = 4;

/// Text safe to measure and draw: tabs expanded to the next tab stop,
/// `\r\n` and lone `\r` as a line break, other control characters
/// (C0, DEL, C1) shown as `�`. Newlines stay; one-line places use [`line`].
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut col = 0;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                out.push('\n');
                col = 0;
            }
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                    col = 0;
                }
            }
            '\t' => {
                let n = TAB - col % TAB;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c if c.is_control() => {
                out.push('\u{FFFD}');
                col += 1;
            }
            c => {
                out.push(c);
                col += c.width().unwrap_or(0);
            }
        }
    }
    Cow::Owned(out)
}

/// [`clean`] for a one-line place (a list row, a title): line breaks
/// become spaces.
pub fn line(s: &str) -> String {
    clean(s).replace('\n', " ")
}

pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(clean(s).as_ref())
}

/// Cut `s` to at most `max` columns, with "…" when cut (one line).
pub fn truncate(s: &str, max: usize) -> String {
    let s = line(s);
    if width(&s) <= max {
        return s;
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Pad or cut to exactly `n` columns.
pub fn fit(s: &str, n: usize) -> String {
    let t = truncate(s, n);
    let w = width(&t);
    format!("{t}{}", " ".repeat(n.saturating_sub(w)))
}

/// Wrap text into lines of at most `max` columns: by words, breaking words
/// longer than a line; explicit newlines are kept.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut out = Vec::new();
    for para in clean(text).split('\n') {
        let mut line = String::new();
        let mut lw = 0;
        // Whether this line has a word yet (an empty one counts: runs of
        // spaces, say an expanded tab at the start, keep their width).
        let mut started = false;
        for word in para.split(' ') {
            let ww = width(word);
            let sep = usize::from(started);
            if lw + sep + ww <= max {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                lw += sep + ww;
                started = true;
                continue;
            }
            if started {
                out.push(std::mem::take(&mut line));
                lw = 0;
            }
            started = true;
            if ww <= max {
                line.push_str(word);
                lw = ww;
                continue;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if lw + cw > max {
                    out.push(std::mem::take(&mut line));
                    lw = 0;
                }
                line.push(c);
                lw += cw;
            }
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_by_display_width() {
        let lines = wrap("你好世界你好世界", 6);
        assert_eq!(lines, vec!["你好世", "界你好", "世界"]);
        for l in wrap("hello 🎉🎉🎉 world with emoji 😀 and more", 10) {
            assert!(width(&l) <= 10, "{l:?}");
        }
        assert_eq!(wrap("a\nb", 5), vec!["a", "b"]);
        assert_eq!(wrap("\tx y", 5), vec!["    x", "y"]);
        assert_eq!(wrap("aaa bbb", 3), vec!["aaa", "bbb"]);
    }

    #[test]
    fn truncates_wide_chars() {
        assert_eq!(truncate("你好世界", 5), "你好…");
        assert_eq!(fit("ab", 4), "ab  ");
    }

    #[test]
    fn tabs_and_control_characters_are_expanded_or_replaced() {
        assert_eq!(clean("plain"), Cow::Borrowed("plain"));
        assert_eq!(clean("a\tb"), "a   b");
        assert_eq!(clean("abcd\te"), "abcd    e");
        assert_eq!(clean("x\n\ty"), "x\n    y");
        assert_eq!(
            clean("bell\x07 esc\x1b[31m del\x7f c1\u{9b}"),
            "bell� esc�[31m del� c1�"
        );
        assert_eq!(clean("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(line("a\tb\nc"), "a   b c");
        // Measured after cleaning: a tab is as wide as what is drawn.
        assert_eq!(width("a\tb"), 5);
        assert_eq!(fit("a\tb", 6), "a   b ");
        assert_eq!(truncate("a\tbcdef", 5), "a   …");
        for l in wrap("col1\tcol2\tcol3\x1b[0m and more words", 8) {
            assert!(
                width(&l) <= 8 && !l.contains(|c: char| c.is_control()),
                "{l:?}"
            );
        }
    }
}
