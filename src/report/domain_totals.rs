//! The mail domains of a run in totals, for the terminal summary and `--fail-on`: the domains with an open relay, the domains whose lookups failed, and domain findings by severity. Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::assess::domain::DomainFindingId;
use crate::assess::{Severity, Verdict};
use crate::dns::MailRoute;

use super::domains::DomainEntry;
use super::summary::OPEN_RELAYS_SHOWN;

/// What the terminal and the gate need of the run's domain assessments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainTotals {
    pub domains: u64,
    /// Domains whose worst verdict is open-relay: how many, and the first names.
    pub open_relay: FirstNames<String>,
    /// Domains DNS gave no way to deliver to, other than a null MX (which says so on
    /// purpose): how many, and the first (domain, why in words).
    pub failed: FirstNames<(String, String)>,
    /// Domain findings by severity, every finding counted.
    pub by_severity: BTreeMap<Severity, u64>,
    /// Domain findings by id (for `--fail-on ID`), every finding counted.
    pub by_finding: BTreeMap<DomainFindingId, u64>,
}

impl DomainTotals {
    pub fn of(entries: &[DomainEntry]) -> DomainTotals {
        let mut totals = DomainTotals::default();
        for e in entries {
            totals.add(e);
        }
        totals
    }

    /// Counts one more domain, as domain records stream: memory does not grow with the
    /// domains (a million failed lookups keep [`OPEN_RELAYS_SHOWN`] names).
    pub fn add(&mut self, e: &DomainEntry) {
        self.domains += 1;
        if e.worst_verdict == Some(Verdict::OpenRelay) {
            self.open_relay.add(e.domain.clone());
        }
        if !matches!(
            e.route,
            MailRoute::Mx | MailRoute::ImplicitMx | MailRoute::NullMx
        ) {
            let why = e
                .route_error
                .clone()
                .unwrap_or_else(|| e.route.as_str().to_string());
            self.failed.add((e.domain.clone(), why));
        }
        for f in &e.findings {
            *self.by_severity.entry(f.severity).or_default() += 1;
            *self.by_finding.entry(f.id).or_default() += 1;
        }
    }

    pub fn finding_count(&self, id: DomainFindingId) -> u64 {
        self.by_finding.get(&id).copied().unwrap_or(0)
    }

    pub fn severity_count(&self, s: Severity) -> u64 {
        self.by_severity.get(&s).copied().unwrap_or(0)
    }

    /// The lines after the scan summary: counts, then the domains with an open relay
    /// and the failed lookups (the first [`OPEN_RELAYS_SHOWN`] of each). Domain names
    /// come from the user's input and DNS answers the resolver validated as names, so
    /// they need no terminal sanitising.
    pub fn render(&self) -> String {
        let mut rows: Vec<(String, u64)> = vec![
            ("mail domains".into(), self.domains),
            ("with an open relay".into(), self.open_relay.total),
            ("lookups failed".into(), self.failed.total),
        ];
        for sev in Severity::ALL {
            rows.push((format!("{sev} domain findings"), self.severity_count(sev)));
        }
        let label_w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let num_w = rows
            .iter()
            .map(|(_, n)| n.to_string().len())
            .max()
            .unwrap_or(0);
        let mut out = String::from("\nMail domains\n");
        for (label, n) in &rows {
            let _ = writeln!(out, "  {label:<label_w$}  {n:>num_w$}");
        }
        let open: Vec<&str> = self.open_relay.first.iter().map(String::as_str).collect();
        list(
            &mut out,
            "Open relays by domain",
            self.open_relay.total,
            &open,
        );
        let failed: Vec<String> = self
            .failed
            .first
            .iter()
            .map(|(d, why)| format!("{d}: {why}"))
            .collect();
        let failed: Vec<&str> = failed.iter().map(String::as_str).collect();
        list(&mut out, "Lookups that failed", self.failed.total, &failed);
        out
    }
}

/// How many items were counted, and the first [`OPEN_RELAYS_SHOWN`] of them in order
/// (the terminal shows no more), whatever order they arrive in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstNames<T> {
    pub total: u64,
    pub first: Vec<T>,
}

impl<T> Default for FirstNames<T> {
    fn default() -> Self {
        FirstNames {
            total: 0,
            first: Vec::new(),
        }
    }
}

impl<T: Ord> FirstNames<T> {
    pub fn add(&mut self, item: T) {
        self.total += 1;
        let at = self.first.partition_point(|x| *x <= item);
        if at < OPEN_RELAYS_SHOWN {
            self.first.insert(at, item);
            self.first.truncate(OPEN_RELAYS_SHOWN);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// "\nTitle (n):" and the items shown; nothing when none was counted.
fn list(out: &mut String, title: &str, total: u64, shown: &[&str]) {
    if total == 0 {
        return;
    }
    let _ = writeln!(out, "\n{title} ({total}):");
    for item in shown {
        let _ = writeln!(out, "  {item}");
    }
    if total > shown.len() as u64 {
        let _ = writeln!(
            out,
            "  ... and {} more, listed in the report files",
            total - shown.len() as u64
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    #[test]
    fn counts_and_lists_the_sample_domains() {
        let entry = |domain: &str| {
            let host = format!("mx.{domain}");
            let plan = testdata::one_domain_plan(domain, &host, "192.0.2.1");
            testdata::domain_entries(plan).remove(0)
        };
        let mut open = entry("b.example");
        open.worst_verdict = Some(Verdict::OpenRelay);
        let mut failed = entry("a.example");
        failed.route = MailRoute::Timeout;
        failed.route_error = Some("timed out".into());
        let entries = vec![open, failed, entry("c.example")];
        let totals = DomainTotals::of(&entries);
        assert_eq!(totals.domains, 3);
        assert_eq!(totals.open_relay.first, vec!["b.example".to_string()]);
        assert_eq!(
            totals.failed.first,
            vec![("a.example".to_string(), "timed out".to_string())]
        );
        let findings: usize = entries.iter().map(|e| e.findings.len()).sum();
        assert!(findings > 0, "the sample domains have no findings");
        assert_eq!(totals.by_severity.values().sum::<u64>(), findings as u64);
        let text = totals.render();
        assert!(
            text.contains("Open relays by domain (1):\n  b.example\n"),
            "{text}"
        );
        assert!(
            text.contains("Lookups that failed (1):\n  a.example: timed out\n"),
            "{text}"
        );
        assert!(text.contains("  mail domains              3\n"), "{text}");
    }

    #[test]
    fn a_long_list_keeps_its_count_and_its_first_names_only() {
        let mut names = FirstNames::default();
        // Arriving in reverse order: the first names by order are the last to arrive.
        for n in (0..1000).rev() {
            names.add(format!("d{n:04}.example"));
        }
        assert_eq!(names.total, 1000);
        assert_eq!(names.first.len(), OPEN_RELAYS_SHOWN);
        assert_eq!(names.first[0], "d0000.example");
        assert_eq!(
            names.first[OPEN_RELAYS_SHOWN - 1],
            format!("d{:04}.example", OPEN_RELAYS_SHOWN - 1)
        );
        let totals = DomainTotals {
            open_relay: names,
            ..DomainTotals::default()
        };
        let text = totals.render();
        assert!(
            text.contains("Open relays by domain (1000):\n  d0000.example\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "  ... and {} more, listed",
                1000 - OPEN_RELAYS_SHOWN
            )),
            "{text}"
        );
    }

    #[test]
    fn an_empty_run_lists_nothing() {
        let text = DomainTotals::default().render();
        assert!(!text.contains("Open relays by domain"), "{text}");
        assert!(!text.contains("Lookups that failed"), "{text}");
        assert!(text.contains("  mail domains"), "{text}");
    }
}
