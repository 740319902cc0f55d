//! The log report in every format: the terminal summary, CSV rows (one per finding), the JSON document, Markdown and HTML pages with the hourly timeline; server and log text sanitised for each.

use std::fmt::Write as _;

use super::model::{HourRow, LOGS_SCHEMA_VERSION, LogFinding, LogReport};
use crate::assess::Severity;
use crate::report::sanitize;

pub const LOG_COLUMNS: [&str; 10] = [
    "severity",
    "id",
    "title",
    "subject",
    "time",
    "mta",
    "detail",
    "evidence",
    "remediation",
    "file",
];

/// One CSV row, raw; the CSV writer makes each cell safe.
pub fn csv_row(report: &LogReport, f: &LogFinding) -> [String; 10] {
    let files: Vec<&str> = report.files.iter().map(|f| f.file.as_str()).collect();
    [
        f.finding.severity.to_string(),
        f.finding.id.to_string(),
        f.finding.title.clone(),
        f.subject.clone(),
        f.time.clone().unwrap_or_default(),
        report.mta.as_str().to_string(),
        f.finding.detail.clone(),
        f.finding.evidence.join(" | "),
        f.finding.remediation.clone(),
        files.join(" "),
    ]
}

/// The JSON document (schema/logs-report.schema.json).
pub fn json(report: &LogReport, command_line: &[String]) -> serde_json::Value {
    serde_json::json!({
        "schema_version": LOGS_SCHEMA_VERSION,
        "tool": { "name": "relayscan", "version": env!("CARGO_PKG_VERSION") },
        "command_line": command_line,
        "verdict": report.verdict(),
        "counts": report.counts(),
        "report": report,
    })
}

/// The terminal summary: totals, findings worst first, the top sources, notes.
pub fn render_table(report: &LogReport) -> String {
    let mut out = String::new();
    let files: Vec<String> = report
        .files
        .iter()
        .map(|f| format!("{} ({} lines, {} mail)", f.file, f.lines, f.mail_lines))
        .collect();
    let _ = writeln!(
        out,
        "relayscan logs: {} [{}]",
        sanitize::terminal(&files.join(", ")),
        report.mta.label()
    );
    let t = &report.totals;
    let _ = writeln!(
        out,
        "{} to {}: {} message(s) received, {} delivered outside, {} relayed for a stranger, {} relay attempt(s) refused, {} failed SASL login(s), {} throttled, {} unreadable line(s)",
        t.first_seen.as_deref().unwrap_or("?"),
        t.last_seen.as_deref().unwrap_or("?"),
        t.messages_received,
        t.delivered_external,
        t.relayed_for_stranger,
        t.relay_attempts_refused,
        t.sasl_failures,
        t.throttled,
        report.unreadable.count
    );
    if report.findings.is_empty() {
        out.push_str("no findings\n");
    }
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{:<8}  {:<26}  {}",
            f.finding.severity.as_str(),
            f.finding.id.as_str(),
            sanitize::terminal(&f.finding.detail)
        );
        for line in f.finding.evidence.iter().take(4) {
            let _ = writeln!(out, "          | {}", sanitize::terminal(line));
        }
    }
    for note in all_notes(report) {
        let _ = writeln!(out, "note: {}", sanitize::terminal(&note));
    }
    let _ = writeln!(out, "{}", count_line(report));
    out
}

fn count_line(report: &LogReport) -> String {
    let counts = report.counts();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| {
            counts
                .get(s.as_str())
                .filter(|n| **n > 0)
                .map(|n| format!("{n} {s}"))
        })
        .collect();
    let verdict = if report.verdict().is_some() {
        "mail was relayed for strangers (open-relay)"
    } else {
        "no mail relayed for a stranger"
    };
    format!(
        "{} finding(s){}; {verdict}",
        report.findings.len(),
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    )
}

/// Width of the timeline's bars in characters (the busiest hour's).
const BAR_WIDTH: u64 = 40;

/// A bar of `n` out of `max`, at least one block for any non-zero count.
fn bar(n: u64, max: u64) -> String {
    if n == 0 || max == 0 {
        return String::new();
    }
    let len = (n * BAR_WIDTH).div_ceil(max).max(1);
    "█".repeat(len as usize)
}

fn timeline_max(rows: &[HourRow]) -> u64 {
    rows.iter()
        .map(|h| h.refused.max(h.relayed))
        .max()
        .unwrap_or(0)
}

/// The refused-attempts table, clients then networks, raw: source, attempts, first seen,
/// last seen, recipient domains.
fn refused_cells(report: &LogReport) -> Vec<[String; 5]> {
    report
        .refused_clients
        .iter()
        .chain(&report.refused_networks)
        .map(|r| {
            [
                r.source.clone(),
                r.attempts.to_string(),
                r.first_seen.clone().unwrap_or_default(),
                r.last_seen.clone().unwrap_or_default(),
                r.recipient_domains.join(", "),
            ]
        })
        .collect()
}

/// The throttled-clients table, raw: client, times, first seen, last seen.
fn throttled_cells(report: &LogReport) -> Vec<[String; 4]> {
    report
        .throttled_clients
        .iter()
        .map(|t| {
            [
                t.client.clone(),
                t.times.to_string(),
                t.first_seen.clone().unwrap_or_default(),
                t.last_seen.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

/// The Markdown page.
pub fn markdown(report: &LogReport) -> String {
    let mut out = String::new();
    let t = &report.totals;
    let _ = writeln!(out, "# relayscan logs\n");
    let files: Vec<String> = report
        .files
        .iter()
        .map(|f| sanitize::md_code(&f.file))
        .collect();
    let _ = writeln!(
        out,
        "Files: {} ({}).\n",
        files.join(", "),
        report.mta.label()
    );
    let _ = writeln!(out, "{}\n", sanitize::md_text(&count_line(report)));
    let _ = writeln!(out, "| total | count |\n|---|---:|");
    for (name, n) in [
        ("lines", t.lines),
        ("messages received", t.messages_received),
        ("delivered outside the local domains", t.delivered_external),
        ("relayed for a stranger", t.relayed_for_stranger),
        ("relay attempts refused", t.relay_attempts_refused),
        ("failed SASL logins", t.sasl_failures),
        ("throttled", t.throttled),
        ("unreadable lines", report.unreadable.count),
    ] {
        let _ = writeln!(out, "| {name} | {n} |");
    }
    let _ = writeln!(out, "\n## Findings\n");
    if report.findings.is_empty() {
        out.push_str("None.\n");
    }
    for f in &report.findings {
        let _ = writeln!(
            out,
            "### {} {}\n\n{}\n",
            f.finding.severity,
            sanitize::md_code(f.finding.id.as_str()),
            sanitize::md_text(&f.finding.detail)
        );
        if !f.finding.evidence.is_empty() {
            out.push_str("```text\n");
            for line in &f.finding.evidence {
                // A fence inside the evidence would end the block: break any run of backticks.
                let _ = writeln!(
                    out,
                    "{}",
                    sanitize::terminal(line).replace("```", "`\u{200b}``")
                );
            }
            out.push_str("```\n\n");
        }
        let _ = writeln!(out, "Fix: {}\n", sanitize::md_text(&f.finding.remediation));
    }
    let _ = writeln!(out, "## Refused relay attempts by source\n");
    let _ = writeln!(
        out,
        "| source | attempts | first seen | last seen | recipient domains |\n|---|---:|---|---|---|"
    );
    for [source, attempts, first, last, domains] in refused_cells(report) {
        let _ = writeln!(
            out,
            "| {} | {attempts} | {first} | {last} | {} |",
            sanitize::md_code(&source),
            sanitize::md_text(&domains)
        );
    }
    if !report.throttled_clients.is_empty() {
        let _ = writeln!(
            out,
            "\n## Clients stopped by the MTA's limits\n\n| client | times | first seen | last seen |\n|---|---:|---|---|"
        );
        for [client, times, first, last] in throttled_cells(report) {
            let _ = writeln!(
                out,
                "| {} | {times} | {first} | {last} |",
                sanitize::md_code(&client)
            );
        }
    }
    let _ = writeln!(out, "\n## Timeline (per hour, UTC)\n");
    let _ = writeln!(
        out,
        "| hour | received | refused | relayed | refused ▮ / relayed ▮ |\n|---|---:|---:|---:|---|"
    );
    let max = timeline_max(&report.timeline);
    for h in &report.timeline {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} {} |",
            h.hour,
            h.received,
            h.refused,
            h.relayed,
            bar(h.refused, max),
            if h.relayed > 0 {
                format!("/ {}", bar(h.relayed, max))
            } else {
                String::new()
            }
        );
    }
    for note in all_notes(report) {
        let _ = writeln!(out, "\nNote: {}", sanitize::md_text(&note));
    }
    out
}

/// The HTML page: every text escaped, no script, the timeline as a table of CSS bars.
pub fn html(report: &LogReport, generated_at: &str) -> String {
    let esc = |s: &str| sanitize::html(s).into_owned();
    let mut out = String::new();
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>relayscan logs</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.b{display:inline-block;height:10px}.r{background:#c60}.x{background:#c00}pre{background:#f4f4f4;padding:6px;white-space:pre-wrap}.critical{color:#c00;font-weight:bold}</style></head><body>\n");
    let files: Vec<String> = report.files.iter().map(|f| esc(&f.file)).collect();
    let _ = writeln!(
        out,
        "<h1>relayscan logs</h1>\n<p>{} ({}), generated {}</p>\n<p>{}</p>",
        files.join(", "),
        report.mta.label(),
        esc(generated_at),
        esc(&count_line(report))
    );
    out.push_str("<h2>Findings</h2>\n");
    for f in &report.findings {
        let _ = writeln!(
            out,
            "<h3 class=\"{}\">{} {}</h3>\n<p>{}</p>",
            f.finding.severity,
            f.finding.severity,
            esc(f.finding.id.as_str()),
            esc(&f.finding.detail)
        );
        if !f.finding.evidence.is_empty() {
            let lines: Vec<String> = f.finding.evidence.iter().map(|l| esc(l)).collect();
            let _ = writeln!(out, "<pre>{}</pre>", lines.join("\n"));
        }
        let _ = writeln!(out, "<p>Fix: {}</p>", esc(&f.finding.remediation));
    }
    out.push_str("<h2>Refused relay attempts by source</h2>\n<table><tr><th>source</th><th>attempts</th><th>first seen</th><th>last seen</th><th>recipient domains</th></tr>\n");
    for cells in refused_cells(report) {
        let cells: Vec<String> = cells.iter().map(|c| esc(c)).collect();
        let _ = writeln!(out, "<tr><td>{}</td></tr>", cells.join("</td><td>"));
    }
    out.push_str("</table>\n");
    if !report.throttled_clients.is_empty() {
        out.push_str("<h2>Clients stopped by the MTA's limits</h2>\n<table><tr><th>client</th><th>times</th><th>first seen</th><th>last seen</th></tr>\n");
        for cells in throttled_cells(report) {
            let cells: Vec<String> = cells.iter().map(|c| esc(c)).collect();
            let _ = writeln!(out, "<tr><td>{}</td></tr>", cells.join("</td><td>"));
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>Timeline (per hour, UTC)</h2>\n<table><tr><th>hour</th><th>received</th><th>refused</th><th>relayed</th><th></th></tr>\n");
    let max = timeline_max(&report.timeline).max(1);
    for h in &report.timeline {
        let px = |n: u64| n * 300 / max;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"b r\" style=\"width:{}px\"></span><span class=\"b x\" style=\"width:{}px\"></span></td></tr>",
            h.hour,
            h.received,
            h.refused,
            h.relayed,
            px(h.refused),
            px(h.relayed)
        );
    }
    out.push_str("</table>\n");
    for note in all_notes(report) {
        let _ = writeln!(out, "<p>Note: {}</p>", esc(&note));
    }
    out.push_str("</body></html>\n");
    out
}

/// The notes every page ends with: the per-client tables that overflowed (their counts
/// are then lower bounds, so a reader of any format must be told), then the run's notes.
fn all_notes(report: &LogReport) -> Vec<String> {
    let b = &report.bounds;
    let overflowed = (!b.overflowed.is_empty()).then(|| {
        format!(
            "tables over {} entries kept their heaviest only (counts are lower bounds): {}",
            b.table_cap,
            b.overflowed.join(", ")
        )
    });
    overflowed
        .into_iter()
        .chain(report.notes.iter().cloned())
        .collect()
}

/// The JSON Schema of the document [`json`] writes, as shipped in `schema/`.
pub const LOGS_SCHEMA: &str = include_str!("../../schema/logs-report.schema.json");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::prefix::YearHint;
    use crate::logs::{Analyzer, Settings};

    fn sample() -> LogReport {
        let mut a = Analyzer::new(Settings::default());
        a.begin_file(
            "mail.log",
            YearHint {
                year: 2026,
                month: 12,
            },
        );
        for (n, line) in [
            "Dec 07 05:13:12 mx postfix/smtpd[1]: AAAAAA1: client=evil[198.51.100.7]",
            "Dec 07 05:13:12 mx postfix/qmgr[2]: AAAAAA1: from=<=cmd|x@sender.test>, size=1, nrcpt=1 (queue active)",
            "Dec 07 05:13:13 mx postfix/smtp[3]: AAAAAA1: to=<victim@far.test>, relay=x[203.0.113.5]:25, dsn=2.0.0, status=sent (250 ok)",
            "Dec 07 05:13:13 mx postfix/qmgr[2]: AAAAAA1: removed",
            "Dec 07 07:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[198.51.100.20]: 554 5.7.1 <x@far.test>: Relay access denied; from=<s@t> to=<x@far.test> proto=ESMTP helo=<a>",
            "<script>alert(1)</script> ```",
        ]
        .iter()
        .enumerate()
        {
            a.line(n + 1, line);
        }
        a.finish()
    }

    #[test]
    fn every_page_says_when_a_table_overflowed() {
        let mut report = sample();
        // Markdown escapes the `_` of `refused_clients`.
        let said = "kept their heaviest only (counts are lower bounds): refused";
        assert!(!html(&report, "now").contains(said));
        report.bounds.overflowed = vec!["refused_clients".to_string()];
        assert!(html(&report, "now").contains(said));
        assert!(markdown(&report).contains(said));
        assert!(render_table(&report).contains(said));
    }

    #[test]
    fn json_follows_its_schema_and_broken_json_does_not() {
        let schema: serde_json::Value = serde_json::from_str(LOGS_SCHEMA).unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let report = sample();
        let mut doc = json(&report, &["relayscan".into(), "logs".into()]);
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(doc["verdict"], "open-relay");
        assert_eq!(doc["counts"]["critical"], 1);
        assert_eq!(doc["report"]["relayed"][0]["client"], "198.51.100.7");
        doc["report"]["totals"]["lines"] = (-1).into();
        doc["surprise"] = true.into();
        assert_eq!(validator.iter_errors(&doc).count(), 2);
    }

    #[test]
    fn every_format_carries_the_findings_and_escapes_log_text() {
        let report = sample();
        let ids: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.finding.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "relayed-for-stranger",
                "relay-attempts-refused",
                "unreadable-log-lines"
            ]
        );
        for f in &report.findings {
            let row = csv_row(&report, f);
            assert_eq!(row.len(), LOG_COLUMNS.len());
            assert_eq!(row[1], f.finding.id.as_str());
            assert_eq!(row[9], "mail.log");
        }
        let table = render_table(&report);
        assert!(table.contains("critical  relayed-for-stranger"), "{table}");
        assert!(
            table.ends_with("mail was relayed for strangers (open-relay)\n"),
            "{table}"
        );
        let page = html(&report, "2026-12-07T08:00:00Z");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        assert!(
            page.contains("<td>2026-12-07T05:00:00Z</td><td>1</td><td>0</td><td>1</td>"),
            "{page}"
        );
        let md = markdown(&report);
        assert!(
            md.contains(
                "| 2026-12-07T07:00:00Z | 0 | 1 | 0 | ████████████████████████████████████████  |"
            ),
            "{md}"
        );
        // The evidence block cannot be closed by the log's own backticks.
        assert_eq!(md.matches("```text").count(), 2, "{md}");
        assert!(!md.contains("</script> ```"), "{md}");
    }

    #[test]
    fn bars_are_proportional_and_never_vanish() {
        assert_eq!(bar(0, 10), "");
        assert_eq!(bar(1, 1000).chars().count(), 1);
        assert_eq!(bar(10, 10).chars().count(), BAR_WIDTH as usize);
        assert_eq!(bar(5, 10).chars().count(), BAR_WIDTH as usize / 2);
    }
}
