//! Benchmark: Little's law on loopback. Labs answer every flight after `--reply-delay` (a WAN round trip); the scanner runs at concurrency C; prints λ, W and its parts, U, CPU, memory and round trips per host.
//!
//! `cargo bench --bench throughput` measures C = 1,000 and 10,000 at 200 ms per reply,
//! pipelined and one command at a time, then the full catalogue with no delay (probes per
//! CPU-second). Knobs: `THROUGHPUT_C` (comma list), `THROUGHPUT_DELAY` (e.g. `200ms`),
//! `THROUGHPUT_WAVES` (hosts = waves × C). Loopback only: labs of at most 5,000 hosts on
//! 127.61.0.0/16 (one /19 each), so that each lab's listeners plus its accepted
//! connections fit the 20,000-descriptor limit.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::Child;
use std::time::Duration;

mod common;

use common::{measure, start_lab_on, stop_with_cpu};

/// Hosts one lab process holds at most: listeners + connections stay under 10,000 fds.
const LAB_HOSTS: usize = 5_000;

/// One scan's figures, from the scanner's rusage and its JSONL records.
struct Figures {
    hosts: usize,
    wall: f64,
    mean_ms: f64,
    p95_ms: f64,
    parts_ms: [f64; 5],
    round_trips: f64,
    cpu: f64,
    lab_cpu: f64,
    peak_rss_mib: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Starts enough labs for `hosts`; returns them with the scan targets and the port.
fn start_labs(hosts: usize, delay: &str) -> (Vec<Child>, Vec<String>, String) {
    let mut labs = Vec::new();
    let mut targets = Vec::new();
    // The first lab picks a free port; the others take the same one, so that one `-p`
    // covers every target.
    let mut port = 0;
    let mut left = hosts;
    let mut block = 0u32;
    while left > 0 {
        let n = left.min(LAB_HOSTS);
        let net = Ipv4Addr::new(127, 61, (block * 32) as u8, 0);
        let args = ["--persona", "closed", "--reply-delay", delay];
        let (lab, lab_port, _) = start_lab_on(&format!("{net}/19"), port, n, &args);
        port = lab_port;
        let first = Ipv4Addr::from(u32::from(net) + 1);
        let last = Ipv4Addr::from(u32::from(net) + n as u32);
        targets.push(format!("{first}-{last}"));
        labs.push(lab);
        left -= n;
        block += 1;
    }
    (labs, targets, port.to_string())
}

fn run(concurrency: usize, hosts: usize, delay: &str, extra: &[&str]) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let (labs, targets, port) = start_labs(hosts, delay);
    let prefix = dir.path().join("scan");
    let c = concurrency.to_string();
    let mut args: Vec<&str> = vec!["scan"];
    args.extend(targets.iter().map(String::as_str));
    args.extend([
        "-p",
        &port,
        "-c",
        &c,
        "--rate",
        "10000000",
        "--subnet-rate",
        "10000000",
        "-q",
        "--format",
        "jsonl",
        "-o",
        prefix.to_str().unwrap(),
    ]);
    args.extend(extra);
    let m = measure(&args);
    assert_eq!(m.exit, 0, "scan exit");
    let lab_cpu: Duration = labs.into_iter().map(stop_with_cpu).sum();
    // Streamed line by line: a child's ru_maxrss starts from this process's RSS at fork
    // (Linux carries it over exec), so the bench must stay small for the next scan.
    let file = std::fs::File::open(prefix.with_extension("jsonl")).expect("jsonl");
    let mut durations = Vec::with_capacity(hosts);
    let mut parts = [0.0f64; 6];
    let mut completed = 0;
    for line in BufReader::new(file).lines() {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(&line.expect("jsonl line")) else {
            continue;
        };
        durations.push(r["duration_ms"].as_f64().unwrap_or(0.0));
        let keys = [
            "connect_us",
            "greeting_us",
            "ehlo_us",
            "tls_us",
            "tests_us",
            "round_trips",
        ];
        for (sum, key) in parts.iter_mut().zip(keys) {
            *sum += r["timing"][key].as_f64().unwrap_or(0.0);
        }
        completed += usize::from(r["status"] == "completed");
    }
    durations.sort_by(f64::total_cmp);
    let n = durations.len().max(1) as f64;
    assert_eq!(completed, hosts, "every host completes");
    Figures {
        hosts: durations.len(),
        wall: m.wall.as_secs_f64(),
        mean_ms: durations.iter().sum::<f64>() / n,
        p95_ms: percentile(&durations, 95.0),
        parts_ms: [0, 1, 2, 3, 4].map(|i| parts[i] / n / 1000.0),
        round_trips: parts[5] / n,
        cpu: m.cpu.as_secs_f64(),
        lab_cpu: lab_cpu.as_secs_f64(),
        peak_rss_mib: m.peak_rss_kib as f64 / 1024.0,
    }
}

fn report(label: &str, c: usize, f: &Figures) {
    let lambda = f.hosts as f64 / f.wall;
    let u = lambda * (f.mean_ms / 1000.0) / c as f64;
    let [connect, greeting, ehlo, tls, tests] = f.parts_ms;
    println!(
        "{label}, C={c}: {} hosts in {:.2} s: λ {:.0} hosts/s, W mean {:.0} ms p95 {:.0} ms \
         (connect {connect:.1}, greeting {greeting:.0}, EHLO {ehlo:.0}, TLS {tls:.0}, tests {tests:.0}), \
         U {u:.3}, round trips/host {:.1}, CPU {:.0} µs/host ({:.0} probes per CPU-second), \
         peak RSS {:.1} MiB, lab CPU {:.2} s ({:.0}% of one core)",
        f.hosts,
        f.wall,
        lambda,
        f.mean_ms,
        f.p95_ms,
        f.round_trips,
        f.cpu / f.hosts as f64 * 1e6,
        f.hosts as f64 / f.cpu.max(1e-9),
        f.peak_rss_mib,
        f.lab_cpu,
        f.lab_cpu / f.wall * 100.0
    );
}

fn main() {
    let delay = env_or("THROUGHPUT_DELAY", "200ms");
    let waves: usize = env_or("THROUGHPUT_WAVES", "2")
        .parse()
        .expect("THROUGHPUT_WAVES");
    let levels: Vec<usize> = env_or("THROUGHPUT_C", "1000,10000")
        .split(',')
        .map(|c| c.trim().parse().expect("THROUGHPUT_C"))
        .collect();
    println!(
        "relayscan throughput ({} cores), {delay} per reply, hosts = {waves} × C, persona closed (16 tests, every one refused)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let mut peaks = Vec::new();
    for &c in &levels {
        let f = run(c, c * waves, &delay, &[]);
        report("pipelined", c, &f);
        peaks.push((c, f.peak_rss_mib));
        let f = run(c, c * waves, &delay, &["--no-pipelining"]);
        report("one command at a time", c, &f);
    }
    // What one more probe in flight costs: the slope of peak memory over concurrency.
    if let (Some(&(c0, m0)), Some(&(c1, m1))) = (peaks.first(), peaks.last())
        && c1 > c0
    {
        println!(
            "memory per in-flight probe (pipelined, C {c0} → {c1}): {:.1} KiB",
            (m1 - m0) * 1024.0 / (c1 - c0) as f64
        );
    }
    // CPU: the full catalogue with no delay, so that the scanner's own work dominates.
    for (label, extra) in [
        ("no delay, pipelined", &[][..]),
        ("no delay, one command at a time", &["--no-pipelining"][..]),
    ] {
        let f = run(500, 5_000, "0ms", extra);
        report(label, 500, &f);
    }
}
