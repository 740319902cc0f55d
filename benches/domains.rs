//! Benchmark: 10,000 mail domains on a few hundred shared MX hosts, resolved by a local authoritative DNS server and scanned; and, with `RELAYSCAN_BENCH_DOMAINS`, the flat-memory series of issue 18 (sizes given, 10,000 mail hosts).
//!
//! `cargo bench --bench domains` prints domains/s, the probes actually made and peak
//! memory (ru_maxrss of the scanner), for the DNS side alone (`relayscan targets`) and
//! for the whole scan. Loopback only: the lab on 127.0.90.0/23, DNS on 127.0.91.254.
//!
//! `RELAYSCAN_BENCH_DOMAINS=10000,100000,1000000 cargo bench --bench domains` runs the
//! series instead: per size, that many domains on 10,000 mail hosts of the in-process
//! authoritative zone (domain n on hosts n and n+1), resolved and scanned against a lab
//! of `closed` hosts, printing domains/s and the scanner's peak RSS, which must stay flat
//! as the size grows (the goal: under 256 MiB at 1,000,000); `RELAYSCAN_BENCH_DKIM=none`
//! (or a selector list) is passed as `--dkim-selectors`; with
//! `RELAYSCAN_BENCH_SIGNED_EVERY=K` every K-th domain publishes a DKIM key (by default
//! none does, as when the 1,868 domains/s goal was measured). The lab binds only the hosts
//! the largest size uses (all 10,000 from 9,999 domains up). Loopback only: the lab on
//! 127.8.64.0/18, DNS on 127.8.128.254.

// clippy.toml keeps relayscan's own file writes in one place; benches make fixtures freely.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use relayscan_lab::dns::LabDns;
use relayscan_lab::dns::zone::{Data, Zone};

mod common;

use common::{measure, start_lab};

const DOMAINS: usize = 10_000;
const MX_HOSTS: usize = 300;

/// A zone under `origin`: mail host i at the lab's address i, domain n on hosts n and
/// n+1 (mod `hosts`, two preferences), with SPF and DMARC, so that every domain costs its
/// full set of lookups; with `signed_every` K, every K-th domain (0, K, 2K...) also
/// publishes a 2048-bit DKIM key under `default`, so that its 14 selectors are asked.
fn zone(
    origin: &str,
    first: Ipv4Addr,
    hosts: usize,
    domains: usize,
    signed_every: Option<usize>,
) -> Zone {
    let key = Data::long_txt(&format!(
        "v=DKIM1; k=rsa; p={}",
        relayscan_lab::dns::dkim_keys::RSA_2048.trim()
    ));
    let mut zone = Zone::new(origin);
    for i in 0..hosts {
        let ip = Ipv4Addr::from(u32::from(first) + i as u32);
        zone.add_host(&format!("mx{i}.{origin}"), IpAddr::V4(ip));
    }
    for n in 0..domains {
        let d = format!("d{n}.{origin}");
        let host = |k: usize| format!("mx{}.{origin}", k % hosts);
        zone.add(&d, Data::Mx(10, host(n)))
            .add(&d, Data::Mx(20, host(n + 1)))
            .add(&d, Data::Txt(vec!["v=spf1 mx -all".into()]))
            .add(
                &format!("_dmarc.{d}"),
                Data::Txt(vec!["v=DMARC1; p=reject".into()]),
            );
        if signed_every.is_some_and(|k| n % k == 0) {
            zone.add(&format!("default._domainkey.{d}"), key.clone());
        }
    }
    zone
}

/// `RELAYSCAN_BENCH_SIGNED_EVERY=K`: every K-th domain of the series publishes a DKIM key.
fn signed_every() -> Option<usize> {
    let text = std::env::var("RELAYSCAN_BENCH_SIGNED_EVERY").ok()?;
    match text.trim().parse() {
        Ok(k) if k > 0 => Some(k),
        _ => panic!("RELAYSCAN_BENCH_SIGNED_EVERY: {text:?} is not a positive count"),
    }
}

/// The series' mail hosts.
const FLAT_MX_HOSTS: usize = 10_000;

/// The sizes of `RELAYSCAN_BENCH_DOMAINS` (comma-separated domain counts).
fn flat_sizes() -> Option<Vec<usize>> {
    let text = std::env::var("RELAYSCAN_BENCH_DOMAINS").ok()?;
    let sizes: Vec<usize> = text
        .split(',')
        .map(|s| {
            s.trim().parse().unwrap_or_else(|e| {
                panic!("RELAYSCAN_BENCH_DOMAINS: {s:?} is not a domain count ({e})")
            })
        })
        .collect();
    assert!(
        sizes.iter().all(|&n| n > 0),
        "RELAYSCAN_BENCH_DOMAINS: {text:?}"
    );
    Some(sizes)
}

/// The series: per size, resolve and scan, domains/s and peak RSS.
fn flat_series(sizes: &[usize]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let first = Ipv4Addr::new(127, 8, 64, 1);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dns = runtime
        .block_on(LabDns::start(
            SocketAddr::new(Ipv4Addr::new(127, 8, 128, 254).into(), 0),
            zone("flat.test", first, FLAT_MX_HOSTS, largest, signed_every()),
        ))
        .expect("DNS server");
    let resolver = dns.addr().to_string();
    // Domain n uses hosts n and n+1: the largest size reaches this many.
    let hosts = FLAT_MX_HOSTS.min(largest + 1);
    let lab = start_lab("127.8.64.0/18", hosts, &["--persona", "closed"]);
    let port = lab.ready.port.to_string();
    println!(
        "relayscan domains series ({} cores): sizes {sizes:?} on {FLAT_MX_HOSTS} mail hosts ({hosts} in the lab)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for &size in sizes {
        let list = dir.path().join(format!("domains-{size}.txt"));
        let mut text = String::with_capacity(size * 20);
        for n in 0..size {
            let _ = writeln!(text, "d{n}.flat.test");
        }
        std::fs::write(&list, text).expect("domain list");
        let prefix = dir.path().join(format!("scan-{size}"));
        let args = [
            "scan",
            "--domains",
            list.to_str().expect("path"),
            "--resolver",
            &resolver,
            "--dns-concurrency",
            "256",
            "--dns-rate",
            "1000000",
            "-p",
            &port,
            "-c",
            "300",
            "--rate",
            "100000",
            "-q",
            "-o",
            prefix.to_str().expect("path"),
        ];
        // RELAYSCAN_BENCH_DKIM=none measures without the 14 DKIM lookups a domain (the
        // lookups the 10,000-domain figure of 1,868/s was measured without).
        let dkim = std::env::var("RELAYSCAN_BENCH_DKIM").ok();
        let mut args: Vec<&str> = args.to_vec();
        if let Some(selectors) = dkim.as_deref() {
            args.extend(["--dkim-selectors", selectors]);
        }
        let m = measure(&args);
        let jsonl = std::fs::read_to_string(prefix.with_extension("jsonl")).unwrap_or_default();
        let domain_lines: Vec<&str> = jsonl
            .lines()
            .filter(|l| l.starts_with("{\"record\":\"domain\""))
            .collect();
        let domain_records = domain_lines.len();
        let probes = jsonl.lines().count() - domain_records;
        let keys_found = domain_lines
            .iter()
            .filter(|l| l.contains("\"bits\":2048"))
            .count();
        println!(
            "{size} domains: exit {}, {:.2} s, {:.0} domains/s, probes {probes}, domain records {domain_records} ({keys_found} with a DKIM key), CPU {:.1} s, peak RSS {:.1} MiB",
            m.exit,
            m.wall.as_secs_f64(),
            size as f64 / m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.peak_rss_kib as f64 / 1024.0
        );
        // The reports of one size are not needed by the next: keep the disk free.
        for ext in ["csv", "jsonl", "json", "domains.csv"] {
            let _ = std::fs::remove_file(format!("{}.{ext}", prefix.display()));
        }
        let _ = std::fs::remove_file(&list);
    }
    drop(lab);
    drop(dns);
}

fn main() {
    if let Some(sizes) = flat_sizes() {
        flat_series(&sizes);
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Ipv4Addr::new(127, 0, 90, 1);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dns = runtime
        .block_on(LabDns::start(
            SocketAddr::new(Ipv4Addr::new(127, 0, 91, 254).into(), 0),
            zone("bench.test", first, MX_HOSTS, DOMAINS, None),
        ))
        .expect("DNS server");
    let resolver = dns.addr().to_string();
    let mut list = String::new();
    for n in 0..DOMAINS {
        let _ = writeln!(list, "d{n}.bench.test");
    }
    let domains = dir.path().join("domains.txt");
    std::fs::write(&domains, list).expect("domain list");
    let domains = domains.to_str().expect("path");
    let dns_flags = [
        "--resolver",
        &resolver,
        "--dns-concurrency",
        "256",
        "--dns-rate",
        "1000000",
    ];
    println!(
        "relayscan domains benchmark ({} cores): {DOMAINS} domains on {MX_HOSTS} shared MX hosts",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // 1. Resolution alone: MX, A/AAAA, SPF, DMARC, MTA-STS, TLS-RPT and PTR, no probe.
    let mut args = vec!["targets", "--domains", domains, "--count", "--sequential"];
    args.extend(dns_flags);
    let m = measure(&args);
    println!(
        "resolve only (relayscan targets): exit {}, {:.2} s, {:.0} domains/s, peak RSS {:.1} MiB",
        m.exit,
        m.wall.as_secs_f64(),
        DOMAINS as f64 / m.wall.as_secs_f64(),
        m.peak_rss_kib as f64 / 1024.0
    );

    // 2. The whole scan: every mail host probed once, credited to all its domains.
    let lab = start_lab("127.0.90.0/23", MX_HOSTS, &["--persona", "closed"]);
    let prefix = dir.path().join("scan");
    let port = lab.ready.port.to_string();
    let mut args = vec![
        "scan",
        "--domains",
        domains,
        "-p",
        &port,
        "-c",
        "300",
        "--rate",
        "100000",
        "-q",
        "--format",
        "jsonl,json",
        "-o",
        prefix.to_str().expect("path"),
    ];
    args.extend(dns_flags);
    let m = measure(&args);
    drop(lab);
    let jsonl = std::fs::read_to_string(dir.path().join("scan.jsonl")).unwrap_or_default();
    let probes = jsonl
        .lines()
        .filter(|l| !l.starts_with("{\"record\":\"domain\""))
        .count();
    let doc: serde_json::Value = std::fs::read_to_string(dir.path().join("scan.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let reported = doc["domains"].as_array().map_or(0, Vec::len);
    println!(
        "scan: exit {}, {:.2} s, {:.0} domains/s, probes made {probes} (for {DOMAINS} domains), domains reported {reported}, peak RSS {:.1} MiB",
        m.exit,
        m.wall.as_secs_f64(),
        DOMAINS as f64 / m.wall.as_secs_f64(),
        m.peak_rss_kib as f64 / 1024.0
    );
    drop(dns);
}
