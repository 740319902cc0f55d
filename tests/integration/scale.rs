//! A range where nothing listens completes, with every endpoint accounted for.

use std::time::Duration;

use relayscan::probe::Status;

use crate::support::{nets, read_json, read_jsonl, run, stderr};

#[test]
fn a_silent_slash_20_completes_and_counts_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("silent");
    // Port 9 (discard) on a /20: nothing listens there, every connect is refused.
    let out = run(
        &[
            "scan",
            &nets::SILENT_SLASH_20.cidr(),
            "-p",
            "9",
            "-c",
            "500",
            "--rate",
            "100000",
            "--all",
            "--no-progress",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("4096/4096"),
        "a final status line: {}",
        stderr(&out)
    );
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), 4096);
    assert!(
        records
            .iter()
            .all(|r| r.status == Status::Refused && r.verdict.is_none())
    );
    let doc = read_json(&prefix.with_extension("json"));
    assert_eq!(doc["summary"]["by_status"]["refused"], 4096);
}
