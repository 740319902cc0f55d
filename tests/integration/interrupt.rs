//! Ctrl-C: nothing new starts, in-flight probes get a grace, every report is complete and valid.
//!
//! One scan is interrupted once for the module; each test checks one consequence.

use std::process::Output;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use relayscan::probe::Status;
use relayscan::report::ScanRecord;

use crate::support::{LabProcess, nets, read_csv, read_json, read_jsonl, relayscan, stderr};

/// Ten slots: the hosts in flight when the signal came.
const SLOTS: usize = 10;

/// The interrupted scan; the lab has stopped.
struct Interrupted {
    out: Output,
    /// From SIGINT to the exit.
    stopping: Duration,
    records: Vec<ScanRecord>,
    csv_rows: usize,
    json: serde_json::Value,
    html: String,
    md: String,
}

static INTERRUPTED: LazyLock<Interrupted> = LazyLock::new(|| {
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
            &SLOTS.to_string(),
            "--grace",
            "500ms",
            "--no-pipelining",
            "--no-progress",
            "--format",
            "csv,jsonl,json,html,md",
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
    Interrupted {
        stopping: sent.elapsed(),
        out,
        records: read_jsonl(&prefix.with_extension("jsonl")),
        csv_rows: read_csv(&prefix.with_extension("csv")).1.len(),
        json: read_json(&prefix.with_extension("json")),
        html: std::fs::read_to_string(prefix.with_extension("html")).unwrap(),
        md: std::fs::read_to_string(prefix.with_extension("md")).unwrap(),
    }
});

#[test]
fn ctrl_c_exits_130_promptly_after_the_grace() {
    let i = &INTERRUPTED;
    assert_eq!(i.out.status.code(), Some(130), "{}", stderr(&i.out));
    assert!(i.stopping < Duration::from_secs(10), "{:?}", i.stopping);
}

#[test]
fn the_hosts_in_flight_are_recorded_cancelled_with_their_partial_data() {
    let records = &INTERRUPTED.records;
    assert_eq!(records.len(), SLOTS, "nothing new started");
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
}

#[test]
fn every_report_of_an_interrupted_scan_is_complete() {
    let i = &INTERRUPTED;
    assert_eq!(i.json["interrupted"], true);
    assert_eq!(i.json["records"].as_array().map(Vec::len), Some(SLOTS));
    assert_eq!(i.csv_rows, SLOTS);
}

#[test]
fn the_html_and_markdown_of_an_interrupted_scan_are_whole_and_say_so() {
    let i = &INTERRUPTED;
    let probed = i.json["summary"]["probed"].as_u64().unwrap();
    let headline =
        format!("0 open relays, 0 findings at high or above, in {probed} endpoints (interrupted)");
    assert!(
        i.html
            .contains(&format!("<p id=\"headline\">{headline}</p>")),
        "{headline}"
    );
    assert!(i.html.contains("<strong>interrupted</strong>"));
    assert_eq!(i.html.matches("<tbody class=\"host\"").count(), SLOTS);
    assert!(i.html.trim_end().ends_with("</html>"));
    assert!(
        i.md.starts_with(&format!("# relayscan report: {headline}\n")),
        "{}",
        i.md
    );
}
