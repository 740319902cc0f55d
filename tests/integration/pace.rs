//! The pace line at the end of a scan: how many probes, how fast, and how many of the `-c` slots were probing (Little's law), never under `-q`.
//!
//! Ten `closed` hosts, 10 ms per reply (a dialogue of about 60 ms), scanned once for the
//! module with each of three settings, at the same time. The two-slot scan starts five
//! connections a second (`--rate 5`): about 1.1 s for 0.6 s of probing on two slots, a
//! share near 30 %, far enough from 100 % that a share computed wrongly (without C, say)
//! shows, and a wall time that the line's 0.1 s rounding blurs by 5 % at most.

use std::sync::LazyLock;
use std::time::Duration;

use relayscan::report::ScanRecord;

use crate::support::{LabProcess, nets, read_jsonl, run, stderr};

const HOSTS: usize = 10;

/// One scan: its stderr and its records.
struct Scan {
    stderr: String,
    records: Vec<ScanRecord>,
}

/// The scans by their extra flags: two slots at five connections a second, fifty slots
/// (both with `-v`, which adds the figures), fifty slots without `-v`, two slots under
/// `-q` (which `-v` does not undo).
struct Scans {
    two_slots: Scan,
    fifty_slots: Scan,
    plain: Scan,
    quiet: Scan,
}

static SCANS: LazyLock<Scans> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::PACE.lab_network(),
        dir.path(),
        &[
            "--persona",
            "closed",
            "--hosts",
            &HOSTS.to_string(),
            "--reply-delay",
            "10ms",
        ],
    );
    let scan = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        let range = lab.range(HOSTS);
        let port = lab.port_arg();
        let mut args = vec!["scan", &range, "-p", &port, "--no-progress"];
        args.extend(["--format", "jsonl", "-o", prefix.to_str().unwrap()]);
        args.extend(extra);
        let out = run(&args, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
        Scan {
            stderr: stderr(&out),
            records: read_jsonl(&prefix.with_extension("jsonl")),
        }
    };
    std::thread::scope(|s| {
        let two = s.spawn(|| scan("two", &["-c", "2", "--rate", "5", "-v"]));
        let fifty = s.spawn(|| scan("fifty", &["-c", "50", "-v"]));
        let plain = s.spawn(|| scan("plain", &["-c", "50"]));
        let quiet = s.spawn(|| scan("quiet", &["-c", "2", "-q", "-v"]));
        Scans {
            two_slots: two.join().expect("scan"),
            fifty_slots: fifty.join().expect("scan"),
            plain: plain.join().expect("scan"),
            quiet: quiet.join().expect("scan"),
        }
    })
});

fn pace_line(text: &str) -> Option<&str> {
    text.lines().find(|l| l.starts_with("relayscan: pace: "))
}

/// The figures of "pace: N probes in W s, L per second, M ms per probe on average; U% of
/// the C slots probing; WHY".
#[derive(Debug)]
struct Figures {
    probes: u64,
    wall_s: f64,
    per_second: f64,
    mean_ms: f64,
    share: f64,
    slots: usize,
    why: String,
}

fn figures(line: &str) -> Figures {
    let number = |text: &str, before: &str| -> f64 {
        let head = text
            .split(before)
            .next()
            .unwrap_or_else(|| panic!("no {before:?} in {line}"));
        head.rsplit(' ')
            .next()
            .and_then(|n| n.trim_end_matches('%').parse().ok())
            .unwrap_or_else(|| panic!("no number before {before:?} in {line}"))
    };
    let parts: Vec<&str> = line.splitn(3, "; ").collect();
    let [head, slots, why] = parts[..] else {
        panic!("not three parts: {line}");
    };
    Figures {
        probes: number(head, " probes in ") as u64,
        wall_s: number(head, " s, "),
        per_second: number(head, " per second"),
        mean_ms: number(head, " ms per probe"),
        share: number(slots, "% of the "),
        slots: number(slots, " slots probing") as usize,
        why: why.to_string(),
    }
}

fn two_slots() -> (Figures, &'static [ScanRecord]) {
    let scan = &SCANS.two_slots;
    let line = pace_line(&scan.stderr).unwrap_or_else(|| panic!("no pace line: {}", scan.stderr));
    (figures(line), &scan.records)
}

#[test]
fn the_pace_line_counts_every_probe_and_names_the_slots() {
    let (f, records) = two_slots();
    assert_eq!(f.probes, HOSTS as u64);
    assert_eq!(records.len(), HOSTS);
    assert_eq!(f.slots, 2);
}

#[test]
fn the_mean_time_per_probe_is_that_of_the_records() {
    // W: the records' durations, summed by the writer, over the probes.
    let (f, records) = two_slots();
    let busy_ms: u64 = records.iter().map(|r| r.duration_ms).sum();
    let mean = busy_ms as f64 / records.len() as f64;
    assert!(
        (f.mean_ms - mean).abs() <= 0.5,
        "{f:?}: mean of the records {mean} ms"
    );
}

#[test]
fn the_share_of_slots_probing_is_littles_law_of_the_line_s_own_figures() {
    // U = busy / (wall × C); the line rounds wall to 0.1 s and U to 1 %.
    let (f, records) = two_slots();
    let busy_s = records.iter().map(|r| r.duration_ms).sum::<u64>() as f64 / 1000.0;
    let share = |wall_s: f64| (100.0 * busy_s / (wall_s * f.slots as f64)).min(100.0);
    assert!(f.wall_s >= 0.9, "ten connections at five a second: {f:?}");
    let (low, high) = (share(f.wall_s + 0.05) - 0.5, share(f.wall_s - 0.05) + 0.5);
    assert!(
        (low..=high).contains(&f.share),
        "{f:?}: {busy_s} s busy gives {low:.1}..{high:.1} %"
    );
    // λ = N / wall, likewise rounded.
    let (low, high) = (
        f.probes as f64 / (f.wall_s + 0.05) - 0.5,
        f.probes as f64 / (f.wall_s - 0.05) + 0.5,
    );
    assert!((low..=high).contains(&f.per_second), "{f:?}");
}

#[test]
fn a_run_held_back_by_the_rate_says_so() {
    // More probes than one second's burst, started at the rate: the rate set the pace.
    let (f, _) = two_slots();
    assert_eq!(f.why, "--rate 5 set the pace", "{f:?}");
}

#[test]
fn more_slots_than_hosts_says_the_slots_did_not_matter() {
    let text = &SCANS.fifty_slots.stderr;
    let line = pace_line(text).unwrap_or_else(|| panic!("no pace line: {text}"));
    assert!(
        line.starts_with(&format!("relayscan: pace: {HOSTS} probes in ")),
        "{line}"
    );
    assert!(
        line.ends_with("; fewer endpoints than slots (-c)"),
        "{line}"
    );
}

#[test]
fn quiet_prints_no_pace_line() {
    let scan = &SCANS.quiet;
    assert_eq!(scan.records.len(), HOSTS, "the quiet scan ran");
    assert_eq!(pace_line(&scan.stderr), None, "{}", scan.stderr);
    assert!(
        !scan.stderr.contains("relayscan: speed: "),
        "{}",
        scan.stderr
    );
    assert!(!scan.stderr.contains(" completed · "), "{}", scan.stderr);
}

fn speed_line(text: &str) -> &str {
    text.lines()
        .find(|l| l.starts_with("relayscan: speed: "))
        .unwrap_or_else(|| panic!("no speed line: {text}"))
}

#[test]
fn without_v_the_closing_line_says_in_plain_words_what_limited_the_speed() {
    let text = &SCANS.plain.stderr;
    let line = speed_line(text);
    assert!(
        line.starts_with(&format!("relayscan: speed: {HOSTS} endpoints in ")),
        "{line}"
    );
    assert!(
        line.contains("fewer endpoints than probes allowed at once (-c 50)"),
        "{line}"
    );
    // The figures and the per-host lines are -v's.
    assert_eq!(pace_line(text), None, "{text}");
    assert!(!text.contains(" completed · "), "{text}");
    let rate = speed_line(&SCANS.two_slots.stderr);
    assert!(
        rate.contains("--rate 5 limited the speed: raise --rate to go faster"),
        "{rate}"
    );
}

#[test]
fn v_prints_a_line_per_host_as_it_finishes() {
    let text = &SCANS.fifty_slots.stderr;
    let hosts: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" completed · relay-denied"))
        .collect();
    assert_eq!(hosts.len(), HOSTS, "{text}");
    for r in &SCANS.fifty_slots.records {
        let line = format!("relayscan: {}:{} completed · relay-denied", r.ip, r.port);
        assert!(
            hosts.iter().any(|h| h.starts_with(&line)),
            "{line} in {text}"
        );
    }
}
