//! What the benchmarks share: running relayscan with its wall time and peak memory measured, and starting a lab (with the lab crate's launcher, as the tests do).

// Each bench binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relayscan_lab::launcher::{LabLauncher, RunningLab};

pub const BIN: &str = env!("CARGO_BIN_EXE_relayscan");

pub struct Measured {
    pub wall: Duration,
    pub peak_rss_kib: i64,
    pub exit: i32,
    /// User plus system CPU time of the child.
    pub cpu: Duration,
    /// The system (kernel) part of `cpu`.
    pub sys: Duration,
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000)
}

/// User plus system time from a rusage.
pub fn cpu_time(usage: &libc::rusage) -> Duration {
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// The system (kernel) time from a rusage.
pub fn sys_time(usage: &libc::rusage) -> Duration {
    timeval(usage.ru_stime)
}

/// Kills a child (a lab) and returns the CPU time it used over its life.
pub fn stop_with_cpu(child: Child) -> Duration {
    let (cpu, _) = stop_with_usage(child);
    cpu
}

/// Kills a child (a lab) and returns its CPU time and the system part of it.
// wait4 reaps the child (std's wait() cannot return its rusage).
#[allow(clippy::zombie_processes)]
pub fn stop_with_usage(mut child: Child) -> (Duration, Duration) {
    let _ = child.kill();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    (cpu_time(&usage), sys_time(&usage))
}

/// GNU time, which forks relayscan from its own small process and writes the child's
/// peak RSS (`%M`, KiB) to a file.
const GNU_TIME: &str = "/usr/bin/time";

/// Runs relayscan to completion, measuring wall time, CPU time and peak RSS.
///
/// The peak RSS comes from GNU time, not from this process's wait4(2): a child that
/// `Command` starts (posix_spawn, a vfork) inherits at exec the high-water RSS of the
/// memory it shared until then, which is this process's. A bench that serves a large
/// zone in process (the million-domain series: 784 MiB) would then report its own size
/// as the scanner's. GNU time forks relayscan from its own few-MiB process, so `%M` is
/// relayscan's alone. CPU time still comes from wait4 on GNU time, which includes the
/// child it reaped (plus GNU time's own, well under a millisecond).
// wait4 reaps the child (std's wait() cannot return its rusage), so clippy's zombie check misfires.
#[allow(clippy::zombie_processes)]
pub fn measure(args: &[&str]) -> Measured {
    let peak_file = tempfile::NamedTempFile::new().expect("temp file for the peak RSS");
    let start = Instant::now();
    let child = Command::new(GNU_TIME)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(peak_file.path())
        .arg(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{GNU_TIME}: {e} (apt-get install time)"));
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    let wall = start.elapsed();
    let peak = std::fs::read_to_string(peak_file.path()).expect("GNU time's output");
    // GNU time writes "Command exited with non-zero status N" before the figure.
    let peak_rss_kib = peak
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time wrote no peak RSS: {peak:?}"));
    Measured {
        wall,
        peak_rss_kib,
        exit: libc::WEXITSTATUS(status),
        cpu: cpu_time(&usage),
        sys: sys_time(&usage),
    }
}

/// Starts `relayscan lab --hosts HOSTS` on `network` and any free port, with extra flags;
/// waits until it is ready. Killed when dropped.
pub fn start_lab(network: &str, hosts: usize, extra: &[&str]) -> RunningLab {
    start_lab_on(network, 0, hosts, extra)
}

/// [`start_lab`] on a given port (0: any free one).
pub fn start_lab_on(network: &str, port: u16, hosts: usize, extra: &[&str]) -> RunningLab {
    LabLauncher::new(BIN, network)
        .port(port)
        .args(["--hosts".to_string(), hosts.to_string()])
        .args(extra)
        .quiet()
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}
