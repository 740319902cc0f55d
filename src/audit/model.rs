//! The audit's data: an input file, where a setting lives (file:line), a finding tied to it, and the whole report.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::assess::Verdict;
use crate::assess::{Finding, FindingId, Mta};

/// One configuration input: the name it is shown by (a path, or `<stdin>`) and its text.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Where a setting comes from: a file and line, or the software's built-in default.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub file: String,
    /// 1-based; `None` when the setting is absent and its default applies.
    pub line: Option<usize>,
}

impl Location {
    pub fn at(file: &str, line: usize) -> Location {
        Location {
            file: file.to_string(),
            line: Some(line),
        }
    }

    pub fn default_in(file: &str) -> Location {
        Location {
            file: file.to_string(),
            line: None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => write!(f, "{} (default)", self.file),
        }
    }
}

/// A bad input: which file and line, and what is wrong. Shown as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct InputError {
    pub location: Location,
    pub message: String,
}

impl InputError {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> InputError {
        InputError::at(Location::at(file, line), message)
    }

    /// At a setting's location (which may be a default's: `main.cf (default)`).
    pub fn at(location: Location, message: impl Into<String>) -> InputError {
        InputError {
            location,
            message: message.into(),
        }
    }
}

/// One finding tied to the setting that causes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditFinding {
    /// `file:line` (or `file (default)`), as shown everywhere.
    pub location: String,
    pub file: String,
    pub line: Option<usize>,
    /// The setting at fault: `mynetworks`, `FEATURE(promiscuous_relay)`, `master.cf smtp -o ...`.
    pub setting: String,
    pub mta: Mta,
    /// The same model as a scan's findings: id, severity, title, detail, evidence, remediation.
    pub finding: Finding,
}

impl AuditFinding {
    pub fn new(
        at: &Location,
        setting: impl Into<String>,
        mta: Mta,
        id: FindingId,
        detail: String,
        evidence: Vec<String>,
    ) -> AuditFinding {
        AuditFinding {
            location: at.to_string(),
            file: at.file.clone(),
            line: at.line,
            setting: setting.into(),
            mta,
            finding: Finding::new(id, mta, detail, evidence),
        }
    }
}

/// Everything one audit found, most severe first, with notes on what could not be checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    /// The inputs, in the order given, with the MTA and kind each was read as.
    pub files: Vec<InputSummary>,
    pub findings: Vec<AuditFinding>,
    /// What the audit could not check (an unreadable map, a table type it cannot read).
    pub notes: Vec<String>,
    /// The networks the configuration lets relay without authentication, whatever their
    /// width: a probe from inside one is trusted, so its "open relay" is a vantage point.
    pub trusted: Vec<Trusted>,
}

/// One network a configuration trusts to relay, and the setting that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trusted {
    /// `192.0.2.0/24`, `127.0.0.1/32`, `::1/128`, or `0.0.0.0/0` for everyone.
    pub network: String,
    pub location: String,
    pub setting: String,
    pub mta: Mta,
}

impl Trusted {
    pub fn new(addr: IpAddr, len: u8, at: &Location, setting: &str, mta: Mta) -> Trusted {
        Trusted {
            network: format!("{addr}/{len}"),
            location: at.to_string(),
            setting: setting.to_string(),
            mta,
        }
    }

    /// Every address, IPv4 and IPv6: whom an open relay trusts.
    pub fn everyone(at: &Location, setting: &str, mta: Mta) -> [Trusted; 2] {
        [
            Trusted::new(IpAddr::from([0u8; 4]), 0, at, setting, mta),
            Trusted::new(IpAddr::from([0u16; 8]), 0, at, setting, mta),
        ]
    }

    /// Whether `ip` lies in this network.
    pub fn covers(&self, ip: IpAddr) -> bool {
        self.network
            .parse::<ipnetwork::IpNetwork>()
            .is_ok_and(|n| n.contains(ip))
    }
}

/// How one input was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    pub file: String,
    pub mta: Mta,
    /// `main.cf`, `master.cf`, `sendmail.mc`, `sendmail.cf`, `access`.
    pub kind: &'static str,
}

impl AuditReport {
    /// Sorts most severe first, then by file and line, and drops repeats of the same finding
    /// at the same place (each master.cf service re-evaluates main.cf's settings).
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.finding.severity),
                &a.file,
                a.line,
                a.finding.id,
            )
                .cmp(&(
                    std::cmp::Reverse(b.finding.severity),
                    &b.file,
                    b.line,
                    b.finding.id,
                ))
        });
        self.findings.dedup_by(|a, b| {
            a.finding.id == b.finding.id && a.location == b.location && a.setting == b.setting
        });
        self.notes.sort();
        self.notes.dedup();
        // Sendmail's Relay_ok names ::1 twice (IPv6:::1, IPv6:0:0:0:0:0:0:0:1): one is enough.
        self.trusted
            .sort_by(|a, b| (&a.network, &a.location).cmp(&(&b.network, &b.location)));
        self.trusted
            .dedup_by(|a, b| a.network == b.network && a.setting == b.setting && a.mta == b.mta);
    }

    /// Whether a client at `ip` may relay without authentication: the configuration trusts it.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|t| t.covers(ip))
    }

    /// The audit's conclusion in a scan's terms: `OpenRelay` when some setting lets anyone
    /// relay; otherwise none, since a configuration alone cannot prove a server closed.
    pub fn verdict(&self) -> Option<Verdict> {
        self.findings
            .iter()
            .any(|f| f.finding.id == FindingId::OpenRelay)
            .then_some(Verdict::OpenRelay)
    }

    /// The scan model's findings, for the `--fail-on` gate.
    pub fn plain_findings(&self) -> Vec<Finding> {
        self.findings.iter().map(|f| f.finding.clone()).collect()
    }

    /// How many findings of each severity, most severe first (every severity listed).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        crate::assess::severity_counts(self.findings.iter().map(|f| &f.finding))
    }
}
