//! `--tests full|quick|none`: a banner grab sends not one MAIL or RCPT and says so in every report; quick sends fewer RCPTs and still finds the open relays; `diff` does not call a host fixed because the later scan ran shallower.

use std::path::Path;
use std::time::Duration;

use relayscan::assess::{FindingId, Verdict};
use relayscan::probe::Depth;
use relayscan::probe::depth::QUICK_TESTS;
use relayscan::report::ScanRecord;
use relayscan_lab::Persona;

use crate::support::personas::{PersonaRecords, start_lab};
use crate::support::{LabProcess, nets, read_csv, read_jsonl, run, stderr, stdout};

/// Scans the whole lab at `depth` into `dir/name.*`; the stdout (summary) and the records.
fn scan(lab: &LabProcess, dir: &Path, name: &str, depth: &str) -> (String, Vec<ScanRecord>) {
    let prefix = dir.join(name);
    let port = lab.port_arg();
    let range = lab.range(lab.hosts);
    let args = [
        "scan",
        &range,
        "-p",
        &port,
        "--tests",
        depth,
        "--no-progress",
        "--format",
        "csv,jsonl,json,html,md",
        "-o",
        prefix.to_str().unwrap(),
    ];
    let out = run(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{depth}: {}", stderr(&out));
    (stdout(&out), read_jsonl(&prefix.with_extension("jsonl")))
}

/// The verbs of the lab log's lines from `from` on (MAIL, RCPT, EHLO ...), upper case.
fn verbs(lab: &LabProcess, from: usize) -> Vec<String> {
    lab.received()
        .iter()
        .skip(from)
        .filter_map(|c| c["line"].as_str())
        .map(|l| {
            let verb = l.split([' ', ':']).next().unwrap_or_default();
            verb.to_ascii_uppercase()
        })
        .collect()
}

fn count(verbs: &[String], verb: &str) -> usize {
    verbs.iter().filter(|v| *v == verb).count()
}

#[test]
fn a_banner_grab_sends_no_mail_or_rcpt_and_every_report_says_not_tested() {
    let dir = tempfile::tempdir().unwrap();
    let personas = [
        Persona::OpenRelay,
        Persona::StarttlsSelfSigned,
        Persona::Closed,
    ];
    let lab = start_lab(nets::DEPTH_NONE, dir.path(), &personas, &[]);
    let (summary, records) = scan(&lab, dir.path(), "none", "none");
    let sent = verbs(&lab, 0);
    assert!(count(&sent, "EHLO") >= personas.len(), "{sent:?}");
    assert!(
        count(&sent, "STARTTLS") >= 1,
        "STARTTLS still tried: {sent:?}"
    );
    for verb in ["MAIL", "RCPT", "RSET", "DATA"] {
        assert_eq!(
            count(&sent, verb),
            0,
            "{verb} sent by a banner grab: {sent:?}"
        );
    }

    let hosts = PersonaRecords::new(&lab, &personas, records);
    for r in &hosts.records {
        assert_eq!(r.depth, Depth::None, "{}", r.endpoint());
        assert_eq!(r.verdict, Some(Verdict::NotTested), "{}", r.endpoint());
        assert_eq!(r.tests_run, 0);
        assert!(r.reason.as_deref().unwrap().contains("--tests none"));
        assert!(
            r.findings.iter().all(|f| !f.id.from_relay_tests()),
            "{:?}",
            r.findings
        );
    }
    // The certificate audit still ran: the self-signed certificate is a finding.
    let tls = hosts.of(Persona::StarttlsSelfSigned);
    assert!(tls.tls.as_ref().is_some_and(|t| t.established));
    assert!(
        tls.findings
            .iter()
            .any(|f| f.id == FindingId::TlsCertSelfSigned),
        "{:?}",
        tls.findings
    );

    // The terminal summary, CSV, JSON, HTML and Markdown say which depth ran.
    let said = "Relay tests: none (banner grab only";
    assert!(summary.contains(said), "{summary}");
    assert!(summary.contains("not-tested"), "{summary}");
    let (header, rows) = read_csv(&dir.path().join("none.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in &rows {
        assert_eq!(row[col("depth")], "none");
        assert_eq!(row[col("verdict")], "not-tested");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("none.json")).unwrap())
            .unwrap();
    assert_eq!(json["run"]["settings"]["depth"], "none", "{}", json["run"]);
    assert_eq!(json["summary"]["by_depth"]["none"], personas.len());
    assert_eq!(json["summary"]["by_verdict"]["not-tested"], personas.len());
    let html = std::fs::read_to_string(dir.path().join("none.html")).unwrap();
    assert!(
        html.contains(&format!("<p id=\"depth\">{said}")),
        "no depth line"
    );
    let md = std::fs::read_to_string(dir.path().join("none.md")).unwrap();
    assert!(md.contains(said), "{md}");
    assert!(md.contains("| not-tested | 3 |"), "{md}");

    // A full scan after it: the open relay is found, and it is new, not "fixed" either
    // way; diffing the other way round (full, then the banner grab) fixes nothing.
    let (_, full) = scan(&lab, dir.path(), "full", "full");
    let open = PersonaRecords::new(&lab, &personas, full);
    assert_eq!(
        open.of(Persona::OpenRelay).verdict,
        Some(Verdict::OpenRelay)
    );
    let diff = |old: &str, new: &str| {
        let (old, new) = (dir.path().join(old), dir.path().join(new));
        let out = run(
            &["diff", old.to_str().unwrap(), new.to_str().unwrap()],
            Duration::from_secs(30),
        );
        stdout(&out)
    };
    let shallower = diff("full.jsonl", "none.jsonl");
    let relay = hosts.addr(Persona::OpenRelay).to_string();
    let line = shallower
        .lines()
        .find(|l| l.starts_with("not-comparable") && l.contains(&relay))
        .unwrap_or_else(|| panic!("no not-comparable row for {relay}:\n{shallower}"));
    assert!(line.contains("tested at depth full then none"), "{line}");
    assert!(shallower.contains(" 0 fixed,"), "{shallower}");
    assert!(!shallower.contains("finding-removed   "), "{shallower}");
    let deeper = diff("none.jsonl", "full.jsonl");
    assert!(
        deeper
            .lines()
            .any(|l| l.starts_with("new-open-relay") && l.contains(&relay)),
        "{deeper}"
    );
    assert!(!deeper.contains("not-comparable   "), "{deeper}");
}

#[test]
fn quick_sends_fewer_rcpts_and_still_finds_the_open_relays() {
    let dir = tempfile::tempdir().unwrap();
    let personas = [
        Persona::OpenRelay,
        Persona::SenderTrusting,
        Persona::PercentHack,
        Persona::Closed,
    ];
    let lab = start_lab(nets::DEPTH_QUICK, dir.path(), &personas, &[]);
    let (_, full) = scan(&lab, dir.path(), "full", "full");
    let after_full = lab.received().len();
    let (summary, quick) = scan(&lab, dir.path(), "quick", "quick");
    let full_rcpts = count(&verbs(&lab, 0)[..after_full], "RCPT");
    let quick_rcpts = count(&verbs(&lab, after_full), "RCPT");
    assert!(
        quick_rcpts > 0 && quick_rcpts < full_rcpts,
        "quick sent {quick_rcpts} RCPTs, full {full_rcpts}"
    );
    assert!(
        summary.contains("Relay tests: quick (tests 1, 2, 3 and 6"),
        "{summary}"
    );

    let (full, quick) = (
        PersonaRecords::new(&lab, &personas, full),
        PersonaRecords::new(&lab, &personas, quick),
    );
    for p in personas {
        let (f, q) = (full.of(p), quick.of(p));
        assert_eq!(q.depth, Depth::Quick, "{}", p.name());
        assert_eq!(q.verdict, f.verdict, "{} quick as full", p.name());
        assert!(
            q.open_tests.iter().all(|t| QUICK_TESTS.contains(t)),
            "{}: {:?}",
            p.name(),
            q.open_tests
        );
        assert!(q.tests_run <= QUICK_TESTS.len() as u32, "{}", p.name());
    }
    assert_eq!(
        quick.of(Persona::OpenRelay).verdict,
        Some(Verdict::OpenRelay)
    );
    assert_eq!(full.of(Persona::OpenRelay).depth, Depth::Full);
}
