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

/// Runs relayscan to completion, measuring wall time and peak RSS via wait4(2).
// wait4 reaps the child (std's wait() cannot return its rusage), so clippy's zombie check misfires.
#[allow(clippy::zombie_processes)]
pub fn measure(args: &[&str]) -> Measured {
    let start = Instant::now();
    let child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn relayscan");
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    Measured {
        wall: start.elapsed(),
        peak_rss_kib: usage.ru_maxrss,
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
