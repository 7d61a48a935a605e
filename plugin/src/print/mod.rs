//! Printers: tables and trees in upstream's exact layout, with colour only
//! where it helps (a terminal, no NO_COLOR, not TERM=dumb, no --no-color).

pub mod get;
pub mod humanize;
pub mod list;
pub mod tabwriter;
pub mod tree;

use std::io::IsTerminal;

pub const FG_RED: u8 = 31;
pub const FG_GREEN: u8 = 32;
pub const FG_YELLOW: u8 = 33;
pub const FG_CYAN: u8 = 36;
pub const FG_DEFAULT: u8 = 39;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub utf8: bool,
}

impl Style {
    #[cfg(test)]
    pub const PLAIN: Style = Style {
        color: false,
        utf8: true,
    };

    /// The style for stdout given the user's flags and environment.
    pub fn detect(no_color: bool, no_utf8: bool) -> Style {
        Style {
            color: !no_color && color_allowed(std::io::stdout().is_terminal()),
            utf8: !no_utf8,
        }
    }

    pub fn paint(&self, text: &str, code: u8) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Upstream's JobStatusIconMap; phases it does not list get nothing.
    pub fn phase_icon(&self, phase: &str) -> String {
        let (icon, word, code) = match phase {
            "Pending" => ("◷", "Pending", FG_YELLOW),
            "Running" => ("●", "Running", FG_CYAN),
            "Succeeded" => ("✔", "Succeeded", FG_GREEN),
            "Skipped" => ("○", "Skipped", FG_DEFAULT),
            "Failed" => ("✖", "Failed", FG_RED),
            "Error" => ("⚠", "Error", FG_RED),
            _ => return String::new(),
        };
        self.paint(if self.utf8 { icon } else { word }, code)
    }

    pub fn suspend_icon(&self) -> String {
        self.paint(if self.utf8 { "ǁ" } else { "Suspend" }, FG_CYAN)
    }

    pub fn condition_icon(&self, type_: &str) -> String {
        match type_ {
            "MetricsError" => self.paint(if self.utf8 { "✖" } else { "Error" }, FG_RED),
            "SpecWarning" => self.paint(if self.utf8 { "⚠" } else { "Warning" }, FG_YELLOW),
            _ => String::new(),
        }
    }
}

/// NO_COLOR (any non-empty value) and TERM=dumb turn colour off; so does
/// output that is not a terminal.
pub fn color_allowed(is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    is_terminal && !no_color && !dumb
}

#[cfg(test)]
mod tests;
