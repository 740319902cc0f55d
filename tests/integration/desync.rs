//! Servers whose replies fall out of step with our commands (a stray line after MAIL, RCPT
//! or EHLO, a doubled greeting, a reply too many after every answer), in plaintext and
//! only after STARTTLS, pipelined and one command at a time: never an open relay; caught
//! once the tests began, probed again one command at a time and judged on that run.
//!
//! One lab of those personas, scanned once each way for the module.

use std::sync::LazyLock;
use std::time::Duration;

use relayscan::assess::Verdict;
use relayscan::lab::PersonaExpectation;
use relayscan::probe::Status;
use relayscan::report::ScanRecord;
use relayscan_lab::Persona;

use crate::support::personas::{PersonaRecords, start_lab};
use crate::support::{nets, read_jsonl, run, stderr};

/// The out-of-step personas, and whether they are caught once the tests began (so the
/// probe reruns); the others are caught before any test and end as protocol errors.
const OUT_OF_STEP: [(Persona, bool); 9] = [
    (Persona::StrayAfterMail, true),
    (Persona::StrayAfterRcpt, true),
    (Persona::StrayAfterEhlo, true),
    (Persona::DoubleGreeting, false),
    (Persona::ExtraReplies, true),
    (Persona::StrayAfterMailTls, true),
    (Persona::StrayAfterRcptTls, true),
    (Persona::StrayAfterEhloTls, true),
    (Persona::ExtraRepliesTls, true),
];

struct Scans {
    piped: PersonaRecords,
    one_at_a_time: PersonaRecords,
}

static SCANS: LazyLock<Scans> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let personas: Vec<Persona> = OUT_OF_STEP.iter().map(|&(p, _)| p).collect();
    let lab = start_lab(nets::DESYNC, dir.path(), &personas, &[]);
    let range = lab.range(personas.len());
    let port = lab.port_arg();
    let scan = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        let mut args = vec![
            "scan",
            &range,
            "-p",
            &port,
            "--rate",
            "1000",
            "-q",
            "--format",
            "jsonl",
            "-o",
            prefix.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = run(&args, Duration::from_secs(90));
        assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
        read_jsonl(&prefix.with_extension("jsonl"))
    };
    let (piped, one_at_a_time) = std::thread::scope(|s| {
        let piped = s.spawn(|| scan("piped", &[]));
        let one = s.spawn(|| scan("one", &["--no-pipelining"]));
        (piped.join().unwrap(), one.join().unwrap())
    });
    Scans {
        piped: PersonaRecords::new(&lab, &personas, piped),
        one_at_a_time: PersonaRecords::new(&lab, &personas, one_at_a_time),
    }
});

/// Every out-of-step persona's record, in both modes, with a name for messages.
fn every_record() -> impl Iterator<Item = (String, Persona, bool, &'static ScanRecord)> {
    let modes = [
        ("pipelined", &SCANS.piped),
        ("one at a time", &SCANS.one_at_a_time),
    ];
    modes.into_iter().flat_map(|(mode, records)| {
        OUT_OF_STEP
            .iter()
            .map(move |&(p, rerun)| (format!("{} {mode}", p.name()), p, rerun, records.of(p)))
    })
}

#[test]
fn replies_out_of_step_never_make_an_open_relay() {
    for (what, _, _, r) in every_record() {
        assert_ne!(
            r.verdict,
            Some(Verdict::OpenRelay),
            "{what}: {:?}",
            r.reason
        );
        assert!(r.open_tests.is_empty() && r.tests_accepted == 0, "{what}");
        assert!(
            r.findings.iter().all(|f| f.id.as_str() != "open-relay"),
            "{what}"
        );
    }
}

#[test]
fn each_reaches_its_designed_verdict_pipelined_or_not() {
    for (what, p, _, r) in every_record() {
        assert_eq!(
            r.verdict,
            Some(p.expected_verdict()),
            "{what}: {:?}",
            r.reason
        );
    }
}

#[test]
fn caught_once_the_tests_began_the_probe_reruns_one_command_at_a_time() {
    for (what, _, rerun, r) in every_record() {
        let first = r.dialogue.rerun_after.as_ref();
        assert_eq!(first.is_some(), rerun, "{what}: {:?}", r.reason);
        let Some(first) = first else { continue };
        assert!(
            first.desync && first.status == Status::ProtocolError,
            "{what}"
        );
        assert!(
            first.step.starts_with("test "),
            "{what}: caught at {}",
            first.step
        );
        // The judged run went one command at a time, and says it was a rerun.
        assert!(r.dialogue.legs().all(|l| !l.pipelined), "{what}");
        assert_eq!(r.status, Status::Completed, "{what}: {:?}", r.error);
        let reason = r.reason.as_deref().unwrap_or("");
        assert!(
            reason.contains("judged on a rerun one command at a time"),
            "{what}: {reason}"
        );
        // Both runs are in the transcript, joined by a note naming where the first broke.
        let note = r
            .transcript
            .iter()
            .find(|l| l.text.contains("probing again on a new connection"))
            .unwrap_or_else(|| panic!("{what}: no rerun note"));
        assert!(note.text.contains(&first.step), "{what}: {}", note.text);
        let connects = r
            .transcript
            .iter()
            .filter(|l| l.text.starts_with("connected to "))
            .count();
        assert_eq!(connects, 2, "{what}");
    }
}

#[test]
fn stray_lines_are_kept_as_evidence_and_never_taken_as_answers() {
    for (what, p, rerun, r) in every_record() {
        if !rerun {
            continue;
        }
        let set_aside: Vec<_> = r.dialogue.attempts().flat_map(|a| &a.set_aside).collect();
        let extras = matches!(p, Persona::ExtraReplies | Persona::ExtraRepliesTls);
        if extras {
            // A reply too many after every answer: each RCPT's place holds a 554 and a 250,
            // even on the second try, so no test decides anything.
            assert!(
                r.dialogue
                    .attempts()
                    .all(|a| a.ambiguous || a.mail.as_ref().is_some_and(|m| !m.is_positive())),
                "{what}"
            );
            assert!(r.dialogue.attempts().any(|a| a.retried), "{what}");
        } else {
            // One stray line: refused cleanly on the rerun, 16 of 16.
            assert_eq!(
                (r.tests_run, r.tests_rejected),
                (16, 16),
                "{what}: {:?}",
                r.reason
            );
        }
        assert!(
            set_aside.iter().any(|reply| reply.code == 250),
            "{what}: the stray 250 is kept as evidence"
        );
    }
}

#[test]
fn a_doubled_greeting_is_a_protocol_error_before_any_test() {
    for records in [&SCANS.piped, &SCANS.one_at_a_time] {
        let r = records.of(Persona::DoubleGreeting);
        assert_eq!(r.status, Status::ProtocolError, "{:?}", r.error);
        let i = r.dialogue.interruption.as_ref().expect("an interruption");
        assert!(i.desync && i.step == "EHLO", "{i:?}");
        assert!(r.dialogue.attempts().next().is_none());
    }
}

#[test]
fn over_tls_the_strays_come_only_after_starttls() {
    for tls in [
        Persona::StrayAfterMailTls,
        Persona::StrayAfterRcptTls,
        Persona::StrayAfterEhloTls,
        Persona::ExtraRepliesTls,
    ] {
        let r = SCANS.piped.of(tls);
        let after = r.dialogue.after_starttls.as_ref().expect("a leg over TLS");
        assert!(
            r.tls.as_ref().is_some_and(|t| t.established),
            "{}",
            tls.name()
        );
        assert!(!after.attempts.is_empty() && r.dialogue.first.attempts.is_empty());
    }
}
