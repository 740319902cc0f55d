//! Ctrl-C: nothing new starts, in-flight probes get a grace, every report is complete and valid.

use std::time::{Duration, Instant};

use relayscan::probe::Status;

use crate::support::{LabProcess, nets, read_csv, read_json, read_jsonl, relayscan, stderr};

#[test]
fn ctrl_c_leaves_complete_valid_reports_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    // 300 ms per reply, one command at a time (pipelined, the dialogue would be over in
    // ~1.5 s): a full dialogue takes ~15 s, so the interrupt lands mid-dialogue.
    let lab = LabProcess::start(
        nets::INTERRUPT.lab_network(),
        dir.path(),
        &[
            "--persona",
            "closed",
            "--hosts",
            "40",
            "--reply-delay",
            "300ms",
        ],
    );
    let prefix = dir.path().join("int");
    let child = relayscan()
        .args([
            "scan",
            &lab.range(40),
            "-p",
            &lab.port_arg(),
            "-c",
            "10",
            "--grace",
            "500ms",
            "--no-pipelining",
            "--no-progress",
            "-o",
            prefix.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "stops promptly after the grace"
    );
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));

    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(
        records.len(),
        10,
        "the ten in-flight hosts are recorded, nothing new started"
    );
    assert!(
        records.iter().all(|r| r.status == Status::Cancelled),
        "{:?}",
        records.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        records
            .iter()
            .all(|r| r.banner.as_deref().is_some_and(|b| b.starts_with("220"))),
        "partial data is kept"
    );
    let doc = read_json(&prefix.with_extension("json"));
    assert_eq!(doc["interrupted"], true);
    assert_eq!(doc["records"].as_array().unwrap().len(), 10);
    let (_, rows) = read_csv(&prefix.with_extension("csv"));
    assert_eq!(rows.len(), 10);
}
