//! Run totals: counted record by record, written into the JSON report and shown as a table at the end.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::assess::Severity;
use crate::assess::Verdict;
use crate::color::Paint;
use crate::probe::{Depth, Status};

use super::host_totals::{BlocklistTotals, SoftwareTotals};
use super::overview::not_answered;
use super::record::ScanRecord;

/// Most open relay endpoints kept by name; a scan of a hostile range must not grow without bound.
pub const OPEN_RELAYS_KEPT: usize = 1000;
/// Most open relay endpoints listed in the terminal table; the rest are in the report files.
pub const OPEN_RELAYS_SHOWN: usize = 20;

/// Totals of one run. Map keys are the kebab-case names of [`Status`] and [`Verdict`];
/// a missing key means zero.
#[derive(Default, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    /// Endpoints the plan held; set by the caller (an IPv6 range times ports can exceed u64).
    pub planned: u128,
    /// Records added.
    pub probed: u64,
    /// Records whose connection was accepted by something.
    pub answered: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_verdict: BTreeMap<String, u64>,
    /// Hosts that accepted the control recipient at a non-existent domain (possible sinks).
    pub accept_all: u64,
    /// `ip:port` of the first [`OPEN_RELAYS_KEPT`] open relays, in the order found.
    pub open_relays: Vec<String>,
    /// Open relays found beyond those kept in `open_relays`.
    #[serde(default)]
    pub open_relays_more: u64,
    /// Findings by severity (`critical`, `high`, ...), every finding counted.
    #[serde(default)]
    pub by_severity: BTreeMap<String, u64>,
    /// Findings by id (`open-relay`, `banner-version`, ...).
    #[serde(default)]
    pub by_finding: BTreeMap<String, u64>,
    /// Records by the depth their probe ran at (`full`, `quick`, `none`: `--tests`);
    /// empty in the summaries written before it was counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_depth: BTreeMap<String, u64>,
    /// What the DNS blocklists said, per zone, with the listed endpoints and the failed
    /// lookups (`--blocklists`; absent without).
    #[serde(default, skip_serializing_if = "BlocklistTotals::is_empty")]
    pub blocklists: BlocklistTotals,
    /// The software versions the hosts named, and the hosts with advisories (absent when
    /// no host named its software).
    #[serde(default, skip_serializing_if = "SoftwareTotals::is_empty")]
    pub software: SoftwareTotals,
}

impl Summary {
    pub fn add(&mut self, r: &ScanRecord) {
        self.probed += 1;
        if r.status.answered() {
            self.answered += 1;
        }
        *self
            .by_status
            .entry(r.status.as_str().to_string())
            .or_default() += 1;
        *self
            .by_depth
            .entry(r.depth.as_str().to_string())
            .or_default() += 1;
        if let Some(v) = r.verdict {
            *self.by_verdict.entry(v.as_str().to_string()).or_default() += 1;
        }
        if r.accepts_any_recipient {
            self.accept_all += 1;
        }
        for f in &r.findings {
            *self
                .by_severity
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
            *self
                .by_finding
                .entry(f.id.as_str().to_string())
                .or_default() += 1;
        }
        self.blocklists.add(r);
        self.software.add(r);
        if r.verdict == Some(Verdict::OpenRelay) {
            if self.open_relays.len() < OPEN_RELAYS_KEPT {
                self.open_relays.push(r.endpoint());
            } else {
                self.open_relays_more += 1;
            }
        }
    }

    pub fn status_count(&self, s: Status) -> u64 {
        self.by_status.get(s.as_str()).copied().unwrap_or(0)
    }

    pub fn verdict_count(&self, v: Verdict) -> u64 {
        self.by_verdict.get(v.as_str()).copied().unwrap_or(0)
    }

    /// The open relays kept, by address: completion order is noise to a reader.
    pub fn open_relays_by_address(&self) -> impl Iterator<Item = &String> {
        let mut sorted: Vec<&String> = self.open_relays.iter().collect();
        sorted.sort_by_key(|ep| ep.parse::<std::net::SocketAddr>().ok());
        sorted.into_iter()
    }

    /// Which relay tests ran, in words: "Relay tests: quick (tests 1, 2, 3 and 6 ...)",
    /// or each depth with its count when a merge mixed them; `None` before any record
    /// (or in a summary written before depths were counted).
    pub fn depth_line(&self) -> Option<String> {
        let depths: Vec<(Depth, u64)> = Depth::ALL
            .into_iter()
            .filter_map(|d| Some((d, *self.by_depth.get(d.as_str())?)))
            .collect();
        match depths.as_slice() {
            [] => None,
            [(only, _)] => Some(format!("Relay tests: {}", only.describe())),
            mixed => {
                let parts: Vec<String> = mixed.iter().map(|(d, n)| format!("{d} {n}")).collect();
                Some(format!(
                    "Relay tests: mixed depths ({}): verdicts of shallower probes prove less",
                    parts.join(", ")
                ))
            }
        }
    }

    pub fn severity_count(&self, s: Severity) -> u64 {
        self.by_severity.get(s.as_str()).copied().unwrap_or(0)
    }

    /// Endpoints where nothing accepted the connection (every status not
    /// [`Status::answered`]).
    pub fn not_answered(&self) -> u64 {
        not_answered(self).iter().map(|&(_, n)| n).sum()
    }

    /// The table closing a run on the terminal, coloured by `paint`. Holds no server
    /// text, only our own names and `ip:port`, so it needs no terminal sanitising.
    pub fn render_table(&self, paint: Paint) -> String {
        // (label, count, severity to colour it by when the count is not zero)
        let mut rows: Vec<(String, String, Option<Severity>)> = vec![
            ("planned".into(), self.planned.to_string(), None),
            ("probed".into(), self.probed.to_string(), None),
            ("answered".into(), self.answered.to_string(), None),
        ];
        let counted = rows.len();
        for v in Verdict::ALL {
            let n = self.verdict_count(v);
            if n > 0 || v.listed_at_zero() {
                let alarm = (v == Verdict::OpenRelay).then_some(Severity::Critical);
                rows.push((v.as_str().into(), n.to_string(), alarm));
            }
        }
        // Whatever is neither: e.g. hosts cancelled by Ctrl-C before a verdict. Shown only
        // when present, so that the rows visibly add up to "probed".
        let with_verdict: u64 = self.by_verdict.values().sum();
        let other = self
            .probed
            .saturating_sub(with_verdict)
            .saturating_sub(self.not_answered());
        if other > 0 {
            rows.push(("no verdict".into(), other.to_string(), None));
        }
        // Nothing accepted the connection: by the JSON's status names (a closed port is
        // "refused"), only those that occurred.
        for (status, n) in not_answered(self) {
            rows.push((status.as_str().into(), n.to_string(), None));
        }
        rows.push((
            "accepts any recipient".into(),
            self.accept_all.to_string(),
            None,
        ));
        let verdict_rows = rows.len();
        for sev in Severity::ALL {
            rows.push((
                format!("{sev} findings"),
                self.severity_count(sev).to_string(),
                Some(sev),
            ));
        }

        let label_w = rows.iter().map(|(l, _, _)| l.len()).max().unwrap_or(0);
        let num_w = rows.iter().map(|(_, n, _)| n.len()).max().unwrap_or(0);
        let mut out = format!("{}\n", paint.heading("Scan summary"));
        if let Some(depth) = self.depth_line() {
            let _ = writeln!(out, "  {depth}\n");
        }
        for (i, (label, n, severity)) in rows.iter().enumerate() {
            if i == counted || i == verdict_rows {
                out.push('\n');
            }
            let row = format!("{label:<label_w$}  {n:>num_w$}");
            let row = match severity {
                Some(severity) if n != "0" => paint.severity(*severity, &row),
                _ => row,
            };
            let _ = writeln!(out, "  {row}");
        }

        let total_open = self.open_relays.len() as u64 + self.open_relays_more;
        if total_open > 0 {
            let heading = paint.alarm(&format!("Open relays ({total_open}):"));
            let _ = writeln!(out, "\n{heading}");
            for ep in self.open_relays_by_address().take(OPEN_RELAYS_SHOWN) {
                let _ = writeln!(out, "  {ep}");
            }
            let shown = self.open_relays.len().min(OPEN_RELAYS_SHOWN) as u64;
            if total_open > shown {
                let _ = writeln!(
                    out,
                    "  ... and {} more, listed in the report files",
                    total_open - shown
                );
            }
        }
        if self.accept_all > 0 {
            out.push_str(
                "\nHosts accepting any recipient may be sinks that bounce later: \
                 check open_tests and the transcript before calling them open relays.\n",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    fn record(status: Status, verdict: Option<Verdict>, last_octet: u8) -> ScanRecord {
        let mut r = ScanRecord::of_outcome(testdata::refused_outcome());
        r.ip = std::net::IpAddr::from([192, 0, 2, last_octet]);
        r.status = status;
        r.verdict = verdict;
        r
    }

    /// The number on the row with this label, if the row is there.
    fn row(table: &str, label: &str) -> Option<u64> {
        table.lines().find_map(|l| {
            let rest = l.strip_prefix("  ")?.strip_prefix(label)?;
            // The label must end here: "unreachable" is not "unreachable hosts".
            rest.starts_with("  ").then(|| rest.trim().parse().ok())?
        })
    }

    #[test]
    fn counts_the_sample_records() {
        let mut s = Summary {
            planned: 2,
            ..Summary::default()
        };
        s.add(&ScanRecord::of_outcome(testdata::open_relay_outcome()));
        s.add(&ScanRecord::of_outcome(testdata::refused_outcome()));
        assert_eq!(s.probed, 2);
        assert_eq!(s.answered, 1);
        assert_eq!(s.status_count(Status::Completed), 1);
        assert_eq!(s.status_count(Status::Refused), 1);
        assert_eq!(s.verdict_count(Verdict::OpenRelay), 1);
        assert_eq!(s.accept_all, 1);
        assert_eq!(s.open_relays, vec!["192.0.2.25:25".to_string()]);
        assert_eq!(s.not_answered(), 1);
        assert_eq!(s.severity_count(Severity::Critical), 1);
        // accepts-any-recipient and auth-before-tls (AUTH PLAIN offered, no TLS report).
        assert_eq!(s.severity_count(Severity::High), 2);
        assert_eq!(s.severity_count(Severity::Low), 0);
        assert_eq!(s.by_finding["open-relay"], 1);
        assert_eq!(s.by_finding["accepts-any-recipient"], 1);
        let t = s.render_table(Paint::plain());
        assert_eq!(row(&t, "critical findings"), Some(1), "{t}");
        assert_eq!(row(&t, "high findings"), Some(2), "{t}");
        assert_eq!(row(&t, "info findings"), Some(0), "{t}");
    }

    #[test]
    fn table_has_every_verdict_row_and_adds_up() {
        let mut s = Summary {
            planned: 10,
            ..Summary::default()
        };
        let mut n = 0;
        let mut add = |status, verdict| {
            n += 1;
            s.add(&record(status, verdict, n));
        };
        add(Status::Completed, Some(Verdict::OpenRelay));
        add(Status::Completed, Some(Verdict::RelayDenied));
        add(Status::Completed, Some(Verdict::RelayDenied));
        add(Status::Refused, None);
        add(Status::ConnectTimeout, None);
        add(Status::Unreachable, None);
        add(Status::Unresolved, None);
        add(Status::Cancelled, None);
        let t = s.render_table(Paint::plain());
        let table = [
            ("planned", Some(10)),
            ("probed", Some(8)),
            ("answered", Some(4)),
            ("open-relay", Some(1)),
            ("relay-denied", Some(2)),
            ("auth-required", Some(0)),
            ("inconclusive", Some(0)),
            ("not-smtp", Some(0)),
            ("no verdict", Some(1)),
            ("refused", Some(1)),
            ("connect-timeout", Some(1)),
            ("unreachable", Some(1)),
            ("unresolved", Some(1)),
            ("cancelled", None),
            ("accepts any recipient", Some(0)),
        ];
        for (label, want) in table {
            assert_eq!(row(&t, label), want, "{label} in\n{t}");
        }
        assert!(t.contains("Open relays (1):\n  192.0.2.1:25\n"), "{t}");
        assert!(!t.contains("more"), "{t}");
    }

    #[test]
    fn empty_run_shows_zero_rows_and_no_lists() {
        let t = Summary::default().render_table(Paint::plain());
        for v in Verdict::ALL {
            let want = v.listed_at_zero().then_some(0);
            assert_eq!(row(&t, v.as_str()), want, "{t}");
        }
        for status in Status::ALL {
            assert_eq!(row(&t, status.as_str()), None, "{t}");
        }
        assert_eq!(row(&t, "no verdict"), None);
        assert!(!t.contains("Open relays"));
        assert!(!t.contains("sinks"));
    }

    #[test]
    fn open_relays_are_capped_kept_and_shown() {
        let mut s = Summary::default();
        let mut r = record(Status::Completed, Some(Verdict::OpenRelay), 1);
        r.accepts_any_recipient = true;
        for port in 0..(OPEN_RELAYS_KEPT as u16 + 5) {
            r.port = port;
            s.add(&r);
        }
        assert_eq!(s.open_relays.len(), OPEN_RELAYS_KEPT);
        assert_eq!(s.open_relays_more, 5);
        assert_eq!(s.open_relays[0], "192.0.2.1:0");
        let t = s.render_table(Paint::plain());
        assert!(t.contains("Open relays (1005):"), "{t}");
        assert!(t.contains("  192.0.2.1:19\n"));
        assert!(!t.contains("  192.0.2.1:20\n"));
        assert!(t.contains("... and 985 more"), "{t}");
        assert_eq!(row(&t, "accepts any recipient"), Some(1005));
        assert!(t.contains("sinks"));
    }

    #[test]
    fn serde_round_trip() {
        let mut s = Summary {
            planned: u128::from(u64::MAX) + 1,
            ..Summary::default()
        };
        s.add(&ScanRecord::of_outcome(testdata::open_relay_outcome()));
        let text = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }
}
