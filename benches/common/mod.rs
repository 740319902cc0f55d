//! What the benchmarks share: running relayscan with its wall time and peak memory measured, and starting a lab.

// Each bench binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// Starts `relayscan lab`; returns it, its port and its implicit-TLS port (when it has one).
pub fn start_lab(network: &str, hosts: usize, extra: &[&str]) -> (Child, u16, Option<u16>) {
    start_lab_on(network, 0, hosts, extra)
}

/// [`start_lab`] on a given port (0: any free one).
pub fn start_lab_on(
    network: &str,
    port: u16,
    hosts: usize,
    extra: &[&str],
) -> (Child, u16, Option<u16>) {
    let mut child = Command::new(BIN)
        .args([
            "lab",
            "--bind",
            network,
            "--port",
            &port.to_string(),
            "--hosts",
            &hosts.to_string(),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lab");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.expect("lab output");
        if let Some(rest) = line.strip_prefix("lab ready: ") {
            let port = rest
                .split_whitespace()
                .nth(4)
                .unwrap()
                .trim_end_matches(';')
                .parse()
                .unwrap();
            let tls_port = rest
                .split_once("implicit TLS on port ")
                .and_then(|(_, tail)| tail.split(';').next())
                .and_then(|p| p.trim().parse().ok());
            std::thread::spawn(move || for _ in lines {});
            return (child, port, tls_port);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("lab did not start");
}
