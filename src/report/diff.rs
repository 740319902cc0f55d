//! What changed between two scans: new open relays, fixed ones, changed verdicts, findings added and removed. Pure.
//!
//! The old scan is held as a small snapshot per endpoint; the new one streams past it.
//! Endpoints are keyed by address and port.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::domain_diff::{DomainChange, DomainDiffRow, DomainDiffer};
use super::domains::DomainEntry;
use super::finding_name::FindingName;
use super::gate::FailOn;
use super::record::ScanRecord;
use crate::assess::Verdict;
use crate::assess::{FindingId, Severity};
use crate::probe::Depth;
use crate::target::Address;

/// Bumped when the diff document changes shape.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// The kinds of change, in the order a reader should see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Open relay now, not before (including hosts that were not in the old scan).
    NewOpenRelay,
    /// A finding the old scan did not have at this endpoint.
    FindingAdded,
    /// The verdict changed, and it is neither a new open relay nor a fix.
    VerdictChanged,
    /// Open relay before, refused now (relay-denied or auth-required). An open relay that
    /// is now inconclusive is only a changed verdict: nothing proves it closed.
    Fixed,
    /// The new scan sent fewer relay tests (`--tests`) than the old one at this endpoint,
    /// so a verdict it no longer reaches is not a fix: "tested at depth full then quick".
    /// Only a new open relay and the findings the tests do not decide are compared.
    NotComparable,
    /// A finding the old scan had and the new one does not.
    FindingRemoved,
    /// Answered in the new scan only (its findings are listed as added).
    HostAdded,
    /// Answered in the old scan only, or not at all in the new one: not known to be fixed.
    HostGone,
}

impl Change {
    pub const ALL: [Change; 8] = [
        Change::NewOpenRelay,
        Change::FindingAdded,
        Change::VerdictChanged,
        Change::Fixed,
        Change::NotComparable,
        Change::FindingRemoved,
        Change::HostAdded,
        Change::HostGone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Change::NewOpenRelay => "new-open-relay",
            Change::FindingAdded => "finding-added",
            Change::VerdictChanged => "verdict-changed",
            Change::Fixed => "fixed",
            Change::NotComparable => "not-comparable",
            Change::FindingRemoved => "finding-removed",
            Change::HostAdded => "host-added",
            Change::HostGone => "host-gone",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffRow {
    pub change: Change,
    pub ip: IpAddr,
    pub port: u16,
    pub old_verdict: Option<Verdict>,
    pub new_verdict: Option<Verdict>,
    /// For finding-added / finding-removed.
    pub finding: Option<FindingId>,
    pub severity: Option<Severity>,
    /// For not-comparable: the depth (`--tests`) of the old and the new probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depths: Option<[Depth; 2]>,
}

impl DiffRow {
    pub fn endpoint(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }

    /// What the row says besides its verdicts: the finding's title, or for
    /// not-comparable the depths ("tested at depth full then quick").
    pub fn note(&self) -> String {
        match (self.finding, self.depths) {
            (Some(f), _) => f.title().to_string(),
            (None, Some([then, now])) => format!("tested at depth {then} then {now}"),
            (None, None) => String::new(),
        }
    }
}

/// What the old scan knew about one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    verdict: Option<Verdict>,
    depth: Depth,
    findings: BTreeMap<FindingId, Severity>,
}

impl Snapshot {
    fn of(r: &ScanRecord) -> Snapshot {
        Snapshot {
            verdict: r.verdict,
            depth: r.depth,
            findings: r.findings.iter().map(|f| (f.id, f.severity)).collect(),
        }
    }
}

/// Compares a stream of new records against the old scan.
#[derive(Debug, Default)]
pub struct Differ {
    /// By canonical address, so that `::ffff:192.0.2.1` in one scan meets 192.0.2.1 in the other.
    old: HashMap<(Address, u16), Snapshot>,
    rows: Vec<DiffRow>,
    /// The mail domains, from their domain records.
    domains: DomainDiffer,
}

impl Differ {
    /// Remembers one record of the old scan. A later record for the same endpoint wins,
    /// as it would in a merged or resumed file.
    pub fn old(&mut self, r: &ScanRecord) {
        self.old
            .insert((Address::new(r.ip), r.port), Snapshot::of(r));
    }

    /// Remembers one domain record of the old scan.
    pub fn old_domain(&mut self, e: &DomainEntry) {
        self.domains.old(e);
    }

    /// Compares one domain record of the new scan with the old scan.
    pub fn new_domain(&mut self, e: &DomainEntry) {
        self.domains.new_domain(e);
    }

    /// Compares one record of the new scan with the old scan.
    pub fn new_record(&mut self, r: &ScanRecord) {
        let now = Snapshot::of(r);
        let before = self.old.remove(&(Address::new(r.ip), r.port));
        let row = |change, old_verdict, finding: Option<(FindingId, Severity)>| DiffRow {
            change,
            ip: r.ip,
            port: r.port,
            old_verdict,
            new_verdict: r.verdict,
            finding: finding.map(|f| f.0),
            severity: finding.map(|f| f.1),
            depths: None,
        };
        let was = before.as_ref().and_then(|b| b.verdict);
        if now.verdict.is_none() {
            // Not answering now says nothing about a fix.
            if was.is_some() {
                self.rows.push(row(Change::HostGone, was, None));
            }
            return;
        }
        // A shallower probe now: what it no longer finds may be what it no longer asked.
        let shallower = before
            .as_ref()
            .filter(|b| b.verdict.is_some() && !b.depth.comparable_with(now.depth))
            .map(|b| [b.depth, now.depth]);
        let open = Some(Verdict::OpenRelay);
        if now.verdict == open && was != open {
            self.rows.push(row(Change::NewOpenRelay, was, None));
        } else if let Some(depths) = shallower {
            if was != now.verdict {
                self.rows.push(DiffRow {
                    depths: Some(depths),
                    ..row(Change::NotComparable, was, None)
                });
            }
        } else if was == open
            && matches!(
                now.verdict,
                Some(Verdict::RelayDenied | Verdict::AuthRequired)
            )
        {
            self.rows.push(row(Change::Fixed, was, None));
        } else if was.is_some() && was != now.verdict {
            self.rows.push(row(Change::VerdictChanged, was, None));
        }
        if was.is_none() {
            self.rows.push(row(Change::HostAdded, None, None));
        }
        let old_findings = before.map(|b| b.findings).unwrap_or_default();
        for (id, sev) in &now.findings {
            if !old_findings.contains_key(id) {
                self.rows
                    .push(row(Change::FindingAdded, was, Some((*id, *sev))));
            }
        }
        // A relay finding a shallower probe could not draw is not known to be gone.
        let unknowable = |id: &FindingId| shallower.is_some() && id.from_relay_tests();
        for (id, sev) in &old_findings {
            if !now.findings.contains_key(id) && !unknowable(id) {
                self.rows
                    .push(row(Change::FindingRemoved, was, Some((*id, *sev))));
            }
        }
    }

    /// Ends the comparison: old endpoints the new scan never mentioned are gone. Rows are
    /// sorted by change, then severity (worst first), then endpoint.
    pub fn finish(mut self) -> Diff {
        for ((ip, port), snap) in self.old.drain() {
            if let Some(old) = snap.verdict {
                self.rows.push(DiffRow {
                    change: Change::HostGone,
                    ip: ip.ip(),
                    port,
                    old_verdict: Some(old),
                    new_verdict: None,
                    finding: None,
                    severity: None,
                    depths: None,
                });
            }
        }
        self.rows.sort_by(|a, b| {
            (
                a.change,
                std::cmp::Reverse(a.severity),
                a.ip,
                a.port,
                a.finding,
            )
                .cmp(&(
                    b.change,
                    std::cmp::Reverse(b.severity),
                    b.ip,
                    b.port,
                    b.finding,
                ))
        });
        Diff {
            rows: self.rows,
            domains: self.domains.finish(),
        }
    }
}

/// The changes between two scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub rows: Vec<DiffRow>,
    /// The mail domains' changes (empty when neither scan had domain records).
    #[serde(default)]
    pub domains: Vec<DomainDiffRow>,
}

impl Diff {
    /// Whether the new scan brought something the gate fails on: a new open relay, an
    /// added finding at or above the severity, or an added finding with the id (of a host
    /// or of a domain). What was already there does not trip it.
    pub fn trips(&self, gate: FailOn) -> bool {
        if let FailOn::Finding(FindingName::Domain(id)) = gate {
            return self
                .domains
                .iter()
                .any(|r| r.change == DomainChange::FindingAdded && r.finding == Some(id));
        }
        self.rows.iter().any(|r| match gate {
            FailOn::OpenRelay => r.change == Change::NewOpenRelay,
            FailOn::AtLeast(min) => {
                r.change == Change::FindingAdded && r.severity.is_some_and(|s| s >= min)
            }
            FailOn::Finding(FindingName::Host(id)) => {
                r.change == Change::FindingAdded && r.finding == Some(id)
            }
            FailOn::Finding(FindingName::Domain(_)) => false,
        })
    }

    pub fn count(&self, change: Change) -> usize {
        self.rows.iter().filter(|r| r.change == change).count()
    }

    /// Counts by change name, every change present (zero included), for the JSON report.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        Change::ALL
            .into_iter()
            .map(|c| (c.as_str(), self.count(c)))
            .collect()
    }

    /// The table for the terminal. Every cell is our own word or a parsed address (no host
    /// name, no server text), so there is nothing to sanitise.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        if self.rows.is_empty() {
            out.push_str("No changes.\n");
        } else {
            let head = [
                "change",
                "endpoint",
                "old verdict",
                "new verdict",
                "finding",
            ];
            table_line(&mut out, head.map(String::from), "severity");
            for r in &self.rows {
                let finding = match (r.finding, r.depths) {
                    (Some(f), _) => f.as_str().to_string(),
                    (None, Some(_)) => r.note(),
                    (None, None) => "-".to_string(),
                };
                let cells = [
                    r.change.as_str().to_string(),
                    r.endpoint(),
                    verdict(r.old_verdict),
                    verdict(r.new_verdict),
                    finding,
                ];
                table_line(&mut out, cells, severity(r.severity));
            }
        }
        let counts: Vec<String> = Change::ALL
            .into_iter()
            .map(|c| format!("{} {}", self.count(c), c.as_str()))
            .collect();
        let _ = writeln!(out, "\nDiff summary: {}", counts.join(", "));
        if !self.domains.is_empty() {
            out.push('\n');
            let head = [
                "domain change",
                "domain",
                "old verdict",
                "new verdict",
                "finding",
            ];
            table_line(&mut out, head.map(String::from), "severity");
            for r in &self.domains {
                // A domain name is the user's input or a name the resolver validated:
                // still shown through the terminal filter, as every name is.
                let cells = [
                    r.change.as_str().to_string(),
                    super::sanitize::terminal(&r.domain).into_owned(),
                    verdict(r.old_verdict),
                    verdict(r.new_verdict),
                    r.finding.map_or("-", |f| f.as_str()).to_string(),
                ];
                table_line(&mut out, cells, severity(r.severity));
            }
        }
        out
    }
}

/// One line of the terminal table: five padded cells, then the severity.
fn table_line(out: &mut String, [change, place, old, new, finding]: [String; 5], severity: &str) {
    let _ = writeln!(
        out,
        "{change:<16} {place:<40} {old:<14} {new:<14} {finding:<26} {severity}"
    );
}

fn verdict(v: Option<Verdict>) -> String {
    v.map_or("-", Verdict::as_str).to_string()
}

fn severity(s: Option<Severity>) -> &'static str {
    s.map_or("-", Severity::as_str)
}

/// The CSV header of the diff report.
pub const DIFF_COLUMNS: [&str; 8] = [
    "change",
    "ip",
    "port",
    "old_verdict",
    "new_verdict",
    "finding",
    "severity",
    "title",
];

/// One row's cells, raw, in [`DIFF_COLUMNS`] order.
pub fn csv_row(r: &DiffRow) -> [String; 8] {
    let v = |v: Option<Verdict>| v.map(|v| v.as_str().to_string()).unwrap_or_default();
    [
        r.change.as_str().to_string(),
        r.ip.to_string(),
        r.port.to_string(),
        v(r.old_verdict),
        v(r.new_verdict),
        r.finding
            .map(|f| f.as_str().to_string())
            .unwrap_or_default(),
        r.severity
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        r.note(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{Finding, Mta};
    use crate::probe::Status;
    use crate::report::testdata;

    fn record(last: u8, verdict: Option<Verdict>, findings: &[FindingId]) -> ScanRecord {
        let mut r = ScanRecord::of_outcome(testdata::refused_outcome());
        r.ip = IpAddr::from([192, 0, 2, last]);
        r.status = if verdict.is_some() {
            Status::Completed
        } else {
            Status::Refused
        };
        r.verdict = verdict;
        r.findings = findings
            .iter()
            .map(|id| Finding::new(*id, Mta::Unknown, String::new(), vec![]))
            .collect();
        r
    }

    #[test]
    fn diff_table() {
        use FindingId::*;
        use Verdict::*;
        let old = [
            record(1, Some(RelayDenied), &[BannerVersion]),
            record(2, Some(Verdict::OpenRelay), &[FindingId::OpenRelay]),
            record(3, Some(RelayDenied), &[]),
            record(4, Some(Inconclusive), &[RelayInconclusive]),
            record(5, Some(RelayDenied), &[]),
            record(6, Some(AuthRequired), &[]),
            record(7, Some(RelayDenied), &[]),
            record(9, Some(Verdict::OpenRelay), &[]),
        ];
        let new = [
            // 1: opened up, banner finding unchanged.
            record(
                1,
                Some(Verdict::OpenRelay),
                &[FindingId::OpenRelay, BannerVersion],
            ),
            // 2: fixed.
            record(2, Some(RelayDenied), &[]),
            // 3: unchanged.
            record(3, Some(RelayDenied), &[]),
            // 4: greylister decided.
            record(4, Some(RelayDenied), &[]),
            // 5: no answer now.
            record(5, None, &[]),
            // 8: new host.
            record(8, Some(RelayDenied), &[BannerVersion]),
            // 9: no longer proven open, but not proven closed either.
            record(9, Some(Inconclusive), &[]),
            // 6 and 7: missing from the new scan.
        ];
        // 3 in the old scan spelt in IPv6: the same endpoint, unchanged.
        let mut old = old;
        old[2].ip = "::ffff:192.0.2.3".parse().unwrap();
        let mut d = Differ::default();
        for r in &old {
            d.old(r);
        }
        for r in &new {
            d.new_record(r);
        }
        let diff = d.finish();
        let got: Vec<(Change, u8, Option<FindingId>)> = diff
            .rows
            .iter()
            .map(|r| match r.ip {
                IpAddr::V4(v4) => (r.change, v4.octets()[3], r.finding),
                IpAddr::V6(_) => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            [
                (Change::NewOpenRelay, 1, None),
                (Change::FindingAdded, 1, Some(FindingId::OpenRelay)),
                (Change::FindingAdded, 8, Some(BannerVersion)),
                (Change::VerdictChanged, 4, None),
                (Change::VerdictChanged, 9, None),
                (Change::Fixed, 2, None),
                (Change::FindingRemoved, 2, Some(FindingId::OpenRelay)),
                (Change::FindingRemoved, 4, Some(RelayInconclusive)),
                (Change::HostAdded, 8, None),
                (Change::HostGone, 5, None),
                (Change::HostGone, 6, None),
                (Change::HostGone, 7, None),
            ]
        );
        let fixed = &diff.rows[5];
        assert_eq!(
            (fixed.old_verdict, fixed.new_verdict),
            (Some(Verdict::OpenRelay), Some(RelayDenied))
        );
        assert_eq!(diff.count(Change::HostGone), 3);
        assert_eq!(diff.counts()["new-open-relay"], 1);
        assert_eq!(diff.count(Change::Fixed), 1);
        let table = diff.render_table();
        assert!(table.contains("new-open-relay   192.0.2.1:25"), "{table}");
        assert!(table.contains(
            "Diff summary: 1 new-open-relay, 2 finding-added, 2 verdict-changed, 1 fixed, 0 not-comparable, 2 finding-removed, 1 host-added, 3 host-gone"
        ), "{table}");
        let gate = |s: &str| diff.trips(s.parse().unwrap());
        assert!(gate("open-relay") && gate("critical") && gate("low"));
        // By id: a finding added trips it; one removed, or never seen, does not.
        assert!(gate("banner-version"));
        assert!(!gate("relay-inconclusive") && !gate("blocklisted") && !gate("dkim-weak-key"));
        let mut with_domain = diff.clone();
        with_domain.domains.push(DomainDiffRow {
            change: DomainChange::FindingAdded,
            domain: "a.example".into(),
            old_verdict: None,
            new_verdict: None,
            finding: Some(crate::assess::domain::DomainFindingId::DkimWeakKey),
            severity: Some(Severity::High),
        });
        assert!(with_domain.trips("dkim-weak-key".parse().unwrap()));
        assert!(!with_domain.trips("dkim-not-found".parse().unwrap()));
        let cells = csv_row(&diff.rows[1]);
        assert_eq!(cells[0], "finding-added");
        assert_eq!(cells[6], "critical");
        assert_eq!(cells[7], FindingId::OpenRelay.title());
    }

    #[test]
    fn a_shallower_scan_never_calls_a_host_fixed() {
        use Depth::{Full, None as Banner, Quick};
        let at = |last, verdict, findings: &[FindingId], depth| {
            let mut r = record(last, Some(verdict), findings);
            r.depth = depth;
            r
        };
        let open = [FindingId::OpenRelay, FindingId::BannerVersion];
        let old = [
            at(1, Verdict::OpenRelay, &open, Full),
            at(2, Verdict::OpenRelay, &open, Full),
            at(3, Verdict::OpenRelay, &open, Quick),
            at(4, Verdict::RelayDenied, &[], Full),
            at(5, Verdict::NotTested, &[], Banner),
        ];
        let new = [
            // 1: quick refuses what full found open: not comparable, not fixed.
            at(1, Verdict::RelayDenied, &[FindingId::BannerVersion], Quick),
            // 2: a banner grab: not comparable, the banner finding kept, open-relay's
            //    absence not a removal.
            at(2, Verdict::NotTested, &[FindingId::BannerVersion], Banner),
            // 3: full (deeper) refuses what quick found open: fixed.
            at(3, Verdict::RelayDenied, &[FindingId::BannerVersion], Full),
            // 4: same verdict, shallower: nothing to say.
            at(4, Verdict::RelayDenied, &[], Quick),
            // 5: a full scan after a banner grab finds it open: new open relay.
            at(5, Verdict::OpenRelay, &[FindingId::OpenRelay], Full),
        ];
        let mut d = Differ::default();
        old.iter().for_each(|r| d.old(r));
        new.iter().for_each(|r| d.new_record(r));
        let diff = d.finish();
        let changes: Vec<(Change, String)> = diff
            .rows
            .iter()
            .map(|r| (r.change, r.ip.to_string()))
            .collect();
        assert_eq!(
            changes,
            [
                (Change::NewOpenRelay, "192.0.2.5".to_string()),
                (Change::FindingAdded, "192.0.2.5".to_string()),
                (Change::Fixed, "192.0.2.3".to_string()),
                (Change::NotComparable, "192.0.2.1".to_string()),
                (Change::NotComparable, "192.0.2.2".to_string()),
                (Change::FindingRemoved, "192.0.2.3".to_string()),
            ]
        );
        let row = &diff.rows[3];
        assert_eq!(row.depths, Some([Full, Quick]));
        assert_eq!(row.note(), "tested at depth full then quick");
        assert_eq!(csv_row(row)[7], "tested at depth full then quick");
        let table = diff.render_table();
        assert!(table.contains("tested at depth full then none"), "{table}");
        assert!(table.contains("1 fixed, 2 not-comparable"), "{table}");
        let json = serde_json::to_value(row).unwrap();
        assert_eq!(json["depths"], serde_json::json!(["full", "quick"]));
    }

    #[test]
    fn identical_scans_have_no_changes() {
        let mut d = Differ::default();
        let r = ScanRecord::of_outcome(testdata::open_relay_outcome());
        d.old(&r);
        d.new_record(&r);
        let diff = d.finish();
        assert!(diff.rows.is_empty());
        // An open relay that was already open does not trip the gate: nothing new.
        assert!(!diff.trips(FailOn::OpenRelay));
        assert!(diff.render_table().starts_with("No changes.\n"));
    }
}
