//! Benchmark: reports from data. `relayscan report` turning a large JSONL into every format, and `relayscan diff` of two large scans.
//!
//! `cargo bench --bench reports` scans the lab once (every persona, 127.0.70.0/24, loopback
//! only), then builds JSONL files of 1,000 and 50,000 records from those real records
//! (addresses rewritten inside 127.64.0.0/10: data, never scanned), and measures wall time,
//! records/s, output sizes and peak RSS (ru_maxrss of the child). It writes about 2.5 GB
//! of temporary files (the lab records carry full transcripts, about 12 KB each).

// clippy.toml keeps relayscan's own file writes in one place; benches make fixtures freely.
#![allow(clippy::disallowed_methods)]

use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;

mod common;

use common::{measure, start_lab};

/// Scans a lab of every persona and returns its JSONL records as JSON values.
fn seed_records(dir: &Path) -> Vec<serde_json::Value> {
    let hosts = relayscan_lab::Persona::ALL.len();
    let lab = start_lab("127.0.70.0/24", hosts, &[]);
    let prefix = dir.join("seed");
    let target = format!("127.0.70.1-{hosts}");
    let m = measure(&[
        "scan",
        &target,
        "-p",
        &lab.ready.port.to_string(),
        "--rate",
        "1000",
        "-q",
        "--format",
        "jsonl",
        "-o",
        prefix.to_str().unwrap(),
    ]);
    drop(lab);
    assert_eq!(m.exit, 0, "seed scan failed");
    std::fs::read_to_string(prefix.with_extension("jsonl"))
        .expect("seed jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect()
}

/// Writes `n` records cycling through `seed`, each at its own address in 127.64.0.0/10;
/// `change` may alter record i (for the "new" side of a diff).
fn write_jsonl(
    path: &Path,
    seed: &[serde_json::Value],
    n: usize,
    change: impl Fn(usize, &mut serde_json::Value),
) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create jsonl"));
    let base = u32::from(Ipv4Addr::new(127, 64, 0, 0));
    for i in 0..n {
        let mut r = seed[i % seed.len()].clone();
        r["ip"] = Ipv4Addr::from(base + i as u32).to_string().into();
        change(i, &mut r);
        serde_json::to_writer(&mut out, &r).expect("write record");
        out.write_all(b"\n").expect("write newline");
    }
    out.flush().expect("flush jsonl");
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = seed_records(dir.path());
    println!(
        "seed: {} records from one scan of every lab persona",
        seed.len()
    );

    for n in [1_000usize, 50_000] {
        let old = dir.path().join(format!("old-{n}.jsonl"));
        write_jsonl(&old, &seed, n, |_, _| {});
        let prefix = dir.path().join(format!("out-{n}"));
        let m = measure(&[
            "report",
            old.to_str().unwrap(),
            "--format",
            "html,md,csv,json",
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ]);
        let ext = |e: &str| size(&dir.path().join(format!("out-{n}.{e}")));
        println!(
            "report {n} records -> html,md,csv,json: exit {}, {:.2} s, {:.0} records/s, peak RSS {:.1} MiB; input {:.1} MiB, html {:.1} MiB, md {:.0} KiB, csv {:.1} MiB, json {:.1} MiB",
            m.exit,
            m.wall.as_secs_f64(),
            n as f64 / m.wall.as_secs_f64(),
            m.peak_rss_kib as f64 / 1024.0,
            mib(size(&old)),
            mib(ext("html")),
            ext("md") as f64 / 1024.0,
            mib(ext("csv")),
            mib(ext("json")),
        );

        // The new scan: every 100th host fixed (relay-denied, no findings), every 97th gone.
        let new = dir.path().join(format!("new-{n}.jsonl"));
        write_jsonl(&new, &seed, n, |i, r| {
            if i % 100 == 0 {
                r["verdict"] = "relay-denied".into();
                r["findings"] = serde_json::json!([]);
            }
            if i % 97 == 0 {
                r["ip"] = "127.127.255.254".into();
            }
        });
        let diff = dir.path().join(format!("diff-{n}"));
        let m = measure(&[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            diff.to_str().unwrap(),
        ]);
        let rows = std::fs::read_to_string(dir.path().join(format!("diff-{n}.csv")))
            .map(|t| t.lines().count().saturating_sub(1))
            .unwrap_or(0);
        println!(
            "diff {n} + {n} records: exit {}, {:.2} s, {:.0} records/s, peak RSS {:.1} MiB, {rows} changes",
            m.exit,
            m.wall.as_secs_f64(),
            (2 * n) as f64 / m.wall.as_secs_f64(),
            m.peak_rss_kib as f64 / 1024.0,
        );
    }
}
