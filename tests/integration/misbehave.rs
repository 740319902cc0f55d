//! Hostile servers (`relayscan lab --hostile`): no panic, every host ends by its deadline plus a small grace, memory per connection stays under a cap, and each record names the trouble.
//!
//! The lab is scanned once for the module, in the two scans of `support::hostile` (the
//! tarpit at a short deadline, the others at one that no machine load reaches), beside a
//! scan of one polite host for the memory baseline.

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use relayscan::lab::MisbehaviourExpectation;
use relayscan::probe::Status;
use relayscan::report::ScanRecord;
use relayscan_lab::hostile::Misbehaviour;

use crate::support::hostile::{self, Part};
use crate::support::{LabProcess, nets, read_jsonl, relayscan};

/// Past a deadline: the time to write the record and notice the end.
const GRACE: Duration = Duration::from_secs(1);
/// What one hostile connection may cost the scanner in peak memory, at most.
const PER_CONNECTION_CAP_KIB: i64 = 1024;

/// How a measured run ended.
struct Measured {
    code: Option<i32>,
    stderr: String,
    /// Peak resident memory of the scanner process, KiB (getrusage via wait4).
    max_rss_kib: i64,
}

/// Runs relayscan with `args`, its stderr to `err_path`, and measures its own peak memory
/// (not the test's, not other tests' children): wait4 on its pid.
fn run_measured(args: &[&str], err_path: &Path, limit: Duration) -> Measured {
    let child = relayscan()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(err_path).expect("stderr file"))
        .spawn()
        .expect("spawn relayscan");
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: rusage is plain old data; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own child, not yet reaped; the pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if started.elapsed() > limit {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("relayscan {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The child is reaped; std's handle must not wait for it again.
    std::mem::forget(child);
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stderr: std::fs::read_to_string(err_path).unwrap_or_default(),
        max_rss_kib: usage.ru_maxrss,
    }
}

/// One hostile server's record, with the part of the scan it was in.
struct Server {
    misbehaviour: Misbehaviour,
    record: ScanRecord,
    read_timeout: Duration,
    host_timeout: Duration,
}

impl Server {
    fn what(&self) -> String {
        format!("{} at {}", self.misbehaviour.name(), self.record.endpoint())
    }
}

/// The hostile lab scanned once.
struct Hostile {
    /// One polite host (invalid UTF-8 is only text trouble): the memory baseline.
    polite: Measured,
    /// Each part of the scan: its host count and how its run ended.
    parts: Vec<(usize, Measured)>,
    servers: Vec<Server>,
}

static HOSTILE: LazyLock<Hostile> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = LabProcess::start(nets::HOSTILE.lab_network(), dir.path(), &["--hostile"]);
    assert_eq!(lab.hosts, Misbehaviour::ALL.len());
    let port = lab.port_arg();
    let scan = |name: &str, targets: &[String], part: &Part| {
        let prefix = dir.path().join(name);
        let mut args = vec!["scan"];
        args.extend(targets.iter().map(String::as_str));
        args.extend(["-p", &port, "--no-progress", "--all", "-o"]);
        args.push(prefix.to_str().expect("utf-8 path"));
        let timeouts = part.timeout_flags();
        args.extend(timeouts.iter().map(String::as_str));
        let err = dir.path().join(format!("{name}.stderr"));
        let run = run_measured(&args, &err, Duration::from_secs(90));
        let records = read_jsonl(&prefix.with_extension("jsonl"));
        (run, records)
    };
    let parts = hostile::parts();
    let polite = Misbehaviour::ALL
        .iter()
        .position(|&m| m == Misbehaviour::InvalidUtf8)
        .expect("in ALL");
    let polite_target = [lab.addr(polite).to_string()];
    let polite_part = parts
        .iter()
        .find(|p| p.hosts.iter().any(|&(n, _)| n == polite))
        .expect("a part");
    // All three at once: each measures its own process.
    let (polite, scanned) = std::thread::scope(|s| {
        let polite = s.spawn(|| scan("polite", &polite_target, polite_part).0);
        let scanned: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let (scan, lab) = (&scan, &lab);
                s.spawn(move || scan(&format!("part{i}"), &part.targets(lab), part))
            })
            .collect();
        let scanned: Vec<_> = scanned
            .into_iter()
            .map(|h| h.join().expect("scan"))
            .collect();
        (polite.join().expect("scan"), scanned)
    });
    let mut servers = Vec::new();
    let mut runs = Vec::new();
    for (part, (run, records)) in parts.iter().zip(scanned) {
        assert_eq!(records.len(), part.hosts.len(), "{}", run.stderr);
        for &(n, misbehaviour) in &part.hosts {
            let record = records
                .iter()
                .find(|r| r.ip == lab.addr(n))
                .unwrap_or_else(|| panic!("no record for {}", misbehaviour.name()))
                .clone();
            servers.push(Server {
                misbehaviour,
                record,
                read_timeout: part.read_timeout,
                host_timeout: part.host_timeout,
            });
        }
        runs.push((part.hosts.len(), run));
    }
    assert_eq!(servers.len(), Misbehaviour::ALL.len());
    Hostile {
        polite,
        parts: runs,
        servers,
    }
});

#[test]
fn hostile_scans_exit_0_without_a_panic() {
    for (_, run) in &HOSTILE.parts {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(!run.stderr.contains("internal error"), "{}", run.stderr);
    }
    assert_eq!(HOSTILE.polite.code, Some(0), "{}", HOSTILE.polite.stderr);
}

#[test]
fn every_hostile_server_gets_its_designed_status_verdict_and_reason() {
    for s in &HOSTILE.servers {
        let (want, r) = (s.misbehaviour.expected(), &s.record);
        assert_eq!(r.status, want.status, "{}: {:?}", s.what(), r.error);
        assert_eq!(
            r.verdict,
            Some(want.verdict),
            "{}: {:?}",
            s.what(),
            r.reason
        );
        let reason = r.reason.as_deref().unwrap_or("");
        assert!(reason.contains(want.reason), "{}: {reason}", s.what());
    }
}

#[test]
fn every_hostile_server_ends_by_its_deadline() {
    for s in &HOSTILE.servers {
        let took = Duration::from_millis(s.record.duration_ms);
        assert!(
            took <= s.host_timeout + GRACE,
            "{}: {took:?}, past --host-timeout {:?}",
            s.what(),
            s.host_timeout
        );
        match s.record.status {
            // Ended by the deadline: at it, not before.
            Status::HostTimeout => assert!(took >= s.host_timeout, "{}: {took:?}", s.what()),
            // Ended by the read timeout, long before the deadline.
            Status::IoTimeout => assert!(took <= s.read_timeout + GRACE, "{}: {took:?}", s.what()),
            _ => {}
        }
    }
}

#[test]
fn transcripts_stay_within_their_cap_whatever_arrives() {
    for s in &HOSTILE.servers {
        let kept: usize = s.record.transcript.iter().map(|l| l.text.len()).sum();
        assert!(
            kept <= 64 * 1024 + 1024,
            "{}: {kept} bytes of transcript",
            s.what()
        );
    }
}

#[test]
fn hostile_servers_cost_little_memory_beyond_one_polite_dialogue() {
    // 1 MiB lines, floods and 10,000-line replies.
    let base = HOSTILE.polite.max_rss_kib;
    for (hosts, run) in &HOSTILE.parts {
        let extra = run.max_rss_kib - base;
        let cap = PER_CONNECTION_CAP_KIB * *hosts as i64;
        eprintln!(
            "{hosts} hostile hosts: peak RSS {} KiB; one polite host {base} KiB",
            run.max_rss_kib
        );
        assert!(
            extra <= cap,
            "peak memory {} KiB vs {base} KiB for one polite host: {extra} KiB over, cap {cap} KiB",
            run.max_rss_kib
        );
    }
}
