//! Colours, or none: with NO_COLOR every style keeps only bold/reverse/dim.

use crate::app::thread_layout::Tone;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn new(no_color: bool) -> Theme {
        Theme { color: !no_color }
    }
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub fn base(&self) -> Style {
        Style::default()
    }
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }
    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn inbound(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn outbound(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn badge(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }
    pub fn messenger(&self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::BOLD)
    }
    pub fn instagram(&self) -> Style {
        self.fg(Color::LightMagenta).add_modifier(Modifier::BOLD)
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }
    /// The style of a thread layout's tone.
    pub fn tone(&self, t: Tone) -> Style {
        match t {
            Tone::Plain => self.base(),
            Tone::Dim => self.dim(),
            Tone::Inbound => self.inbound(),
            Tone::Outbound => self.outbound(),
            Tone::Warn => self.warn(),
            Tone::Error => self.error(),
            Tone::Note => self.note(),
        }
    }
    /// Private notes and their composer: a colour no reply has, and italic
    /// (which stays without colour).
    pub fn note(&self) -> Style {
        self.fg(Color::LightYellow).add_modifier(Modifier::ITALIC)
    }
    /// A label in its configured colour (a name or #rrggbb); unknown: dim.
    pub fn label(&self, colour: Option<&str>) -> Style {
        match colour.and_then(|c| c.parse::<Color>().ok()) {
            Some(c) => self.fg(c),
            None => self.dim(),
        }
    }
    pub fn demo(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }
}
