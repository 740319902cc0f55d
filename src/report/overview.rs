//! The run in a few words for the HTML and Markdown reports: counted nouns, the one-line executive summary, the endpoints that did not answer by status, and the settings as rows. Pure.

use crate::assess::{Severity, Verdict};
use crate::probe::Status;

use super::summary::Summary;

/// `n` and `noun`, with the noun's plural (`noun` + "s") unless `n` is 1: "1 probe",
/// "2 probes", "0 open relays". Every noun the reports and messages count takes a regular
/// plural.
pub fn count(n: impl Into<u128>, noun: &str) -> String {
    let n: u128 = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Findings at high or above: the ones the headline names.
pub fn serious_findings(summary: &Summary) -> u64 {
    [Severity::Critical, Severity::High]
        .iter()
        .map(|s| summary.severity_count(*s))
        .sum()
}

/// The executive summary in one line: "6 open relays, 11 findings at high or above, in 46
/// endpoints", then the mail domains when the run had any ("... and 30 mail domains"),
/// and "(interrupted)" when the run stopped early.
pub fn headline(summary: &Summary, domains: Option<usize>, interrupted: bool) -> String {
    let open = summary.verdict_count(Verdict::OpenRelay);
    let mut line = format!(
        "{}, {} at high or above, in {}",
        count(open, "open relay"),
        count(serious_findings(summary), "finding"),
        count(summary.probed, "endpoint")
    );
    if let Some(n) = domains {
        line.push_str(" and ");
        line.push_str(&count(n as u64, "mail domain"));
    }
    if interrupted {
        line.push_str(" (interrupted)");
    }
    line
}

/// The endpoints where nothing answered, by status (the names of the JSON `by_status`),
/// in the order of [`Status::ALL`], leaving out zeros. With `answered`, they add up to
/// `probed`.
pub fn not_answered(summary: &Summary) -> Vec<(Status, u64)> {
    Status::ALL
        .iter()
        .filter(|s| !s.answered())
        .map(|&s| (s, summary.status_count(s)))
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// "refused 20, connect-timeout 2"; empty when every endpoint answered.
pub fn not_answered_text(summary: &Summary) -> String {
    not_answered(summary)
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The settings of a run as (name, value) rows, by name: nested objects
/// flattened to `dns.concurrency`, lists joined with ", ", `null` and empty lists as
/// "none". A value that is not an object (settings not recorded) gives no rows.
pub fn settings_rows(settings: &serde_json::Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let serde_json::Value::Object(map) = settings {
        for (key, value) in map {
            flatten(key, value, &mut rows);
        }
    }
    rows
}

fn flatten(key: &str, value: &serde_json::Value, rows: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten(&format!("{key}.{k}"), v, rows);
            }
        }
        other => rows.push((key.to_string(), scalar(other))),
    }
}

fn scalar(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        Value::Object(_) => "none".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScanRecord;
    use crate::report::testdata;
    use serde_json::json;

    #[test]
    fn count_table() {
        let table = [
            (0, "probe", "0 probes"),
            (1, "probe", "1 probe"),
            (2, "probe", "2 probes"),
            (1, "endpoint", "1 endpoint"),
            (46, "endpoint", "46 endpoints"),
            (1, "open relay", "1 open relay"),
            (6, "open relay", "6 open relays"),
            (
                u128::MAX,
                "endpoint",
                "340282366920938463463374607431768211455 endpoints",
            ),
        ];
        for (n, noun, want) in table {
            assert_eq!(count(n, noun), want);
        }
    }

    /// A summary of `statuses` (each record completed as relay-denied unless it did not
    /// answer), with `open` open relays among the completed.
    fn summary_of(statuses: &[Status], open: usize) -> Summary {
        let mut s = Summary::default();
        for (i, &status) in statuses.iter().enumerate() {
            let mut r = ScanRecord::of_outcome(testdata::refused_outcome());
            r.status = status;
            r.findings.clear();
            r.verdict = status.answered().then_some(if i < open {
                Verdict::OpenRelay
            } else {
                Verdict::RelayDenied
            });
            s.add(&r);
        }
        s
    }

    #[test]
    fn headline_table() {
        let mut high = summary_of(&[Status::Completed; 46], 6);
        high.by_severity.insert("critical".into(), 6);
        high.by_severity.insert("high".into(), 5);
        high.by_severity.insert("medium".into(), 30);
        let one = summary_of(&[Status::Completed], 1);
        let mut one_finding = one.clone();
        one_finding.by_severity.insert("high".into(), 1);
        // (summary, domains, interrupted, line)
        let table = [
            (
                &high,
                None,
                false,
                "6 open relays, 11 findings at high or above, in 46 endpoints",
            ),
            (
                &high,
                Some(30),
                false,
                "6 open relays, 11 findings at high or above, in 46 endpoints and 30 mail domains",
            ),
            (
                &one,
                Some(1),
                true,
                "1 open relay, 0 findings at high or above, in 1 endpoint and 1 mail domain (interrupted)",
            ),
            (
                &one_finding,
                None,
                false,
                "1 open relay, 1 finding at high or above, in 1 endpoint",
            ),
            (
                &Summary::default(),
                None,
                false,
                "0 open relays, 0 findings at high or above, in 0 endpoints",
            ),
        ];
        for (summary, domains, interrupted, want) in table {
            assert_eq!(headline(summary, domains, interrupted), want);
        }
    }

    #[test]
    fn not_answered_adds_up_to_probed() {
        use Status::*;
        // (statuses of the records, the not-answered rows, their text)
        type Case<'a> = (&'a [Status], &'a [(Status, u64)], &'a str);
        let table: [Case; 4] = [
            (&[Completed, Completed], &[], ""),
            (
                &[Completed, Refused, ConnectTimeout, Refused, IoTimeout],
                &[(Refused, 2), (ConnectTimeout, 1)],
                "refused 2, connect-timeout 1",
            ),
            (
                &[Unresolved, Unreachable, Cancelled, Dropped],
                &[(Unreachable, 1), (Unresolved, 1)],
                "unreachable 1, unresolved 1",
            ),
            (&[], &[], ""),
        ];
        for (statuses, rows, text) in table {
            let s = summary_of(statuses, 0);
            assert_eq!(not_answered(&s), rows, "{statuses:?}");
            assert_eq!(not_answered_text(&s), text);
            let silent: u64 = rows.iter().map(|(_, n)| n).sum();
            assert_eq!(s.answered + silent, s.probed, "{statuses:?}");
        }
    }

    #[test]
    fn settings_rows_table() {
        let table = [
            (json!(null), vec![]),
            (json!("shards"), vec![]),
            (
                json!({"concurrency": 32, "dns": {"concurrency": 32, "servers": ["127.0.0.1:53"]}}),
                vec![
                    ("concurrency", "32"),
                    ("dns.concurrency", "32"),
                    ("dns.servers", "127.0.0.1:53"),
                ],
            ),
            (
                json!({"ports": [25, 587], "scope": [], "seed": null, "helo": "<b>x</b>", "data_sent": false, "empty": {}}),
                // Keys sorted, as serde_json keeps them (and as the settings are declared).
                vec![
                    ("data_sent", "false"),
                    ("empty", "none"),
                    ("helo", "<b>x</b>"),
                    ("ports", "25, 587"),
                    ("scope", "none"),
                    ("seed", "none"),
                ],
            ),
        ];
        for (value, want) in table {
            let got = settings_rows(&value);
            let got: Vec<(&str, &str)> =
                got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(got, want, "{value}");
        }
    }
}
