//! Benchmark: Little's law on loopback. Labs answer every flight after `--reply-delay` (a WAN round trip); the scanner runs at concurrency C; prints λ, W and its parts, U, CPU, memory and round trips per host.
//!
//! `cargo bench --bench throughput` measures C = 1,000 and 10,000 at 200 ms per reply,
//! pipelined and one command at a time, then the full catalogue with no delay (probes per
//! CPU-second). Knobs: `THROUGHPUT_C` (comma list), `THROUGHPUT_DELAY` (e.g. `200ms`),
//! `THROUGHPUT_WAVES` (hosts = waves × C), `THROUGHPUT_MODES` (`pipelined,one`: which of
//! the two delayed runs per C). Loopback only: labs of `closed` hosts on
//! 127.61.0.0/16 and up, as many hosts per lab process as its open-file limit allows.
//!
//! U is given twice. Over the whole run, λ·W/C includes the ramp-up (C connections opened
//! at once) and the drain (the last wave finishing with nothing left to start), which
//! cost a scan of few waves a lot whatever the scheduler does. In the steady state (from
//! the moment C probes have started until the last one starts, when there is always work
//! waiting) it is the mean number of probes in flight over C, counted from each record's
//! start and duration: the share of the C slots doing probe work, which is what Little's
//! law asks of the scheduler. W is set beside its floor, the delayed flights × the delay,
//! so that a W stretched by a saturated CPU shows.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Deserialize;

mod common;

use common::{measure, start_lab_on, stop_with_usage};
use relayscan_lab::launcher::RunningLab;

/// Hosts one lab process holds at most when the open-file limit is high: a /17 of
/// listeners plus its share of the scanner's connections.
const LAB_HOSTS_MAX: usize = 30_000;

/// One scan's figures, from the scanner's rusage and its JSONL records.
struct Figures {
    hosts: usize,
    wall: f64,
    mean_ms: f64,
    p95_ms: f64,
    parts_ms: [f64; 5],
    round_trips: f64,
    cpu: f64,
    /// The kernel's part of `cpu` (TCP on both ends of loopback lands in the sender's).
    sys: f64,
    lab_cpu: f64,
    lab_sys: f64,
    peak_rss_mib: f64,
    steady: Option<Steady>,
}

/// The part of a run where the scheduler always had work waiting.
struct Steady {
    seconds: f64,
    /// Mean probes in flight over the window.
    in_flight: f64,
    /// Probes that finished inside the window, per second.
    lambda: f64,
    /// Mean W of the probes that started inside the window, in ms.
    mean_ms: f64,
}

/// The fields of a JSONL record the bench reads (serde skips the rest, dialogue included).
#[derive(Deserialize)]
struct Row {
    started_at: chrono::DateTime<chrono::Utc>,
    duration_ms: f64,
    status: String,
    #[serde(default)]
    timing: RowTiming,
}

#[derive(Deserialize, Default)]
struct RowTiming {
    #[serde(default)]
    connect_us: f64,
    #[serde(default)]
    greeting_us: f64,
    #[serde(default)]
    ehlo_us: f64,
    #[serde(default)]
    tls_us: f64,
    #[serde(default)]
    tests_us: f64,
    #[serde(default)]
    round_trips: f64,
}

/// Each probe as (start, duration) in seconds from the first start; the steady-state
/// window is from the `concurrency`-th start to the last start.
fn steady_state(probes: &mut [(f64, f64)], concurrency: usize) -> Option<Steady> {
    probes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let from = probes.get(concurrency.checked_sub(1)?)?.0;
    let to = probes.last()?.0;
    let seconds = to - from;
    if seconds <= 0.0 {
        return None;
    }
    let mut busy = 0.0;
    let mut finished = 0usize;
    let (mut started, mut started_ms) = (0usize, 0.0);
    for &(start, duration) in probes.iter() {
        let end = start + duration;
        busy += (end.min(to) - start.max(from)).max(0.0);
        finished += usize::from(end > from && end <= to);
        if start >= from && start <= to {
            started += 1;
            started_ms += duration * 1000.0;
        }
    }
    Some(Steady {
        seconds,
        in_flight: busy / seconds,
        lambda: finished as f64 / seconds,
        mean_ms: started_ms / started.max(1) as f64,
    })
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

/// Starts enough labs for `hosts`, each on a /17 of 127.61.0.0 and up; returns them with
/// the scan targets and the port.
fn start_labs(hosts: usize, delay: &str, per_lab: usize) -> (Vec<RunningLab>, Vec<String>, String) {
    let mut labs = Vec::new();
    let mut targets = Vec::new();
    // The first lab picks a free port; the others take the same one, so that one `-p`
    // covers every target.
    let mut port = 0;
    let mut left = hosts;
    let mut block = 0u32;
    while left > 0 {
        let n = left.min(per_lab);
        let net = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 61, 0, 0)) + block * 32_768);
        let args = ["--persona", "closed", "--reply-delay", delay];
        let lab = start_lab_on(&format!("{net}/17"), port, n, &args);
        port = lab.ready.port;
        let first = Ipv4Addr::from(u32::from(net) + 1);
        let last = Ipv4Addr::from(u32::from(net) + n as u32);
        targets.push(format!("{first}-{last}"));
        labs.push(lab);
        left -= n;
        block += 1;
    }
    (labs, targets, port.to_string())
}

/// How one scan is set up.
struct Setup<'a> {
    concurrency: usize,
    hosts: usize,
    delay: &'a str,
    per_lab: usize,
    extra: &'a [&'a str],
}

fn run(setup: &Setup) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let (labs, targets, port) = start_labs(setup.hosts, setup.delay, setup.per_lab);
    let prefix = dir.path().join("scan");
    let c = setup.concurrency.to_string();
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
    args.extend(setup.extra);
    let m = measure(&args);
    assert_eq!(m.exit, 0, "scan exit");
    let (mut lab_cpu, mut lab_sys) = (Duration::ZERO, Duration::ZERO);
    for lab in labs {
        let (cpu, sys) = stop_with_usage(lab.into_child());
        lab_cpu += cpu;
        lab_sys += sys;
    }
    // Streamed line by line: a child's ru_maxrss starts from this process's RSS at fork
    // (Linux carries it over exec), so the bench must stay small for the next scan.
    let file = std::fs::File::open(prefix.with_extension("jsonl")).expect("jsonl");
    let mut durations = Vec::with_capacity(setup.hosts);
    let mut spans = Vec::with_capacity(setup.hosts);
    let mut parts = [0.0f64; 6];
    let mut completed = 0;
    for line in BufReader::new(file).lines() {
        let row: Row = serde_json::from_str(&line.expect("jsonl line")).expect("a record");
        durations.push(row.duration_ms);
        let started = row.started_at.timestamp_micros() as f64 / 1e6;
        spans.push((started, row.duration_ms / 1000.0));
        let t = &row.timing;
        let values = [
            t.connect_us,
            t.greeting_us,
            t.ehlo_us,
            t.tls_us,
            t.tests_us,
            t.round_trips,
        ];
        for (sum, value) in parts.iter_mut().zip(values) {
            *sum += value;
        }
        completed += usize::from(row.status == "completed");
    }
    assert_eq!(completed, setup.hosts, "every host completes");
    durations.sort_by(f64::total_cmp);
    let n = durations.len().max(1) as f64;
    let first = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    for span in &mut spans {
        span.0 -= first;
    }
    Figures {
        hosts: durations.len(),
        wall: m.wall.as_secs_f64(),
        mean_ms: durations.iter().sum::<f64>() / n,
        p95_ms: percentile(&durations, 95.0),
        parts_ms: [0, 1, 2, 3, 4].map(|i| parts[i] / n / 1000.0),
        round_trips: parts[5] / n,
        cpu: m.cpu.as_secs_f64(),
        sys: m.sys.as_secs_f64(),
        lab_cpu: lab_cpu.as_secs_f64(),
        lab_sys: lab_sys.as_secs_f64(),
        peak_rss_mib: m.peak_rss_kib as f64 / 1024.0,
        steady: steady_state(&mut spans, setup.concurrency),
    }
}

fn report(label: &str, c: usize, delay: Duration, f: &Figures) {
    let lambda = f.hosts as f64 / f.wall;
    let u = lambda * (f.mean_ms / 1000.0) / c as f64;
    let [connect, greeting, ehlo, tls, tests] = f.parts_ms;
    // Every wait but the TCP handshake is a flight the lab delays.
    let floor_ms = (f.round_trips - 1.0).max(0.0) * delay.as_secs_f64() * 1000.0;
    println!(
        "{label}, C={c}: {} hosts in {:.2} s: λ {:.0} hosts/s, W mean {:.0} ms p95 {:.0} ms \
         (connect {connect:.1}, greeting {greeting:.0}, EHLO {ehlo:.0}, TLS {tls:.0}, tests {tests:.0}; \
         floor {floor_ms:.0}), U {u:.3} over the run, round trips/host {:.1}, \
         CPU {:.0} µs/host, {:.0} of it kernel ({:.0} probes per CPU-second), peak RSS {:.1} MiB, \
         lab CPU {:.2} s ({:.0} µs/host, {:.0} of it kernel; {:.0}% of one core)",
        f.hosts,
        f.wall,
        lambda,
        f.mean_ms,
        f.p95_ms,
        f.round_trips,
        f.cpu / f.hosts as f64 * 1e6,
        f.sys / f.hosts as f64 * 1e6,
        f.hosts as f64 / f.cpu.max(1e-9),
        f.peak_rss_mib,
        f.lab_cpu,
        f.lab_cpu / f.hosts as f64 * 1e6,
        f.lab_sys / f.hosts as f64 * 1e6,
        f.lab_cpu / f.wall * 100.0
    );
    if let Some(s) = &f.steady {
        println!(
            "    steady state ({:.2} s): {:.0} probes in flight, U {:.3}; λ {:.0} hosts/s, \
             W mean {:.0} ms (floor {floor_ms:.0})",
            s.seconds,
            s.in_flight,
            s.in_flight / c as f64,
            s.lambda,
            s.mean_ms,
        );
    }
}

/// `200ms`, `1s` or a bare number of milliseconds.
fn parse_delay(text: &str) -> Duration {
    let ms: f64 = if let Some(ms) = text.strip_suffix("ms") {
        ms.parse().expect("THROUGHPUT_DELAY")
    } else if let Some(s) = text.strip_suffix('s') {
        s.parse::<f64>().expect("THROUGHPUT_DELAY") * 1000.0
    } else {
        text.parse().expect("THROUGHPUT_DELAY")
    };
    Duration::from_secs_f64(ms / 1000.0)
}

fn main() {
    let delay_text = env_or("THROUGHPUT_DELAY", "200ms");
    let delay = parse_delay(&delay_text);
    let waves: usize = env_or("THROUGHPUT_WAVES", "5")
        .parse()
        .expect("THROUGHPUT_WAVES");
    let levels: Vec<usize> = env_or("THROUGHPUT_C", "1000,10000")
        .split(',')
        .map(|c| c.trim().parse().expect("THROUGHPUT_C"))
        .collect();
    let modes = env_or("THROUGHPUT_MODES", "pipelined,one");
    // The labs and the scanner inherit the raised limit.
    let open_files = relayscan::scan::limits::raise_open_file_limit();
    // Each lab holds its listeners and up to C accepted connections.
    let max_c = levels.iter().copied().max().unwrap_or(1);
    let per_lab = (open_files as usize)
        .saturating_sub(max_c + 256)
        .clamp(1_000, LAB_HOSTS_MAX);
    println!(
        "relayscan throughput ({} cores), {delay_text} per reply, hosts = {waves} × C, persona closed \
         (16 tests, every one refused), up to {per_lab} hosts per lab process",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let mut peaks = Vec::new();
    for &c in &levels {
        for (label, extra) in [
            ("pipelined", &[][..]),
            ("one command at a time", &["--no-pipelining"][..]),
        ] {
            let mode = if extra.is_empty() { "pipelined" } else { "one" };
            if !modes.split(',').any(|m| m.trim() == mode) {
                continue;
            }
            let setup = Setup {
                concurrency: c,
                hosts: c * waves,
                delay: &delay_text,
                per_lab,
                extra,
            };
            let f = run(&setup);
            report(label, c, delay, &f);
            if extra.is_empty() {
                peaks.push((c, f.peak_rss_mib));
            }
        }
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
        let setup = Setup {
            concurrency: 500,
            hosts: 5_000,
            delay: "0ms",
            per_lab,
            extra,
        };
        let f = run(&setup);
        report(label, 500, Duration::ZERO, &f);
    }
}
