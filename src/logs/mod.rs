//! `relayscan logs`: mail logs read as a stream (Postfix, Sendmail, Exim, under any common syslog prefix), correlated by queue id, and concluded: mail relayed for strangers, refused relay attempts, SASL abuse, volume spikes.
//!
//! [`prefix`] splits a line, [`postfix`], [`sendmail`] and [`exim`] turn its message into
//! an [`event::Event`], [`conclude::Analyzer`] keeps bounded tables and the open messages
//! ([`correlate`]), and [`output`] writes the [`model::LogReport`]. Everything but
//! [`read`] is pure.

pub mod bounded;
pub mod conclude;
pub mod correlate;
pub mod event;
pub mod exim;
pub mod model;
pub mod output;
pub mod postfix;
pub mod prefix;
pub mod queue_id;
pub mod read;
pub mod sendmail;

pub use conclude::{Analyzer, Settings, Thresholds};

/// The first `max` characters of `text`, borrowed: evidence and samples keep a bounded
/// prefix of a line, and this is called for every message of a log, so it copies nothing
/// (collecting the chars into a new String was an eighth of `relayscan logs`' time).
pub fn first_chars(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(end, _)| &text[..end])
}

pub use model::LogReport;

use crate::assess::Mta;

/// Which MTA's lines to read: `--mta`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogMta {
    Postfix,
    Sendmail,
    Exim,
    /// Every one of them, each line by its program name (or its shape).
    #[default]
    Auto,
}

impl LogMta {
    /// Whether lines of `mta` are read.
    pub fn allows(self, mta: Mta) -> bool {
        match self {
            LogMta::Auto => matches!(mta, Mta::Postfix | Mta::Sendmail | Mta::Exim),
            LogMta::Postfix => mta == Mta::Postfix,
            LogMta::Sendmail => mta == Mta::Sendmail,
            LogMta::Exim => mta == Mta::Exim,
        }
    }
}

#[cfg(test)]
mod first_chars_tests {
    use super::first_chars;

    #[test]
    fn first_chars_table() {
        for (text, max, want) in [
            ("", 3, ""),
            ("abc", 3, "abc"),
            ("abcd", 3, "abc"),
            ("h\u{e9}llo", 2, "h\u{e9}"),
            ("\u{1f600}\u{1f600}", 1, "\u{1f600}"),
        ] {
            assert_eq!(first_chars(text, max), want, "{text:?} {max}");
        }
    }
}
