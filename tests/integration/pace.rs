//! The pace line at the end of a scan: how many probes, how fast, and how many of the `-c` slots were probing (Little's law), never under `-q`.

use std::time::Duration;

use crate::support::{LabProcess, nets, run, stderr};

/// Scans the ten `closed` hosts of `lab` with `extra`; returns stderr.
fn scan(lab: &LabProcess, dir: &std::path::Path, extra: &[&str]) -> String {
    let prefix = dir.join("pace");
    let range = lab.range(10);
    let port = lab.port_arg();
    let mut args = vec![
        "scan",
        &range,
        "-p",
        &port,
        "--no-progress",
        "--format",
        "jsonl",
        "-o",
        prefix.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = run(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    stderr(&out)
}

fn pace_line(text: &str) -> Option<&str> {
    text.lines().find(|l| l.starts_with("relayscan: pace: "))
}

#[test]
fn the_scan_ends_with_its_pace() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::PACE.lab_network(),
        dir.path(),
        &["--persona", "closed", "--hosts", "10"],
    );

    // Two slots for ten hosts: the line counts every probe and names the slots.
    let text = scan(&lab, dir.path(), &["-c", "2"]);
    let line = pace_line(&text).unwrap_or_else(|| panic!("no pace line: {text}"));
    assert!(line.contains("pace: 10 probes in "), "{line}");
    assert!(line.contains(" ms per probe on average"), "{line}");
    assert!(line.contains("% of the 2 slots probing"), "{line}");
    let share: f64 = line
        .split("% of the 2 slots")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no share in {line}"));
    assert!((0.0..=100.0).contains(&share), "{line}");

    // More slots than hosts: utilisation would say nothing, so the line says why.
    let text = scan(&lab, dir.path(), &["-c", "50"]);
    let line = pace_line(&text).unwrap_or_else(|| panic!("no pace line: {text}"));
    assert!(line.ends_with("fewer endpoints than slots (-c)"), "{line}");

    // -q prints nothing beyond the summary.
    let text = scan(&lab, dir.path(), &["-c", "2", "-q"]);
    assert_eq!(pace_line(&text), None, "{text}");
}
