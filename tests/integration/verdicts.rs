//! Every lab persona gets its designed verdict; DATA is never sent; greylisting is not "closed".

use std::time::Duration;

use relayscan::lab::Persona;
use relayscan::probe::{Status, Verdict};

use crate::support::{LabProcess, nets, persona_at, read_jsonl, run, stderr};

#[test]
fn every_persona_gets_its_designed_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::VERDICTS.lab_network(),
        dir.path(),
        &["--greeting-pause", "400ms"],
    );
    let prefix = dir.path().join("lab-scan");
    let out = run(
        &[
            "scan",
            &lab.range(lab.hosts),
            "-p",
            &lab.port_arg(),
            "--rate",
            "1000",
            "--no-progress",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), Persona::ALL.len(), "one record per persona");
    for n in 0..lab.hosts {
        let persona = persona_at(n);
        let ip = lab.addr(n);
        let record = records
            .iter()
            .find(|r| r.ip == ip)
            .unwrap_or_else(|| panic!("no record for {} ({ip})", persona.name()));
        assert_eq!(
            record.verdict,
            Some(persona.expected_verdict()),
            "{} at {ip}: reason {:?}",
            persona.name(),
            record.reason
        );
        assert_eq!(
            record.accepts_any_recipient,
            persona.expects_accept_all(),
            "{}",
            persona.name()
        );
        assert!(
            record.reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{} has a reason",
            persona.name()
        );
    }

    let by_persona = |p: Persona| {
        let n = Persona::ALL.iter().position(|&q| q == p).unwrap();
        records.iter().find(|r| r.ip == lab.addr(n)).unwrap()
    };
    // The open relay is proven by every plain test, and its control RCPT was refused.
    let open = by_persona(Persona::OpenRelay);
    assert_eq!(open.tests_run, 16);
    assert!(open.open_tests.contains(&2), "{:?}", open.open_tests);
    // Test 3 forges the server's own name: only it passes on the sender-trusting server.
    assert_eq!(by_persona(Persona::SenderTrusting).open_tests, vec![3]);
    // The percent hack passes through the address literal and the server's name.
    assert_eq!(by_persona(Persona::PercentHack).open_tests, vec![5, 6]);
    // HELO fallback happened and still produced a verdict.
    assert!(by_persona(Persona::HeloOnly).helo_fallback);
    // The slow greeting was waited for, not interrupted.
    assert_eq!(by_persona(Persona::SlowGreeting).status, Status::Completed);
    // Greylisting: every test deferred, reported as inconclusive, never relay-denied.
    let grey = by_persona(Persona::Greylisting);
    assert_eq!(grey.tests_deferred, 16);
    assert_eq!(grey.verdict, Some(Verdict::Inconclusive));
    assert_eq!(by_persona(Persona::DropAfterMail).status, Status::Dropped);

    let received = lab.received();
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
    let rsets = received.iter().filter(|c| c["line"] == "RSET").count();
    assert!(rsets >= 16, "each test is preceded by RSET ({rsets})");
}

#[test]
fn greylisted_server_relays_on_a_second_scan() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::VERDICTS_GREYLIST.lab_network(),
        dir.path(),
        &["--persona", "greylisting"],
    );
    let verdict_of_scan = |name: &str| {
        let prefix = dir.path().join(name);
        let out = run(
            &[
                "scan",
                &lab.addr(0).to_string(),
                "-p",
                &lab.port_arg(),
                "-q",
                "-o",
                prefix.to_str().unwrap(),
            ],
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        read_jsonl(&prefix.with_extension("jsonl"))[0].verdict
    };
    assert_eq!(verdict_of_scan("first"), Some(Verdict::Inconclusive));
    // The retry passes the greylist: the 4xx was a deferral, and the server is open.
    assert_eq!(verdict_of_scan("second"), Some(Verdict::OpenRelay));
}

#[test]
fn transcript_shows_the_dialogue_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::VERDICTS_TRANSCRIPT.lab_network(),
        dir.path(),
        &["--persona", "closed"],
    );
    let prefix = dir.path().join("t");
    let out = run(
        &[
            "scan",
            &lab.addr(0).to_string(),
            "-p",
            &lab.port_arg(),
            "--transcript",
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("S: 220 closed.lab.test"), "{text}");
    assert!(text.contains("C: EHLO "), "{text}");
    assert!(
        text.contains("C: RCPT TO:<relaytest@example.com>"),
        "{text}"
    );
    assert!(text.contains("554 5.7.1"), "{text}");
    assert!(text.contains("C: QUIT"), "{text}");
    assert!(!text.contains("C: DATA"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no raw escape characters reach the terminal"
    );
}
