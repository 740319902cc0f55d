//! Ctrl-C, SIGHUP and SIGTERM: nothing new starts, in-flight probes get a grace, every
//! report is complete and valid, and the exit code names the signal (130, 129, 143).
//!
//! One scan is interrupted once per signal; each test checks one consequence.

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
    /// From the signal to the exit.
    stopping: Duration,
    records: Vec<ScanRecord>,
    csv_rows: usize,
    json: serde_json::Value,
    html: String,
    md: String,
}

/// Scans 40 slow hosts of a lab on `net` with every report format, sends `signal` mid-
/// dialogue and waits for the exit. With `hang_up`, relayscan's stdout and stderr are
/// closed before the signal, as a dropped SSH session leaves them.
fn interrupt(signal: i32, net: nets::Net, hang_up: bool) -> Interrupted {
    let dir = tempfile::tempdir().unwrap();
    // 300 ms per reply, one command at a time (pipelined, the dialogue would be over in
    // ~1.5 s): a full dialogue takes ~15 s, so the interrupt lands mid-dialogue.
    let lab = LabProcess::start(
        net.lab_network(),
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
    let mut child = relayscan()
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
    if hang_up {
        drop(child.stdout.take());
        drop(child.stderr.take());
    }
    let sent = Instant::now();
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let out = child.wait_with_output().unwrap();
    let text = |ext| std::fs::read_to_string(prefix.with_extension(ext)).unwrap();
    Interrupted {
        stopping: sent.elapsed(),
        out,
        records: read_jsonl(&prefix.with_extension("jsonl")),
        csv_rows: read_csv(&prefix.with_extension("csv")).1.len(),
        json: read_json(&prefix.with_extension("json")),
        html: text("html"),
        md: text("md"),
    }
}

static INTERRUPTED: LazyLock<Interrupted> =
    LazyLock::new(|| interrupt(libc::SIGINT, nets::INTERRUPT, false));

/// What a dropped SSH session sends, with the terminal gone.
static HUNG_UP: LazyLock<Interrupted> =
    LazyLock::new(|| interrupt(libc::SIGHUP, nets::HANGUP, true));

/// What systemd, Kubernetes and `kill` send.
static TERMINATED: LazyLock<Interrupted> =
    LazyLock::new(|| interrupt(libc::SIGTERM, nets::TERMINATE, false));

/// Every report of `i` is whole: the JSON document parses and is closed, the HTML page
/// ends, the Markdown summary is there, and each format holds the same records.
fn assert_complete(i: &Interrupted) {
    assert_eq!(i.json["interrupted"], true, "{}", stderr(&i.out));
    assert_eq!(i.json["records"].as_array().map(Vec::len), Some(SLOTS));
    assert_eq!(i.records.len(), SLOTS);
    assert_eq!(i.csv_rows, SLOTS);
    assert!(i.html.trim_end().ends_with("</html>"), "{}", i.html);
    assert_eq!(i.html.matches("<tbody class=\"host\"").count(), SLOTS);
    assert!(
        i.md.starts_with("# relayscan report") && i.md.contains("interrupted"),
        "{}",
        i.md
    );
}

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
fn the_first_ctrl_c_says_at_once_what_it_waits_for_and_how_to_resume_next_time() {
    let err = stderr(&INTERRUPTED.out);
    // Every slot was busy: the hosts take seconds, the signal came after 1.5 s.
    let stopping = format!(
        "relayscan: interrupted by SIGINT; stopping: {SLOTS} probes in flight finish within the grace of 500ms; Ctrl-C again to abort now"
    );
    assert!(err.contains(&stopping), "{err}");
    // Said before the grace ran out: ahead of the closing lines.
    let at = err.find(&stopping).unwrap();
    assert!(err[..at].find("relayscan: wrote").is_none(), "{err}");
    // No --checkpoint: how to make the next run resumable.
    assert!(
        err.contains("this run kept no checkpoint") && err.contains("add --checkpoint FILE"),
        "{err}"
    );
}

#[test]
fn every_report_of_an_interrupted_scan_is_complete() {
    assert_complete(&INTERRUPTED);
}

#[test]
fn sighup_from_a_dropped_session_is_a_stop_like_ctrl_c_exiting_129() {
    let i = &HUNG_UP;
    assert_eq!(i.out.status.code(), Some(129), "{:?}", i.out.status);
    assert!(i.stopping < Duration::from_secs(10), "{:?}", i.stopping);
    assert_complete(i);
    assert!(i.records.iter().all(|r| r.status == Status::Cancelled));
}

#[test]
fn sigterm_is_a_stop_like_ctrl_c_exiting_143() {
    let i = &TERMINATED;
    assert_eq!(i.out.status.code(), Some(143), "{}", stderr(&i.out));
    assert!(i.stopping < Duration::from_secs(10), "{:?}", i.stopping);
    assert_complete(i);
    assert!(
        stderr(&i.out).contains("interrupted by SIGTERM"),
        "{}",
        stderr(&i.out)
    );
}

#[test]
fn sighup_ignored_at_start_as_by_nohup_stays_ignored() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    // 100 ms per reply, one command at a time: each dialogue takes a few seconds.
    let lab = LabProcess::start(
        nets::NOHUP.lab_network(),
        dir.path(),
        &[
            "--persona",
            "closed",
            "--hosts",
            "3",
            "--reply-delay",
            "100ms",
        ],
    );
    let prefix = dir.path().join("nohup");
    let mut scan = relayscan();
    scan.args([
        "scan",
        &lab.range(3),
        "-p",
        &lab.port_arg(),
        "--no-pipelining",
        "--no-progress",
        "-o",
        prefix.to_str().unwrap(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    // SAFETY: signal(2) between fork and exec, as nohup does before it runs a command.
    unsafe {
        scan.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = scan.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGHUP) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.status == Status::Completed));
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
