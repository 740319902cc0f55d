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
pub mod read;
pub mod sendmail;

pub use conclude::{Analyzer, Settings, Thresholds};
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
