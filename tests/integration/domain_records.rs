//! Domain records in the JSONL (`"record":"domain"`): a domain scan interrupted by SIGINT
//! and resumed ends with exactly the domain records of an uninterrupted scan; two shards
//! merged give each domain once, as the whole scan has it; `report` regenerates the domain
//! reports from the JSONL alone; `diff` of two equal scans shows no domain change.
//!
//! The story is played once for the module against one lab of steady `closed` hosts and
//! an authoritative zone served from this process; each test checks one step's outcome.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use relayscan_lab::dns::LabDns;
use relayscan_lab::dns::zone::{Data, Zone};
use serde_json::Value;

use crate::support::{
    LabProcess, nets, read_csv, read_domain_records, read_json, read_jsonl, relayscan, run, stderr,
};

/// Mail hosts, and domains on two of them each (so most domains wait for two probes).
const HOSTS: usize = 12;
const DOMAINS: usize = 36;

/// The domains, by name: d0..d35 with MX hosts n and n+1, a null MX, and one that does
/// not exist (ready at once: nothing to probe).
fn domain_names() -> Vec<String> {
    let mut names: Vec<String> = (0..DOMAINS).map(|n| format!("d{n}.records.test")).collect();
    names.extend(["null.records.test".into(), "gone.records.test".into()]);
    names
}

fn zone(lab: &LabProcess) -> Zone {
    let mut zone = Zone::new("records.test");
    for i in 0..HOSTS {
        zone.add_host(&format!("mx{i}.records.test"), lab.addr(i));
    }
    for n in 0..DOMAINS {
        let d = format!("d{n}.records.test");
        zone.add(&d, Data::Mx(10, format!("mx{}.records.test", n % HOSTS)))
            .add(
                &d,
                Data::Mx(20, format!("mx{}.records.test", (n + 1) % HOSTS)),
            )
            .add(&d, Data::Txt(vec!["v=spf1 mx -all".into()]))
            .add(
                &format!("_dmarc.{d}"),
                Data::Txt(vec!["v=DMARC1; p=reject".into()]),
            );
    }
    zone.add("null.records.test", Data::Mx(0, String::new()));
    zone
}

/// A finished scan's domain records (by name) and its domains CSV rows.
struct Scanned {
    out: Output,
    domains: BTreeMap<String, Value>,
    csv_rows: usize,
    hosts: usize,
}

impl Scanned {
    fn read(out: Output, prefix: &Path) -> Scanned {
        Scanned {
            domains: by_name(&prefix.with_extension("jsonl")),
            csv_rows: read_csv(&with_ext(prefix, "domains.csv")).1.len(),
            hosts: read_jsonl(&prefix.with_extension("jsonl")).len(),
            out,
        }
    }
}

fn with_ext(prefix: &Path, ext: &str) -> PathBuf {
    PathBuf::from(format!("{}.{ext}", prefix.display()))
}

/// The domain records of a JSONL by name; a name written twice fails the test.
fn by_name(jsonl: &Path) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for v in read_domain_records(jsonl) {
        let name = v["domain"].as_str().unwrap().to_string();
        assert!(
            map.insert(name.clone(), v).is_none(),
            "{name} twice in {}",
            jsonl.display()
        );
    }
    map
}

struct Story {
    reference: Scanned,
    /// The interrupted scan's domain records, before the resume.
    interrupted: Output,
    partial: BTreeMap<String, Value>,
    resumed: Scanned,
    merged: Scanned,
    /// `report` of the resumed JSONL alone: its domains CSV and JSON `domains`.
    regenerated_csv_rows: usize,
    regenerated_json_domains: Vec<Value>,
    /// `diff` of the reference and the resumed scan: its JSON document.
    diff: Value,
}

static STORY: LazyLock<Story> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let network = nets::DOMAIN_RECORDS.lab_network();
    // 40 ms per reply: a probe takes a few hundred ms, so the stop lands midway.
    let lab = LabProcess::start(
        network,
        dir,
        &[
            "--persona",
            "closed",
            "--hosts",
            &HOSTS.to_string(),
            "--reply-delay",
            "40ms",
        ],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dns_at = SocketAddr::new(IpAddr::V4(nets::DOMAIN_RECORDS.host(254)), 0);
    let dns = runtime
        .block_on(LabDns::start(dns_at, zone(&lab)))
        .expect("the zone's DNS server");
    let resolver = dns.addr().to_string();
    let list = dir.join("domains.txt");
    let mut text = String::new();
    for name in domain_names() {
        let _ = writeln!(text, "{name}");
    }
    std::fs::write(&list, text).unwrap();
    let port = lab.port_arg();
    // 2 slots, 4 new connections a second: the scan of 12 hosts takes 3 s or more.
    let args = |prefix: &Path, extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "scan",
            "--domains",
            list.to_str().unwrap(),
            "--resolver",
            &resolver,
            "-p",
            &port,
            "-c",
            "2",
            "--rate",
            "4",
            "--seed",
            "7",
            "--grace",
            "200ms",
            "--no-progress",
            "-o",
            prefix.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let scan = |prefix: &Path, extra: &[&str]| -> Output {
        let args = args(prefix, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, Duration::from_secs(120))
    };

    let reference = dir.join("reference");
    let reference = Scanned::read(scan(&reference, &[]), &reference);

    // Interrupted after its first record, then resumed with --resume in place of --checkpoint.
    let prefix = dir.join("resumed");
    let checkpoint = dir.join("scan.checkpoint");
    let checkpoint_arg = checkpoint.to_str().unwrap();
    let child = relayscan()
        .args(args(&prefix, &["--checkpoint", checkpoint_arg]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped once its first record is written (the domains' DNS comes first, and how
    // long it takes depends on the machine): a wait on a state, never on a time.
    let jsonl = prefix.with_extension("jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&jsonl).map_or(true, |t| t.lines().next().is_none()) {
        assert!(std::time::Instant::now() < deadline, "no record in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let interrupted = child.wait_with_output().unwrap();
    let partial = by_name(&prefix.with_extension("jsonl"));
    let resumed = Scanned::read(scan(&prefix, &["--resume", checkpoint_arg]), &prefix);

    // Two shards of the same seed, merged.
    let shards: Vec<PathBuf> = (1..=2)
        .map(|i| {
            let shard = dir.join(format!("shard{i}"));
            let out = scan(&shard, &["--shard", &format!("{i}/2")]);
            assert_eq!(out.status.code(), Some(0), "shard {i}: {}", stderr(&out));
            shard.with_extension("jsonl")
        })
        .collect();
    let merged = dir.join("merged");
    let mut merge: Vec<&str> = vec!["merge"];
    merge.extend(shards.iter().map(|p| p.to_str().unwrap()));
    merge.extend(["-o", merged.to_str().unwrap()]);
    let merged = Scanned::read(run(&merge, Duration::from_secs(60)), &merged);

    // The resumed JSONL alone (no JSON beside it) regenerated.
    let alone = dir.join("alone.jsonl");
    std::fs::copy(prefix.with_extension("jsonl"), &alone).unwrap();
    let regenerated = dir.join("regenerated");
    let out = run(
        &[
            "report",
            alone.to_str().unwrap(),
            "--format",
            "csv,json",
            "-o",
            regenerated.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "report: {}", stderr(&out));
    let regenerated_csv_rows = read_csv(&with_ext(&regenerated, "domains.csv")).1.len();
    let regenerated_json_domains = read_json(&regenerated.with_extension("json"))["domains"]
        .as_array()
        .cloned()
        .unwrap_or_default();

    let diff = dir.join("diff");
    let out = run(
        &[
            "diff",
            dir.join("reference.jsonl").to_str().unwrap(),
            prefix.with_extension("jsonl").to_str().unwrap(),
            "-o",
            diff.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(
        matches!(out.status.code(), Some(0)),
        "diff: {}",
        stderr(&out)
    );
    let diff = read_json(&diff.with_extension("json"));
    drop(dns);
    Story {
        reference,
        interrupted,
        partial,
        resumed,
        merged,
        regenerated_csv_rows,
        regenerated_json_domains,
        diff,
    }
});

#[test]
fn every_domain_has_one_record_and_one_csv_row() {
    let r = &STORY.reference;
    assert_eq!(r.out.status.code(), Some(0), "{}", stderr(&r.out));
    let names: Vec<String> = r.domains.keys().cloned().collect();
    let mut want = domain_names();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(r.csv_rows, want.len());
    assert_eq!(r.hosts, HOSTS, "each shared mail host probed once");
    let d0 = &r.domains["d0.records.test"];
    assert_eq!(d0["worst_verdict"], "relay-denied", "{d0}");
    assert_eq!(r.domains["null.records.test"]["route"], "null-mx");
    assert_eq!(r.domains["gone.records.test"]["route"], "nxdomain");
}

/// Mail-host endpoints of a domain record that no record answered for.
fn unanswered(d: &Value) -> usize {
    d["mx"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["addresses"].as_array().unwrap())
        .flat_map(|a| a["endpoints"].as_array().unwrap())
        .filter(|e| e["status"].is_null())
        .count()
}

#[test]
fn the_interrupted_scan_writes_every_domain_with_what_it_saw_before_the_stop() {
    let code = STORY.interrupted.status.code();
    assert_eq!(code, Some(130), "{}", stderr(&STORY.interrupted));
    assert_eq!(STORY.partial.len(), STORY.reference.domains.len());
    // The stop landed midway: some domains wait for a mail host never probed...
    assert!(STORY.partial.values().any(|d| unanswered(d) > 0));
    // ... which the uninterrupted and the resumed scans probed.
    assert!(STORY.reference.domains.values().all(|d| unanswered(d) == 0));
}

#[test]
fn a_resumed_domain_scan_has_exactly_the_domain_records_of_an_uninterrupted_one() {
    let resumed = &STORY.resumed;
    assert_eq!(
        resumed.out.status.code(),
        Some(0),
        "{}",
        stderr(&resumed.out)
    );
    assert_eq!(resumed.domains, STORY.reference.domains);
    assert_eq!(resumed.csv_rows, STORY.reference.csv_rows);
    assert_eq!(resumed.hosts, HOSTS);
}

#[test]
fn merged_shards_have_each_domain_once_as_the_whole_scan_has_it() {
    let merged = &STORY.merged;
    assert_eq!(merged.out.status.code(), Some(0), "{}", stderr(&merged.out));
    assert_eq!(merged.domains, STORY.reference.domains);
    assert_eq!(merged.csv_rows, STORY.reference.csv_rows);
}

#[test]
fn report_regenerates_the_domain_reports_from_the_jsonl() {
    assert_eq!(STORY.regenerated_csv_rows, STORY.reference.csv_rows);
    let mut from_json: BTreeMap<String, Value> = BTreeMap::new();
    for mut d in STORY.regenerated_json_domains.clone() {
        let name = d["domain"].as_str().unwrap().to_string();
        // The JSON entry is the record without its type.
        d["record"] = "domain".into();
        from_json.insert(name, d);
    }
    assert_eq!(from_json, STORY.reference.domains);
}

#[test]
fn diff_of_two_equal_domain_scans_shows_no_domain_change() {
    assert_eq!(
        STORY.diff["domain_changes"],
        serde_json::json!([]),
        "{}",
        STORY.diff
    );
}
