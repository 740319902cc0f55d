//! Records written by main at 31795cf (record schema 1, before the dialogue redesign) are read by `relayscan report`, `merge` and `diff`, and what they write holds main's conclusions and every relay attempt.
//!
//! tests/fixtures/main-31795cf/scan.jsonl and rescan.jsonl are lines of main's own JSONL
//! reports, verbatim (see the README there): ten endpoints of the lab and the hostile lab,
//! then two of them scanned again with `--relay-over both`. The fixture is read here as
//! plain JSON, never by relayscan, to say what each report must hold. Nothing is scanned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use relayscan::report::{SCHEMA_VERSION, ScanRecord};
use serde_json::Value;

use crate::support::conclusions::Conclusions;
use crate::support::{read_csv, read_json, read_jsonl, run, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/main-31795cf")
        .join(name)
}

/// One line of main's JSONL, as it says it.
struct Old {
    /// `ip:port`.
    endpoint: String,
    /// Its greeting's name, `greylisting.lab.test`; `None` when it sent none.
    server: Option<String>,
    conclusions: Conclusions,
    /// Relay attempts in the first leg and after STARTTLS (version 1: `attempts`,
    /// `after_tls.attempts`).
    attempts: [usize; 2],
}

fn old(name: &str) -> Vec<Old> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines()
        .map(|line| {
            let json: Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(json["schema_version"], 1, "{name}: written by main");
            let count = |v: &Value| v.as_array().map_or(0, Vec::len);
            let dialogue = &json["dialogue"];
            Old {
                endpoint: format!("{}:{}", json["ip"].as_str().expect("ip"), json["port"]),
                server: json["server_name"].as_str().map(String::from),
                conclusions: Conclusions::of_json(&json),
                attempts: [
                    count(&dialogue["attempts"]),
                    count(&dialogue["after_tls"]["attempts"]),
                ],
            }
        })
        .collect()
}

static SCAN: LazyLock<Vec<Old>> = LazyLock::new(|| old("scan.jsonl"));
static RESCAN: LazyLock<Vec<Old>> = LazyLock::new(|| old("rescan.jsonl"));

/// The endpoint of the scan's server that greeted as `server`.
fn endpoint_of(server: &str) -> &'static str {
    SCAN.iter()
        .find(|o| o.server.as_deref() == Some(server))
        .map(|o| o.endpoint.as_str())
        .unwrap_or_else(|| panic!("no {server} in scan.jsonl"))
}

/// Fails unless `records` are today's (schema) and hold the conclusions and the attempts
/// of `old`, endpoint for endpoint, in any order.
fn assert_whole(records: &[ScanRecord], old: &[&Old], what: &str) {
    let today: BTreeMap<String, &ScanRecord> = records.iter().map(|r| (r.endpoint(), r)).collect();
    assert_eq!(today.len(), records.len(), "{what}: an endpoint twice");
    assert_eq!(records.len(), old.len(), "{what}: {:?}", today.keys());
    for o in old {
        let r = today
            .get(&o.endpoint)
            .unwrap_or_else(|| panic!("{what}: no record of {}", o.endpoint));
        let at = format!("{what}: {}", o.endpoint);
        assert_eq!(r.schema_version, SCHEMA_VERSION, "{at}");
        assert_eq!(Conclusions::of(r), o.conclusions, "{at}");
        let legs = [
            r.dialogue.first.attempts.len(),
            r.dialogue
                .after_starttls
                .as_ref()
                .map_or(0, |l| l.attempts.len()),
        ];
        assert_eq!(legs, o.attempts, "{at}: relay attempts per leg");
    }
}

/// `relayscan report` of main's scan, every format, run once for the module.
struct Reported {
    summary: String,
    stderr: String,
    /// The regenerated JSONL (today's schema).
    jsonl: PathBuf,
    records: Vec<ScanRecord>,
    csv: (Vec<String>, Vec<Vec<String>>),
    json: Value,
    html: String,
    md: String,
    _dir: tempfile::TempDir,
}

static REPORTED: LazyLock<Reported> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("report");
    let input = fixture("scan.jsonl");
    let out = run(
        &[
            "report",
            input.to_str().expect("utf-8 path"),
            "--format",
            "html,md,csv,json,jsonl",
            "-o",
            prefix.to_str().expect("utf-8 path"),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = |ext| prefix.with_extension(ext);
    let text = |ext| std::fs::read_to_string(path(ext)).expect("a report");
    Reported {
        summary: stdout(&out),
        stderr: stderr(&out),
        records: read_jsonl(&path("jsonl")),
        jsonl: path("jsonl"),
        csv: read_csv(&path("csv")),
        json: read_json(&path("json")),
        html: text("html"),
        md: text("md"),
        _dir: dir,
    }
});

fn all(old: &[Old]) -> Vec<&Old> {
    old.iter().collect()
}

#[test]
fn report_writes_every_format_from_main_s_records_without_a_complaint() {
    let r = &REPORTED;
    for ext in ["csv", "json", "jsonl", "html", "md"] {
        assert!(
            r.stderr.contains(&format!("report.{ext}")),
            "{ext} not written: {}",
            r.stderr
        );
    }
    assert!(!r.stderr.contains("note:"), "{}", r.stderr);
    let open = SCAN
        .iter()
        .filter(|o| o.conclusions.verdict.as_deref() == Some("open-relay"))
        .count();
    assert!(open > 0);
    assert!(
        r.summary.contains(&format!("Open relays ({open}):")),
        "{}",
        r.summary
    );
}

#[test]
fn report_s_jsonl_and_json_hold_main_s_conclusions_and_every_attempt() {
    assert_whole(&REPORTED.records, &all(&SCAN), "report.jsonl");
    let records: Vec<ScanRecord> = REPORTED.json["records"]
        .as_array()
        .expect("a records array")
        .iter()
        .map(|r| serde_json::from_value(r.clone()).expect("a record"))
        .collect();
    assert_whole(&records, &all(&SCAN), "report.json");
    assert_eq!(REPORTED.json["summary"]["probed"], SCAN.len());
}

#[test]
fn report_s_csv_holds_main_s_verdicts_and_findings() {
    let (header, rows) = &REPORTED.csv;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    assert_eq!(rows.len(), SCAN.len());
    for o in SCAN.iter() {
        let row = rows
            .iter()
            .find(|r| format!("{}:{}", r[col("ip")], r[col("port")]) == o.endpoint)
            .unwrap_or_else(|| panic!("no row for {}", o.endpoint));
        let c = &o.conclusions;
        let ids: Vec<&str> = c.findings.iter().map(|f| id_of(f)).collect();
        let open: Vec<String> = c.open_tests.iter().map(u8::to_string).collect();
        let cells = [
            ("status", c.status.clone()),
            ("verdict", c.verdict.clone().unwrap_or_default()),
            ("open_tests", open.join(";")),
            ("accepts_any_recipient", c.accepts_any_recipient.to_string()),
            ("findings", ids.join(";")),
            // The most severe: the first finding's.
            (
                "severity",
                severity_of(c.findings.first().expect("findings")).to_string(),
            ),
        ];
        for (name, want) in cells {
            assert_eq!(row[col(name)], want, "{} {name}", o.endpoint);
        }
    }
}

fn id_of(finding: &str) -> &str {
    finding.split_once(':').expect("id:severity").0
}

fn severity_of(finding: &str) -> &str {
    finding.split_once(':').expect("id:severity").1
}

#[test]
fn report_s_html_and_markdown_show_main_s_verdicts_and_findings() {
    let sections: Vec<&str> = REPORTED
        .html
        .split("<tbody class=\"host\"")
        .skip(1)
        .collect();
    assert_eq!(sections.len(), SCAN.len());
    let mut md_findings = 0;
    for o in SCAN.iter() {
        let c = &o.conclusions;
        let endpoint_cell = format!("<td class=\"c-endpoint\">{}</td>", o.endpoint);
        let section = sections
            .iter()
            .find(|s| s.contains(&endpoint_cell))
            .unwrap_or_else(|| panic!("no HTML section for {}", o.endpoint));
        let verdict = c.verdict.as_deref().expect("a verdict");
        assert!(
            section.starts_with(&format!(" data-verdict=\"{verdict}\"")),
            "{}: {}",
            o.endpoint,
            &section[..80]
        );
        assert!(
            section.contains(&format!("<td class=\"c-status\">{}</td>", c.status)),
            "{}",
            o.endpoint
        );
        for f in &c.findings {
            let (id, severity) = (id_of(f), severity_of(f));
            let html =
                format!("<span class=\"badge sev-{severity}\">{severity}</span> <code>{id}</code>");
            assert!(section.contains(&html), "{}: {html}", o.endpoint);
            let md = format!("| {severity} | `{}` | `{id}` ", o.endpoint);
            assert!(REPORTED.md.contains(&md), "markdown: {md}");
            md_findings += 1;
        }
    }
    // One line per finding in the markdown's findings table, no more.
    let rows = REPORTED
        .md
        .lines()
        .filter(|l| {
            ["critical", "high", "medium", "low", "info"]
                .iter()
                .any(|s| l.starts_with(&format!("| {s} | `")))
        })
        .count();
    assert_eq!(rows, md_findings);
}

/// `relayscan merge` of `inputs` into a temp folder: its stderr and merged records.
fn merge(inputs: &[&Path]) -> (String, Vec<ScanRecord>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(inputs.iter().map(|p| p.to_str().expect("utf-8 path")));
    args.extend(["-o", prefix.to_str().expect("utf-8 path")]);
    let out = run(&args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (stderr(&out), read_jsonl(&prefix.with_extension("jsonl")))
}

#[test]
fn merge_of_two_halves_of_main_s_records_keeps_each_one_whole() {
    // Two shards as far as merge can tell: neither has a JSON report beside it, so there
    // is no shard metadata to check.
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(fixture("scan.jsonl")).expect("fixture");
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = lines.split_at(lines.len() / 2);
    let halves = [("a", a), ("b", b)].map(|(name, lines)| {
        let path = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&path, lines.join("\n") + "\n").expect("write a half");
        path
    });
    let (err, merged) = merge(&[&halves[0], &halves[1]]);
    assert!(
        err.contains(&format!(
            "merged {} records from 2 files (0 duplicates dropped)",
            SCAN.len()
        )),
        "{err}"
    );
    assert_whole(&merged, &all(&SCAN), "merged halves");
    let order: Vec<_> = merged.iter().map(|r| (r.ip, r.port)).collect();
    assert!(order.is_sorted(), "by address and port: {order:?}");
}

#[test]
fn merge_of_main_s_scan_and_rescan_keeps_the_later_record_of_each_endpoint() {
    let (err, merged) = merge(&[&fixture("scan.jsonl"), &fixture("rescan.jsonl")]);
    assert!(
        err.contains(&format!("({} duplicates dropped)", RESCAN.len())),
        "{err}"
    );
    // The rescan ran after the scan, and both have verdicts: its records win.
    let mut kept: Vec<&Old> = SCAN
        .iter()
        .filter(|o| RESCAN.iter().all(|n| n.endpoint != o.endpoint))
        .collect();
    kept.extend(RESCAN.iter());
    assert_whole(&merged, &kept, "merged scan and rescan");
}

/// `relayscan diff OLD NEW -o …`: its stdout and the diff's JSON document.
fn diff(old: &Path, new: &Path) -> (String, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("diff");
    let out = run(
        &[
            "diff",
            old.to_str().expect("utf-8 path"),
            new.to_str().expect("utf-8 path"),
            "-o",
            prefix.to_str().expect("utf-8 path"),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (stdout(&out), read_json(&prefix.with_extension("json")))
}

fn assert_no_change(old: &Path, new: &Path) {
    let (table, doc) = diff(old, new);
    assert_eq!(doc["changes"], serde_json::json!([]), "{table}");
    let counts = doc["counts"].as_object().expect("counts");
    assert!(counts.len() >= 7, "{counts:?}");
    assert!(counts.values().all(|n| n == 0), "{counts:?}");
    assert!(table.contains("Diff summary: 0 new-open-relay"), "{table}");
}

#[test]
fn diff_of_main_s_records_with_themselves_finds_no_change() {
    let scan = fixture("scan.jsonl");
    assert_no_change(&scan, &scan);
}

#[test]
fn diff_of_main_s_records_with_today_s_rewrite_of_them_finds_no_change() {
    // Old schema against new, the same scan: the upgrade changes no verdict or finding.
    assert_no_change(&fixture("scan.jsonl"), &REPORTED.jsonl);
    assert_no_change(&REPORTED.jsonl, &fixture("scan.jsonl"));
}

#[test]
fn diff_of_main_s_two_scans_finds_the_greylister_open_and_the_finding_added() {
    let (table, doc) = diff(&fixture("scan.jsonl"), &fixture("rescan.jsonl"));
    let rows: Vec<(String, String, Option<String>)> = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|row| {
            let finding = row["finding"]
                .as_str()
                .map(|id| format!("{id}:{}", row["severity"].as_str().unwrap_or("?")));
            let endpoint = format!("{}:{}", row["ip"].as_str().expect("ip"), row["port"]);
            (
                row["change"].as_str().expect("change").to_string(),
                endpoint,
                finding,
            )
        })
        .collect();
    // What main's own records say: the greylister let the retry through, and relaying
    // over plaintext and TLS both showed tls-required relaying only after STARTTLS.
    let grey = endpoint_of("greylisting.lab.test");
    let tls = endpoint_of("tls-required.lab.test");
    let mut expected = vec![
        ("new-open-relay".to_string(), grey.to_string(), None),
        (
            "finding-added".into(),
            grey.into(),
            Some("open-relay:critical".into()),
        ),
        (
            "finding-added".into(),
            tls.into(),
            Some("relay-only-after-starttls:high".into()),
        ),
        (
            "finding-removed".into(),
            grey.into(),
            Some("relay-inconclusive:info".into()),
        ),
    ];
    // Every other endpoint of the scan is not in the rescan.
    for o in SCAN
        .iter()
        .filter(|o| o.endpoint != grey && o.endpoint != tls)
    {
        expected.push(("host-gone".into(), o.endpoint.clone(), None));
    }
    let mut got = rows.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{table}");
    assert!(
        table.contains(&format!("new-open-relay   {grey}")),
        "{table}"
    );
}
