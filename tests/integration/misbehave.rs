//! Hostile servers (`relayscan lab --hostile` on `nets::HOSTILE`): no panic, every host ends within --host-timeout plus a small grace, memory per connection stays under a cap, and each record names the trouble.

use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use relayscan::lab::misbehave::Misbehaviour;

use crate::support::{LabProcess, nets, read_jsonl, relayscan};

const HOST_TIMEOUT_MS: u64 = 4000;
/// Past the host deadline: the time to write the record and notice the end.
const GRACE_MS: u64 = 1000;
/// What one hostile connection may cost the scanner in peak memory, at most.
const PER_CONNECTION_CAP_KIB: i64 = 1024;

/// How a measured run ended.
struct Measured {
    code: Option<i32>,
    stderr: String,
    /// Peak resident memory of the scanner process, KiB (getrusage via wait4).
    max_rss_kib: i64,
}

/// Runs relayscan with `args` and measures its own peak memory (not the test's, not
/// other tests' children): wait4 on its pid.
fn run_measured(args: &[&str], dir: &Path, limit: Duration) -> Measured {
    let err_path = dir.join(format!("stderr-{}.txt", args.len()));
    let child = relayscan()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&err_path).expect("stderr file"))
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
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        max_rss_kib: usage.ru_maxrss,
    }
}

#[test]
fn hostile_servers_end_in_time_with_bounded_memory_and_precise_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = LabProcess::start(nets::HOSTILE.lab_network(), dir.path(), &["--hostile"]);
    assert_eq!(lab.hosts, Misbehaviour::ALL.len());
    let port = lab.port_arg();
    let timeouts = [
        "--read-timeout",
        "2s",
        "--host-timeout",
        "4s",
        "--no-progress",
        "--all",
    ];
    let scan = |target: &str, prefix: &Path| {
        let mut args = vec!["scan", target, "-p", &port, "-o"];
        args.push(prefix.to_str().expect("utf-8 path"));
        args.extend(timeouts);
        run_measured(&args, dir.path(), Duration::from_secs(60))
    };

    // A baseline: one well-behaved dialogue (invalid UTF-8 is only text trouble).
    let polite = Misbehaviour::ALL
        .iter()
        .position(|&m| m == Misbehaviour::InvalidUtf8)
        .expect("in ALL");
    let base = scan(&lab.addr(polite).to_string(), &dir.path().join("base"));
    assert_eq!(base.code, Some(0), "{}", base.stderr);

    let prefix = dir.path().join("hostile");
    let all = scan(&lab.range(lab.hosts), &prefix);
    assert_eq!(all.code, Some(0), "{}", all.stderr);
    assert!(!all.stderr.contains("panicked"), "{}", all.stderr);
    assert!(!all.stderr.contains("internal error"), "{}", all.stderr);

    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), Misbehaviour::ALL.len());
    for (n, m) in Misbehaviour::ALL.into_iter().enumerate() {
        let ip: IpAddr = lab.addr(n);
        let r = records
            .iter()
            .find(|r| r.ip == ip)
            .unwrap_or_else(|| panic!("no record for {}", m.name()));
        let want = m.expected();
        let what = format!("{} at {}", m.name(), r.endpoint());
        assert_eq!(r.status, want.status, "{what}: {:?}", r.error);
        assert_eq!(r.verdict, Some(want.verdict), "{what}: {:?}", r.reason);
        let reason = r.reason.as_deref().unwrap_or("");
        assert!(reason.contains(want.reason), "{what}: {reason}");
        assert!(
            r.duration_ms <= HOST_TIMEOUT_MS + GRACE_MS,
            "{what}: {} ms past --host-timeout 4s",
            r.duration_ms
        );
        // Whatever arrived, the transcript stays within its cap.
        let kept: usize = r.transcript.iter().map(|l| l.text.len()).sum();
        assert!(
            kept <= 64 * 1024 + 1024,
            "{what}: {kept} bytes of transcript"
        );
    }

    // 1 MiB lines, floods and 10,000-line replies cost little beyond one ordinary dialogue.
    let extra = all.max_rss_kib - base.max_rss_kib;
    eprintln!(
        "hostile scan peak RSS {} KiB; one polite host {} KiB",
        all.max_rss_kib, base.max_rss_kib
    );
    let cap = PER_CONNECTION_CAP_KIB * Misbehaviour::ALL.len() as i64;
    assert!(
        extra <= cap,
        "peak memory {} KiB vs {} KiB for one polite host: {extra} KiB over, cap {cap} KiB",
        all.max_rss_kib,
        base.max_rss_kib
    );
}
