//! Benchmark: generating a scan plan in permuted order, and scanning a silent loopback /16.
//!
//! `cargo bench --bench plan` prints, for 127.0.0.0/8 × 3 ports (50.3M endpoints) and for
//! the first 50.3M positions of an IPv6 /64 × 3 ports, the endpoints generated per
//! second and the generating process's peak memory (each in a child process of its own,
//! so that one's peak does not hide the other's); then it runs `relayscan scan` against
//! 127.220.0.0/16, where nothing listens, and prints hosts/s and the scanner's peak memory.
//! Loopback only; the plans are generated, never probed.

use std::collections::HashMap;
use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::Instant;

use relayscan::target::{Order, Origin, Plan, PlanInput, Shard, Space, Target};

const BIN: &str = env!("CARGO_BIN_EXE_relayscan");
const CHILD_FLAG: &str = "--plan-child";
const ENDPOINTS: u128 = 3 << 24;

/// This process's peak resident memory in MiB.
fn peak_rss_mib(who: i32) -> f64 {
    // SAFETY: getrusage fills the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

fn space(target: &str) -> Space {
    let targets: Vec<(Origin, Target)> = vec![(Origin::argument(1), target.parse().unwrap())];
    let plan = Plan::build(PlanInput {
        targets: &targets,
        excludes: &[],
        default_ports: &[25, 465, 587],
        resolved: &HashMap::new(),
        scope: None,
    })
    .unwrap();
    Space::new(plan, Order::Permuted { seed: 2025 }, Shard::WHOLE)
}

/// Generates `ENDPOINTS` endpoints of `target` in permuted order, as the scheduler does.
fn generate(target: &str) {
    let space = space(target);
    let start = Instant::now();
    let mut count = 0u128;
    let mut ports = 0u64;
    for (_, endpoint) in space.iter_from(0).take(ENDPOINTS as usize) {
        ports += u64::from(black_box(endpoint).port);
        count += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(ports);
    println!(
        "plan {target} x 3 ports ({} endpoints in the plan): {count} generated in {secs:.2} s, {:.1}M endpoints/s, peak RSS {:.1} MiB",
        space.len(),
        count as f64 / secs / 1e6,
        peak_rss_mib(libc::RUSAGE_SELF)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        let target = &args[i + 1];
        generate(target);
        return;
    }
    println!(
        "relayscan plan benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // 1. The scanner on a silent /16 (every connect refused), in permuted order.
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("silent");
    let start = Instant::now();
    let status = Command::new(BIN)
        .args([
            "scan",
            "127.220.0.0/16",
            "-p",
            "9",
            "-c",
            "1000",
            "--rate",
            "1000000",
            "-q",
            "--seed",
            "7",
            "-o",
            prefix.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .status()
        .expect("run relayscan");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "silent 127.220.0.0/16 port 9: {status}, {secs:.2} s, {:.0} hosts/s, peak RSS {:.1} MiB",
        65536.0 / secs,
        peak_rss_mib(libc::RUSAGE_CHILDREN)
    );

    // 2. Plan generation, each in a child of its own.
    let me = std::env::current_exe().expect("this benchmark's path");
    for target in ["127.0.0.0/8", "2001:db8::/64"] {
        let status = Command::new(&me)
            .args([CHILD_FLAG, target])
            .status()
            .expect("run the generation child");
        assert!(status.success(), "{target}: {status}");
    }
}
