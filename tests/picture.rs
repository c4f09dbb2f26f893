//! The picture at the top of the README: the real demo in tmux, captured
//! with its colours and drawn as SVG. `assets/demo-picture.sh` remakes it
//! (an ignored test here, so it only runs when asked); the tests that always
//! run check the ANSI-to-SVG drawing and that the README shows the picture.

mod common;

use common::tmux::{self, Session};
use unicode_width::UnicodeWidthChar;

const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;
const DEFAULT_FG: Rgb = Rgb(0xd0, 0xd0, 0xd0);
const DEFAULT_BG: Rgb = Rgb(0x1c, 0x1c, 0x1c);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Rgb(u8, u8, u8);

impl Rgb {
    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// xterm's 256-colour palette.
fn palette(n: u8) -> Rgb {
    const BASE: [Rgb; 16] = [
        Rgb(0x00, 0x00, 0x00),
        Rgb(0xcd, 0x31, 0x31),
        Rgb(0x0d, 0xbc, 0x79),
        Rgb(0xe5, 0xe5, 0x10),
        Rgb(0x24, 0x72, 0xc8),
        Rgb(0xbc, 0x3f, 0xbc),
        Rgb(0x11, 0xa8, 0xcd),
        Rgb(0xe5, 0xe5, 0xe5),
        Rgb(0x66, 0x66, 0x66),
        Rgb(0xf1, 0x4c, 0x4c),
        Rgb(0x23, 0xd1, 0x8b),
        Rgb(0xf5, 0xf5, 0x43),
        Rgb(0x3b, 0x8e, 0xea),
        Rgb(0xd6, 0x70, 0xd6),
        Rgb(0x29, 0xb8, 0xdb),
        Rgb(0xff, 0xff, 0xff),
    ];
    match n {
        0..=15 => BASE[n as usize],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let i = n - 16;
            Rgb(level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let g = 8 + (n - 232) * 10;
            Rgb(g, g, g)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
struct Style {
    fg: Option<Rgb>,
    bg: Option<Rgb>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    reverse: bool,
}

impl Style {
    const PLAIN: Style = Style {
        fg: None,
        bg: None,
        bold: false,
        dim: false,
        italic: false,
        underline: false,
        reverse: false,
    };

    /// Apply one SGR parameter list (`1;38;5;12`).
    fn sgr(&mut self, params: &str) {
        let mut p = params
            .split(';')
            .map(|s| s.parse::<u16>().unwrap_or(0))
            .peekable();
        if params.is_empty() {
            *self = Style::PLAIN;
        }
        while let Some(code) = p.next() {
            match code {
                0 => *self = Style::PLAIN,
                1 => self.bold = true,
                2 => self.dim = true,
                3 => self.italic = true,
                4 => self.underline = true,
                7 => self.reverse = true,
                22 => (self.bold, self.dim) = (false, false),
                23 => self.italic = false,
                24 => self.underline = false,
                27 => self.reverse = false,
                30..=37 => self.fg = Some(palette((code - 30) as u8)),
                90..=97 => self.fg = Some(palette((code - 90 + 8) as u8)),
                40..=47 => self.bg = Some(palette((code - 40) as u8)),
                100..=107 => self.bg = Some(palette((code - 100 + 8) as u8)),
                39 => self.fg = None,
                49 => self.bg = None,
                38 | 48 => {
                    let colour = match p.next() {
                        Some(5) => p.next().map(|n| palette(n as u8)),
                        Some(2) => {
                            let (r, g, b) = (p.next(), p.next(), p.next());
                            Some(Rgb(
                                r.unwrap_or(0) as u8,
                                g.unwrap_or(0) as u8,
                                b.unwrap_or(0) as u8,
                            ))
                        }
                        _ => None,
                    };
                    if code == 38 {
                        self.fg = colour;
                    } else {
                        self.bg = colour;
                    }
                }
                _ => {}
            }
        }
    }

    /// The colours a viewer sees (reverse swaps them).
    fn colours(&self) -> (Rgb, Rgb) {
        let fg = self.fg.unwrap_or(DEFAULT_FG);
        let bg = self.bg.unwrap_or(DEFAULT_BG);
        if self.reverse {
            (bg, fg)
        } else {
            (fg, bg)
        }
    }
}

struct Cell {
    col: usize,
    ch: char,
    width: usize,
    style: Style,
}

/// Split `tmux capture-pane -e` output into rows of styled cells.
fn parse(ansi: &str) -> Vec<Vec<Cell>> {
    let mut style = Style::PLAIN;
    let mut rows = Vec::new();
    for line in ansi.lines() {
        let mut row = Vec::new();
        let mut col = 0;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                // CSI: ESC [ params final. Only SGR ('m') changes the style.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut params = String::new();
                    for c in chars.by_ref() {
                        if c.is_ascii_digit() || c == ';' {
                            params.push(c);
                        } else {
                            if c == 'm' {
                                style.sgr(&params);
                            }
                            break;
                        }
                    }
                }
                continue;
            }
            let width = c.width().unwrap_or(0);
            if width == 0 {
                continue;
            }
            row.push(Cell {
                col,
                ch: c,
                width,
                style,
            });
            col += width;
        }
        rows.push(row);
    }
    rows
}

fn escape(c: char) -> String {
    match c {
        '&' => "&amp;".into(),
        '<' => "&lt;".into(),
        '>' => "&gt;".into(),
        '"' => "&quot;".into(),
        c => c.to_string(),
    }
}

/// Draw the screen: a background rectangle per differently coloured cell,
/// text in runs of one style; wide characters (emoji) sit alone, stretched
/// to their two cells, so the grid stays aligned in any font.
fn svg(ansi: &str, cols: usize, rows: usize) -> String {
    let grid = parse(ansi);
    let (w, h) = (cols as f32 * CELL_W, rows as f32 * CELL_H);
    let (w, h) = (format!("{w:.0}"), format!("{h:.0}"));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"'DejaVu Sans Mono', Menlo, Consolas, monospace\" font-size=\"14\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"{}\"/>\n",
        DEFAULT_BG.hex()
    );
    for (y, row) in grid.iter().enumerate().take(rows) {
        let top = y as f32 * CELL_H;
        for cell in row {
            let (_, bg) = cell.style.colours();
            if bg != DEFAULT_BG {
                out += &format!(
                    "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{CELL_H}\" fill=\"{}\"/>\n",
                    cell.col as f32 * CELL_W,
                    cell.width as f32 * CELL_W,
                    bg.hex()
                );
            }
        }
        let baseline = top + CELL_H * 0.75;
        let mut i = 0;
        while i < row.len() {
            let first = &row[i];
            let mut j = i + 1;
            if first.width == 1 {
                while j < row.len()
                    && row[j].width == 1
                    && row[j].style == first.style
                    && row[j].col == row[j - 1].col + 1
                {
                    j += 1;
                }
            }
            let run = &row[i..j];
            i = j;
            if run.iter().all(|c| c.ch == ' ') {
                continue;
            }
            let (fg, _) = first.style.colours();
            let cells: usize = run.iter().map(|c| c.width).sum();
            let mut attrs = format!("fill=\"{}\"", fg.hex());
            if first.style.bold {
                attrs += " font-weight=\"bold\"";
            }
            if first.style.dim {
                attrs += " fill-opacity=\"0.6\"";
            }
            if first.style.italic {
                attrs += " font-style=\"italic\"";
            }
            if first.style.underline {
                attrs += " text-decoration=\"underline\"";
            }
            let text: String = run.iter().map(|c| escape(c.ch)).collect();
            out += &format!(
                "<text x=\"{:.1}\" y=\"{baseline:.1}\" {attrs} textLength=\"{:.1}\" lengthAdjust=\"spacingAndGlyphs\" xml:space=\"preserve\">{text}</text>\n",
                first.col as f32 * CELL_W,
                cells as f32 * CELL_W,
            );
        }
    }
    out += "</svg>\n";
    out
}

#[test]
fn ansi_colours_attributes_and_wide_characters_become_svg() {
    let ansi = "\x1b[1m\x1b[38;5;12mInbox\x1b[0m a<b\n\x1b[7mX\x1b[27m📦\x1b[48;2;1;2;3mZ\x1b[49m";
    let out = svg(ansi, 10, 2);
    // Bold, 256-colour 12 (bright blue) for the title, as one run.
    assert!(
        out.contains("fill=\"#3b8eea\" font-weight=\"bold\" textLength=\"42.0\""),
        "{out}"
    );
    assert!(out.contains(">Inbox</text>"), "{out}");
    // Reset, then plain text with XML escaped.
    assert!(out.contains("> a&lt;b</text>"), "{out}");
    // Reverse video: default colours swapped (light background cell).
    assert!(
        out.contains("<rect x=\"0.0\" y=\"17.0\" width=\"8.4\" height=\"17\" fill=\"#d0d0d0\"/>"),
        "{out}"
    );
    // The emoji takes two cells: the next character starts at column 3.
    assert!(out.contains("textLength=\"16.8\""), "{out}");
    assert!(
        out.contains("<rect x=\"25.2\" y=\"17.0\" width=\"8.4\" height=\"17\" fill=\"#010203\"/>"),
        "{out}"
    );
    assert!(out.contains("x=\"25.2\" y=\"29.8\""), "{out}");
}

#[test]
fn the_readme_shows_the_picture_with_alt_text() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let line = readme
        .lines()
        .take(16)
        .find(|l| l.contains("](assets/demo.svg)"))
        .expect("the picture near the top of the README");
    let alt = line
        .split("![")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or("");
    assert!(alt.len() > 40, "a real description as alt text: {line}");
    let picture = std::fs::read_to_string(format!("{root}/assets/demo.svg")).unwrap();
    assert!(picture.starts_with("<svg") && picture.contains("Inbox"));
}

/// Remake assets/demo.svg from a real run of the demo
/// (`assets/demo-picture.sh`).
#[test]
#[ignore = "remakes assets/demo.svg; run by assets/demo-picture.sh"]
fn make_demo_picture() {
    assert!(tmux::ready("make_demo_picture"), "the picture needs tmux");
    let tmp = tempfile::tempdir().unwrap();
    let (cols, rows) = (120u16, 32u16);
    let shell_cmd = format!(
        "TERM=xterm-256color XDG_CONFIG_HOME={cfg} XDG_DATA_HOME={data} XDG_STATE_HOME={state} {bin}; sleep 30",
        cfg = tmp.path().join("no-config-here").display(),
        data = tmp.path().join("data").display(),
        state = tmp.path().join("state").display(),
        bin = env!("CARGO_BIN_EXE_dmdesk"),
    );
    let s = Session::start("picture", (cols, rows), &shell_cmd);
    s.wait_for("the demo inbox", |scr| {
        scr.contains("Inbox 20") || scr.contains("all 20]")
    });
    // Open the second conversation and start a reply, as an agent would.
    s.keys(&["j", "Enter"]);
    s.wait_for("the open thread", |scr| scr.contains(" (i) "));
    s.keys(&["i"]);
    s.wait_for("the focused composer", |scr| scr.contains("Enter send"));
    s.text("Thanks for waiting, it ships today");
    s.wait_for("the typed reply", |scr| scr.contains("it ships today"));
    let picture = svg(&s.capture_ansi(), cols as usize, rows as usize);
    let path = format!("{}/assets/demo.svg", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(&path, picture).unwrap();
    eprintln!("wrote {path}");
}
