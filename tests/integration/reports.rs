//! Report contents: CSV columns and neutralised cells, JSONL records, the JSON document.
//!
//! Three personas and two silent addresses are scanned once for the module, by default
//! and with `--all`; the excludes test has a lab of its own, whose log no other scan
//! touches.

use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::Duration;

use relayscan::probe::Status;
use relayscan::report::ScanRecord;
use relayscan::report::csv::CSV_COLUMNS;
use relayscan_lab::Persona;

use crate::support::personas::{PersonaRecords, start_lab};
use crate::support::{LabProcess, nets, read_csv, read_json, read_jsonl, run, stderr, stdout};

const PERSONAS: [Persona; 3] = [Persona::OpenRelay, Persona::Closed, Persona::AuthRequired];

/// The lab scanned twice; the lab has stopped.
struct Scanned {
    port: u16,
    /// By default: the endpoints that answered.
    answered: PersonaRecords,
    csv: (Vec<String>, Vec<Vec<String>>),
    json: serde_json::Value,
    /// With `--all --format jsonl`.
    all: Vec<ScanRecord>,
    /// Whether the `--format jsonl` scan wrote a CSV anyway.
    all_wrote_csv: bool,
    /// The default scan's stdout: the terminal summary.
    terminal: String,
}

static SCANNED: LazyLock<Scanned> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(nets::REPORTS, dir.path(), &PERSONAS, &[]);
    // Three personas plus two addresses where nothing listens.
    let targets = lab.range(PERSONAS.len() + 2);
    let port = lab.port_arg();
    let scan = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        let mut args = vec!["scan", &targets, "-p", &port, "-q", "-o"];
        args.push(prefix.to_str().unwrap());
        args.extend_from_slice(extra);
        let out = run(&args, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        (prefix, stdout(&out))
    };
    let (answered, terminal) = scan("answered", &[]);
    let (all, _) = scan("all", &["--all", "--format", "jsonl"]);
    Scanned {
        port: lab.port,
        answered: PersonaRecords::new(
            &lab,
            &PERSONAS,
            read_jsonl(&answered.with_extension("jsonl")),
        ),
        csv: read_csv(&answered.with_extension("csv")),
        json: read_json(&answered.with_extension("json")),
        all: read_jsonl(&all.with_extension("jsonl")),
        all_wrote_csv: all.with_extension("csv").exists(),
        terminal,
    }
});

/// The terminal summary names the endpoints that did not answer with exactly the JSON's
/// status names and counts (the two silent addresses are "refused", not "unreachable").
#[test]
fn the_terminal_summary_uses_the_json_status_names() {
    let text = &SCANNED.terminal;
    let row = |label: &str| -> Option<u64> {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix("  ")?.strip_prefix(label)?;
            rest.starts_with("  ").then(|| rest.trim().parse().ok())?
        })
    };
    let by_status = &SCANNED.json["summary"]["by_status"];
    assert_eq!(by_status["refused"], 2, "{by_status}");
    for status in Status::ALL.into_iter().filter(|s| !s.answered()) {
        let name = status.as_str();
        assert_eq!(row(name), by_status[name].as_u64(), "{name} in\n{text}");
    }
    assert_eq!(row("refused"), Some(2), "{text}");
}

#[test]
fn only_endpoints_that_answered_are_recorded_by_default() {
    let mut ips: Vec<IpAddr> = SCANNED.answered.records.iter().map(|r| r.ip).collect();
    ips.sort();
    let answering: Vec<IpAddr> = SCANNED.answered.addrs().collect();
    assert_eq!(ips, answering);
}

#[test]
fn every_record_carries_the_schema_version() {
    for r in &SCANNED.answered.records {
        assert_eq!(r.schema_version, relayscan::report::record::SCHEMA_VERSION);
    }
}

#[test]
fn csv_has_the_documented_columns_and_a_row_per_record() {
    let (header, rows) = &SCANNED.csv;
    let documented: Vec<String> = CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
    assert_eq!(header, &documented);
    assert_eq!(rows.len(), PERSONAS.len());
}

#[test]
fn csv_rows_carry_verdict_port_banner_and_auth() {
    let (header, rows) = &SCANNED.csv;
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = |p: Persona| {
        let ip = SCANNED.answered.addr(p).to_string();
        rows.iter()
            .find(|r| r[col("ip")] == ip)
            .unwrap_or_else(|| panic!("no row for {p}"))
    };
    let open = row(Persona::OpenRelay);
    assert_eq!(open[col("verdict")], "open-relay");
    assert_eq!(open[col("port")], SCANNED.port.to_string());
    assert!(open[col("banner")].starts_with("220 open-relay.lab.test"));
    let auth = row(Persona::AuthRequired);
    assert_eq!(auth[col("verdict")], "auth-required");
    assert!(auth[col("auth")].contains("PLAIN"));
}

#[test]
fn the_json_document_holds_the_run_and_its_summary() {
    let doc = &SCANNED.json;
    assert_eq!(doc["schema_version"], relayscan::report::SCHEMA_VERSION);
    assert_eq!(doc["records"].as_array().unwrap().len(), PERSONAS.len());
    assert_eq!(doc["run"]["tool"], "relayscan");
    assert!(
        doc["run"]["command_line"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "scan")
    );
    assert_eq!(doc["run"]["settings"]["data_sent"], false);
    assert_eq!(doc["summary"]["by_verdict"]["open-relay"], 1);
    assert_eq!(doc["summary"]["by_verdict"]["relay-denied"], 1);
    assert_eq!(doc["summary"]["by_verdict"]["auth-required"], 1);
    assert_eq!(doc["summary"]["by_status"]["refused"], 2);
    assert_eq!(doc["interrupted"], false);
}

#[test]
fn all_adds_the_endpoints_that_refused_the_connection() {
    assert_eq!(SCANNED.all.len(), PERSONAS.len() + 2);
    let refused = SCANNED
        .all
        .iter()
        .filter(|r| r.status == Status::Refused)
        .count();
    assert_eq!(refused, 2);
}

#[test]
fn format_jsonl_writes_only_jsonl() {
    assert!(!SCANNED.all.is_empty());
    assert!(!SCANNED.all_wrote_csv);
}

#[test]
fn excludes_always_win() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::EXCLUDES.lab_network(),
        dir.path(),
        &["--persona", "closed", "--hosts", "4"],
    );
    let excludes = dir.path().join("excludes.txt");
    std::fs::write(
        &excludes,
        format!("# keep the last one out\n{}\n", lab.addr(3)),
    )
    .unwrap();
    let prefix = dir.path().join("ex");
    let out = run(
        &[
            "scan",
            &lab.range(4),
            "-p",
            &lab.port_arg(),
            "--exclude",
            &lab.addr(0).to_string(),
            "--exclude-file",
            excludes.to_str().unwrap(),
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ips: Vec<IpAddr> = read_jsonl(&prefix.with_extension("jsonl"))
        .iter()
        .map(|r| r.ip)
        .collect();
    ips.sort();
    assert_eq!(ips, [lab.addr(1), lab.addr(2)]);
    // No traffic to either exclude, by flag or from the file.
    let reached = lab.addresses_reached();
    for excluded in [lab.addr(0), lab.addr(3)] {
        assert!(
            !reached.contains(&excluded),
            "traffic to the exclude {excluded}"
        );
    }
}
