//! The Markdown report (PREFIX.md): a short summary that pastes cleanly into a ticket: the executive summary as its title, the run, the counts, the open relays, the findings, the remediation with the hosts it concerns, and the mail domains.
//!
//! Bounded: it keeps the [`FINDINGS_SHOWN`] most severe findings, one remediation per
//! (finding, software) pair with its first [`HOSTS_LISTED`] hosts, and writes the file at
//! `finish`, when the totals are known.
//! Server text is only ever shown inside code spans ([`sanitize::md_code`]); our own prose is
//! escaped with [`sanitize::md_text`], so nothing a server says becomes a link, markup or a
//! table break.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;

mod domains;
mod host_totals;

use super::domain_spool::{DomainSpool, section_of};
use super::domains::DomainEntry;
use super::meta::{RunEnd, RunMeta};
use super::overview::{self, count};
use super::prose::{Piece, pieces};
use super::record::ScanRecord;
use super::sanitize::{md_code, md_text};
use super::summary::{OPEN_RELAYS_SHOWN, Summary};
use super::{Phase, ReportError, ReportSink};
use crate::assess::Verdict;
use crate::assess::{FindingId, Mta, Severity};

/// Findings listed in the table; the rest are counted, and are in the CSV/JSON reports.
pub const FINDINGS_SHOWN: usize = 200;

/// Hosts named under each remediation; the rest are counted.
pub const HOSTS_LISTED: usize = 20;

/// Longest detail quoted in the findings table, in characters.
const DETAIL_CHARS: usize = 300;

/// The detail cut to [`DETAIL_CHARS`], with an ellipsis when cut.
fn shorten(text: &str) -> String {
    if text.chars().count() <= DETAIL_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(DETAIL_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[derive(Debug, Clone)]
struct Row {
    severity: Severity,
    id: FindingId,
    endpoint: String,
    detail: String,
}

/// Writes `PREFIX.md` at `finish`; the file is created (empty) up front so that a bad path
/// fails before the scan.
pub struct MarkdownSink {
    path: PathBuf,
    file: File,
    phase: Phase,
    meta: Option<RunMeta>,
    /// The most severe findings so far, most severe first, at most FINDINGS_SHOWN.
    rows: Vec<Row>,
    /// Findings seen but not kept in `rows`.
    rows_more: u64,
    /// One remediation text per (finding, software), with the hosts it concerns.
    fixes: BTreeMap<(FindingId, Mta), Fix>,
    /// The mail domains given so far, on disk until the section is written at `finish`.
    domains: DomainSpool,
}

/// One remediation and the hosts it concerns: the first [`HOSTS_LISTED`] by name, all
/// counted.
#[derive(Debug, Clone)]
struct Fix {
    text: String,
    listed: Vec<String>,
    hosts: u64,
}

impl MarkdownSink {
    /// The sink writing `file`, which becomes `path` (see [`super::file`]).
    pub fn new(path: &Path, file: File) -> MarkdownSink {
        MarkdownSink {
            path: path.to_path_buf(),
            file,
            phase: Phase::New,
            meta: None,
            rows: Vec::new(),
            rows_more: 0,
            fixes: BTreeMap::new(),
            domains: DomainSpool::new(path),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn keep(&mut self, row: Row) {
        // Insert after every row at least as severe, so that ties keep their arrival order.
        let at = self.rows.partition_point(|r| {
            (r.severity, std::cmp::Reverse(r.id)) >= (row.severity, std::cmp::Reverse(row.id))
        });
        if at >= FINDINGS_SHOWN {
            self.rows_more += 1;
            return;
        }
        self.rows.insert(at, row);
        if self.rows.len() > FINDINGS_SHOWN {
            self.rows.pop();
            self.rows_more += 1;
        }
    }
}

impl ReportSink for MarkdownSink {
    fn domain(&mut self, entry: &DomainEntry) -> Result<(), ReportError> {
        self.domains.push(entry)
    }

    fn begin(&mut self, meta: &RunMeta) -> Result<(), ReportError> {
        self.phase.begin(&self.path)?;
        self.meta = Some(meta.clone());
        Ok(())
    }

    fn record(&mut self, r: &ScanRecord) -> Result<(), ReportError> {
        self.phase.check_record(&self.path)?;
        for f in &r.findings {
            self.keep(Row {
                severity: f.severity,
                id: f.id,
                endpoint: r.endpoint(),
                detail: shorten(&f.detail),
            });
            let fix = self.fixes.entry((f.id, r.mta)).or_insert_with(|| Fix {
                text: f.remediation.clone(),
                listed: Vec::new(),
                hosts: 0,
            });
            fix.hosts += 1;
            if fix.listed.len() < HOSTS_LISTED {
                fix.listed.push(r.endpoint());
            }
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd, summary: &Summary) -> Result<(), ReportError> {
        self.phase.finish(&self.path)?;
        let domains = section_of(&mut self.domains, domains::section)?;
        let text = render(self, domains.as_ref(), end, summary);
        let err = |e| ReportError::new("write", &self.path, e);
        self.file.write_all(text.as_bytes()).map_err(err)?;
        self.file.sync_all().map_err(err)
    }
}

fn render(
    md: &MarkdownSink,
    domain_section: Option<&(String, usize)>,
    end: &RunEnd,
    summary: &Summary,
) -> String {
    let mut out = String::new();
    let domains = domain_section.map(|(_, n)| *n);
    let _ = writeln!(
        out,
        "# relayscan report: {}\n",
        overview::headline(summary, domains, end.interrupted)
    );
    if let Some(depth) = summary.depth_line() {
        let _ = writeln!(out, "{}\n", md_text(&depth));
    }
    out.push_str("| | |\n|---|---|\n");
    if let Some(meta) = &md.meta {
        let row = |out: &mut String, label: &str, value: String| {
            let _ = writeln!(out, "| {label} | {value} |");
        };
        row(
            &mut out,
            "Started",
            md_code(&meta.started_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
        let finished = end.finished_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let interrupted = if end.interrupted {
            " (interrupted)"
        } else {
            ""
        };
        row(
            &mut out,
            "Finished",
            format!("{}{interrupted}", md_code(&finished)),
        );
        row(
            &mut out,
            "Scanned from",
            if meta.source.hostname.is_empty() {
                "not recorded".to_string()
            } else {
                format!(
                    "{} ({})",
                    md_code(&meta.source.hostname),
                    md_text(&meta.source.note)
                )
            },
        );
        let targets: Vec<&str> = meta.targets.iter().take(20).map(String::as_str).collect();
        let more = meta.targets.len().saturating_sub(targets.len());
        let mut t = md_code(&targets.join(" "));
        if more > 0 {
            let _ = write!(t, " and {more} more");
        }
        row(&mut out, "Targets", t);
        let ports: Vec<String> = meta.ports.iter().map(u16::to_string).collect();
        row(&mut out, "Ports", md_code(&ports.join(",")));
        row(
            &mut out,
            "Tool",
            md_code(&format!("{} {}", meta.tool, meta.version)),
        );
        row(&mut out, "Command", md_code(&meta.command_line.join(" ")));
    }

    out.push_str("\n## Summary\n\n| | count |\n|---|---:|\n");
    let mut row = |label: &str, n: u64| {
        let _ = writeln!(out, "| {label} | {n} |");
    };
    row("endpoints probed", summary.probed);
    row("answered", summary.answered);
    row(
        "not answered",
        summary.probed.saturating_sub(summary.answered),
    );
    for (status, n) in overview::not_answered(summary) {
        row(&format!("not answered: {status}"), n);
    }
    for v in Verdict::ALL {
        let n = summary.verdict_count(v);
        if n > 0 || v.listed_at_zero() {
            row(v.as_str(), n);
        }
    }
    row("accepts any recipient", summary.accept_all);
    for s in Severity::ALL {
        row(&format!("{s} findings"), summary.severity_count(s));
    }

    let total_open = summary.open_relays.len() as u64 + summary.open_relays_more;
    if total_open > 0 {
        let _ = writeln!(out, "\n## Open relays ({total_open})\n");
        for ep in summary.open_relays_by_address().take(OPEN_RELAYS_SHOWN) {
            let _ = writeln!(out, "- {}", md_code(ep));
        }
        let shown = summary.open_relays.len().min(OPEN_RELAYS_SHOWN) as u64;
        if total_open > shown {
            let _ = writeln!(
                out,
                "- and {} more, listed in the CSV and JSON reports",
                total_open - shown
            );
        }
    }

    if !md.rows.is_empty() {
        out.push_str(
            "\n## Findings\n\n| severity | endpoint | finding | detail |\n|---|---|---|---|\n",
        );
        for r in &md.rows {
            finding_row(
                &mut out,
                r.severity,
                &r.endpoint,
                (r.id.as_str(), r.id.title()),
                &r.detail,
            );
        }
        if md.rows_more > 0 {
            let _ = writeln!(
                out,
                "\nand {} less severe, listed in the CSV and JSON reports.",
                count(md.rows_more, "finding")
            );
        }
    }

    if !md.fixes.is_empty() {
        out.push_str("\n## Remediation\n");
        let mut fixes: Vec<_> = md.fixes.iter().collect();
        fixes.sort_by_key(|((id, mta), _)| (std::cmp::Reverse(id.severity()), *id, *mta));
        for ((id, mta), fix) in fixes {
            let software = match mta {
                Mta::Unknown => "unidentified software".to_string(),
                known => md_text(known.label()),
            };
            let _ = writeln!(
                out,
                "\n### {} on {software} ({})\n\n{}\n\n{}",
                md_code(id.as_str()),
                count(fix.hosts, "host"),
                listed(&fix.listed, fix.hosts),
                prose(&fix.text)
            );
        }
    }
    out.push_str(&host_totals::blocklists(&summary.blocklists));
    out.push_str(&host_totals::software(&summary.software));
    if let Some((section, _)) = domain_section {
        out.push_str(section);
    }
    out
}

/// A row of a findings table: severity, where (endpoint or domain), the id and title,
/// and the detail (shortened by the caller), what the server or DNS said in code spans.
fn finding_row(
    out: &mut String,
    severity: Severity,
    place: &str,
    (id, title): (&str, &str),
    detail: &str,
) {
    let _ = writeln!(
        out,
        "| {severity} | {} | {} {} | {} |",
        md_code(place),
        md_code(id),
        md_text(title),
        md_code(detail)
    );
}

/// Names as code spans, "`a`, `b` and 3 more" when `total` is more than were kept.
fn listed(names: &[String], total: u64) -> String {
    let mut text = names
        .iter()
        .map(|n| md_code(n))
        .collect::<Vec<_>>()
        .join(", ");
    let more = total.saturating_sub(names.len() as u64);
    if more > 0 {
        let _ = write!(text, " and {more} more");
    }
    text
}

/// Remediation prose: words escaped as prose, code as code spans, so that neither shows a
/// literal backtick.
fn prose(text: &str) -> String {
    pieces(text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Words(w) => md_text(w),
            Piece::Code(c) => md_code(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    fn write(records: &[ScanRecord]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.md");
        let mut sink = MarkdownSink::new(&path, File::create(&path).unwrap());
        testdata::run_sink(&mut sink, records, true);
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn summary_findings_and_remediation() {
        let text = write(&[
            ScanRecord::of_outcome(testdata::open_relay_outcome()),
            ScanRecord::of_outcome(testdata::refused_outcome()),
        ]);
        assert!(
            text.starts_with(
                "# relayscan report: 1 open relay, 3 findings at high or above, in 2 endpoints (interrupted)\n"
            ),
            "{text}"
        );
        // Probed = answered + not answered, by the JSON's status names.
        assert!(
            text.contains(
                "| answered | 1 |\n| not answered | 1 |\n| not answered: refused | 1 |\n"
            )
        );
        assert!(text.contains("| Finished | `2025-03-01T12:01:00Z` (interrupted) |"));
        assert!(
            text.contains("\nRelay tests: full (the catalogue's 16 tests, and the control RCPT, which counts when one relayed)\n"),
            "{text}"
        );
        assert!(text.contains("| Targets | `192.0.2.0/24` |"));
        assert!(text.contains("| open-relay | 1 |"));
        assert!(text.contains("| critical findings | 1 |"));
        assert!(text.contains("## Open relays (1)\n\n- `192.0.2.25:25`\n"));
        assert!(
            text.contains("| critical | `192.0.2.25:25` | `open-relay` Open relay"),
            "{text}"
        );
        // Each remediation names the hosts it concerns.
        assert!(
            text.contains(
                "### `open-relay` on unidentified software (1 host)\n\n`192.0.2.25:25`\n\n"
            ),
            "{text}"
        );
        assert!(text.contains("### `accepts-any-recipient` on unidentified software (1 host)"));
        // Critical before high in both lists.
        assert!(text.find("| critical |") < text.find("| high |"));
    }

    #[test]
    fn remediation_code_is_a_code_span_and_hosts_are_listed_up_to_the_cap() {
        let mut records = Vec::new();
        for n in 0..(HOSTS_LISTED as u8 + 3) {
            let mut r = ScanRecord::of_outcome(testdata::open_relay_outcome());
            r.ip = std::net::IpAddr::from([192, 0, 2, n]);
            r.mta = Mta::Sendmail;
            r.findings.truncate(1);
            r.findings[0].remediation =
                crate::assess::remediation(FindingId::OpenRelay, Mta::Sendmail);
            records.push(r);
        }
        let text = write(&records);
        let section = text
            .split("### `open-relay` on Sendmail (23 hosts)\n\n")
            .nth(1)
            .unwrap();
        let (hosts, rest) = section.split_once("\n\n").unwrap();
        assert!(
            hosts.starts_with("`192.0.2.0:25`, `192.0.2.1:25`"),
            "{hosts}"
        );
        assert!(hosts.ends_with("`192.0.2.19:25` and 3 more"), "{hosts}");
        let fix = rest.lines().next().unwrap();
        // m4 quotes inside a longer fence; no escaped backtick anywhere.
        assert!(fix.contains("``FEATURE(`relay_hosts_only')``"), "{fix}");
        assert!(
            fix.contains("`makemap hash /etc/mail/access < /etc/mail/access`"),
            "{fix}"
        );
        assert!(!fix.contains("\\`"), "{fix}");
    }

    #[test]
    fn hostile_text_stays_in_code_spans() {
        let mut r = ScanRecord::of_outcome(testdata::open_relay_outcome());
        r.findings[0].detail =
            "[click](http://evil.example/) <img src=x> | `tick` \u{1b}]52;c;ZXZpbA==\u{7}".into();
        let text = write(&[r]);
        let line = text
            .lines()
            .find(|l| l.starts_with("| critical |"))
            .unwrap();
        // Four cells exactly, as GFM splits them: the server's `|` did not split the row.
        assert_eq!(testdata::cell_bars(line), 5, "{line}");
        assert!(
            line.contains(
                "``[click](http://evil.example/) <img src=x> \\| `tick` \\x1b]52;c;ZXZpbA==\\x07``"
            ),
            "{line}"
        );
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn keeps_only_the_most_severe_findings() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = {
            let path = dir.path().join("x.md");
            MarkdownSink::new(&path, File::create(&path).unwrap())
        };
        let row = |severity, n: usize| Row {
            severity,
            id: FindingId::BannerVersion,
            endpoint: format!("192.0.2.1:{n}"),
            detail: String::new(),
        };
        for n in 0..FINDINGS_SHOWN {
            sink.keep(row(Severity::Low, n));
        }
        sink.keep(row(Severity::Critical, 9999));
        sink.keep(row(Severity::Info, 9998));
        assert_eq!(sink.rows.len(), FINDINGS_SHOWN);
        assert_eq!(sink.rows_more, 2);
        assert_eq!(sink.rows[0].endpoint, "192.0.2.1:9999");
        assert_eq!(sink.rows[1].endpoint, "192.0.2.1:0");
        assert!(sink.rows.iter().all(|r| r.severity != Severity::Info));
    }
}
