//! Every lab persona gets its designed verdict; DATA is never sent; greylisting is not "closed".
//!
//! One lab of every persona is scanned once for the module (with `--transcript`), then its
//! greylister a second time; each test checks one behaviour against those records.

use std::sync::LazyLock;
use std::time::Duration;

use relayscan::assess::Verdict;
use relayscan::lab::PersonaExpectation;
use relayscan::probe::Status;
use relayscan::report::ScanRecord;
use relayscan_lab::Persona;

use crate::support::personas::PersonaRecords;
use crate::support::{LabProcess, nets, read_jsonl, run, stderr, stdout};

/// The lab scanned once; the lab has stopped.
struct Scanned {
    hosts: PersonaRecords,
    /// The scan's stdout: every host's transcript, then the summary.
    transcript: String,
    /// Every command line the lab received, from both scans.
    received: Vec<serde_json::Value>,
    /// The greylister's verdict when scanned again.
    greylister_again: Option<Verdict>,
}

static SCANNED: LazyLock<Scanned> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    // The slow greeting's 220- teaser held 400 ms (not the default 1.5 s): the same wait, sooner.
    let lab = LabProcess::start(
        nets::VERDICTS.lab_network(),
        dir.path(),
        &["--greeting-pause", "400ms"],
    );
    let scan = |name: &str, targets: &str| {
        let prefix = dir.path().join(name);
        let port = lab.port_arg();
        let args = [
            "scan",
            targets,
            "-p",
            &port,
            "--rate",
            "1000",
            "--no-progress",
            "--transcript",
            "-o",
            prefix.to_str().unwrap(),
        ];
        let out = run(&args, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
        (read_jsonl(&prefix.with_extension("jsonl")), stdout(&out))
    };
    let (records, transcript) = scan("all", &lab.range(lab.hosts));
    let hosts = PersonaRecords::new(&lab, &Persona::ALL, records);
    let (again, _) = scan("again", &hosts.addr(Persona::Greylisting).to_string());
    Scanned {
        hosts,
        transcript,
        received: lab.received(),
        greylister_again: again.first().and_then(|r| r.verdict),
    }
});

fn of(p: Persona) -> &'static ScanRecord {
    SCANNED.hosts.of(p)
}

#[test]
fn every_persona_gets_its_designed_verdict() {
    assert_eq!(
        SCANNED.hosts.records.len(),
        Persona::ALL.len(),
        "one record per persona"
    );
    for persona in Persona::ALL {
        let r = of(persona);
        assert_eq!(
            r.verdict,
            Some(persona.expected_verdict()),
            "{} at {}: reason {:?}",
            persona.name(),
            r.ip,
            r.reason
        );
    }
}

#[test]
fn every_verdict_comes_with_a_reason() {
    for p in Persona::ALL {
        let reason = of(p).reason.as_deref().unwrap_or_default();
        assert!(!reason.trim().is_empty(), "{} has no reason", p.name());
    }
}

#[test]
fn only_servers_that_take_any_recipient_are_flagged_so() {
    // The control RCPT (a random address at a .invalid domain) tells sinks from relays.
    for p in Persona::ALL {
        assert_eq!(
            of(p).accepts_any_recipient,
            p.expects_accept_all(),
            "{}",
            p.name()
        );
    }
}

#[test]
fn the_open_relay_is_proven_by_every_catalogue_test() {
    let open = of(Persona::OpenRelay);
    assert_eq!(open.tests_run, 16);
    assert_eq!(open.open_tests, (1..=16).collect::<Vec<u8>>());
    assert!(!open.accepts_any_recipient, "its control RCPT was refused");
}

#[test]
fn a_sender_trusting_server_relays_only_the_forged_own_domain_test() {
    // Test 3 forges the server's own name as the sender.
    assert_eq!(of(Persona::SenderTrusting).open_tests, vec![3]);
}

#[test]
fn the_percent_hack_relays_through_the_address_literal_and_the_server_name() {
    assert_eq!(of(Persona::PercentHack).open_tests, vec![5, 6]);
}

#[test]
fn a_helo_only_server_is_probed_after_falling_back_to_helo() {
    let r = of(Persona::HeloOnly);
    assert!(r.helo_fallback);
    assert_eq!(r.tests_run, 16, "the tests ran after HELO");
}

#[test]
fn a_slow_greeting_is_waited_for_not_interrupted() {
    assert_eq!(of(Persona::SlowGreeting).status, Status::Completed);
}

#[test]
fn greylisting_is_inconclusive_not_closed() {
    let grey = of(Persona::Greylisting);
    assert_eq!(grey.tests_deferred, 16, "every test deferred");
    assert_eq!(grey.verdict, Some(Verdict::Inconclusive));
}

#[test]
fn a_greylisted_server_relays_on_a_second_scan() {
    // The retry passes the greylist: the 4xx was a deferral, and the server is open.
    assert_eq!(
        of(Persona::Greylisting).verdict,
        Some(Verdict::Inconclusive)
    );
    assert_eq!(SCANNED.greylister_again, Some(Verdict::OpenRelay));
}

#[test]
fn a_530_naming_auth_is_auth_required_though_starttls_failed() {
    // OpenSMTPD's words (must-auth-first): STARTTLS offered, the handshake fails, and the
    // 530 asks for authentication, not for STARTTLS.
    let r = of(Persona::MustAuthFirst);
    assert!(
        r.tls.as_ref().is_some_and(|t| !t.established),
        "{:?}",
        r.tls
    );
    assert_eq!(r.verdict, Some(Verdict::AuthRequired), "{:?}", r.reason);
    let reason = r.reason.as_deref().unwrap_or("");
    assert!(
        reason.contains("530 5.5.1 Invalid command: Must issue an AUTH command first"),
        "{reason}"
    );
}

#[test]
fn a_server_that_hangs_up_after_mail_is_recorded_as_dropped() {
    assert_eq!(of(Persona::DropAfterMail).status, Status::Dropped);
}

#[test]
fn relayscan_never_sends_data() {
    let received = &SCANNED.received;
    assert!(!received.is_empty(), "the lab logged the dialogue");
    let data = received
        .iter()
        .filter(|c| {
            c["line"]
                .as_str()
                .is_some_and(|l| l.trim().eq_ignore_ascii_case("DATA"))
        })
        .count();
    assert_eq!(data, 0, "relayscan must never send DATA");
}

#[test]
fn every_test_starts_with_rset() {
    // Per host, in the order the lab read them: each MAIL FROM comes right after an RSET.
    let mut mails = 0;
    for addr in SCANNED.hosts.addrs() {
        let host = format!("{addr}:");
        let lines: Vec<&str> = SCANNED
            .received
            .iter()
            .filter(|c| c["host"].as_str().is_some_and(|h| h.starts_with(&host)))
            .filter_map(|c| c["line"].as_str())
            .collect();
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("MAIL FROM:") {
                mails += 1;
                assert_eq!(
                    i.checked_sub(1).map(|p| lines[p]),
                    Some("RSET"),
                    "{host} {lines:?}"
                );
            }
        }
    }
    assert!(mails >= 16, "{mails} MAIL FROM lines");
}

#[test]
fn the_transcript_shows_each_dialogue() {
    // Each host's transcript opens with a "── ADDRESS:PORT · status · verdict ──" line.
    let closed = format!("── {}:", SCANNED.hosts.addr(Persona::Closed));
    let text = &SCANNED.transcript;
    let section: String = text
        .split_inclusive('\n')
        .skip_while(|l| !l.starts_with(&closed))
        .take_while(|l| l.starts_with(&closed) || !l.starts_with("── "))
        .collect();
    for want in [
        "S: 220 closed.lab.test",
        "C: EHLO ",
        "C: RCPT TO:<relaytest@example.com>",
        "S: 554 5.7.1",
        "C: QUIT",
    ] {
        assert!(section.contains(want), "{want:?} not in\n{section}");
    }
    assert!(!text.contains("C: DATA"), "{text}");
}

#[test]
fn pipelined_tests_print_test_by_test_while_the_json_keeps_the_wire_order() {
    let open = format!("── {}:", SCANNED.hosts.addr(Persona::OpenRelay));
    let section: Vec<&str> = SCANNED
        .transcript
        .lines()
        .skip_while(|l| !l.starts_with(&open))
        .take_while(|l| l.starts_with(&open) || !l.starts_with("── "))
        .collect();
    let said = |needle: &str| section.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(said("went out pipelined (RFC 2920)"), 1, "{section:#?}");
    // Each test: its header, C: MAIL, S: its reply, C: RCPT, S: its reply (the open
    // relay takes every sender and relays every test).
    for id in 1..=16 {
        let at = section
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("# test {id}:")))
            .unwrap_or_else(|| panic!("no test {id} in {section:#?}"));
        let next: Vec<&str> = section[at + 1..at + 5].iter().map(|l| l.trim()).collect();
        assert!(next[0].starts_with("C: MAIL FROM:<"), "test {id}: {next:?}");
        assert!(next[1].starts_with("S: 250"), "test {id}: {next:?}");
        assert!(next[2].starts_with("C: RCPT TO:<"), "test {id}: {next:?}");
        assert!(next[3].starts_with("S: 250"), "test {id}: {next:?}");
    }
    assert_eq!(said("# control:"), 1, "{section:#?}");
    // The record keeps the wire order: a group's commands, one after another.
    let wire = &of(Persona::OpenRelay).transcript;
    let consecutive = wire.windows(3).any(|w| {
        w.iter()
            .all(|l| l.dir == relayscan::smtp::Direction::Client)
    });
    assert!(consecutive, "{wire:?}");
}

#[test]
fn the_transcript_holds_no_raw_escape_character() {
    // Every persona's, the hostile terminal's among them.
    assert!(SCANNED.transcript.contains("C: EHLO "));
    assert!(
        !SCANNED.transcript.contains('\u{1b}'),
        "a raw escape character reached the terminal"
    );
}
