//! The blocklist and software findings through `scan`, `report`, `diff`, `--fail-on` and `--resume`: a lab of a listed host (XBL), a refused query, a vulnerable Exim, a policy-listed host (PBL) and an end-of-life Postfix, asked through the test's own DNS server, which counts the questions.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::LazyLock;
use std::time::Duration;

use relayscan_lab::dns::zone::{Data, QType};
use relayscan_lab::dns::{BLOCKLIST_ZONE, LabDns, lab_zone};
use relayscan_lab::{LabHost, Persona};

use crate::support::personas::start_lab;
use crate::support::{LabProcess, nets, read_json, run, stderr, stdout};

/// The listed (XBL), the refused (Spamhaus's public-resolver code), the unlisted vulnerable Exim, the
/// host this test's zone lists on the PBL, and the unlisted end-of-life Postfix.
const PERSONAS: [Persona; 5] = [
    Persona::OpenRelay,
    Persona::Closed,
    Persona::VulnerableExim,
    Persona::AuthRequired,
    Persona::EndOfLifePostfix,
];
const POLICY_LISTED: usize = 3;
/// Spamhaus ZEN's first PBL code (127/8, host 10): a DNS answer, not an address anyone
/// connects to.
const PBL_CODE: u32 = 0x7f00_000a;
const ZEN_MIRROR: &str = "spamhaus-zen=zen.bl.lab.test";

/// A scan of the four hosts with `extra` flags into PREFIX `dir/name`.
struct Scanner<'a> {
    lab: &'a LabProcess,
    dns: String,
    dir: &'a Path,
}

impl Scanner<'_> {
    fn scan(&self, name: &str, extra: &[&str]) -> Output {
        let prefix = self.dir.join(name);
        let port = self.lab.port_arg();
        let addrs: Vec<String> = (0..PERSONAS.len())
            .map(|n| self.lab.addr(n).to_string())
            .collect();
        let mut args = vec![
            "scan",
            "--resolver",
            &self.dns,
            "--dns-timeout",
            "300ms",
            "-p",
            &port,
            "-q",
            "--format",
            "jsonl,json,html,md",
            "-o",
            prefix.to_str().unwrap(),
        ];
        args.extend(extra);
        args.extend(addrs.iter().map(String::as_str));
        run(&args, Duration::from_secs(60))
    }
}

/// Everything the tests look at, gathered once (the lab, the DNS server and the files are
/// gone by the time the tests read it).
struct Runs {
    /// `ip:port` of each persona's host, in [`PERSONAS`] order.
    endpoints: Vec<String>,
    /// DNS questions about the blocklist zone during the listed scan: (A, AAAA, all).
    questions: (u64, u64, u64),
    /// The listed run's JSON summary, HTML and Markdown; the plain run's Markdown.
    summary: serde_json::Value,
    html: String,
    md: String,
    plain_md: String,
    /// The vulnerable Exim's record.
    exim: serde_json::Value,
    /// `report` of the listed JSONL: its HTML, Markdown and JSON summary.
    regenerated: (String, String, serde_json::Value),
    /// `diff plain listed --fail-on high`, `... critical`, `diff listed plain --fail-on low`,
    /// and `diff --fail-on low` of the policy-listed host alone.
    added_high: Output,
    added_critical: Output,
    removed_low: Output,
    policy_low: Output,
    /// `scan --blocklists --fail-on high`.
    gated: Output,
    /// `scan --blocklists --fail-on blocklisted-policy` (an info id the run has), and
    /// `--fail-on tls-cert-expired` (an id it has not).
    gated_by_info_id: Output,
    gated_by_clean_id: Output,
    /// `scan --fail-on blocklisted-polcy`: a word that is no id.
    gated_by_typo: Output,
    /// `report` and `diff` of the policy-listed host alone with `--fail-on blocklisted-policy`.
    policy_report_by_id: Output,
    policy_diff_by_id: Output,
    /// Each new id found in the listed run, its severity, and `report --fail-on SEVERITY`
    /// of a JSONL holding only a record with it.
    gates: Vec<(String, String, Output)>,
    /// Resumes with other blocklist settings: (flags, what the refusal must say, output).
    resumes: Vec<(Vec<&'static str>, &'static str, Output)>,
    checkpoint: String,
    /// DNS questions asked while the resumes were refused.
    asked_by_resumes: u64,
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSONL line of `jsonl` whose address is `ip`, written alone into `out`.
fn one_record(jsonl: &Path, ip: IpAddr, out: PathBuf) -> PathBuf {
    let lines: Vec<String> = text(jsonl)
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["ip"] == ip.to_string().as_str()
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(lines.len(), 1, "{}: one record of {ip}", jsonl.display());
    std::fs::write(&out, lines.concat()).unwrap();
    out
}

fn diff(old: &Path, new: &Path, gate: &str) -> Output {
    let args = [
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--fail-on",
        gate,
    ];
    run(&args, Duration::from_secs(30))
}

static RUNS: LazyLock<Runs> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let lab = start_lab(nets::BLOCKLIST_REPORTS, dir, &PERSONAS, &[]);
    let hosts: Vec<LabHost> = PERSONAS
        .iter()
        .enumerate()
        .map(|(n, &persona)| LabHost {
            addr: SocketAddr::new(lab.addr(n), lab.port),
            persona,
        })
        .collect();
    // The lab's zone (the open relay listed, the closed host refused), and a PBL listing.
    let mut zone = lab_zone(&hosts, &Default::default());
    let IpAddr::V4(policy) = lab.addr(POLICY_LISTED) else {
        panic!("the lab is IPv4")
    };
    let [a, b, c, d] = policy.octets();
    zone.add(
        &format!("{d}.{c}.{b}.{a}.{BLOCKLIST_ZONE}"),
        Data::A(Ipv4Addr::from(PBL_CODE)),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bind = SocketAddr::new(nets::BLOCKLIST_REPORTS_DNS.host(53).into(), 0);
    let server = runtime.block_on(LabDns::start(bind, zone)).unwrap();
    let scanner = Scanner {
        lab: &lab,
        dns: server.addr().to_string(),
        dir,
    };
    let checkpoint = dir.join("listed.checkpoint");
    let blocklists = ["--blocklists", ZEN_MIRROR];
    let mut flags = blocklists.to_vec();
    flags.extend(["--checkpoint", checkpoint.to_str().unwrap()]);
    let listed = scanner.scan("listed", &flags);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let log = server.queries();
    let questions = (
        log.under(BLOCKLIST_ZONE, QType::A),
        log.under(BLOCKLIST_ZONE, QType::Aaaa),
        log.total(),
    );
    let plain = scanner.scan("plain", &[]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    let mut gated_flags = blocklists.to_vec();
    gated_flags.extend(["--fail-on", "high"]);
    let gated = scanner.scan("gated", &gated_flags);
    let by_id = |name: &str, id: &'static str| {
        let mut flags = blocklists.to_vec();
        flags.extend(["--fail-on", id]);
        scanner.scan(name, &flags)
    };
    let gated_by_info_id = by_id("gated-info-id", "blocklisted-policy");
    let gated_by_clean_id = by_id("gated-clean-id", "tls-cert-expired");
    let gated_by_typo = by_id("gated-typo", "blocklisted-polcy");

    let asked_before = server.queries().total();
    let resumes: Vec<(Vec<&str>, &str, Output)> = [
        (
            vec![
                "--blocklists",
                "spamhaus-zen=zen.bl.lab.test,spamcop=cop.bl.lab.test",
            ],
            r#"blocklists was ["zen.bl.lab.test"], now ["zen.bl.lab.test","cop.bl.lab.test"]"#,
        ),
        (vec![], r#"blocklists was ["zen.bl.lab.test"], now (unset)"#),
        (
            vec!["--blocklists", "spamhaus-zen", "--dqs-key", "secret123"],
            "dqs_key was (unset), now true",
        ),
    ]
    .into_iter()
    .map(|(extra, want)| {
        let mut flags = extra.clone();
        flags.extend(["--resume", checkpoint.to_str().unwrap()]);
        let out = scanner.scan("listed", &flags);
        (extra, want, out)
    })
    .collect();
    let asked_by_resumes = server.queries().total() - asked_before;
    let endpoints: Vec<String> = hosts.iter().map(|h| h.addr.to_string()).collect();
    let (listed_jsonl, plain_jsonl) = (dir.join("listed.jsonl"), dir.join("plain.jsonl"));
    let exim = one_record(&listed_jsonl, lab.addr(2), dir.join("exim.jsonl"));
    drop(lab);

    let regenerated = dir.join("regenerated");
    let out = run(
        &[
            "report",
            listed_jsonl.to_str().unwrap(),
            "--format",
            "html,md,json",
            "-q",
            "-o",
            regenerated.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let policy_ip = hosts[POLICY_LISTED].addr.ip();
    let policy_plain = one_record(&plain_jsonl, policy_ip, dir.join("policy-plain.jsonl"));
    let policy_listed = one_record(&listed_jsonl, policy_ip, dir.join("policy-listed.jsonl"));

    let policy_report_by_id = run(
        &[
            "report",
            policy_listed.to_str().unwrap(),
            "--format",
            "md",
            "-q",
            "-o",
            dir.join("policy-by-id").to_str().unwrap(),
            "--fail-on",
            "blocklisted-policy",
        ],
        Duration::from_secs(30),
    );
    let policy_diff_by_id = diff(&policy_plain, &policy_listed, "blocklisted-policy");

    let records = text(&listed_jsonl);
    // blocklisted-policy is info, which no gate takes (it would fail every scan): the diff
    // of the policy-listed host alone shows that it trips nothing.
    let gates = [
        "blocklisted",
        "known-exploited-software",
        "vulnerable-software",
        "end-of-life-software",
    ]
    .into_iter()
    .filter_map(|id| {
        let (line, severity) = records.lines().find_map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            let f = r["findings"]
                .as_array()?
                .iter()
                .find(|f| f["id"] == id)?
                .clone();
            Some((l.to_string(), f["severity"].as_str()?.to_string()))
        })?;
        let path = dir.join(format!("{id}.jsonl"));
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let args = [
            "report",
            path.to_str().unwrap(),
            "--format",
            "md",
            "-q",
            "--fail-on",
            severity.as_str(),
        ];
        Some((
            id.to_string(),
            severity.clone(),
            run(&args, Duration::from_secs(30)),
        ))
    })
    .collect();

    let summary = |prefix: &Path| read_json(&prefix.with_extension("json"))["summary"].clone();
    Runs {
        endpoints,
        questions,
        summary: summary(&dir.join("listed")),
        html: text(&dir.join("listed.html")),
        md: text(&dir.join("listed.md")),
        plain_md: text(&dir.join("plain.md")),
        exim: serde_json::from_str(text(&exim).trim()).unwrap(),
        regenerated: (
            text(&regenerated.with_extension("html")),
            text(&regenerated.with_extension("md")),
            summary(&regenerated),
        ),
        added_high: diff(&plain_jsonl, &listed_jsonl, "high"),
        added_critical: diff(&plain_jsonl, &listed_jsonl, "critical"),
        removed_low: diff(&listed_jsonl, &plain_jsonl, "low"),
        policy_low: diff(&policy_plain, &policy_listed, "low"),
        gated,
        gated_by_info_id,
        gated_by_clean_id,
        gated_by_typo,
        policy_report_by_id,
        policy_diff_by_id,
        gates,
        resumes,
        checkpoint: text(&checkpoint),
        asked_by_resumes,
    }
});

fn endpoint(n: usize) -> &'static str {
    &RUNS.endpoints[n]
}

/// The part of `page` from `start` to the first `end` after it (included).
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page.find(start).unwrap_or_else(|| panic!("no {start:?}"));
    let len = page[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?}"));
    &page[from..from + len + end.len()]
}

/// A Markdown section: from its `## ` heading to the next one (or the end).
fn md_section<'a>(md: &'a str, heading: &str) -> &'a str {
    let from = md.find(heading).unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &md[from + heading.len()..];
    let len = rest.find("\n## ").unwrap_or(rest.len());
    &md[from..from + heading.len() + len]
}

#[test]
fn every_report_has_a_blocklist_section_with_meaning_kind_severity_and_removal() {
    let zen = &RUNS.summary["blocklists"]["zones"][BLOCKLIST_ZONE];
    assert_eq!(
        [&zen["listed"], &zen["not_listed"], &zen["errors"]],
        [2, 2, 1],
        "{zen}"
    );
    assert_eq!(zen["removal"], "https://check.spamhaus.org/");
    let listed = RUNS.summary["blocklists"]["listed"].as_array().unwrap();
    let finding_of = |n: usize| {
        let at = listed
            .iter()
            .find(|l| l["endpoint"] == endpoint(n))
            .unwrap_or_else(|| panic!("host {n} not listed: {listed:?}"));
        [at["finding"].clone(), at["severity"].clone()]
    };
    assert_eq!(finding_of(0), ["blocklisted", "high"]);
    assert_eq!(finding_of(POLICY_LISTED), ["blocklisted-policy", "info"]);
    let errors = RUNS.summary["blocklists"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["endpoint"], endpoint(1));

    let section = between(&RUNS.html, "<section id=\"blocklists\">", "</section>");
    let (listings, failed) = section.split_once("<h3>Failed lookups</h3>").unwrap();
    for want in [
        "Exploits Block List",
        "Policy Block List",
        "<code>blocklisted</code>",
        "<code>blocklisted-policy</code>",
        "<td>exploited</td>",
        "<td>policy</td>",
        "https://check.spamhaus.org/",
        endpoint(0),
        endpoint(POLICY_LISTED),
    ] {
        assert!(listings.contains(want), "{want}: {listings}");
    }
    // The refused query is an error naming its cause, never among the listings.
    assert!(!listings.contains(endpoint(1)), "{listings}");
    assert!(failed.contains(endpoint(1)) && failed.contains("public or open resolver"));

    let section = md_section(&RUNS.md, "## DNS blocklists");
    let row = |n: usize| {
        section
            .lines()
            .find(|l| l.contains(&format!("`{}`", endpoint(n))))
            .unwrap_or_else(|| panic!("no row of host {n}: {section}"))
    };
    assert!(row(0).starts_with("| high `blocklisted` |") && row(0).contains("| exploited |"));
    assert!(row(POLICY_LISTED).starts_with("| info `blocklisted-policy` |"));
    assert!(row(1).contains("public or open resolver") && !row(1).contains("blocklisted"));
    // Without --blocklists there is no section at all, rather than an empty one.
    assert!(!RUNS.plain_md.contains("## DNS blocklists"));
}

#[test]
fn the_software_section_counts_versions_and_names_the_advisories() {
    let version = RUNS.exim["software"]["version"].as_str().unwrap();
    let mut ids: Vec<&str> = RUNS.exim["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .filter(|id| id.ends_with("-software"))
        .collect();
    assert!(ids.contains(&"known-exploited-software"), "{ids:?}");
    let software = &RUNS.summary["software"];
    assert_eq!(software["versions"][format!("exim {version}")], 1);
    let advised_at = |n: usize| {
        software["advised"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["endpoint"] == endpoint(n))
            .unwrap_or_else(|| panic!("host {n} not advised: {software}"))
    };
    let advised = advised_at(2);
    // The end-of-life Postfix is advised too, with the end-of-life finding.
    assert_eq!(software["versions"]["postfix 3.4.14"], 1, "{software}");
    assert!(
        advised_at(PERSONAS.len() - 1)["findings"]
            .as_array()
            .unwrap()
            .contains(&"end-of-life-software".into()),
        "{software}"
    );
    let mut advised_ids: Vec<&str> = advised["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    ids.sort();
    advised_ids.sort();
    assert_eq!(advised_ids, ids, "every advisory finding of the host");
    let section = between(&RUNS.html, "<section id=\"software\">", "</section>");
    assert!(section.contains(&format!("exim {version}")), "{section}");
    assert!(section.contains("verify with your vendor"));
    for id in &ids {
        assert!(section.contains(&format!("<code>{id}</code>")), "{id}");
    }
    assert!(md_section(&RUNS.md, "## Software").contains("`known-exploited-software`"));
}

#[test]
fn report_rebuilds_the_same_sections_from_the_jsonl() {
    let (html, md, summary) = &RUNS.regenerated;
    for id in ["blocklists", "software"] {
        let start = format!("<section id=\"{id}\">");
        assert_eq!(
            between(&RUNS.html, &start, "</section>"),
            between(html, &start, "</section>"),
            "{id}"
        );
    }
    for heading in ["## DNS blocklists", "## Software"] {
        assert_eq!(md_section(&RUNS.md, heading), md_section(md, heading));
    }
    assert_eq!(RUNS.summary["blocklists"], summary["blocklists"]);
    assert_eq!(RUNS.summary["software"], summary["software"]);
}

/// The line of a diff table at host `n` naming `id`.
fn diff_line<'a>(table: &'a str, n: usize, id: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.contains(endpoint(n)) && l.split_whitespace().any(|w| w == id))
        .unwrap_or_else(|| panic!("no {id} at host {n}: {table}"))
}

#[test]
fn diff_names_the_listings_added_and_removed_and_gates_on_their_severity() {
    let added = &RUNS.added_high;
    let table = stdout(added);
    assert!(diff_line(&table, 0, "blocklisted").starts_with("finding-added"));
    assert!(diff_line(&table, POLICY_LISTED, "blocklisted-policy").starts_with("finding-added"));
    assert!(
        !table.contains(endpoint(1)),
        "a refused query changes nothing: {table}"
    );
    // The new XBL listing is high: --fail-on high trips (exit 1), critical does not.
    assert_eq!(added.status.code(), Some(1), "{}", stderr(added));
    let critical = &RUNS.added_critical;
    assert_eq!(critical.status.code(), Some(0), "{}", stderr(critical));
    // Back again: the listings are removed, which trips no gate.
    let removed = &RUNS.removed_low;
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(removed));
    let table = stdout(removed);
    assert!(diff_line(&table, 0, "blocklisted").starts_with("finding-removed"));
    // A policy listing alone is information: no gate trips on it.
    let policy = &RUNS.policy_low;
    assert_eq!(policy.status.code(), Some(0), "{}", stderr(policy));
    let table = stdout(policy);
    assert!(diff_line(&table, POLICY_LISTED, "blocklisted-policy").starts_with("finding-added"));
}

#[test]
fn fail_on_trips_with_exit_1_at_each_new_finding_s_severity() {
    // `scan --blocklists --fail-on high`: the XBL listing (and more) trips it.
    assert_eq!(RUNS.gated.status.code(), Some(1), "{}", stderr(&RUNS.gated));
    for (id, severity, out) in &RUNS.gates {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{id} ({severity}): {}",
            stderr(out)
        );
    }
    let ids: Vec<&str> = RUNS.gates.iter().map(|(id, _, _)| id.as_str()).collect();
    // Exim 4.91 has advisories of both kinds; Postfix 3.4.14 is past its end of support.
    for id in [
        "blocklisted",
        "known-exploited-software",
        "vulnerable-software",
        "end-of-life-software",
    ] {
        assert!(
            ids.contains(&id),
            "{id} not found in the lab's records: {ids:?}"
        );
    }
}

#[test]
fn fail_on_a_finding_id_trips_on_that_id_alone_whatever_its_severity() {
    // blocklisted-policy is info, which no severity gate takes; by its id it trips scan,
    // report and diff (exit 1). An id the run does not have trips nothing, although the run
    // has high findings.
    for (what, out) in [
        ("scan", &RUNS.gated_by_info_id),
        ("report", &RUNS.policy_report_by_id),
        ("diff", &RUNS.policy_diff_by_id),
    ] {
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(out));
    }
    let clean = &RUNS.gated_by_clean_id;
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(clean));
    // A word that is no id is a usage error (exit 2) naming it and the nearest id.
    let typo = &RUNS.gated_by_typo;
    let err = stderr(typo);
    assert_eq!(typo.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"blocklisted-polcy\"")
            && err.contains("nearest finding ids: blocklisted-policy"),
        "{err}"
    );
}

#[test]
fn each_blocklist_lookup_is_one_a_question() {
    // Four answering hosts, one zone: four A questions, no AAAA, nothing else asked (the
    // targets are addresses). Asking A and AAAA, as before, would be eight.
    let n = PERSONAS.len() as u64;
    assert_eq!(RUNS.questions, (n, 0, n));
}

#[test]
fn a_resume_with_other_blocklists_is_refused_naming_the_setting() {
    for (extra, want, out) in &RUNS.resumes {
        let err = stderr(out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains("settings differ") && err.contains(want),
            "{extra:?}: {err}"
        );
        assert!(!err.contains("secret123"), "the key is never shown: {err}");
    }
    assert!(!RUNS.checkpoint.contains("secret123"));
    assert!(
        RUNS.checkpoint.contains("\"blocklists\""),
        "recorded in the checkpoint"
    );
    assert_eq!(RUNS.asked_by_resumes, 0, "a refused resume asks nothing");
}
