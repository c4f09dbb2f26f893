//! ASCII fallback for terminals whose locale is not UTF-8 (`LANG=C`): there
//! box drawing, ⏱, ✓ and emoji arrive as bytes the terminal cannot draw and
//! the columns slip. The screen is drawn as usual and then each cell is
//! mapped to ASCII, so no pane can forget a symbol.

use ratatui::buffer::Buffer;

/// Whether the locale's character set is UTF-8, from `LC_ALL`, `LC_CTYPE`
/// and `LANG` in POSIX precedence (the first that is set and not empty
/// decides). UTF-8 unless it is `C`/`POSIX` or names another charset
/// (`en_US.ISO-8859-1`); a locale without a charset (`en_US`) or no locale
/// at all counts as UTF-8, which is what terminals use today.
pub fn locale_is_utf8(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> bool {
    let Some(locale) = [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
    else {
        return true;
    };
    // `lang_COUNTRY.charset@modifier`
    let no_modifier = locale.split('@').next().unwrap_or(locale);
    if no_modifier == "C" || no_modifier == "POSIX" {
        return false;
    }
    match no_modifier.split_once('.') {
        None => true,
        Some((_, charset)) => {
            let c = charset.to_ascii_lowercase().replace('-', "");
            c == "utf8"
        }
    }
}

/// The ASCII stand-in for one cell's symbol: box drawing becomes `+ - |`,
/// the UI's symbols their nearest ASCII, anything else not ASCII (emoji,
/// letters a non-UTF-8 terminal would garble) `?`.
pub fn ascii_symbol(sym: &str) -> &str {
    if sym.is_ascii() {
        return sym;
    }
    match sym {
        "─" | "━" | "┄" | "┈" | "╌" => "-",
        "│" | "┃" | "┆" | "┊" | "╎" | "║" => "|",
        "═" => "=",
        "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" | "╭" | "╮" | "╰" | "╯" | "╔" | "╗"
        | "╚" | "╝" => "+",
        "⏱" => "T",
        "⏳" => "~",
        "✓" => "v",
        "✗" => "x",
        "▶" | "↪" => ">",
        "◀" | "↩" => "<",
        "▼" => "v",
        "▲" => "^",
        "▐" | "█" => "#",
        "░" => ".",
        "▏" => "_",
        "●" => "*",
        "○" => "o",
        "·" => "-",
        "…" => ".",
        "—" | "–" => "-",
        "📎" => "@",
        "✎" => "d",
        _ => "?",
    }
}

/// Map every cell of `buf` to ASCII. A wide character's second cell is
/// already blank, so a one-column stand-in keeps the columns in place.
pub fn to_ascii(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if !sym.is_ascii() {
            let ascii = ascii_symbol(sym).to_string();
            cell.set_symbol(&ascii);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_detection() {
        let utf8 = |a, c, l| locale_is_utf8(a, c, l);
        assert!(utf8(None, None, None));
        assert!(utf8(None, None, Some("en_US.UTF-8")));
        assert!(utf8(None, None, Some("de_DE.utf8")));
        assert!(utf8(None, None, Some("C.UTF-8")));
        assert!(utf8(None, None, Some("en_US")));
        assert!(utf8(None, None, Some("sr_RS.UTF-8@latin")));
        assert!(!utf8(None, None, Some("C")));
        assert!(!utf8(None, None, Some("POSIX")));
        assert!(!utf8(None, None, Some("en_US.ISO-8859-1")));
        // LC_ALL over LC_CTYPE over LANG; empty means unset.
        assert!(!utf8(Some("C"), Some("en_US.UTF-8"), Some("en_US.UTF-8")));
        assert!(utf8(Some("en_US.UTF-8"), None, Some("C")));
        assert!(!utf8(None, Some("POSIX"), Some("en_US.UTF-8")));
        assert!(utf8(Some(""), Some(""), Some("en_US.UTF-8")));
        assert!(!utf8(Some(""), None, Some("C")));
    }

    #[test]
    fn symbols_become_ascii() {
        for (s, a) in [
            ("┌", "+"),
            ("─", "-"),
            ("│", "|"),
            ("⏱", "T"),
            ("✓", "v"),
            ("▶", ">"),
            ("◀", "<"),
            ("😀", "?"),
            ("ö", "?"),
            ("x", "x"),
        ] {
            assert_eq!(ascii_symbol(s), a, "{s}");
        }
        let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 6, 1));
        buf.set_string(0, 0, "┌⏱😀a", ratatui::style::Style::default());
        to_ascii(&mut buf);
        let line: String = buf.content.iter().map(|c| c.symbol()).collect();
        assert_eq!(line, "+T? a ");
    }
}
