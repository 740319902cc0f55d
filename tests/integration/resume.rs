//! Checkpoint and resume: a scan of the lab interrupted by SIGINT midway and resumed ends
//! with the same records as an uninterrupted scan, each exactly once, in every report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use relayscan::report::ScanRecord;

use crate::support::{LabProcess, nets, read_csv, read_json, read_jsonl, relayscan, run, stderr};

/// Personas whose verdict does not depend on having been probed before (greylisting
/// remembers its clients), so two scans of one lab agree.
const STEADY: &[&str] = &[
    "open-relay",
    "closed",
    "auth-required",
    "sender-trusting",
    "percent-hack",
    "helo-only",
    "accept-all-sink",
    "not-smtp",
    "drop-after-mail",
    "busy",
    "blocked",
];

/// Starts a lab of `hosts` steady personas on `network`.
pub fn steady_lab(network: nets::Net, dir: &Path, hosts: usize, extra: &[&str]) -> LabProcess {
    let mut args: Vec<String> = Vec::new();
    for p in STEADY {
        args.extend(["--persona".to_string(), p.to_string()]);
    }
    args.extend(["--hosts".to_string(), hosts.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    LabProcess::start(network.lab_network(), dir, &args)
}

/// What must agree between two scans of one lab: per endpoint, status, verdict, tests.
pub fn facts(records: &[ScanRecord]) -> BTreeMap<String, String> {
    records
        .iter()
        .map(|r| {
            let verdict = r.verdict.map(|v| v.as_str()).unwrap_or("-");
            (
                r.endpoint(),
                format!("{} {verdict} {:?}", r.status, r.open_tests),
            )
        })
        .collect()
}

/// Every endpoint appears once.
pub fn assert_unique(records: &[ScanRecord]) {
    let unique: BTreeSet<String> = records.iter().map(ScanRecord::endpoint).collect();
    assert_eq!(unique.len(), records.len(), "a record appears twice");
}

#[test]
fn interrupted_then_resumed_equals_one_uninterrupted_scan() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = 44;
    // 40 ms per reply: a dialogue takes a second or two, so the stop lands mid-dialogue
    // and the 200 ms grace cuts some probes off (they must be probed again on resume).
    let lab = steady_lab(nets::RESUME, dir.path(), hosts, &["--reply-delay", "40ms"]);
    let range = lab.range(hosts);
    let port = lab.port_arg();
    let common = |prefix: &Path| -> Vec<String> {
        [
            "scan",
            range.as_str(),
            "-p",
            port.as_str(),
            "-c",
            "4",
            "--rate",
            "8",
            "--seed",
            "11",
            "--grace",
            "200ms",
            "--no-progress",
            "-o",
            prefix.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };

    // The reference: one uninterrupted scan.
    let reference = dir.path().join("reference");
    let args = common(&reference);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = read_jsonl(&reference.with_extension("jsonl"));
    assert_eq!(want.len(), hosts);

    // Interrupted midway (8 new connections a second: about 16 started after 2 s).
    let prefix = dir.path().join("resumed");
    let checkpoint = dir.path().join("scan.checkpoint");
    let mut args = common(&prefix);
    args.extend(["--checkpoint".into(), checkpoint.display().to_string()]);
    let child = relayscan()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("--resume {}", checkpoint.display())),
        "tells how to continue: {}",
        stderr(&out)
    );
    let partial = read_jsonl(&prefix.with_extension("jsonl"));
    assert!(
        !partial.is_empty() && partial.len() < hosts,
        "stopped midway: {} of {hosts}",
        partial.len()
    );
    assert!(
        partial
            .iter()
            .all(|r| r.status != relayscan::probe::Status::Cancelled),
        "probes cut off are left for the resume"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    assert_eq!(saved["complete"], false);
    assert_eq!(saved["seed"], 11);
    assert_eq!(saved["total"], hosts);

    // A crash after the last checkpoint leaves records the checkpoint does not count:
    // simulate one, which the resume must drop rather than duplicate.
    let jsonl = prefix.with_extension("jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let first = text.lines().next().unwrap().to_string();
    std::fs::write(&jsonl, format!("{text}{first}\n")).unwrap();

    // Another plan or other settings are refused before any traffic.
    let received_before = lab.received().len();
    for (extra, want) in [
        (vec!["--seed", "12"], "another plan"),
        (vec!["-p", "2"], "another plan"),
        (vec!["--helo", "other.example"], "settings differ"),
    ] {
        let mut args: Vec<&str> = vec!["scan", &range, "--no-progress"];
        if !extra.contains(&"-p") {
            args.extend(["-p", &port]);
        }
        if !extra.contains(&"--seed") {
            args.extend(["--seed", "11"]);
        }
        args.extend(&extra);
        let resume = checkpoint.display().to_string();
        args.extend(["--resume", &resume]);
        let out = run(&args, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{extra:?}: {}", stderr(&out));
    }
    // Starting over on top of the unfinished checkpoint is refused too.
    let mut again = common(&prefix);
    again.extend(["--checkpoint".into(), checkpoint.display().to_string()]);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let out = run(&again, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds an unfinished scan; continue it with --resume"),
        "{}",
        stderr(&out)
    );
    assert_eq!(lab.received().len(), received_before, "nothing was sent");

    // Resume: same command, --resume in place of --checkpoint, -o and seed left to it.
    let mut args: Vec<String> = common(&prefix);
    let cut = args.iter().position(|a| a == "--seed").unwrap();
    args.drain(cut..cut + 2);
    let cut = args.iter().position(|a| a == "-o").unwrap();
    args.drain(cut..cut + 2);
    args.extend(["--resume".into(), checkpoint.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming:"), "{}", stderr(&out));

    let got = read_jsonl(&prefix.with_extension("jsonl"));
    assert_unique(&got);
    assert_eq!(facts(&got), facts(&want));
    let (_, rows) = read_csv(&prefix.with_extension("csv"));
    assert_eq!(rows.len(), hosts, "the CSV holds each endpoint once");
    let doc = read_json(&prefix.with_extension("json"));
    assert_eq!(doc["records"].as_array().unwrap().len(), hosts);
    assert_eq!(doc["interrupted"], false);
    assert_eq!(doc["summary"]["probed"], hosts);
    let reference_doc = read_json(&reference.with_extension("json"));
    assert_eq!(
        doc["summary"]["by_verdict"],
        reference_doc["summary"]["by_verdict"]
    );
    assert_eq!(
        doc["summary"]["by_status"],
        reference_doc["summary"]["by_status"]
    );
    assert_eq!(doc["run"]["settings"]["seed"], 11);
    assert_eq!(
        doc["run"]["settings"]["resumed"].as_array().map(Vec::len),
        Some(1)
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    assert_eq!(saved["complete"], true);
    assert_eq!(saved["next"], hosts);
    assert!(!dir.path().join("resumed.jsonl.before-resume").exists());
}
