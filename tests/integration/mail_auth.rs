//! SPF followed through its includes, DMARC's tags and external report destinations, and DKIM keys under guessed selectors, end to end: the real binary against the lab's DNS zone on loopback. Never the system resolver.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use relayscan_lab::Persona;
use serde_json::Value;

use crate::support::domain_entry as domain;
use crate::support::domain_finding_detail as detail;
use crate::support::personas::start_lab;
use crate::support::{LabProcess, nets, read_csv, read_json, run, skip, stderr};

/// The lab's policy case domains.
const CASES: [&str; 4] = [
    "dkim-weak.lab.test",
    "spf-deep.lab.test",
    "spf-loop.lab.test",
    "dmarc-bad.lab.test",
];

/// One scan's reports, read; the lab and its DNS have stopped.
struct Scan {
    code: Option<i32>,
    stderr: String,
    doc: Value,
    domains_csv: (Vec<String>, Vec<Vec<String>>),
    md: String,
    html: String,
}

/// Scans `domains` of `lab` through its DNS, with `extra` flags, writing every format.
fn scan(lab: &LabProcess, dir: &Path, domains: &[&str], extra: &[&str]) -> Scan {
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let port = lab.port_arg();
    let prefix = dir.join("scan");
    let mut args = vec![
        "scan",
        "--resolver",
        &dns,
        "-p",
        &port,
        "--dns-timeout",
        "500ms",
        "-q",
        "--format",
        "jsonl,json,md,html",
        "-o",
        prefix.to_str().unwrap(),
    ];
    args.extend(extra);
    for d in domains {
        args.extend(["-d", d]);
    }
    let out = run(&args, Duration::from_secs(60));
    let text = |ext: &str| std::fs::read_to_string(prefix.with_extension(ext)).unwrap_or_default();
    Scan {
        code: out.status.code(),
        stderr: stderr(&out),
        doc: read_json(&prefix.with_extension("json")),
        domains_csv: read_csv(&dir.join("scan.domains.csv")),
        md: text("md"),
        html: text("html"),
    }
}

fn ids(d: &Value) -> Vec<&str> {
    d["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["id"].as_str()).collect())
        .unwrap_or_default()
}

static CASE_SCAN: LazyLock<Scan> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::MAIL_AUTH_LAB,
        dir.path(),
        &[Persona::Closed],
        &["--dns-port", "0"],
    );
    let scan = scan(&lab, dir.path(), &CASES, &[]);
    assert_eq!(scan.code, Some(0), "{}", scan.stderr);
    scan
});

#[test]
fn spf_is_counted_across_its_includes_with_the_chain_as_evidence() {
    let deep = domain(&CASE_SCAN.doc, "spf-deep.lab.test");
    assert_eq!(deep["spf"]["dns_lookups"], 3, "the record alone");
    assert_eq!(deep["spf"]["tree"]["dns_lookups"], 12, "{deep}");
    assert_eq!(
        deep["spf"]["tree"]["chain"],
        serde_json::json!([
            "spf-deep.lab.test: 3 lookups",
            "  include:_a.spf-deep.lab.test: 4 lookups",
            "    include:_c.spf-deep.lab.test: 2 lookups",
            "  include:_b.spf-deep.lab.test: 3 lookups"
        ])
    );
    assert!(ids(deep).contains(&"spf-too-many-lookups"), "{deep}");
    assert!(
        detail(deep, "spf-too-many-lookups").starts_with("12 lookups across spf-deep.lab.test: 3"),
        "{deep}"
    );

    let looped = domain(&CASE_SCAN.doc, "spf-loop.lab.test");
    assert_eq!(
        detail(looped, "spf-include-loop"),
        "spf-loop.lab.test -> _spf.spf-loop.lab.test -> spf-loop.lab.test"
    );
    assert!(!ids(looped).contains(&"spf-too-many-lookups"), "{looped}");
}

#[test]
fn dmarc_tags_and_unauthorised_report_destinations_are_findings() {
    let bad = domain(&CASE_SCAN.doc, "dmarc-bad.lab.test");
    let found = ids(bad);
    for id in [
        "dmarc-invalid",
        "dmarc-unknown-tag",
        "dmarc-report-unauthorized",
    ] {
        assert!(found.contains(&id), "{id}: {found:?}");
    }
    assert!(detail(bad, "dmarc-invalid").contains("adkim=\"x\""));
    assert!(detail(bad, "dmarc-unknown-tag").starts_with("pcx=50"));
    // a.reports.test never agreed; b.reports.test published its authorisation.
    let auth = bad["dmarc"]["report_authorizations"].as_array().unwrap();
    let by_destination: Vec<(&str, bool)> = auth
        .iter()
        .map(|a| (a["destination"].as_str().unwrap(), a["authorized"] == true))
        .collect();
    assert_eq!(
        by_destination,
        [("a.reports.test", false), ("b.reports.test", true)]
    );
    assert!(
        detail(bad, "dmarc-report-unauthorized")
            .contains("dmarc-bad.lab.test._report._dmarc.a.reports.test"),
        "{bad}"
    );
    // An internal destination is not looked up.
    let deep = domain(&CASE_SCAN.doc, "spf-deep.lab.test");
    assert_eq!(
        deep["dmarc"]["report_authorizations"],
        serde_json::json!([])
    );
}

#[test]
fn dkim_keys_are_read_from_guessed_selectors() {
    let weak = domain(&CASE_SCAN.doc, "dkim-weak.lab.test");
    assert_eq!(weak["dkim"]["selectors_tried"], 14);
    let keys: Vec<(String, String, Value)> = weak["dkim"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["selector"].as_str().unwrap().to_string(),
                k["key_type"].as_str().unwrap().to_string(),
                k["bits"].clone(),
            )
        })
        .collect();
    // In the order of data/dkim-selectors.txt; the 2048-bit key is published as two
    // character-strings and read as one.
    assert_eq!(
        keys,
        [
            ("default".into(), "rsa".into(), Value::from(512)),
            ("google".into(), "rsa".into(), Value::from(2048)),
            ("selector1".into(), "rsa".into(), Value::from(1024)),
            ("k1".into(), "ed25519".into(), Value::Null),
        ]
    );
    assert_eq!(
        detail(weak, "dkim-weak-key"),
        "default._domainkey.dkim-weak.lab.test: RSA 512 bits"
    );
    assert_eq!(
        detail(weak, "dkim-short-key"),
        "selector1._domainkey.dkim-weak.lab.test: RSA 1024 bits"
    );
    assert!(!ids(weak).contains(&"dkim-not-found"));
    assert!(!ids(weak).contains(&"dns-lookup-failed"), "{weak}");
    // No `_domainkey` name at all (NXDOMAIN): no key under any selector, and no
    // selector asked (RFC 8020).
    let none = domain(&CASE_SCAN.doc, "spf-loop.lab.test");
    assert_eq!(none["dkim"]["selectors_tried"], 0, "{none}");
    assert_eq!(none["dkim"]["domainkey_nxdomain"], true, "{none}");
    assert_eq!(
        detail(none, "dkim-not-found"),
        "_domainkey.spf-loop.lab.test does not exist (NXDOMAIN), so no DKIM key is published under any selector (RFC 8020: nothing exists below it)"
    );
}

#[test]
fn the_csv_markdown_and_html_show_the_new_checks() {
    let (header, rows) = &CASE_SCAN.domains_csv;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column: {header:?}"))
    };
    let row = |d: &str| rows.iter().find(|r| r[0] == d).unwrap();
    assert_eq!(row("spf-deep.lab.test")[col("spf_total_lookups")], "12");
    assert_eq!(
        row("dkim-weak.lab.test")[col("dkim_keys")],
        "default:rsa-512;google:rsa-2048;selector1:rsa-1024;k1:ed25519"
    );
    assert_eq!(
        row("dmarc-bad.lab.test")[col("dmarc_unauthorized_destinations")],
        "a.reports.test"
    );
    assert!(row("dkim-weak.lab.test")[col("findings")].contains("dkim-weak-key"));

    for (name, text) in [("md", &CASE_SCAN.md), ("html", &CASE_SCAN.html)] {
        assert!(text.contains("under guessed selectors"), "{name}");
        assert!(
            text.contains("no key found is not proof that a domain does not sign"),
            "{name}"
        );
        assert!(
            text.contains("default rsa 512, google rsa 2048, selector1 rsa 1024, k1 ed25519 (of 14 guessed selectors)"),
            "{name}"
        );
        assert!(text.contains("12 DNS lookups with includes"), "{name}");
    }
    assert!(
        CASE_SCAN
            .md
            .contains("| high | `dkim-weak.lab.test` | `dkim-weak-key`")
    );
}

/// `--fail-on high` trips on a weak DKIM key alone (the closed relay's own findings are
/// less severe, and so are the other case domains'); `--dkim-selectors` replaces the
/// guessed list, and without the 512-bit key's selector the gate stays shut.
#[test]
fn fail_on_trips_on_a_weak_dkim_key_and_dkim_selectors_replace_the_guesses() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::MAIL_AUTH_GATE_LAB,
        dir.path(),
        &[Persona::Closed],
        &["--dns-port", "0"],
    );
    let tripped = scan(
        &lab,
        &dir.path().join("a"),
        &["dkim-weak.lab.test"],
        &["--fail-on", "high"],
    );
    assert_eq!(tripped.code, Some(1), "{}", tripped.stderr);
    let weak = domain(&tripped.doc, "dkim-weak.lab.test");
    let high: Vec<&str> = weak["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "high" || f["severity"] == "critical")
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(high, ["dkim-weak-key"]);

    let chosen = scan(
        &lab,
        &dir.path().join("b"),
        &["dkim-weak.lab.test"],
        &["--fail-on", "high", "--dkim-selectors", "selector1,s2024"],
    );
    assert_eq!(chosen.code, Some(0), "{}", chosen.stderr);
    let weak = domain(&chosen.doc, "dkim-weak.lab.test");
    assert_eq!(weak["dkim"]["selectors_tried"], 2);
    assert_eq!(
        ids(weak)
            .iter()
            .filter(|i| i.starts_with("dkim"))
            .collect::<Vec<_>>(),
        [&"dkim-short-key"]
    );

    // Keys exist, under other selectors than the ones guessed: no proof of anything,
    // and the finding says so.
    let missed = scan(
        &lab,
        &dir.path().join("c"),
        &["dkim-weak.lab.test"],
        &["--dkim-selectors", "s2024,mail"],
    );
    let weak = domain(&missed.doc, "dkim-weak.lab.test");
    assert_eq!(weak["dkim"]["domainkey_nxdomain"], false, "{weak}");
    assert_eq!(
        detail(weak, "dkim-not-found"),
        "none of 2 guessed selectors has a key at SELECTOR._domainkey.dkim-weak.lab.test; selectors cannot be listed, so the domain may sign under another"
    );
}

/// A bad selector is refused before any traffic, naming the file and line.
#[test]
fn a_bad_dkim_selector_file_is_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("selectors.txt");
    std::fs::write(&file, "# ours\nmail\nnot_a_selector\n").unwrap();
    let prefix = dir.path().join("x");
    let args = [
        "scan",
        "-d",
        "example.test",
        "--dkim-selectors",
        file.to_str().unwrap(),
        "-o",
        prefix.to_str().unwrap(),
    ];
    let out = crate::support::run_without_a_route_out(&args, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let want = format!(
        "{}:3: \"not_a_selector\" is not a DKIM selector",
        file.display()
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    assert!(!prefix.with_extension("jsonl").exists());
}

/// The same cases served by unbound from Debian (a third-party server, TXT records split
/// in character-strings as zone files write them): the SPF tree over the limit, the
/// include loop, the weak key, the unauthorised report destination in another zone.
#[test]
fn unbound_serving_the_same_cases_gives_the_same_findings() {
    use relayscan_lab::dns::dkim_keys::{RSA_512, RSA_1024};
    let Some(binary) = skip::tool(
        &["/usr/sbin/unbound", "/usr/bin/unbound"],
        "apt-get install unbound",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::MAIL_AUTH_UNBOUND_LAB,
        dir.path(),
        &[Persona::Closed],
        &[],
    );
    let mx = lab.addr(0);
    let txt = |name: &str, strings: &[&str]| {
        let quoted: Vec<String> = strings.iter().map(|s| format!("\"{s}\"")).collect();
        format!("local-data: '{name}. TXT {}'", quoted.join(" "))
    };
    let (key_512, key_1024) = (
        format!("v=DKIM1; p={}", RSA_512.trim()),
        format!("v=DKIM1; p={}", RSA_1024.trim()),
    );
    let mut zone = vec![
        "local-zone: \"rep.test.\" static".to_string(),
        format!("local-data: \"mx.ub.test. A {mx}\""),
        // A zone unbound is authoritative for: a name in it without data is NXDOMAIN.
        "local-zone: \"unsigned.test.\" static".to_string(),
        "local-data: \"unsigned.test. MX 10 mx.ub.test.\"".to_string(),
    ];
    for d in ["auth.ub.test", "loop.ub.test"] {
        zone.push(format!("local-data: \"{d}. MX 10 mx.ub.test.\""));
    }
    zone.extend([
        txt(
            "auth.ub.test",
            &["v=spf1 mx include:_a.ub.test ", "include:_b.ub.test -all"],
        ),
        txt("_a.ub.test", &["v=spf1 a mx ptr exists:x.ub.test -all"]),
        txt("_b.ub.test", &["v=spf1 a mx ptr exists:y.ub.test -all"]),
        txt("loop.ub.test", &["v=spf1 include:_l.ub.test -all"]),
        txt("_l.ub.test", &["v=spf1 include:loop.ub.test -all"]),
        txt("default._domainkey.auth.ub.test", &[&key_512]),
        txt(
            "selector1._domainkey.auth.ub.test",
            &[&key_1024[..100], &key_1024[100..]],
        ),
        txt(
            "_dmarc.auth.ub.test",
            &["v=DMARC1; p=reject; rua=mailto:r@rep.test"],
        ),
    ]);
    let ip = nets::MAIL_AUTH_UNBOUND.host(1);
    let unbound = crate::dns::start_unbound(&binary, dir.path(), ip, &zone);
    let resolver = unbound.addr.to_string();
    let port = lab.port_arg();
    let prefix = dir.path().join("scan");
    let out = run(
        &[
            "scan",
            "--resolver",
            &resolver,
            "-p",
            &port,
            "-q",
            "--format",
            "json",
            "-d",
            "auth.ub.test",
            "-d",
            "loop.ub.test",
            "-d",
            "unsigned.test",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = read_json(&prefix.with_extension("json"));
    let auth = domain(&doc, "auth.ub.test");
    assert_eq!(auth["spf"]["tree"]["dns_lookups"], 11, "{auth}");
    // `_domainkey.auth.ub.test` holds no record, only names below it: unbound answers
    // NOERROR (an empty non-terminal, RFC 8020), so every selector is asked.
    assert_eq!(auth["dkim"]["domainkey_nxdomain"], false, "{auth}");
    assert_eq!(auth["dkim"]["selectors_tried"], 14, "{auth}");
    let found = ids(auth);
    for id in [
        "spf-too-many-lookups",
        "dkim-weak-key",
        "dkim-short-key",
        "dmarc-report-unauthorized",
    ] {
        assert!(found.contains(&id), "{id}: {found:?}");
    }
    assert_eq!(
        detail(auth, "dmarc-report-unauthorized"),
        "reports to rep.test but no v=DMARC1 TXT record at auth.ub.test._report._dmarc.rep.test: receivers send it none"
    );
    let looped = domain(&doc, "loop.ub.test");
    assert!(ids(looped).contains(&"spf-include-loop"), "{looped}");
    // No key at all: unbound answers NXDOMAIN at `_domainkey.unsigned.test`, and no
    // selector is asked.
    let unsigned = domain(&doc, "unsigned.test");
    assert_eq!(unsigned["dkim"]["domainkey_nxdomain"], true, "{unsigned}");
    assert_eq!(unsigned["dkim"]["selectors_tried"], 0, "{unsigned}");
    assert!(
        detail(unsigned, "dkim-not-found")
            .starts_with("_domainkey.unsigned.test does not exist (NXDOMAIN)"),
        "{unsigned}"
    );
}
