//! PIPELINING changes round trips, never verdicts: the lab (every persona, plain and TLS) and the hostile lab scanned with and without `--no-pipelining`, compared record by record.

use std::path::Path;
use std::time::Duration;

use relayscan::report::ScanRecord;

use crate::support::{LabProcess, nets, read_jsonl, run, stderr};

/// Scans every host of `lab` (both ports when it has an implicit-TLS one) with `extra`.
fn scan(lab: &LabProcess, dir: &Path, name: &str, extra: &[&str]) -> Vec<ScanRecord> {
    let prefix = dir.join(name);
    let range = lab.range(lab.hosts);
    let ports = match lab.tls_port {
        Some(tls) => format!("{},{tls}", lab.port),
        None => lab.port_arg(),
    };
    let tls_ports = lab.tls_port.map(|p| p.to_string()).unwrap_or_default();
    let mut args = vec![
        "scan",
        &range,
        "-p",
        &ports,
        "--tls-ports",
        &tls_ports,
        "--rate",
        "1000",
        "--read-timeout",
        "2s",
        "--host-timeout",
        "4s",
        "-q",
        "-o",
        prefix.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = run(&args, Duration::from_secs(90));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let mut records = read_jsonl(&prefix.with_extension("jsonl"));
    // The labs' ports differ: order by address, then plain before TLS.
    records.sort_by_key(|r| (r.ip, Some(r.port) == lab.tls_port));
    records
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
    if r.status == relayscan::probe::Status::ProtocolError {
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

/// Two fresh labs (greylisting remembers the first scan), one scanned each way.
fn compare(networks: [nets::Net; 2], lab_args: &[&str]) -> (Vec<ScanRecord>, Vec<ScanRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let piped_lab = LabProcess::start(networks[0].lab_network(), dir.path(), lab_args);
    let plain_lab = LabProcess::start(networks[1].lab_network(), dir.path(), lab_args);
    let piped = scan(&piped_lab, dir.path(), "piped", &[]);
    let one_by_one = scan(&plain_lab, dir.path(), "one", &["--no-pipelining"]);
    assert_eq!(piped.len(), one_by_one.len());
    assert!(!piped.is_empty());
    for (p, o) in piped.iter().zip(&one_by_one) {
        assert_eq!(conclusion(p, &piped_lab), conclusion(o, &plain_lab));
        assert!(!o.timing.pipelined, "{}", conclusion(o, &plain_lab));
    }
    (piped, one_by_one)
}

#[test]
fn every_persona_gets_the_same_verdict_with_and_without_pipelining() {
    let (piped, one_by_one) = compare([nets::PIPELINED, nets::ONE_AT_A_TIME], &[]);
    // Servers that advertise PIPELINING got the tests as a group, in far fewer round trips.
    let grouped: Vec<(&ScanRecord, &ScanRecord)> = piped
        .iter()
        .zip(&one_by_one)
        .filter(|(p, _)| p.timing.pipelined)
        .collect();
    assert!(grouped.len() >= 5, "{} pipelined", grouped.len());
    for (p, o) in grouped {
        assert!(
            p.pipelining,
            "pipelined only when advertised: {}",
            p.endpoint()
        );
        if p.tests_run == 16 && o.timing.round_trips > 40 {
            assert!(
                p.timing.round_trips + 30 <= o.timing.round_trips,
                "{}: {} round trips pipelined, {} one at a time",
                p.endpoint(),
                p.timing.round_trips,
                o.timing.round_trips
            );
        }
    }
    // Servers that do not advertise it got one command at a time.
    assert!(
        piped
            .iter()
            .filter(|r| !r.pipelining)
            .all(|r| !r.timing.pipelined)
    );
}

#[test]
fn hostile_servers_end_the_same_way_with_and_without_pipelining() {
    let (piped, _) = compare(
        [nets::HOSTILE_PIPELINED, nets::HOSTILE_ONE_AT_A_TIME],
        &["--hostile"],
    );
    assert!(piped.iter().any(|r| r.verdict.is_some()));
}
