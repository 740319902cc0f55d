//! Benchmark: the scanner against the lab on many loopback addresses, and against a silent /16.
//!
//! `cargo bench --bench lab_scan` prints hosts/s, per-host p50/p95 and the scanner's peak
//! memory (ru_maxrss of the child). Loopback only: 127.50.0.0/20 and 127.202.0.0/16.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_relayscan");

struct Measured {
    wall: Duration,
    peak_rss_kib: i64,
    exit: i32,
}

/// Runs relayscan to completion, measuring wall time and peak RSS via wait4(2).
// wait4 reaps the child (std's wait() cannot return its rusage), so clippy's zombie check misfires.
#[allow(clippy::zombie_processes)]
fn measure(args: &[&str]) -> Measured {
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
    }
}

fn start_lab(network: &str, hosts: usize, extra: &[&str]) -> (Child, u16) {
    let mut child = Command::new(BIN)
        .args([
            "lab",
            "--bind",
            network,
            "--port",
            "0",
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
            std::thread::spawn(move || for _ in lines {});
            return (child, port);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("lab did not start");
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = 4096usize;
    let concurrency = "1000";
    println!(
        "relayscan benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // 1. Full dialogues: every lab host is the closed persona (16 relay tests each).
    let (mut lab, port) = start_lab("127.50.0.0/16", hosts, &["--persona", "closed"]);
    let last = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 50, 0, 0)) + hosts as u32);
    let range = format!("127.50.0.1-{last}");
    let prefix = dir.path().join("lab");
    let m = measure(&[
        "scan",
        &range,
        "-p",
        &port.to_string(),
        "-c",
        concurrency,
        "--rate",
        "1000000",
        "-q",
        "--format",
        "jsonl",
        "-o",
        prefix.to_str().unwrap(),
    ]);
    let _ = lab.kill();
    let _ = lab.wait();
    let text = std::fs::read_to_string(prefix.with_extension("jsonl")).expect("jsonl");
    let mut durations: Vec<u64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["duration_ms"].as_u64())
        .collect();
    durations.sort_unstable();
    println!(
        "lab scan: {} hosts, full catalogue, c={concurrency}: exit {}, {:.2} s, {:.0} hosts/s, per host p50 {} ms p95 {} ms, peak RSS {:.1} MiB, records {}",
        hosts,
        m.exit,
        m.wall.as_secs_f64(),
        durations.len() as f64 / m.wall.as_secs_f64(),
        percentile(&durations, 50.0),
        percentile(&durations, 95.0),
        m.peak_rss_kib as f64 / 1024.0,
        durations.len()
    );

    // 2. Silent ranges (every connect refused): the plan is lazy, so memory stays flat
    //    whether the range is a /20 or a /16.
    let silent = |range: &str, endpoints: f64| {
        let prefix = dir.path().join(range.replace('/', "_"));
        let m = measure(&[
            "scan",
            range,
            "-p",
            "9",
            "-c",
            concurrency,
            "--rate",
            "1000000",
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ]);
        println!(
            "silent {range}: {endpoints} endpoints: exit {}, {:.2} s, {:.0} endpoints/s, peak RSS {:.1} MiB",
            m.exit,
            m.wall.as_secs_f64(),
            endpoints / m.wall.as_secs_f64(),
            m.peak_rss_kib as f64 / 1024.0
        );
        m.peak_rss_kib
    };
    let small = silent("127.203.0.0/20", 4096.0);
    let large = silent("127.202.0.0/16", 65536.0);
    println!(
        "flat memory: the /16 (16x the endpoints) peaks {:.1} MiB above the /20",
        (large - small) as f64 / 1024.0
    );
}
