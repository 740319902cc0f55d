//! Checkpoint and resume: a scan of the lab interrupted by SIGINT midway and resumed ends
//! with the same records as an uninterrupted scan, each exactly once, in every report.
//!
//! The story is played once for the module: the interrupted scan, the refused attempts to
//! go on with other settings and the resume; all the while, on a lab alike, the
//! uninterrupted scan it is compared with. Each test checks one step's outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use relayscan::probe::Status;
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

/// What must agree between two scans of labs alike (one port each): per host, as its
/// place in the lab's `network`, status, verdict and tests.
pub fn facts(records: &[ScanRecord], network: nets::Net) -> BTreeMap<u32, String> {
    records
        .iter()
        .map(|r| {
            let host = match r.ip {
                IpAddr::V4(ip) => u32::from(ip) - u32::from(network.lab_network()),
                IpAddr::V6(ip) => panic!("{ip} is not in {}", network.name),
            };
            let verdict = r.verdict.map(|v| v.as_str()).unwrap_or("-");
            (host, format!("{} {verdict} {:?}", r.status, r.open_tests))
        })
        .collect()
}

/// Every endpoint appears once.
pub fn assert_unique(records: &[ScanRecord]) {
    let unique: BTreeSet<String> = records.iter().map(ScanRecord::endpoint).collect();
    assert_eq!(unique.len(), records.len(), "a record appears twice");
}

const HOSTS: usize = 44;

/// A finished scan's outcome and reports.
struct Finished {
    out: Output,
    records: Vec<ScanRecord>,
    csv_rows: usize,
    json: serde_json::Value,
}

impl Finished {
    fn read(out: Output, prefix: &Path) -> Finished {
        Finished {
            records: read_jsonl(&prefix.with_extension("jsonl")),
            csv_rows: read_csv(&prefix.with_extension("csv")).1.len(),
            json: read_json(&prefix.with_extension("json")),
            out,
        }
    }
}

fn run_owned(args: &[String], limit: Duration) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, limit)
}

/// Each step of the story; the lab has stopped.
struct Story {
    /// Where the checkpoint was.
    checkpoint: String,
    /// The uninterrupted scan.
    reference: Finished,
    /// The scan stopped by SIGINT after 2 s, its records then and its checkpoint.
    interrupted: Output,
    partial: Vec<ScanRecord>,
    checkpoint_then: serde_json::Value,
    /// Attempts to resume with other settings: the flags, what they must be refused for,
    /// and how each ended.
    refused: Vec<(Vec<&'static str>, &'static str, Output)>,
    /// A new scan started on top of the unfinished checkpoint.
    started_over: Output,
    /// Command lines the lab received during the refused attempts.
    received_while_refusing: usize,
    resumed: Finished,
    checkpoint_after: serde_json::Value,
    /// Whether the resume left its backup of the reports behind.
    backup_left: bool,
}

/// The scan of the story, from any of its labs: 4 slots, 8 new connections a second.
fn scan_args(lab: &LabProcess, prefix: &Path) -> Vec<String> {
    [
        "scan",
        &lab.range(HOSTS),
        "-p",
        &lab.port_arg(),
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
}

/// A lab of the story. 40 ms per reply: a dialogue takes a second or two, so the stop
/// lands mid-dialogue and the 200 ms grace cuts some probes off (they must be probed
/// again on resume).
fn story_lab(net: nets::Net, dir: &Path) -> LabProcess {
    steady_lab(net, dir, HOSTS, &["--reply-delay", "40ms"])
}

static STORY: LazyLock<Story> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The uninterrupted scan, on a lab of its own (so that it adds nothing to the log
    // of the lab that must see no traffic), all the while the story goes on (5.5 s).
    std::thread::scope(|s| {
        let reference = s.spawn(|| {
            let lab = story_lab(nets::RESUME_REFERENCE, dir);
            let prefix = dir.join("reference");
            let out = run_owned(&scan_args(&lab, &prefix), Duration::from_secs(120));
            Finished::read(out, &prefix)
        });
        tell(dir, || reference.join().expect("the uninterrupted scan"))
    })
});

/// The story on its lab; `reference` gives the uninterrupted scan once the story is told.
fn tell(dir: &Path, reference: impl FnOnce() -> Finished) -> Story {
    let lab = story_lab(nets::RESUME, dir);
    let (range, port) = (lab.range(HOSTS), lab.port_arg());

    // Interrupted midway (8 new connections a second: about 16 started after 2 s).
    let prefix = dir.join("resumed");
    let checkpoint = dir.join("scan.checkpoint");
    let mut args = scan_args(&lab, &prefix);
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
    let interrupted = child.wait_with_output().unwrap();
    let partial = read_jsonl(&prefix.with_extension("jsonl"));
    let read_checkpoint = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap()
    };
    let checkpoint_then = read_checkpoint();

    // A crash after the last checkpoint leaves records the checkpoint does not count:
    // simulate one, which the resume must drop rather than duplicate.
    let jsonl = prefix.with_extension("jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let first = text.lines().next().unwrap_or_default().to_string();
    std::fs::write(&jsonl, format!("{text}{first}\n")).unwrap();

    // Another plan or other settings are refused before any traffic, and so is starting
    // over on top of the unfinished checkpoint.
    let received_before = lab.received().len();
    let resume = checkpoint.display().to_string();
    let refused = [
        (vec!["--seed", "12"], "another plan"),
        (vec!["-p", "2"], "another plan"),
        (vec!["--helo", "other.example"], "settings differ"),
        // Another depth: records at two depths in one report would not compare.
        (vec!["--tests", "quick"], "depth"),
    ]
    .into_iter()
    .map(|(extra, want)| {
        let mut args: Vec<&str> = vec!["scan", &range, "--no-progress"];
        if !extra.contains(&"-p") {
            args.extend(["-p", &port]);
        }
        if !extra.contains(&"--seed") {
            args.extend(["--seed", "11"]);
        }
        args.extend(&extra);
        args.extend(["--resume", &resume]);
        let out = run(&args, Duration::from_secs(30));
        (extra, want, out)
    })
    .collect();
    let mut again = scan_args(&lab, &prefix);
    again.extend(["--checkpoint".into(), resume.clone()]);
    let started_over = run_owned(&again, Duration::from_secs(30));
    let received_while_refusing = lab.received().len() - received_before;

    // Resume: same command, --resume in place of --checkpoint, -o and seed left to it.
    let mut resume_args = scan_args(&lab, &prefix);
    let cut = resume_args.iter().position(|a| a == "--seed").unwrap();
    resume_args.drain(cut..cut + 2);
    let cut = resume_args.iter().position(|a| a == "-o").unwrap();
    resume_args.drain(cut..cut + 2);
    resume_args.extend(["--resume".into(), resume.clone()]);
    let resumed = run_owned(&resume_args, Duration::from_secs(120));
    Story {
        checkpoint: resume,
        reference: reference(),
        interrupted,
        partial,
        checkpoint_then,
        refused,
        started_over,
        received_while_refusing,
        resumed: Finished::read(resumed, &prefix),
        checkpoint_after: read_checkpoint(),
        backup_left: dir.join("resumed.jsonl.before-resume").exists(),
    }
}

#[test]
fn an_interrupted_scan_exits_130_and_says_how_to_continue() {
    let out = &STORY.interrupted;
    assert_eq!(out.status.code(), Some(130), "{}", stderr(out));
    assert!(
        stderr(out).contains(&format!("--resume {}", STORY.checkpoint)),
        "tells how to continue: {}",
        stderr(out)
    );
}

#[test]
fn the_interrupt_lands_midway_and_probes_cut_off_are_left_for_the_resume() {
    let partial = &STORY.partial;
    assert!(
        !partial.is_empty() && partial.len() < HOSTS,
        "stopped midway: {} of {HOSTS}",
        partial.len()
    );
    assert!(
        partial.iter().all(|r| r.status != Status::Cancelled),
        "probes cut off are left for the resume"
    );
}

#[test]
fn the_checkpoint_of_an_interrupted_scan_holds_its_plan_unfinished() {
    let saved = &STORY.checkpoint_then;
    assert_eq!(saved["complete"], false);
    assert_eq!(saved["seed"], 11);
    assert_eq!(saved["total"], HOSTS);
}

#[test]
fn resuming_with_another_plan_or_other_settings_is_refused_before_any_traffic() {
    assert_eq!(STORY.refused.len(), 4);
    for (extra, want, out) in &STORY.refused {
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(out));
        assert!(stderr(out).contains(want), "{extra:?}: {}", stderr(out));
    }
    assert_eq!(STORY.received_while_refusing, 0, "nothing was sent");
}

#[test]
fn starting_over_on_an_unfinished_checkpoint_is_refused() {
    let out = &STORY.started_over;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(
        stderr(out).contains("holds an unfinished scan; continue it with --resume"),
        "{}",
        stderr(out)
    );
}

#[test]
fn the_resumed_scan_ends_with_the_records_of_one_uninterrupted_scan() {
    let (resumed, reference) = (&STORY.resumed, &STORY.reference);
    assert_eq!(
        reference.out.status.code(),
        Some(0),
        "{}",
        stderr(&reference.out)
    );
    assert_eq!(reference.records.len(), HOSTS);
    assert_eq!(
        resumed.out.status.code(),
        Some(0),
        "{}",
        stderr(&resumed.out)
    );
    assert!(
        stderr(&resumed.out).contains("resuming:"),
        "{}",
        stderr(&resumed.out)
    );
    assert_unique(&resumed.records);
    assert_eq!(
        facts(&resumed.records, nets::RESUME),
        facts(&reference.records, nets::RESUME_REFERENCE)
    );
}

#[test]
fn every_report_of_the_resumed_scan_holds_each_endpoint_once() {
    let (resumed, reference) = (&STORY.resumed, &STORY.reference);
    assert_eq!(resumed.csv_rows, HOSTS, "the CSV holds each endpoint once");
    let doc = &resumed.json;
    assert_eq!(doc["records"].as_array().unwrap().len(), HOSTS);
    assert_eq!(doc["interrupted"], false);
    assert_eq!(doc["summary"]["probed"], HOSTS);
    for by in ["by_verdict", "by_status"] {
        assert_eq!(doc["summary"][by], reference.json["summary"][by], "{by}");
    }
}

#[test]
fn the_resumed_run_records_its_seed_and_the_resume() {
    let settings = &STORY.resumed.json["run"]["settings"];
    assert_eq!(settings["seed"], 11);
    assert_eq!(settings["resumed"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_finished_resume_completes_the_checkpoint_and_drops_its_backup() {
    let saved = &STORY.checkpoint_after;
    assert_eq!(saved["complete"], true);
    assert_eq!(saved["next"], HOSTS);
    assert!(!STORY.backup_left);
}
