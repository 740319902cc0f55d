//! What changed between two scans for each mail domain (from their domain records): the worst verdict, the findings added and removed, domains added and gone. Pure.
//!
//! The old scan is held as a small snapshot per domain (its worst verdict and finding
//! ids); the new one streams past it, as for hosts in [`super::diff`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::domains::DomainEntry;
use crate::assess::domain::DomainFindingId;
use crate::assess::{Severity, Verdict};

/// The kinds of change of a domain, in the order a reader should see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainChange {
    /// Its worst verdict is open-relay now, not before.
    NewOpenRelay,
    FindingAdded,
    /// Its worst verdict changed otherwise.
    VerdictChanged,
    FindingRemoved,
    /// In the new scan only.
    DomainAdded,
    /// In the old scan only.
    DomainGone,
}

impl DomainChange {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainChange::NewOpenRelay => "new-open-relay",
            DomainChange::FindingAdded => "finding-added",
            DomainChange::VerdictChanged => "verdict-changed",
            DomainChange::FindingRemoved => "finding-removed",
            DomainChange::DomainAdded => "domain-added",
            DomainChange::DomainGone => "domain-gone",
        }
    }
}

impl fmt::Display for DomainChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainDiffRow {
    pub change: DomainChange,
    pub domain: String,
    pub old_verdict: Option<Verdict>,
    pub new_verdict: Option<Verdict>,
    pub finding: Option<DomainFindingId>,
    pub severity: Option<Severity>,
}

/// What the old scan knew of one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    verdict: Option<Verdict>,
    findings: BTreeMap<DomainFindingId, Severity>,
}

impl Snapshot {
    fn of(e: &DomainEntry) -> Snapshot {
        Snapshot {
            verdict: e.worst_verdict,
            findings: e.findings.iter().map(|f| (f.id, f.severity)).collect(),
        }
    }
}

/// Compares the new scan's domain records with the old scan's.
#[derive(Debug, Default)]
pub struct DomainDiffer {
    old: HashMap<String, Snapshot>,
    rows: Vec<DomainDiffRow>,
}

impl DomainDiffer {
    /// Remembers one domain of the old scan; a later record of it wins.
    pub fn old(&mut self, e: &DomainEntry) {
        self.old.insert(e.domain.clone(), Snapshot::of(e));
    }

    /// Compares one domain of the new scan with the old scan.
    pub fn new_domain(&mut self, e: &DomainEntry) {
        let now = Snapshot::of(e);
        let before = self.old.remove(&e.domain);
        let was = before.as_ref().and_then(|b| b.verdict);
        let row = |change, finding: Option<(&DomainFindingId, &Severity)>| DomainDiffRow {
            change,
            domain: e.domain.clone(),
            old_verdict: was,
            new_verdict: now.verdict,
            finding: finding.map(|f| *f.0),
            severity: finding.map(|f| *f.1),
        };
        let Some(before) = before else {
            self.rows.push(row(DomainChange::DomainAdded, None));
            return;
        };
        let open = Some(Verdict::OpenRelay);
        if now.verdict == open && was != open {
            self.rows.push(row(DomainChange::NewOpenRelay, None));
        } else if now.verdict != was {
            self.rows.push(row(DomainChange::VerdictChanged, None));
        }
        for f in now.findings.iter() {
            if !before.findings.contains_key(f.0) {
                self.rows.push(row(DomainChange::FindingAdded, Some(f)));
            }
        }
        for f in before.findings.iter() {
            if !now.findings.contains_key(f.0) {
                self.rows.push(row(DomainChange::FindingRemoved, Some(f)));
            }
        }
    }

    /// Ends the comparison: old domains the new scan never mentioned are gone. Rows are
    /// sorted by change, then severity (worst first), then domain.
    pub fn finish(mut self) -> Vec<DomainDiffRow> {
        for (domain, snap) in self.old.drain() {
            self.rows.push(DomainDiffRow {
                change: DomainChange::DomainGone,
                domain,
                old_verdict: snap.verdict,
                new_verdict: None,
                finding: None,
                severity: None,
            });
        }
        self.rows.sort_by(|a, b| {
            (
                a.change,
                std::cmp::Reverse(a.severity),
                &a.domain,
                a.finding,
            )
                .cmp(&(
                    b.change,
                    std::cmp::Reverse(b.severity),
                    &b.domain,
                    b.finding,
                ))
        });
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::domain::DomainFinding;
    use crate::report::testdata;

    fn entry(domain: &str, verdict: Option<Verdict>, findings: &[DomainFindingId]) -> DomainEntry {
        let mut e =
            testdata::domain_entries(testdata::one_domain_plan(domain, "mx.example", "192.0.2.1"))
                .remove(0);
        e.worst_verdict = verdict;
        e.findings = findings
            .iter()
            .map(|id| DomainFinding::new(*id, String::new()))
            .collect();
        e
    }

    #[test]
    fn changes_of_verdict_and_findings_and_domains_added_and_gone() {
        use DomainChange as C;
        use DomainFindingId as F;
        let mut d = DomainDiffer::default();
        d.old(&entry(
            "a.example",
            Some(Verdict::RelayDenied),
            &[F::SpfMissing],
        ));
        d.old(&entry("b.example", Some(Verdict::OpenRelay), &[]));
        d.old(&entry("gone.example", None, &[]));
        d.new_domain(&entry(
            "a.example",
            Some(Verdict::OpenRelay),
            &[F::MxOpenRelay],
        ));
        d.new_domain(&entry("b.example", Some(Verdict::RelayDenied), &[]));
        d.new_domain(&entry("new.example", None, &[]));
        let rows: Vec<(C, String, Option<F>)> = d
            .finish()
            .into_iter()
            .map(|r| (r.change, r.domain, r.finding))
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            rows,
            [
                (C::NewOpenRelay, s("a.example"), None),
                (C::FindingAdded, s("a.example"), Some(F::MxOpenRelay)),
                (C::VerdictChanged, s("b.example"), None),
                (C::FindingRemoved, s("a.example"), Some(F::SpfMissing)),
                (C::DomainAdded, s("new.example"), None),
                (C::DomainGone, s("gone.example"), None),
            ]
        );
    }
}
