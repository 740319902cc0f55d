//! Compliance reports against the lab: findings per persona, the JSON Schema, HTML and
//! Markdown reports, `report` regenerating them from JSONL, `diff`, and the exit codes.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use relayscan::lab::Persona;
use relayscan::probe::findings::{FindingId, Severity};
use relayscan::report::ScanRecord;
use relayscan::report::schema::RECORD_SCHEMA;

use crate::support::{LabProcess, nets, read_csv, read_json, read_jsonl, run, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(60);

/// `relayscan scan TARGETS -p PORT -q -o DIR/NAME EXTRA...`; returns the prefix and the exit code.
fn scan(lab: &LabProcess, dir: &Path, name: &str, targets: &str, extra: &[&str]) -> (PathBuf, i32) {
    let prefix = dir.join(name);
    let port = lab.port_arg();
    let mut args = vec![
        "scan",
        targets,
        "-p",
        &port,
        "--rate",
        "1000",
        "-q",
        "-o",
        prefix.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, LIMIT);
    (prefix, out.status.code().unwrap_or(-1))
}

fn path(prefix: &Path, ext: &str) -> PathBuf {
    PathBuf::from(format!("{}.{ext}", prefix.display()))
}

fn ids(r: &ScanRecord) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.id.as_str()).collect()
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(RECORD_SCHEMA).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Every persona: the findings each should raise, the schema, and the HTML/Markdown files.
#[test]
fn every_persona_gets_its_findings_and_every_record_fits_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(nets::COMPLIANCE.lab_network(), dir.path(), &[]);
    let targets = lab.range(lab.hosts);
    let (prefix, code) = scan(
        &lab,
        dir.path(),
        "all",
        &targets,
        &["--format", "csv,jsonl,json,html,md"],
    );
    assert_eq!(code, 0);

    // The schema holds for every line of the JSONL and every record of the JSON document.
    let validator = validator();
    let text = std::fs::read_to_string(path(&prefix, "jsonl")).unwrap();
    for (n, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "line {}: {errors:?}", n + 1);
    }
    let doc = read_json(&path(&prefix, "json"));
    for record in doc["records"].as_array().unwrap() {
        assert!(validator.is_valid(record));
    }

    let records = read_jsonl(&path(&prefix, "jsonl"));
    assert_eq!(records.len(), lab.hosts, "every persona answers");
    let by_persona = |p: Persona| -> &ScanRecord {
        let n = Persona::ALL.iter().position(|x| *x == p).unwrap();
        let ip: IpAddr = lab.addr(n);
        records
            .iter()
            .find(|r| r.ip == ip)
            .unwrap_or_else(|| panic!("no record for {p}"))
    };
    // (persona, findings it must have)
    let table: &[(Persona, &[&str])] = &[
        (Persona::OpenRelay, &["open-relay", "starttls-missing"]),
        (
            Persona::AcceptAllSink,
            &["open-relay", "accepts-any-recipient"],
        ),
        (Persona::Closed, &["starttls-missing"]),
        (Persona::Greylisting, &["relay-inconclusive"]),
        (Persona::NotSmtp, &["not-smtp"]),
        (Persona::Busy, &["relay-inconclusive"]),
        (Persona::StarttlsSelfSigned, &["tls-cert-self-signed"]),
        (Persona::TlsRequired, &["open-relay"]),
        (Persona::ExpiredCert, &["tls-cert-expired"]),
        (Persona::TlsBroken, &["tls-handshake-failed"]),
        (Persona::StarttlsInjection, &["starttls-injection"]),
        (
            Persona::AuthBeforeTls,
            &["auth-before-tls", "tls-cert-expiring-soon"],
        ),
        (Persona::HostileCsv, &["banner-version", "auth-before-tls"]),
        (Persona::HostileHtml, &["open-relay"]),
    ];
    for (persona, want) in table {
        let r = by_persona(*persona);
        for id in *want {
            assert!(ids(r).contains(id), "{persona}: {id} not in {:?}", ids(r));
        }
    }
    // No false alarms where there is nothing to find.
    assert!(!ids(by_persona(Persona::Closed)).contains(&"open-relay"));
    assert!(
        by_persona(Persona::AuthRequired)
            .findings
            .iter()
            .all(|f| f.id != FindingId::OpenRelay)
    );

    for r in &records {
        // Severity belongs to the id; open relays and only they carry the critical finding.
        for f in &r.findings {
            assert_eq!(f.severity, f.id.severity(), "{}", f.id);
            assert!(!f.remediation.is_empty() && !f.title.is_empty());
        }
        let critical = r.findings.iter().any(|f| f.severity == Severity::Critical);
        assert_eq!(
            critical,
            r.verdict == Some(relayscan::probe::Verdict::OpenRelay),
            "{}",
            r.endpoint()
        );
        // Most severe first.
        assert!(
            r.findings
                .windows(2)
                .all(|w| w[0].severity >= w[1].severity)
        );
    }

    let open = by_persona(Persona::OpenRelay);
    let f = &open.findings[0];
    assert_eq!(f.id, FindingId::OpenRelay);
    assert_eq!(f.evidence[0], "C: MAIL FROM:<>");
    assert!(f.evidence[1].starts_with("S: 250"), "{:?}", f.evidence);
    assert!(
        by_persona(Persona::TlsRequired).findings[0]
            .detail
            .contains("after STARTTLS"),
        "{:?}",
        by_persona(Persona::TlsRequired).findings[0]
    );
    // The MTA the greeting names picks the remediation.
    let exim = by_persona(Persona::HostileCsv);
    assert_eq!(exim.mta.as_str(), "exim");
    let banner = exim
        .findings
        .iter()
        .find(|f| f.id == FindingId::BannerVersion)
        .unwrap();
    assert_eq!(banner.detail, "the greeting discloses Exim 4.96");
    assert!(
        banner.remediation.contains("smtp_banner"),
        "{}",
        banner.remediation
    );
    let postfix = by_persona(Persona::HostileHtml);
    assert_eq!(postfix.mta.as_str(), "postfix");
    assert!(
        postfix.findings[0]
            .remediation
            .contains("smtpd_relay_restrictions")
    );

    // CSV: the findings columns.
    let (header, rows) = read_csv(&path(&prefix, "csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let open_row = rows
        .iter()
        .find(|r| r[col("ip")] == open.ip.to_string())
        .unwrap();
    assert_eq!(open_row[col("severity")], "critical");
    assert!(
        open_row[col("findings")].starts_with("open-relay;"),
        "{open_row:?}"
    );

    // HTML: one host section per record, self-contained; Markdown: the headline counts.
    let html = std::fs::read_to_string(path(&prefix, "html")).unwrap();
    assert_eq!(html.matches("<tbody class=\"host\"").count(), records.len());
    // No asset to fetch: no element or style that loads anything. (URLs in server text,
    // such as the greylister's help link, are escaped text.)
    for external in [
        "src=\"", "href=\"", "url(", "@import", "<link", "<iframe", "<object", "<embed",
    ] {
        assert!(!html.contains(external), "{external}");
    }
    let open_count = records
        .iter()
        .filter(|r| r.verdict == Some(relayscan::probe::Verdict::OpenRelay))
        .count();
    let md = std::fs::read_to_string(path(&prefix, "md")).unwrap();
    assert!(
        md.starts_with(&format!("# relayscan report: {open_count} open relays,")),
        "{md}"
    );
    assert!(md.contains("## Remediation"));
    assert!(md.contains(&format!("| open-relay | {open_count} |")));
}

/// `report` regenerates the same data from the JSONL, with the run metadata from the JSON
/// beside it, and refuses to overwrite its input.
#[test]
fn report_regenerates_every_format_from_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::COMPLIANCE_REPORT.lab_network(),
        dir.path(),
        &[
            "--persona",
            "open-relay",
            "--persona",
            "closed",
            "--persona",
            "expired-cert",
        ],
    );
    let (prefix, code) = scan(
        &lab,
        dir.path(),
        "orig",
        &lab.range(3),
        &["--format", "csv,jsonl,json"],
    );
    assert_eq!(code, 0);
    let again = dir.path().join("out/again");
    let out = run(
        &[
            "report",
            path(&prefix, "jsonl").to_str().unwrap(),
            "--format",
            "html,md,csv,json,jsonl",
            "-o",
            again.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Scan summary"), "{}", stdout(&out));
    assert_eq!(
        read_jsonl(&path(&again, "jsonl")),
        read_jsonl(&path(&prefix, "jsonl"))
    );
    assert_eq!(
        std::fs::read(path(&again, "csv")).unwrap(),
        std::fs::read(path(&prefix, "csv")).unwrap(),
        "the CSV is a function of the records"
    );
    let (orig_doc, new_doc) = (
        read_json(&path(&prefix, "json")),
        read_json(&path(&again, "json")),
    );
    assert_eq!(
        new_doc["run"], orig_doc["run"],
        "run metadata from the JSON beside the JSONL"
    );
    assert_eq!(new_doc["finished_at"], orig_doc["finished_at"]);
    assert_eq!(new_doc["records"], orig_doc["records"]);
    let html = std::fs::read_to_string(path(&again, "html")).unwrap();
    assert_eq!(html.matches("<tbody class=\"host\"").count(), 3);
    assert!(
        html.contains(&lab.range(3)),
        "the original targets are in the metadata"
    );
    assert!(
        std::fs::read_to_string(path(&again, "md"))
            .unwrap()
            .starts_with("# relayscan report: 1 open relay,")
    );

    // Without the JSON document, the report says where its data came from.
    std::fs::remove_file(path(&prefix, "json")).unwrap();
    let out = run(
        &["report", path(&prefix, "jsonl").to_str().unwrap(), "-q"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(path(&prefix, "html")).unwrap();
    assert!(
        html.contains("regenerated from"),
        "default prefix is the input's"
    );

    // Writing the JSONL over itself is refused before anything is touched.
    let before = std::fs::read(path(&prefix, "jsonl")).unwrap();
    let out = run(
        &[
            "report",
            path(&prefix, "jsonl").to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is the input"), "{}", stderr(&out));
    assert_eq!(std::fs::read(path(&prefix, "jsonl")).unwrap(), before);
}

/// The greylister defers the first scan and relays on the second: diff shows a new open
/// relay, and gates on it; the reverse is a changed verdict, not a fix.
#[test]
fn diff_finds_the_greylister_that_opened_up() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::COMPLIANCE_DIFF.lab_network(),
        dir.path(),
        &["--persona", "greylisting", "--persona", "closed"],
    );
    let (first, _) = scan(&lab, dir.path(), "first", &lab.range(2), &[]);
    let (second, _) = scan(&lab, dir.path(), "second", &lab.range(2), &[]);
    let old = path(&first, "jsonl");
    let new = path(&second, "jsonl");
    let grey = lab.addr(0).to_string();

    let d = dir.path().join("d/changes");
    let out = run(
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            d.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let line = table
        .lines()
        .find(|l| l.starts_with("new-open-relay"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.contains(&grey) && line.contains("inconclusive") && line.contains("open-relay"),
        "{line}"
    );
    assert!(
        table.contains("finding-added") && table.contains("finding-removed"),
        "{table}"
    );
    assert!(table.contains("Diff summary: 1 new-open-relay,"), "{table}");

    let doc = read_json(&path(&d, "json"));
    assert_eq!(doc["counts"]["new-open-relay"], 1);
    assert_eq!(doc["counts"]["fixed"], 0);
    let (header, rows) = read_csv(&path(&d, "csv"));
    assert_eq!(header[0], "change");
    assert!(
        rows.iter()
            .any(|r| r[0] == "finding-added" && r[5] == "open-relay" && r[6] == "critical")
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == "finding-removed" && r[5] == "relay-inconclusive")
    );
    assert!(
        rows.iter().all(|r| r[1] == grey),
        "the closed host did not change: {rows:?}"
    );

    let gate = |a: &Path, b: &Path, level: &str| {
        run(
            &[
                "diff",
                a.to_str().unwrap(),
                b.to_str().unwrap(),
                "--fail-on",
                level,
            ],
            LIMIT,
        )
        .status
        .code()
    };
    assert_eq!(gate(&old, &new, "open-relay"), Some(1));
    assert_eq!(gate(&old, &new, "critical"), Some(1));
    // Backwards: the relay went back to inconclusive; nothing new to fail on, and not "fixed".
    assert_eq!(gate(&new, &old, "open-relay"), Some(0));
    let back = run(
        &["diff", new.to_str().unwrap(), old.to_str().unwrap()],
        LIMIT,
    );
    assert!(stdout(&back).contains("0 fixed"), "{}", stdout(&back));
    assert!(
        stdout(&back)
            .lines()
            .any(|l| l.starts_with("verdict-changed"))
    );
}

/// 0 clean, 1 when --fail-on trips, 2 usage or input, 3 runtime failure; in --help too.
#[test]
fn exit_codes_for_ci() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::FAIL_ON.lab_network(),
        dir.path(),
        &["--persona", "open-relay", "--persona", "closed"],
    );
    let open = lab.addr(0).to_string();
    let closed = lab.addr(1).to_string();

    assert_eq!(
        scan(&lab, dir.path(), "a", &open, &["--fail-on", "open-relay"]).1,
        1
    );
    assert_eq!(
        scan(&lab, dir.path(), "b", &open, &["--fail-on", "critical"]).1,
        1
    );
    assert_eq!(
        scan(&lab, dir.path(), "c", &open, &[]).1,
        0,
        "no gate, no failure"
    );
    // The closed persona offers no STARTTLS (medium) and nothing worse.
    assert_eq!(
        scan(&lab, dir.path(), "d", &closed, &["--fail-on", "open-relay"]).1,
        0
    );
    assert_eq!(
        scan(&lab, dir.path(), "e", &closed, &["--fail-on", "high"]).1,
        0
    );
    let (closed_prefix, code) = scan(&lab, dir.path(), "f", &closed, &["--fail-on", "medium"]);
    assert_eq!(code, 1);

    let out = run(&["scan", &closed, "--fail-on", "severe"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--fail-on") && stderr(&out).contains("\"severe\""),
        "{}",
        stderr(&out)
    );

    // report: the same gate over the data of record; bad input is 2 with file:line.
    let jsonl = path(&closed_prefix, "jsonl");
    let out_prefix = dir.path().join("r/x");
    let report = |extra: &[&str]| {
        let mut args = vec![
            "report",
            jsonl.to_str().unwrap(),
            "-q",
            "-o",
            out_prefix.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args, LIMIT)
    };
    assert_eq!(report(&["--fail-on", "medium"]).status.code(), Some(1));
    assert_eq!(report(&["--fail-on", "high"]).status.code(), Some(0));
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"not\": \"a record\"}\n").unwrap();
    let out = run(&["report", bad.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}:1: not a relayscan record", bad.display())),
        "{}",
        stderr(&out)
    );
    let out = run(
        &["report", dir.path().join("missing.jsonl").to_str().unwrap()],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));

    // A report that cannot be written is a runtime failure: 3, naming the path.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let blocked = file.join("sub/report");
    let out = run(
        &[
            "report",
            jsonl.to_str().unwrap(),
            "-o",
            blocked.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("plain-file"), "{}", stderr(&out));
    let (_, code) = scan(&lab, dir.path(), "plain-file/sub/scan", &closed, &[]);
    assert_eq!(code, 3);

    let help = stdout(&run(&["--help"], LIMIT));
    for line in ["Exit codes:", "  0 ", "  1 ", "  2 ", "  3 ", "  130 "] {
        assert!(help.contains(line), "{line:?} not in --help:\n{help}");
    }
    assert!(stdout(&run(&["scan", "--help"], LIMIT)).contains("--fail-on <LEVEL>"));
}
