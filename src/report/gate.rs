//! `--fail-on`: the CI gate. Which records make a run exit 1: open relays, findings at or above a severity, or findings with one id (or, where a gate is the default, `never`).

use std::fmt;
use std::str::FromStr;

use crate::assess::Verdict;
use crate::assess::{Finding, Severity};

use super::domain_totals::DomainTotals;
use super::finding_name::FindingName;
use super::summary::Summary;

/// The threshold given to `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Any record with the verdict open-relay.
    OpenRelay,
    /// Any finding of this severity or worse.
    AtLeast(Severity),
    /// Any finding with this id, whatever its severity (`blocklisted-policy` is info).
    Finding(FindingName),
}

const EXPECTED: &str = "expected open-relay, critical, high, medium, low or a finding id";

/// How many nearest ids an unknown word is offered.
const SUGGESTED: usize = 3;

/// The error for a word that is no threshold: it, what is expected, and the ids nearest
/// to it.
fn unknown(word: &str, expected: &str) -> String {
    let near = FindingName::nearest(word, SUGGESTED);
    if near.is_empty() {
        format!("unknown threshold {word:?} ({expected}; no finding id is near it)")
    } else {
        format!(
            "unknown threshold {word:?} ({expected}; nearest finding ids: {})",
            near.join(", ")
        )
    }
}

impl FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open-relay" => Ok(FailOn::OpenRelay),
            // Info findings are context, not problems: a gate on them would fail every scan.
            "critical" | "high" | "medium" | "low" => s.parse().map(FailOn::AtLeast),
            _ => FindingName::parse(s)
                .map(FailOn::Finding)
                .ok_or_else(|| unknown(s, EXPECTED)),
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOn::OpenRelay => f.write_str("open-relay"),
            FailOn::AtLeast(s) => f.write_str(s.as_str()),
            FailOn::Finding(id) => f.write_str(id.as_str()),
        }
    }
}

/// `--fail-on` where a gate applies by default (audit-config, logs): a threshold, or
/// `never`. Neither command looks at mail domains, so a domain finding's id is refused
/// rather than taken as a gate that could never trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate(Option<FailOn>);

const EXPECTED_OR_NEVER: &str =
    "expected open-relay, critical, high, medium, low, a finding id or never";

impl FromStr for Gate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "never" {
            return Ok(Gate(None));
        }
        match s.parse() {
            Ok(FailOn::Finding(FindingName::Domain(id))) => Err(format!(
                "{id:?} is a mail-domain finding, which a configuration audit or a mail log never raises ({EXPECTED_OR_NEVER})",
                id = id.as_str()
            )),
            Ok(t) => Ok(Gate(Some(t))),
            Err(_) => Err(unknown(s, EXPECTED_OR_NEVER)),
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
            FailOn::Finding(FindingName::Host(id)) => findings.iter().any(|f| f.id == *id),
            // A record's findings are host findings; domain findings live in domain records.
            FailOn::Finding(FindingName::Domain(_)) => false,
        }
    }

    /// Whether any mail domain of a run reached the threshold: a domain with an open
    /// relay, or a domain finding (SPF `+all`, no DMARC...) that severe.
    pub fn tripped_by_domains(&self, domains: &DomainTotals) -> bool {
        match self {
            FailOn::OpenRelay => !domains.open_relay.is_empty(),
            FailOn::AtLeast(min) => any_at_least(*min, |s| domains.severity_count(s)),
            FailOn::Finding(FindingName::Domain(id)) => domains.finding_count(*id) > 0,
            FailOn::Finding(FindingName::Host(_)) => false,
        }
    }

    /// Whether any record of a run reached the threshold, from the run's totals.
    pub fn tripped(&self, summary: &Summary) -> bool {
        match self {
            FailOn::OpenRelay => summary.verdict_count(Verdict::OpenRelay) > 0,
            FailOn::AtLeast(min) => any_at_least(*min, |s| summary.severity_count(s)),
            FailOn::Finding(FindingName::Host(id)) => {
                summary.by_finding.get(id.as_str()).is_some_and(|&n| n > 0)
            }
            FailOn::Finding(FindingName::Domain(_)) => false,
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
    use crate::assess::domain::DomainFindingId;
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
            (
                "blocklisted-policy",
                Ok(FailOn::Finding(FindingName::Host(
                    FindingId::BlocklistedPolicy,
                ))),
            ),
            (
                "dkim-weak-key",
                Ok(FailOn::Finding(FindingName::Domain(
                    DomainFindingId::DkimWeakKey,
                ))),
            ),
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
        // A near miss names the ids it may have meant; a far one says none is near.
        let e = "dkim-weak-keys".parse::<FailOn>().unwrap_err();
        assert!(e.ends_with("nearest finding ids: dkim-weak-key)"), "{e}");
        let e = "blocklisted-polcy".parse::<FailOn>().unwrap_err();
        assert!(e.contains("nearest finding ids: blocklisted-policy"), "{e}");
        let e = "any".parse::<FailOn>().unwrap_err();
        assert!(e.ends_with("no finding id is near it)"), "{e}");
    }

    #[test]
    fn gate_parse_table() {
        assert_eq!("never".parse::<Gate>().unwrap().threshold(), None);
        for text in [
            "open-relay",
            "critical",
            "high",
            "medium",
            "low",
            "volume-spike",
        ] {
            let gate: Gate = text.parse().unwrap();
            assert_eq!(gate.threshold(), Some(text.parse().unwrap()), "{text}");
        }
        for bad in ["info", "Never", "", "none", "dkim-weak-key"] {
            let e = bad.parse::<Gate>().unwrap_err();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains(EXPECTED_OR_NEVER),
                "{e}"
            );
        }
        let e = "spf-pass-all".parse::<Gate>().unwrap_err();
        assert!(e.contains("a mail-domain finding"), "{e}");
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
        let policy = [finding(FindingId::BlocklistedPolicy)];
        let by_id = |id| FailOn::Finding(FindingName::Host(id));
        let weak_key = FailOn::Finding(FindingName::Domain(DomainFindingId::DkimWeakKey));
        let table: [(FailOn, Option<Verdict>, &[Finding], bool); 14] = [
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
            // An id gate trips on that id alone, at any severity, info included.
            (by_id(FindingId::BlocklistedPolicy), denied, &policy, true),
            (FailOn::AtLeast(Severity::Low), denied, &policy, false),
            (by_id(FindingId::BlocklistedPolicy), open, &relay, false),
            (by_id(FindingId::BannerVersion), open, &relay, true),
            // Host records carry no domain findings.
            (weak_key, denied, &banner, false),
        ];
        for (gate, verdict, findings, want) in table {
            assert_eq!(gate.matches(verdict, findings), want, "{gate} {verdict:?}");
        }
    }

    #[test]
    fn tripped_by_the_summary_of_a_run() {
        let mut s = Summary::default();
        s.add(&ScanRecord::of_outcome(testdata::refused_outcome()));
        for gate in ["open-relay", "critical", "low", "accepts-any-recipient"] {
            assert!(!gate.parse::<FailOn>().unwrap().tripped(&s), "{gate}");
        }
        // The sample open relay: critical open-relay, high accepts-any-recipient.
        s.add(&ScanRecord::of_outcome(testdata::open_relay_outcome()));
        for gate in [
            "open-relay",
            "critical",
            "high",
            "medium",
            "low",
            "accepts-any-recipient",
        ] {
            assert!(gate.parse::<FailOn>().unwrap().tripped(&s), "{gate}");
        }
        for gate in ["blocklisted-policy", "dkim-weak-key"] {
            assert!(!gate.parse::<FailOn>().unwrap().tripped(&s), "{gate}");
        }
    }

    #[test]
    fn domain_totals_trip_the_gate() {
        let mut spf_pass_all = DomainTotals::default();
        spf_pass_all.by_severity.insert(Severity::High, 1);
        spf_pass_all
            .by_finding
            .insert(DomainFindingId::SpfPassAll, 1);
        let by_id = |id| FailOn::Finding(FindingName::Domain(id));
        let mut open = DomainTotals::default();
        open.open_relay.add("a.example".to_string());
        let none = DomainTotals::default();
        // (gate, totals, tripped)
        let table = [
            (FailOn::AtLeast(Severity::High), &spf_pass_all, true),
            (FailOn::AtLeast(Severity::Low), &spf_pass_all, true),
            (FailOn::AtLeast(Severity::Critical), &spf_pass_all, false),
            (FailOn::OpenRelay, &spf_pass_all, false),
            (FailOn::OpenRelay, &open, true),
            (FailOn::AtLeast(Severity::Low), &none, false),
            (by_id(DomainFindingId::SpfPassAll), &spf_pass_all, true),
            (by_id(DomainFindingId::DkimNotFound), &spf_pass_all, false),
            (by_id(DomainFindingId::SpfPassAll), &none, false),
            (
                FailOn::Finding(FindingName::Host(FindingId::OpenRelay)),
                &open,
                false,
            ),
        ];
        for (gate, totals, want) in table {
            assert_eq!(gate.tripped_by_domains(totals), want, "{gate} {totals:?}");
        }
    }
}
