//! The audit's terminal table, CSV rows and JSON document; the text is sanitised as in the scan reports.

use std::fmt::Write as _;

use super::model::{AuditFinding, AuditReport};
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

/// The terminal summary: one line per finding, worst first, then the notes and the counts.
pub fn render_table(report: &AuditReport) -> String {
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
            let _ = writeln!(
                out,
                "{:<8}  {:<28}  {:<width$}  {}",
                f.finding.severity.as_str(),
                f.finding.id.as_str(),
                sanitize::terminal(&f.location),
                sanitize::terminal(&f.finding.detail),
            );
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
    let counts: Vec<String> = report
        .counts()
        .iter()
        .filter(|(_, n)| **n > 0)
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
        let t = render_table(&r);
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
