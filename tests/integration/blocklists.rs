//! `--blocklists` end to end through the binary: the lab's DNS server serves its blocklist zone (zen.bl.lab.test, read with Spamhaus ZEN's codes), one persona listed, one refused; nothing asks a real list.

use std::sync::LazyLock;
use std::time::Duration;

use relayscan::report::ScanRecord;
use relayscan_lab::Persona;

use crate::support::personas::start_lab;
use crate::support::{nets, read_csv, read_jsonl, run, stderr};

const PERSONAS: [Persona; 3] = [Persona::OpenRelay, Persona::Closed, Persona::VulnerableExim];

struct Scanned {
    records: Vec<(Persona, ScanRecord)>,
    csv: (Vec<String>, Vec<Vec<String>>),
}

static SCANNED: LazyLock<Scanned> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::BLOCKLISTS,
        dir.path(),
        &PERSONAS,
        &["--dns-port", "0"],
    );
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let prefix = dir.path().join("scan");
    let port = lab.port_arg();
    let addrs: Vec<String> = (0..PERSONAS.len())
        .map(|n| lab.addr(n).to_string())
        .collect();
    let mut args = vec![
        "scan",
        "--resolver",
        &dns,
        "--dns-timeout",
        "300ms",
        "--blocklists",
        "spamhaus-zen=zen.bl.lab.test",
        "-p",
        &port,
        "-q",
        "-o",
        prefix.to_str().unwrap(),
    ];
    args.extend(addrs.iter().map(String::as_str));
    let out = run(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"))
        .into_iter()
        .map(|r| {
            let n = (0..PERSONAS.len()).find(|&n| lab.addr(n) == r.ip).unwrap();
            (PERSONAS[n], r)
        })
        .collect();
    Scanned {
        records,
        csv: read_csv(&prefix.with_extension("csv")),
    }
});

fn of(persona: Persona) -> &'static ScanRecord {
    SCANNED
        .records
        .iter()
        .find(|(p, _)| *p == persona)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no record of {persona}"))
}

fn csv_cell(persona: Persona, column: &str) -> String {
    let (header, rows) = &SCANNED.csv;
    let col = header.iter().position(|h| h == column).unwrap();
    let ip = of(persona).ip.to_string();
    rows.iter().find(|r| r[0] == ip).unwrap()[col].clone()
}

#[test]
fn a_listed_host_is_a_high_finding_with_the_code_s_meaning_and_removal_page() {
    let r = of(Persona::OpenRelay);
    let answers = r.blocklists.as_ref().unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(
        (answers[0].zone.as_str(), answers[0].status.as_str()),
        ("zen.bl.lab.test", "listed")
    );
    assert_eq!(answers[0].codes[0].list, "XBL");
    let f = r
        .findings
        .iter()
        .find(|f| f.id.as_str() == "blocklisted")
        .unwrap();
    assert_eq!(f.severity.as_str(), "high");
    assert!(f.detail.contains("Exploits Block List"), "{}", f.detail);
    assert!(
        f.detail.contains("https://check.spamhaus.org/"),
        "{}",
        f.detail
    );
    assert_eq!(
        csv_cell(Persona::OpenRelay, "blocklisted"),
        "zen.bl.lab.test:XBL"
    );
}

#[test]
fn a_refused_query_is_a_lookup_error_naming_its_cause_never_a_listing() {
    let r = of(Persona::Closed);
    let answer = &r.blocklists.as_ref().unwrap()[0];
    assert_eq!(answer.status, "error");
    assert!(answer.codes.is_empty());
    let cause = answer.error.as_deref().unwrap();
    assert!(
        cause.contains("127.255.255.254") && cause.contains("public or open resolver"),
        "{cause}"
    );
    assert!(
        r.findings
            .iter()
            .all(|f| !f.id.as_str().starts_with("blocklisted"))
    );
    assert_eq!(csv_cell(Persona::Closed, "blocklisted"), "");
    assert!(
        csv_cell(Persona::Closed, "blocklist_errors").starts_with("zen.bl.lab.test:query refused")
    );
}

#[test]
fn an_unlisted_host_is_not_listed_and_its_banner_still_counts() {
    let r = of(Persona::VulnerableExim);
    assert_eq!(r.blocklists.as_ref().unwrap()[0].status, "not-listed");
    let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids[0], "known-exploited-software", "{ids:?}");
    assert!(!ids.iter().any(|i| i.starts_with("blocklisted")), "{ids:?}");
}

#[test]
fn a_bad_blocklist_is_refused_before_any_traffic_naming_it() {
    let target = nets::NEVER_REACHED.host(1).to_string();
    let out = run(
        &["scan", "--blocklists", "zen", "-q", &target],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--blocklists") && err.contains("\"zen\""),
        "{err}"
    );
}
