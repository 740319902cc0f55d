//! Four round trips per host: connect, greeting, EHLO, and one pipelined group holding the whole catalogue, the control RCPT and QUIT; counted from the lab's log of what arrived in which flight, never from timings.
//!
//! The lab answers each reply after `--reply-delay` (as a network 20 ms away would), paid
//! once per flight of commands it reads together, and logs each line with its connection
//! and flight: a client's round trips on a connection are the TCP handshake, the
//! greeting, and one per flight.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use relayscan::assess::Verdict;
use relayscan::report::ScanRecord;
use relayscan_lab::{Persona, ReceivedCommand};

use crate::support::personas::{PersonaRecords, start_lab};
use crate::support::{LabProcess, nets, read_jsonl, run, stderr};

/// Closed and open, and the two that the control RCPT tells apart (an open relay that
/// refuses .invalid, a sink that takes it), and one that relays for its own senders.
const PERSONAS: [Persona; 4] = [
    Persona::Closed,
    Persona::OpenRelay,
    Persona::AcceptAllSink,
    Persona::SenderTrusting,
];

/// The whole catalogue as RSET + MAIL + RCPT per test, the control's three, and QUIT.
const GROUP: usize = 16 * 3 + 3 + 1;

/// The lines each host received, by connection and then flight, in the order they came.
type Flights = BTreeMap<IpAddr, BTreeMap<u64, BTreeMap<u32, Vec<String>>>>;

fn flights(lab: &LabProcess) -> Flights {
    let text = std::fs::read_to_string(&lab.log).expect("the lab log");
    let mut by_host = Flights::new();
    for line in text.lines() {
        let c: ReceivedCommand = serde_json::from_str(line).expect("a lab log line");
        by_host
            .entry(c.host.ip())
            .or_default()
            .entry(c.connection)
            .or_default()
            .entry(c.flight)
            .or_default()
            .push(c.line);
    }
    by_host
}

fn scan(lab: &LabProcess, dir: &std::path::Path, flags: &[&str]) -> Vec<ScanRecord> {
    let prefix = dir.join("scan");
    let range = lab.range(PERSONAS.len());
    let port = lab.port_arg();
    let mut args = vec![
        "scan",
        range.as_str(),
        "-p",
        port.as_str(),
        "-q",
        "-o",
        prefix.to_str().expect("utf-8 path"),
    ];
    args.extend(flags);
    let out = run(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    read_jsonl(&prefix.with_extension("jsonl"))
}

#[test]
fn a_pipelined_probe_is_four_round_trips_closed_or_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = start_lab(
        nets::ROUND_TRIPS,
        dir.path(),
        &PERSONAS,
        &["--reply-delay", "20ms"],
    );
    let records = PersonaRecords::new(&lab, &PERSONAS, scan(&lab, dir.path(), &[]));
    let flights = flights(&lab);
    for p in PERSONAS {
        let name = p.name();
        let record = records.on(p, None);
        let connections = flights
            .get(&records.addr(p))
            .unwrap_or_else(|| panic!("{name}: nothing in the lab log"));
        assert_eq!(connections.len(), 1, "{name}: one connection");
        let flights = connections.values().next().expect("one connection");
        let sent: Vec<(u32, usize)> = flights.iter().map(|(f, l)| (*f, l.len())).collect();
        // Flight 1 the EHLO, flight 2 the group; with the connect and the greeting, 4.
        assert_eq!(
            sent,
            vec![(1, 1), (2, GROUP)],
            "{name}: flights and their sizes"
        );
        let group = &flights[&2];
        assert!(
            group[0] == "RSET" && group[GROUP - 1] == "QUIT",
            "{name}: {group:?}"
        );
        assert!(
            !group.iter().any(|l| l.starts_with("DATA")),
            "{name}: never DATA"
        );
        assert_eq!(2 + sent.len() as u32, 4, "{name}");
        assert_eq!(
            (record.timing.round_trips, record.dialogue.first.groups),
            (4, 1),
            "{name}: the record counts the same round trips, and one group"
        );
    }
    let verdict = |p| records.on(p, None).verdict;
    assert_eq!(verdict(Persona::Closed), Some(Verdict::RelayDenied));
    assert_eq!(verdict(Persona::OpenRelay), Some(Verdict::OpenRelay));
    assert_eq!(verdict(Persona::AcceptAllSink), Some(Verdict::OpenRelay));
    // The control RCPT went out in every group, and counts only where a test relayed.
    let any = |p| records.on(p, None).accepts_any_recipient;
    assert!(any(Persona::AcceptAllSink) && !any(Persona::OpenRelay));
    assert!(
        records
            .on(Persona::Closed, None)
            .dialogue
            .first
            .control
            .is_none()
    );
    assert!(
        records
            .on(Persona::OpenRelay, None)
            .dialogue
            .first
            .control
            .is_some()
    );
}

#[test]
fn one_command_at_a_time_every_command_is_a_flight_of_its_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let net = nets::ROUND_TRIPS_ONE_AT_A_TIME;
    let lab = start_lab(net, dir.path(), &PERSONAS, &["--reply-delay", "20ms"]);
    let records = PersonaRecords::new(
        &lab,
        &PERSONAS,
        scan(&lab, dir.path(), &["--no-pipelining"]),
    );
    let flights = flights(&lab);
    for p in PERSONAS {
        let record = records.on(p, None);
        let flights = flights[&records.addr(p)]
            .values()
            .next()
            .expect("a connection");
        assert!(
            flights.values().all(|lines| lines.len() == 1),
            "{}",
            p.name()
        );
        assert_eq!(
            record.timing.round_trips,
            2 + flights.len() as u32,
            "{}: the record and the lab agree",
            p.name()
        );
        assert_eq!(record.dialogue.first.groups, 0);
    }
}
