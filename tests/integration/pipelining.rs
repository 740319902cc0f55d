//! PIPELINING changes round trips, never verdicts: the lab (every persona, plain and TLS) and the hostile lab scanned with and without `--no-pipelining`, compared record by record.
//!
//! Each comparison is made once for the module: two fresh labs (greylisting remembers the
//! first scan), one scanned each way, at the same time.

use std::path::Path;
use std::sync::LazyLock;

use relayscan::probe::Status;
use relayscan::report::ScanRecord;
use relayscan_lab::hostile::Misbehaviour;

use crate::support::hostile;
use crate::support::{LabProcess, nets, read_jsonl, run, stderr};

/// One record and what must not depend on pipelining in it.
struct Compared {
    record: ScanRecord,
    conclusion: String,
}

/// The same lab scanned both ways, record by record in the same order.
struct Comparison {
    piped: Vec<Compared>,
    one_at_a_time: Vec<Compared>,
}

impl Comparison {
    fn pairs(&self) -> impl Iterator<Item = (&Compared, &Compared)> {
        self.piped.iter().zip(&self.one_at_a_time)
    }
}

/// Every persona, plaintext and implicit TLS. Default timeouts (10 s a reply, 60 s a
/// host): only the personas end their dialogues, never a timeout that load could reach.
static PERSONAS: LazyLock<Comparison> = LazyLock::new(|| {
    // The slow greeting's 220- teaser held 400 ms instead of 1.5 s: the same dialogue, sooner.
    compare(
        [nets::PIPELINED, nets::ONE_AT_A_TIME],
        &["--greeting-pause", "400ms"],
        |lab| vec![(vec![lab.range(lab.hosts)], Vec::new())],
    )
});

/// Every hostile server, in the two scans of `support::hostile` (by what ends each one).
static HOSTILE: LazyLock<Comparison> = LazyLock::new(|| {
    compare(
        [nets::HOSTILE_PIPELINED, nets::HOSTILE_ONE_AT_A_TIME],
        &["--hostile"],
        |lab| {
            hostile::parts()
                .iter()
                .map(|part| (part.targets(lab), part.timeout_flags()))
                .collect()
        },
    )
});

/// Starts a lab on each network with `lab_args`, scans the first pipelined and the second
/// with `--no-pipelining`, both at once; each scan is made of the (targets, flags) that
/// `plan` gives for its lab, also run at once.
fn compare(
    networks: [nets::Net; 2],
    lab_args: &[&str],
    plan: impl Fn(&LabProcess) -> Vec<(Vec<String>, Vec<String>)> + Sync,
) -> Comparison {
    let dir = tempfile::tempdir().unwrap();
    let [piped, one_at_a_time] = std::thread::scope(|s| {
        let modes = [
            (networks[0], "piped", &[][..]),
            (networks[1], "one", &["--no-pipelining"][..]),
        ];
        let (dir, plan) = (dir.path(), &plan);
        modes
            .map(|(net, name, mode)| {
                s.spawn(move || {
                    let lab = LabProcess::start(net.lab_network(), dir, lab_args);
                    let scans = plan(&lab);
                    let records = std::thread::scope(|s| {
                        let handles: Vec<_> = scans
                            .iter()
                            .enumerate()
                            .map(|(i, (targets, flags))| {
                                let name = format!("{name}-{i}");
                                let lab = &lab;
                                s.spawn(move || scan(lab, dir, &name, targets, flags, mode))
                            })
                            .collect();
                        handles
                            .into_iter()
                            .flat_map(|h| h.join().expect("scan thread"))
                            .collect()
                    });
                    compared(records, &lab)
                })
            })
            .map(|h| h.join().expect("lab thread"))
    });
    assert_eq!(piped.len(), one_at_a_time.len());
    assert!(!piped.is_empty());
    Comparison {
        piped,
        one_at_a_time,
    }
}

/// Scans `targets` of `lab` (both ports when it has an implicit-TLS one) with `extra`.
fn scan(
    lab: &LabProcess,
    dir: &Path,
    name: &str,
    targets: &[String],
    flags: &[String],
    mode: &[&str],
) -> Vec<ScanRecord> {
    let prefix = dir.join(name);
    let ports = match lab.tls_port {
        Some(tls) => format!("{},{tls}", lab.port),
        None => lab.port_arg(),
    };
    let tls_ports = lab.tls_port.map(|p| p.to_string()).unwrap_or_default();
    let mut args = vec!["scan"];
    args.extend(targets.iter().map(String::as_str));
    args.extend([
        "-p",
        &ports,
        "--tls-ports",
        &tls_ports,
        "--rate",
        "1000",
        "-q",
    ]);
    args.extend(["-o", prefix.to_str().unwrap()]);
    args.extend(flags.iter().map(String::as_str));
    args.extend(mode);
    let out = run(&args, std::time::Duration::from_secs(90));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    read_jsonl(&prefix.with_extension("jsonl"))
}

/// The records in address order, plain before TLS (the labs' ports differ), each with its
/// conclusion.
fn compared(mut records: Vec<ScanRecord>, lab: &LabProcess) -> Vec<Compared> {
    records.sort_by_key(|r| (r.ip, Some(r.port) == lab.tls_port));
    records
        .into_iter()
        .map(|record| Compared {
            conclusion: conclusion(&record, lab),
            record,
        })
        .collect()
}

/// What must not depend on pipelining, for one record, relative to its lab's network.
fn conclusion(r: &ScanRecord, lab: &LabProcess) -> String {
    let host = match r.ip {
        std::net::IpAddr::V4(ip) => u32::from(ip) - u32::from(lab.network),
        std::net::IpAddr::V6(_) => u32::MAX,
    };
    let port = if Some(r.port) == lab.tls_port {
        "tls"
    } else {
        "plain"
    };
    // Reasons quote the lab's addresses, and the two labs differ in their third octet.
    let net = lab.network.to_string();
    let net = net.trim_end_matches('0');
    let mut reason = r.reason.as_deref().map(|t| t.replace(net, "NET."));
    // A hostile server's unasked-for bytes race our next command: the step at which they
    // are caught and their count vary from run to run, with or without pipelining. The
    // kind of protocol error is what must agree.
    // A rerun one command at a time says where the first run fell out of step: pipelined
    // that is a group, one at a time a single command. The verdict the rerun reached is
    // what must agree.
    reason = reason.map(|t| match t.split_once(" fell out of step at ") {
        Some((judged, _)) => judged.to_string(),
        None => t,
    });
    if r.status == Status::ProtocolError {
        reason = reason.map(|t| match t.split_once("protocol error: ") {
            Some((_, kind)) => kind.chars().filter(|c| !c.is_ascii_digit()).collect(),
            None => t,
        });
    }
    format!(
        "host .{host} {port}: status {:?} verdict {:?} open {:?} any-recipient {} run/accepted/rejected/deferred {}/{}/{}/{} reason {:?}",
        r.status,
        r.verdict,
        r.open_tests,
        r.accepts_any_recipient,
        r.tests_run,
        r.tests_accepted,
        r.tests_rejected,
        r.tests_deferred,
        reason
    )
}

fn assert_same_conclusions(c: &Comparison) {
    for (p, o) in c.pairs() {
        assert_eq!(p.conclusion, o.conclusion);
    }
}

#[test]
fn every_persona_concludes_the_same_with_and_without_pipelining() {
    assert_same_conclusions(&PERSONAS);
}

#[test]
fn no_pipelining_sends_every_command_on_its_own() {
    for o in &PERSONAS.one_at_a_time {
        assert!(!o.record.timing.pipelined, "{}", o.conclusion);
    }
}

#[test]
fn only_servers_that_advertise_pipelining_get_pipelined_tests() {
    let piped = &PERSONAS.piped;
    let grouped = piped.iter().filter(|p| p.record.timing.pipelined).count();
    assert!(grouped >= 5, "{grouped} pipelined");
    for p in piped {
        assert_eq!(
            p.record.timing.pipelined, p.record.pipelining,
            "pipelined exactly when advertised: {}",
            p.conclusion
        );
    }
}

#[test]
fn pipelining_saves_round_trips_on_a_full_catalogue() {
    // A full catalogue one command at a time is over 40 round trips; as a group, 30 fewer.
    // (A server whose replies fell out of step is probed twice: not a fair comparison.)
    let rerun = |r: &ScanRecord| r.dialogue.rerun_after.is_some();
    let full: Vec<_> = PERSONAS
        .pairs()
        .filter(|(p, o)| {
            !rerun(&p.record)
                && !rerun(&o.record)
                && p.record.timing.pipelined
                && p.record.tests_run == 16
                && o.record.timing.round_trips > 40
        })
        .collect();
    assert!(full.len() >= 5, "{} full catalogues pipelined", full.len());
    for (p, o) in full {
        assert!(
            p.record.timing.round_trips + 30 <= o.record.timing.round_trips,
            "{}: {} round trips pipelined, {} one at a time",
            p.record.endpoint(),
            p.record.timing.round_trips,
            o.record.timing.round_trips
        );
    }
}

#[test]
fn hostile_servers_end_the_same_way_with_and_without_pipelining() {
    assert_eq!(HOSTILE.piped.len(), Misbehaviour::ALL.len());
    for c in HOSTILE.piped.iter().chain(&HOSTILE.one_at_a_time) {
        assert!(c.record.verdict.is_some(), "{}", c.conclusion);
    }
    assert_same_conclusions(&HOSTILE);
}
