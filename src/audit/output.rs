//! The audit's terminal table, CSV rows and JSON document; the text is sanitised as in the scan reports.

use std::fmt::Write as _;

use super::model::{AuditFinding, AuditReport};
use crate::assess::Severity;
use crate::color::Paint;
use crate::report::sanitize;

/// Bumped when a JSON field or CSV column changes meaning or disappears.
pub const AUDIT_SCHEMA_VERSION: u32 = 1;

pub const AUDIT_COLUMNS: [&str; 11] = [
    "location",
    "file",
    "line",
    "mta",
    "setting",
    "severity",
    "id",
    "title",
    "detail",
    "evidence",
    "remediation",
];

/// One CSV row, raw; the CSV writer makes each cell safe.
pub fn csv_row(f: &AuditFinding) -> [String; 11] {
    [
        f.location.clone(),
        f.file.clone(),
        f.line.map(|l| l.to_string()).unwrap_or_default(),
        f.mta.as_str().to_string(),
        f.setting.clone(),
        f.finding.severity.to_string(),
        f.finding.id.to_string(),
        f.finding.title.clone(),
        f.finding.detail.clone(),
        f.finding.evidence.join(" | "),
        f.finding.remediation.clone(),
    ]
}

/// The JSON document: the inputs, counts, the conclusion, the findings, the networks trusted
/// to relay, and the notes.
pub fn json(report: &AuditReport, command_line: &[String]) -> serde_json::Value {
    serde_json::json!({
        "schema_version": AUDIT_SCHEMA_VERSION,
        "tool": { "name": "relayscan", "version": env!("CARGO_PKG_VERSION") },
        "command_line": command_line,
        "files": report.files,
        "verdict": report.verdict(),
        "counts": report.counts(),
        "findings": report.findings,
        "trusted": report.trusted,
        "notes": report.notes,
    })
}

/// Where a finding's remediation starts: under its id column, so the severity stays the
/// first thing on a line and every finding's `file:line` keeps its own line.
const REMEDY_INDENT: &str = "          fix: ";

/// The remediation's width beside its indent: 15 + 85 = 100 columns, the width of the
/// other terminal output.
const REMEDY_WIDTH: usize = 85;

/// Splits `text` at spaces into lines of at most `width` characters (a longer word keeps its
/// own line whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The terminal summary: one line per finding, worst first, its remediation wrapped under
/// it, then the notes and the counts (worst first).
pub fn render_table(report: &AuditReport, paint: Paint) -> String {
    let mut out = String::new();
    let files: Vec<String> = report
        .files
        .iter()
        .map(|f| format!("{} ({} {})", f.file, f.mta.label(), f.kind))
        .collect();
    let _ = writeln!(
        out,
        "relayscan audit-config: {}",
        sanitize::terminal(&files.join(", "))
    );
    if report.findings.is_empty() {
        out.push_str("no findings\n");
    } else {
        let width = report
            .findings
            .iter()
            .map(|f| f.location.chars().count())
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "{:<8}  {:<28}  {:<width$}  detail",
            "severity", "id", "location"
        );
        for f in &report.findings {
            let severity = format!("{:<8}", f.finding.severity.as_str());
            let _ = writeln!(
                out,
                "{}  {:<28}  {:<width$}  {}",
                paint.severity(f.finding.severity, &severity),
                f.finding.id.as_str(),
                sanitize::terminal(&f.location),
                sanitize::terminal(&f.finding.detail),
            );
            let blank = " ".repeat(REMEDY_INDENT.len());
            let fix = wrap(&sanitize::terminal(&f.finding.remediation), REMEDY_WIDTH);
            for (i, line) in fix.iter().enumerate() {
                let indent = if i == 0 { REMEDY_INDENT } else { &blank };
                let _ = writeln!(out, "{indent}{line}");
            }
        }
    }
    for t in &report.trusted {
        let _ = writeln!(
            out,
            "trusted to relay: {} ({}, {})",
            t.network,
            sanitize::terminal(&t.setting),
            sanitize::terminal(&t.location)
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {}", sanitize::terminal(note));
    }
    let counts = report.counts();
    // Worst first: the map itself sorts by name (critical, high, info, low, medium).
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| counts.get(s.as_str()).filter(|n| **n > 0).map(|n| (s, n)))
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let verdict = if report.verdict().is_some() {
        "the configuration lets anyone relay (open-relay)"
    } else {
        "no setting lets a stranger relay"
    };
    let _ = writeln!(
        out,
        "{} finding(s){}; {verdict}",
        report.findings.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::FindingId;
    use crate::audit::model::{Location, Source};
    use crate::audit::{MtaChoice, run};

    fn sample() -> AuditReport {
        let src = Source::new(
            "main.cf",
            "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit\nmyhostname = =cmd\x1b[2J\n",
        );
        run(&[src], MtaChoice::Auto, &|_| Ok(None)).unwrap()
    }

    #[test]
    fn table_lists_worst_first_with_locations_and_sanitised_text() {
        let r = sample();
        let t = render_table(&r, Paint::plain());
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("severity"), "{t}");
        assert!(lines[2].starts_with("critical  open-relay"), "{t}");
        assert!(lines[2].contains("main.cf:2"), "{t}");
        assert!(t.contains("main.cf (default)"), "{t}");
        assert!(
            t.ends_with("; the configuration lets anyone relay (open-relay)\n"),
            "{t}"
        );
        assert!(!t.contains('\x1b'));
        // The remediation follows its finding's line, wrapped and indented.
        let open = &r.findings[0];
        assert_eq!(open.finding.id, FindingId::OpenRelay);
        assert!(lines[3].starts_with(REMEDY_INDENT), "{t}");
        let fix: Vec<&str> = lines[3..]
            .iter()
            .take_while(|l| l.starts_with("          "))
            .map(|l| l.trim_start().trim_start_matches("fix: "))
            .collect();
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(fix.join(" "), words(&open.finding.remediation), "{t}");
        assert!(
            t.lines()
                .all(|l| l.chars().count() <= 100 || !l.starts_with("          "))
        );
    }

    #[test]
    fn wrap_table() {
        let table: [(&str, usize, &[&str]); 5] = [
            ("", 10, &[]),
            ("one", 10, &["one"]),
            ("aa bb cc", 5, &["aa bb", "cc"]),
            ("aa  bb\ncc", 20, &["aa bb cc"]),
            (
                "averyveryverylongword b",
                5,
                &["averyveryverylongword", "b"],
            ),
        ];
        for (text, width, want) in table {
            assert_eq!(wrap(text, width), want, "{text:?}");
        }
    }

    #[test]
    fn counts_run_worst_first() {
        let r = sample();
        let last = render_table(&r, Paint::plain())
            .lines()
            .last()
            .unwrap()
            .to_string();
        let names: Vec<&str> = Severity::ALL
            .iter()
            .map(|s| s.as_str())
            .filter(|s| last.contains(&format!(" {s}")))
            .collect();
        let at: Vec<usize> = names
            .iter()
            .map(|s| last.find(&format!(" {s}")).unwrap())
            .collect();
        assert!(names.len() >= 2, "{last}");
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{last}");
    }

    #[test]
    fn csv_and_json_carry_every_finding() {
        let r = sample();
        let open = r
            .findings
            .iter()
            .find(|f| f.finding.id == FindingId::OpenRelay)
            .unwrap();
        let row = csv_row(open);
        assert_eq!(row.len(), AUDIT_COLUMNS.len());
        assert_eq!(
            &row[..3],
            &["main.cf:2".to_string(), "main.cf".into(), "2".into()]
        );
        assert_eq!(row[5], "critical");
        assert!(
            row[9].contains("main.cf:2: smtpd_relay_restrictions = permit"),
            "{}",
            row[9]
        );
        let doc = json(&r, &["relayscan".into()]);
        assert_eq!(doc["verdict"], "open-relay");
        assert_eq!(doc["findings"].as_array().unwrap().len(), r.findings.len());
        assert_eq!(doc["findings"][0]["finding"]["id"], "open-relay");
        assert_eq!(doc["counts"]["critical"], 1);
        assert_eq!(Location::at("a", 1).to_string(), "a:1");
    }
}
