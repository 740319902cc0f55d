//! `--fail-on`: the CI gate. Which records make a run exit 1: open relays, or findings at or above a severity (or, where a gate is the default, `never`).

use std::fmt;
use std::str::FromStr;

use crate::assess::Verdict;
use crate::assess::{Finding, Severity};

use super::domain_totals::DomainTotals;
use super::summary::Summary;

/// The threshold given to `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Any record with the verdict open-relay.
    OpenRelay,
    /// Any finding of this severity or worse.
    AtLeast(Severity),
}

const EXPECTED: &str = "expected open-relay, critical, high, medium or low";

impl FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open-relay" => Ok(FailOn::OpenRelay),
            // Info findings are context, not problems: a gate on them would fail every scan.
            "critical" | "high" | "medium" | "low" => s.parse().map(FailOn::AtLeast),
            _ => Err(format!("unknown threshold {s:?} ({EXPECTED})")),
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOn::OpenRelay => f.write_str("open-relay"),
            FailOn::AtLeast(s) => f.write_str(s.as_str()),
        }
    }
}

/// `--fail-on` where a gate applies by default (audit-config): a threshold, or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate(Option<FailOn>);

const EXPECTED_OR_NEVER: &str = "expected open-relay, critical, high, medium, low or never";

impl FromStr for Gate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "never" => Ok(Gate(None)),
            _ => s
                .parse()
                .map(|t| Gate(Some(t)))
                .map_err(|_| format!("unknown threshold {s:?} ({EXPECTED_OR_NEVER})")),
        }
    }
}

impl Gate {
    /// The threshold, or `None` for `never`.
    pub fn threshold(self) -> Option<FailOn> {
        self.0
    }
}

impl FailOn {
    /// Whether one record (its verdict and findings) reaches the threshold.
    pub fn matches(&self, verdict: Option<Verdict>, findings: &[Finding]) -> bool {
        match self {
            FailOn::OpenRelay => verdict == Some(Verdict::OpenRelay),
            FailOn::AtLeast(min) => findings.iter().any(|f| f.severity >= *min),
        }
    }

    /// Whether any mail domain of a run reached the threshold: a domain with an open
    /// relay, or a domain finding (SPF `+all`, no DMARC...) that severe.
    pub fn tripped_by_domains(&self, domains: &DomainTotals) -> bool {
        match self {
            FailOn::OpenRelay => !domains.open_relay.is_empty(),
            FailOn::AtLeast(min) => any_at_least(*min, |s| domains.severity_count(s)),
        }
    }

    /// Whether any record of a run reached the threshold, from the run's totals.
    pub fn tripped(&self, summary: &Summary) -> bool {
        match self {
            FailOn::OpenRelay => summary.verdict_count(Verdict::OpenRelay) > 0,
            FailOn::AtLeast(min) => any_at_least(*min, |s| summary.severity_count(s)),
        }
    }
}

/// Whether `count` is above zero for `min` or any worse severity.
fn any_at_least(min: Severity, count: impl Fn(Severity) -> u64) -> bool {
    Severity::ALL
        .into_iter()
        .filter(|&s| s >= min)
        .any(|s| count(s) > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{FindingId, Mta};
    use crate::report::ScanRecord;
    use crate::report::testdata;

    fn finding(id: FindingId) -> Finding {
        Finding::new(id, Mta::Unknown, String::new(), vec![])
    }

    #[test]
    fn parse_table() {
        let table = [
            ("open-relay", Ok(FailOn::OpenRelay)),
            ("critical", Ok(FailOn::AtLeast(Severity::Critical))),
            ("high", Ok(FailOn::AtLeast(Severity::High))),
            ("medium", Ok(FailOn::AtLeast(Severity::Medium))),
            ("low", Ok(FailOn::AtLeast(Severity::Low))),
        ];
        for (text, want) in table {
            let got: Result<FailOn, String> = text.parse();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.unwrap().to_string(), text);
        }
        for bad in ["info", "HIGH", "", "open relay", "any"] {
            let e = bad.parse::<FailOn>().unwrap_err();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains(EXPECTED),
                "{e}"
            );
        }
    }

    #[test]
    fn gate_parse_table() {
        assert_eq!("never".parse::<Gate>().unwrap().threshold(), None);
        for text in ["open-relay", "critical", "high", "medium", "low"] {
            let gate: Gate = text.parse().unwrap();
            assert_eq!(gate.threshold(), Some(text.parse().unwrap()), "{text}");
        }
        for bad in ["info", "Never", "", "none"] {
            let e = bad.parse::<Gate>().unwrap_err();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains(EXPECTED_OR_NEVER),
                "{e}"
            );
        }
    }

    #[test]
    fn matches_table() {
        let banner = [finding(FindingId::BannerVersion)];
        let relay = [
            finding(FindingId::OpenRelay),
            finding(FindingId::BannerVersion),
        ];
        let info = [finding(FindingId::RelayInconclusive)];
        let open = Some(Verdict::OpenRelay);
        let denied = Some(Verdict::RelayDenied);
        let table: [(FailOn, Option<Verdict>, &[Finding], bool); 9] = [
            (FailOn::OpenRelay, open, &relay, true),
            (FailOn::OpenRelay, denied, &banner, false),
            (FailOn::AtLeast(Severity::Critical), open, &relay, true),
            (FailOn::AtLeast(Severity::Critical), denied, &banner, false),
            (FailOn::AtLeast(Severity::High), denied, &banner, false),
            (FailOn::AtLeast(Severity::Low), denied, &banner, true),
            (FailOn::AtLeast(Severity::Low), None, &info, false),
            (FailOn::AtLeast(Severity::Low), None, &[], false),
            // The verdict alone does not trip a severity gate: findings decide.
            (FailOn::AtLeast(Severity::Critical), open, &[], false),
        ];
        for (gate, verdict, findings, want) in table {
            assert_eq!(gate.matches(verdict, findings), want, "{gate} {verdict:?}");
        }
    }

    #[test]
    fn tripped_by_the_summary_of_a_run() {
        let mut s = Summary::default();
        s.add(&ScanRecord::of_outcome(testdata::refused_outcome()));
        for gate in ["open-relay", "critical", "low"] {
            assert!(!gate.parse::<FailOn>().unwrap().tripped(&s), "{gate}");
        }
        // The sample open relay: critical open-relay, high accepts-any-recipient.
        s.add(&ScanRecord::of_outcome(testdata::open_relay_outcome()));
        for gate in ["open-relay", "critical", "high", "medium", "low"] {
            assert!(gate.parse::<FailOn>().unwrap().tripped(&s), "{gate}");
        }
    }

    #[test]
    fn domain_totals_trip_the_gate() {
        let mut spf_pass_all = DomainTotals::default();
        spf_pass_all.by_severity.insert(Severity::High, 1);
        let open = DomainTotals {
            open_relay: vec!["a.example".into()],
            ..DomainTotals::default()
        };
        let none = DomainTotals::default();
        // (gate, totals, tripped)
        let table = [
            (FailOn::AtLeast(Severity::High), &spf_pass_all, true),
            (FailOn::AtLeast(Severity::Low), &spf_pass_all, true),
            (FailOn::AtLeast(Severity::Critical), &spf_pass_all, false),
            (FailOn::OpenRelay, &spf_pass_all, false),
            (FailOn::OpenRelay, &open, true),
            (FailOn::AtLeast(Severity::Low), &none, false),
        ];
        for (gate, totals, want) in table {
            assert_eq!(gate.tripped_by_domains(totals), want, "{gate} {totals:?}");
        }
    }
}
