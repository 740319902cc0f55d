//! Report contents: CSV columns and neutralised cells, JSONL records, the JSON document.

use std::time::Duration;

use relayscan::report::csv::CSV_COLUMNS;

use crate::support::{LabProcess, nets, read_csv, read_json, read_jsonl, run, stderr};

#[test]
fn csv_jsonl_and_json_agree_and_unanswered_are_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::REPORTS.lab_network(),
        dir.path(),
        &[
            "--persona",
            "open-relay",
            "--persona",
            "closed",
            "--persona",
            "auth-required",
        ],
    );
    // Three personas plus two addresses where nothing listens.
    let targets = lab.range(5);
    let port = lab.port_arg();
    let scan = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        let mut args = vec![
            "scan",
            targets.as_str(),
            "-p",
            &port,
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = run(&args, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        prefix
    };

    let prefix = scan("answered", &[]);
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), 3, "only endpoints that answered by default");
    assert!(
        records
            .iter()
            .all(|r| r.schema_version == relayscan::report::record::SCHEMA_VERSION)
    );

    let (header, rows) = read_csv(&prefix.with_extension("csv"));
    assert_eq!(
        header,
        CSV_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(rows.len(), 3);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let open_row = rows
        .iter()
        .find(|r| r[col("ip")] == lab.addr(0).to_string())
        .expect("open relay row");
    assert_eq!(open_row[col("verdict")], "open-relay");
    assert_eq!(open_row[col("port")], lab.port.to_string());
    assert!(open_row[col("banner")].starts_with("220 open-relay.lab.test"));
    let auth_row = rows
        .iter()
        .find(|r| r[col("ip")] == lab.addr(2).to_string())
        .expect("auth row");
    assert_eq!(auth_row[col("verdict")], "auth-required");
    assert!(auth_row[col("auth")].contains("PLAIN"));

    let doc = read_json(&prefix.with_extension("json"));
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["records"].as_array().unwrap().len(), 3);
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

    let prefix = scan("all", &["--all", "--format", "jsonl"]);
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), 5, "--all adds the refused endpoints");
    assert_eq!(
        records
            .iter()
            .filter(|r| r.status == relayscan::probe::Status::Refused)
            .count(),
        2
    );
    assert!(
        !prefix.with_extension("csv").exists(),
        "--format jsonl writes only JSONL"
    );
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
    let mut ips: Vec<String> = read_jsonl(&prefix.with_extension("jsonl"))
        .iter()
        .map(|r| r.ip.to_string())
        .collect();
    ips.sort();
    assert_eq!(ips, vec![lab.addr(1).to_string(), lab.addr(2).to_string()]);
    let connected: std::collections::HashSet<String> = lab
        .received()
        .iter()
        .map(|c| c["host"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !connected
            .iter()
            .any(|h| h.starts_with(&format!("{}:", lab.addr(0)))),
        "no traffic to an exclude"
    );
}
