//! Width-aware wrapping and truncation (emoji and CJK take two columns).
//!
//! Text from customers may hold tabs and control characters. A terminal
//! moves the cursor for those (or ratatui drops them) while their measured
//! width is 0, so rows and indents would drift: [`clean`] expands or
//! replaces them first, and every helper here measures cleaned text.
//!
//! One width for every cell: [`width`] is ratatui's own measure
//! ([`CellWidth`]) summed over graphemes, the unit ratatui draws in, so a
//! row we cut to N columns is N columns in the buffer.
//!
//! Terminals disagree on some graphemes: tmux 3.3 (the reference) advances
//! one column for `❤️` (a text-style symbol + U+FE0F), four for `👍🏽` (an
//! emoji + a skin-tone modifier), while ratatui counts two for both. Where
//! the buffer and the terminal disagree, the terminal leaves stale cells or
//! pushes a row into a popup's border. [`clean`] therefore draws such a
//! grapheme in a form whose width every terminal agrees on (`❤`, `👍`,
//! the first person of a ZWJ family): a little less colour, never a
//! misplaced cell.

use ratatui::buffer::CellWidth;
use std::borrow::Cow;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthChar;

/// Columns between tab stops.
const TAB: usize = 4;

/// Text safe to measure and draw: tabs expanded to the next tab stop,
/// `\r\n` and lone `\r` as a line break, other control characters
/// (C0, DEL, C1) shown as `�`. Newlines stay; one-line places use [`line`].
pub fn clean(s: &str) -> Cow<'_, str> {
    let controls = s.chars().any(|c| c.is_control() && c != '\n');
    if !controls {
        return agreed(Cow::Borrowed(s));
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
    agreed(Cow::Owned(out))
}

/// `s` with every grapheme in a form terminals agree on (module docs).
fn agreed(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.is_ascii() || s.graphemes(true).all(is_agreed) {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    for g in s.graphemes(true) {
        if is_agreed(g) {
            out.push_str(g);
        } else {
            out.push_str(&agreed_grapheme(g));
        }
    }
    Cow::Owned(out)
}

/// A terminal that knows nothing of grapheme clusters (tmux 3.3 among
/// them) advances by each character's own width: safe when that sum is
/// what ratatui counts for the whole grapheme.
fn is_agreed(g: &str) -> bool {
    g.contains(char::is_control) || char_sum(g) == cells(g)
}

/// Ratatui's width of one grapheme; one holding a control character (a
/// kept newline) is not drawn, so 0.
fn cells(g: &str) -> usize {
    if g.contains(char::is_control) {
        0
    } else {
        usize::from(g.cell_width())
    }
}

/// What a terminal advances character by character (halfwidth kana sound
/// marks take a column of their own, as ratatui also counts them).
fn char_sum(g: &str) -> usize {
    g.chars()
        .map(|c| match c {
            '\u{FF9E}' | '\u{FF9F}' => 1,
            c => c.width().unwrap_or(0),
        })
        .sum()
}

/// Drop what makes the widths disagree: the emoji-style selector U+FE0F,
/// skin-tone modifiers, and everything from the first zero-width joiner;
/// if that is not enough, the first character alone.
fn agreed_grapheme(g: &str) -> String {
    let kept: String = g
        .chars()
        .take_while(|&c| c != '\u{200D}')
        .filter(|&c| c != '\u{FE0F}' && !('\u{1F3FB}'..='\u{1F3FF}').contains(&c))
        .collect();
    if !kept.is_empty() && is_agreed(&kept) {
        return kept;
    }
    g.chars().next().map(String::from).unwrap_or_default()
}

/// [`clean`] for a one-line place (a list row, a title): line breaks
/// become spaces.
pub fn line(s: &str) -> String {
    clean(s).replace('\n', " ")
}

/// Columns `s` takes once cleaned: ratatui's width of each grapheme, the
/// one width function every row, cut and wrap here uses.
pub fn width(s: &str) -> usize {
    graphemes_width(&clean(s))
}

/// Width of already cleaned text (what ratatui's buffer will count;
/// zero-width graphemes are dropped by ratatui and count 0 here).
fn graphemes_width(s: &str) -> usize {
    s.graphemes(true).map(cells).sum()
}

/// Cut `s` to at most `max` columns, with "…" when cut (one line).
pub fn truncate(s: &str, max: usize) -> String {
    let s = line(s);
    if graphemes_width(&s) <= max {
        return s;
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for g in s.graphemes(true) {
        let gw = cells(g);
        if w + gw > max - 1 {
            break;
        }
        out.push_str(g);
        w += gw;
    }
    out.push('…');
    out
}

/// Pad or cut to exactly `n` columns.
pub fn fit(s: &str, n: usize) -> String {
    let t = truncate(s, n);
    let w = graphemes_width(&t);
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
            let ww = graphemes_width(word);
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
            for g in word.graphemes(true) {
                let gw = cells(g);
                if lw + gw > max {
                    out.push(std::mem::take(&mut line));
                    lw = 0;
                }
                line.push_str(g);
                lw += gw;
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

    /// The widths tmux 3.3 advances, measured with `printf` in a pane and
    /// `display -p '#{cursor_x}'`: ❤️ 1, 👍🏽 4, 🇫🇷 2, 1️⃣ 1, 한국 4.
    #[test]
    fn graphemes_are_drawn_in_a_form_terminals_agree_on() {
        assert_eq!(clean("❤\u{FE0F} x"), "❤ x");
        assert_eq!(clean("👍🏽"), "👍");
        assert_eq!(clean("👨\u{200D}👩\u{200D}👧!"), "👨!");
        assert_eq!(clean("1\u{FE0F}\u{20E3}"), "1\u{20E3}");
        // Already agreed: kept as they are (borrowed, no copy).
        for ok in ["🇫🇷 한국어 ☕ 😀 e\u{301} ｶﾞ", "plain"] {
            assert_eq!(clean(ok), Cow::Borrowed(ok));
        }
        assert_eq!(width("❤️👍🏽🇫🇷한"), 1 + 2 + 2 + 2);
        // Ratatui's buffer counts what we count, grapheme by grapheme.
        let row = "❤️ 👍🏽 🇫🇷 中文 ok\tend";
        let cleaned = line(row);
        let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 40, 1));
        let (x, _) = buf.set_stringn(0, 0, &cleaned, 40, ratatui::style::Style::default());
        assert_eq!(usize::from(x), width(row));
        // Every drawn cell is as wide for a character-by-character terminal.
        for cell in buf.content() {
            let sym = cell.symbol();
            assert_eq!(
                char_sum(sym),
                usize::from(sym.cell_width()).max(1),
                "{sym:?}"
            );
        }
    }

    #[test]
    fn cuts_and_wraps_never_split_or_misjudge_a_grapheme() {
        assert_eq!(truncate("ab❤️👍🏽cd", 4), "ab❤…");
        assert_eq!(fit("🇫🇷🇫🇷🇫🇷", 5), "🇫🇷🇫🇷…");
        assert_eq!(wrap("🇫🇷🇫🇷🇫🇷", 4), vec!["🇫🇷🇫🇷", "🇫🇷"]);
        for l in wrap("❤️❤️❤️ 👍🏽👍🏽 한국어한국어 🇫🇷🇩🇪", 5)
        {
            assert!(width(&l) <= 5, "{l:?}");
        }
    }
}
