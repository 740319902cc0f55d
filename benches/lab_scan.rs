//! Benchmark: the scanner against the lab on many loopback addresses, and against a silent /16.
//!
//! `cargo bench --bench lab_scan` prints hosts/s, per-host p50/p95 and the scanner's peak
//! memory (ru_maxrss of the child), for plain SMTP, STARTTLS and implicit TLS. Loopback
//! only: 127.50.0.0/16, 127.0.40.0/21, 127.203.0.0/20 and 127.202.0.0/16.

use std::net::Ipv4Addr;

mod common;

use common::{measure, start_lab};

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

    // 1. Full dialogues: every lab host plays one persona (16 relay tests each): plain
    //    SMTP, then STARTTLS with a certificate audit, then implicit TLS.
    let full = |network: &str, first: Ipv4Addr, hosts: usize, persona: &str, implicit: bool| {
        let lab = start_lab(network, hosts, &["--persona", persona]);
        let port = match (implicit, lab.ready.tls_port) {
            (true, Some(tls)) => tls,
            _ => lab.ready.port,
        };
        let last = Ipv4Addr::from(u32::from(first) + hosts as u32 - 1);
        let range = format!("{first}-{last}");
        let prefix = dir.path().join(persona);
        let port = port.to_string();
        let m = measure(&[
            "scan",
            &range,
            "-p",
            &port,
            "--tls-ports",
            if implicit { &port } else { "" },
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
        drop(lab);
        let text = std::fs::read_to_string(prefix.with_extension("jsonl")).expect("jsonl");
        let mut durations: Vec<u64> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["duration_ms"].as_u64())
            .collect();
        durations.sort_unstable();
        println!(
            "lab scan, {persona}: {} hosts, full catalogue, c={concurrency}: exit {}, {:.2} s, {:.0} hosts/s, per host p50 {} ms p95 {} ms, peak RSS {:.1} MiB, records {}",
            hosts,
            m.exit,
            m.wall.as_secs_f64(),
            durations.len() as f64 / m.wall.as_secs_f64(),
            percentile(&durations, 50.0),
            percentile(&durations, 95.0),
            m.peak_rss_kib as f64 / 1024.0,
            durations.len()
        );
    };
    full(
        "127.50.0.0/16",
        Ipv4Addr::new(127, 50, 0, 1),
        hosts,
        "closed",
        false,
    );
    // The same dialogue in plaintext, after STARTTLS and inside implicit TLS, on a /21.
    let tls_net = Ipv4Addr::new(127, 0, 40, 1);
    for (persona, implicit) in [
        ("closed", false),
        ("starttls-self-signed", false),
        ("implicit-tls", true),
    ] {
        full("127.0.40.0/21", tls_net, 2046, persona, implicit);
    }

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
