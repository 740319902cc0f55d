//! `relayscan demo`: the README's first command works and checks itself.

use std::time::Duration;

use relayscan::lab::PersonaExpectation;
use relayscan_lab::Persona;
use relayscan_lab::dns::{TLSA_MATCH_PERSONA, customer_domain};
use relayscan_lab::sts_server::STS_POLICY_PERSONA;
use relayscan_lab::tls::implicit_tls;

use crate::support::{browser, nets, read_csv, read_json, read_jsonl, run, stderr, stdout};

#[test]
fn demo_scans_the_lab_and_every_persona_matches() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("demo").join("relayscan-demo");
    let out = run(
        &[
            "demo",
            "--bind",
            &nets::DEMO.cidr(),
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(90),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    for persona in Persona::ALL {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{} ", persona.name())))
            .unwrap_or_else(|| panic!("no demo line for {}:\n{text}", persona.name()));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
    assert!(text.contains("DATA: 0"), "{text}");
    // A healthy lab: every endpoint planned answers, so the summary has no row of a status
    // that did not answer (each persona is scanned on the port it listens on).
    for status in relayscan::probe::Status::ALL
        .into_iter()
        .filter(|s| !s.answered())
    {
        let row = format!("\n  {} ", status.as_str());
        assert!(
            !text.contains(&row),
            "{status} in the demo's summary:\n{text}"
        );
    }

    // Not only the demo's own word: its reports hold each persona's designed verdict,
    // persona n on address n + 1 of --bind, on the lab's port (implicit TLS on another).
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    let implicit = Persona::ALL.iter().filter(|&&p| implicit_tls(p)).count();
    assert_eq!(records.len(), Persona::ALL.len() + implicit);
    let on = |port: u16| records.iter().filter(|r| r.port == port).count();
    let port = records
        .iter()
        .map(|r| r.port)
        .max_by_key(|&p| on(p))
        .unwrap();
    for (n, persona) in Persona::ALL.into_iter().enumerate() {
        let ip = nets::DEMO.host(n as u32 + 1);
        let r = records
            .iter()
            .find(|r| r.ip == ip && r.port == port)
            .unwrap_or_else(|| panic!("no record for {} at {ip}:{port}", persona.name()));
        assert_eq!(
            r.verdict,
            Some(persona.expected_verdict()),
            "{}",
            persona.name()
        );
    }
    // The vulnerable Exim persona: its banner's version under a KEV advisory, from the
    // greeting alone; the demo's own table says so too.
    let n = Persona::ALL
        .iter()
        .position(|&p| p == Persona::VulnerableExim)
        .unwrap();
    let exim = records
        .iter()
        .find(|r| r.ip == nets::DEMO.host(n as u32 + 1) && r.port == port)
        .unwrap();
    let software = exim.software.as_ref().unwrap();
    assert_eq!(
        (software.product.as_str(), software.version.as_deref()),
        ("exim", Some("4.91"))
    );
    let kev = exim
        .findings
        .iter()
        .find(|f| f.id.as_str() == "known-exploited-software")
        .unwrap_or_else(|| panic!("{:?}", exim.findings));
    assert!(kev.detail.contains("CVE-2019-10149"), "{}", kev.detail);
    assert!(
        kev.detail
            .contains("advisory: distributions backport fixes, verify with your vendor"),
        "{}",
        kev.detail
    );
    let table = text
        .split("Known-vulnerable software")
        .nth(1)
        .unwrap_or_else(|| panic!("no software table:\n{text}"));
    let row = table
        .lines()
        .find(|l| l.starts_with("vulnerable-exim "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("known-exploited-software") && row.ends_with("ok"),
        "{row}"
    );
    // The lab's blocklist: the open relay listed as an exploited host, the closed server's
    // refused query a lookup error naming its cause, and no one else listed.
    let at = |persona: Persona| {
        let n = Persona::ALL.iter().position(|&p| p == persona).unwrap();
        records
            .iter()
            .find(|r| r.ip == nets::DEMO.host(n as u32 + 1) && r.port == port)
            .unwrap()
    };
    let listed = at(Persona::OpenRelay);
    let finding = listed
        .findings
        .iter()
        .find(|f| f.id.as_str() == "blocklisted")
        .unwrap_or_else(|| panic!("{:?}", listed.findings));
    assert!(
        finding.detail.contains(" XBL (Exploits Block List")
            && finding.detail.contains("removal: https://"),
        "{}",
        finding.detail
    );
    let refused = &at(Persona::Closed).blocklists.as_ref().unwrap()[0];
    assert_eq!(refused.status, "error");
    assert!(
        refused
            .error
            .as_deref()
            .unwrap()
            .contains("public or open resolver"),
        "{refused:?}"
    );
    assert!(
        at(Persona::Closed)
            .findings
            .iter()
            .all(|f| !f.id.as_str().starts_with("blocklisted"))
    );
    let others_listed = records
        .iter()
        .filter(|r| r.blocklists.iter().flatten().any(|a| a.status == "listed"))
        .count();
    assert_eq!(others_listed, 1, "only the open relay is listed");
    assert!(text.contains("DNS blocklist of the lab"), "{text}");
    assert_eq!(
        read_csv(&prefix.with_extension("csv")).1.len(),
        records.len()
    );
    let doc = read_json(&prefix.with_extension("json"));
    assert_eq!(doc["records"].as_array().map(Vec::len), Some(records.len()));
    // DANE that works: the persona whose DNSSEC-validated TLSA is the digest of the key it
    // made at start has a matched result in the JSON, and its domain no dane-* finding.
    let domain = customer_domain(TLSA_MATCH_PERSONA.name());
    let entry = doc["domains"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["domain"] == domain.as_str()))
        .unwrap_or_else(|| panic!("no domain entry for {domain}"));
    let dane = &entry["dane"][0];
    assert_eq!(dane["matched"], true, "{entry}");
    assert_eq!(dane["authenticated"], true, "{entry}");
    assert!(
        dane["records"][0].as_str().unwrap().starts_with("3 1 1 "),
        "{entry}"
    );
    let ids = entry["findings"].as_array().unwrap();
    assert!(
        !ids.iter()
            .any(|f| f["id"].as_str().unwrap().starts_with("dane-")),
        "{entry}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(&domain) && l.contains("TLSA matched") && l.ends_with("ok")),
        "{text}"
    );
    // MTA-STS served by the lab: the policy fetched over HTTPS (lab CA, written beside the
    // reports) in mode enforce, and the domain's MX outside its mx: list.
    let domain = customer_domain(STS_POLICY_PERSONA.name());
    let entry = doc["domains"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["domain"] == domain.as_str()))
        .unwrap_or_else(|| panic!("no domain entry for {domain}"));
    let policy = &entry["mta_sts_policy"];
    assert_eq!(policy["policy"]["mode"], "enforce", "{entry}");
    assert!(policy["error"].is_null(), "{entry}");
    let ids: Vec<&str> = entry["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"mta-sts-mx-not-covered"), "{entry}");
    assert!(prefix.with_extension("lab-ca.pem").exists());

    // The demo's HTML report, every persona and every lab domain in it, fits a desktop and
    // a phone (screenshots in target/tmp/demo-report/).
    if let Some(chromium) = browser::chromium() {
        let html = prefix.with_extension("html");
        assert!(
            std::fs::read_to_string(&html)
                .unwrap()
                .contains("<section id=\"domains\">")
        );
        for (size, m) in browser::assert_report_fits(&chromium, &html, "demo-report") {
            eprintln!("{}x{}: {m:?}", size.0, size.1);
        }
    }
}

/// Starts `relayscan lab` with `args` on `nets::LAB_SUMMARY`, a free port, reads what it
/// prints up to its "lab ready" line, and stops it.
fn lab_banner(args: &[&str]) -> Vec<String> {
    use std::io::BufRead;
    let mut child = crate::support::relayscan()
        .args(["lab", "--port", "0", "--bind", &nets::LAB_SUMMARY.cidr()])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let ready = line.starts_with("lab ready:");
        lines.push(line);
        if ready {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines
}

/// `lab --hosts N` prints one line per persona (name, host count, addresses, designed
/// verdict) before "lab ready", not one per host; `-v` lists every host.
#[test]
fn lab_summarises_its_hosts_per_persona_and_lists_them_with_v() {
    let lines = lab_banner(&["--hosts", "1000"]);
    assert!(
        lines.last().unwrap().starts_with("lab ready: 1000 hosts"),
        "{lines:#?}"
    );
    // A header, one line per persona, the ready line.
    assert_eq!(lines.len(), Persona::ALL.len() + 2, "{lines:#?}");
    assert!(lines[0].starts_with("PERSONA") && lines[0].ends_with("EXPECTED VERDICT"));
    let mut hosts = 0;
    for persona in Persona::ALL {
        let row = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(persona.name()))
            .unwrap_or_else(|| panic!("{}: {lines:#?}", persona.name()));
        let cells: Vec<&str> = row.split_whitespace().collect();
        hosts += cells[1].parse::<usize>().unwrap();
        assert!(cells[2].starts_with("127.0.19"), "{row}");
        assert!(
            row.ends_with(&persona.designed_verdict().to_string()),
            "{row}"
        );
    }
    // The implicit-TLS persona's hosts listen on two ports: counted on both.
    assert!(hosts >= 1000, "{hosts}: {lines:#?}");

    let lines = lab_banner(&["--hosts", "100", "-v"]);
    let rows = lines.iter().filter(|l| l.starts_with("127.0.19")).count();
    assert!(lines[0].starts_with("ADDRESS"), "{lines:#?}");
    assert!(rows >= 100, "{rows}: {lines:#?}");
}
