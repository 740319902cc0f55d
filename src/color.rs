//! Whether relayscan colours what it prints, decided in one place: `--color auto|always|never`
//! and `NO_COLOR` (https://no-color.org), for stdout and stderr alike. Every coloured word
//! goes through a [`Paint`], which only [`Paint::stdout`] and [`Paint::stderr`] make (and
//! `Paint::plain` for text that is not for a terminal), so nothing can colour on its own.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::OnceLock;

use crate::assess::Severity;

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour, also into a pipe or file (and despite `NO_COLOR`: a flag given for
    /// one run wins over the environment, as no-color.org asks).
    Always,
    /// Never colour.
    Never,
}

/// The choice of this run, set once by [`choose`] before any command prints.
static CHOICE: OnceLock<ColorWhen> = OnceLock::new();

/// The environment variable of no-color.org: present and not empty turns colour off.
pub const NO_COLOR: &str = "NO_COLOR";

/// Records the run's `--color` and applies it to the progress bar (indicatif draws through
/// console, which keeps its own switch). Called once, by `commands::run`.
pub fn choose(when: ColorWhen) {
    let _ = CHOICE.set(when);
    console::set_colors_enabled_stderr(Paint::stderr().on);
    console::set_colors_enabled(Paint::stdout().on);
}

/// The rule, without I/O: `--color`, the value of `NO_COLOR` if set, and whether the
/// stream is a terminal.
pub fn decide(when: ColorWhen, no_color: Option<&OsStr>, is_terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => is_terminal && no_color.is_none_or(OsStr::is_empty),
    }
}

/// Colours words for one stream, or leaves them plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    on: bool,
}

/// SGR sequences (ECMA-48): bold red for what needs action now, red, yellow.
const BOLD_RED: &str = "\x1b[1;31m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Paint {
    fn for_stream(is_terminal: bool) -> Paint {
        let when = CHOICE.get().copied().unwrap_or_default();
        let no_color = std::env::var_os(NO_COLOR);
        Paint {
            on: decide(when, no_color.as_deref(), is_terminal),
        }
    }

    /// For what goes to stdout (the summary tables).
    pub fn stdout() -> Paint {
        Paint::for_stream(std::io::stdout().is_terminal())
    }

    /// For what goes to stderr (errors, notes).
    pub fn stderr() -> Paint {
        Paint::for_stream(std::io::stderr().is_terminal())
    }

    /// No colour: text for files and for tests that compare it.
    pub const fn plain() -> Paint {
        Paint { on: false }
    }

    pub fn is_on(self) -> bool {
        self.on
    }

    fn wrap(self, sgr: &str, text: &str) -> String {
        if self.on {
            format!("{sgr}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// An open relay, and the error prefix: what needs action now.
    pub fn alarm(self, text: &str) -> String {
        self.wrap(BOLD_RED, text)
    }

    /// A heading.
    pub fn heading(self, text: &str) -> String {
        self.wrap(BOLD, text)
    }

    /// `text` (already padded, so that escapes do not break column widths) in the colour
    /// of `severity`: critical bold red, high red, medium yellow, low and info plain.
    pub fn severity(self, severity: Severity, text: &str) -> String {
        match severity {
            Severity::Critical => self.wrap(BOLD_RED, text),
            Severity::High => self.wrap(RED, text),
            Severity::Medium => self.wrap(YELLOW, text),
            Severity::Low | Severity::Info => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decide_table() {
        use ColorWhen::*;
        let set = |v: &'static str| Some(OsStr::new(v));
        let table: [(ColorWhen, Option<&OsStr>, bool, bool); 10] = [
            (Auto, None, true, true),
            (Auto, None, false, false),
            (Auto, set("1"), true, false),
            // no-color.org: present and not empty, whatever the value.
            (Auto, set("0"), true, false),
            // Present but empty: as if unset.
            (Auto, set(""), true, true),
            (Always, None, false, true),
            (Always, set("1"), false, true),
            (Never, None, true, false),
            (Never, set(""), true, false),
            (Never, set("1"), false, false),
        ];
        for (when, no_color, terminal, want) in table {
            assert_eq!(
                decide(when, no_color, terminal),
                want,
                "{when:?} NO_COLOR={no_color:?} terminal={terminal}"
            );
        }
    }

    #[test]
    fn plain_paint_leaves_text_alone_and_on_wraps_it_with_a_reset() {
        assert_eq!(Paint::plain().alarm("open-relay"), "open-relay");
        assert_eq!(
            Paint::plain().severity(Severity::Critical, "critical"),
            "critical"
        );
        let on = Paint { on: true };
        assert_eq!(on.alarm("x"), "\x1b[1;31mx\x1b[0m");
        assert_eq!(on.severity(Severity::Medium, "m"), "\x1b[33mm\x1b[0m");
        assert_eq!(on.severity(Severity::Low, "low"), "low");
    }
}
