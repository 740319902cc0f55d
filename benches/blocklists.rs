//! Benchmark: 10,000 answering hosts × 5 DNS blocklist zones, asked through the scan's paced, cached resolver of a local authoritative zone.
//!
//! `cargo bench --bench blocklists` prints lookups/s and peak memory (ru_maxrss of this
//! process). `BLOCKLIST_BENCH_HOSTS=N` sets the number of hosts (a small N checks that
//! the bench runs). Loopback only: the hosts' addresses (never contacted, only named in
//! queries) are 127.5.64.0/18, the DNS server listens on 127.5.127.254.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relayscan::dns::DnsSettings;
use relayscan::dns::blocklist::select;
use relayscan::dns::dnsbl::Dnsbl;
use relayscan_lab::dns::LabDns;
use relayscan_lab::dns::zone::{Data, Zone};

const ZONES: [&str; 5] = ["z1", "z2", "z3", "z4", "z5"];
/// One host in ten is listed in each zone, so both answers (A and NXDOMAIN) are measured.
const LISTED_EVERY: u32 = 10;

fn zone(first: Ipv4Addr, hosts: u32) -> Zone {
    let mut zone = Zone::new("bench.test");
    for i in (0..hosts).step_by(LISTED_EVERY as usize) {
        let [a, b, c, d] = Ipv4Addr::from(u32::from(first) + i).octets();
        for z in ZONES {
            zone.add(
                &format!("{d}.{c}.{b}.{a}.{z}.bl.bench.test"),
                // Spamcop's "listed" return code (a DNS answer, not an address).
                Data::A(Ipv4Addr::from(0x7f00_0002)),
            );
        }
    }
    zone
}

fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the struct it is given and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss
}

fn main() {
    let hosts: u32 = std::env::var("BLOCKLIST_BENCH_HOSTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
        .min(16_000);
    let first = Ipv4Addr::new(127, 5, 64, 1);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dns = runtime
        .block_on(LabDns::start(
            SocketAddr::new(Ipv4Addr::new(127, 5, 127, 254).into(), 0),
            zone(first, hosts),
        ))
        .expect("DNS server");
    // The run's resolver as --resolver builds it, with the pace raised so that the
    // server, not the limiter, is measured (the default 200/s would take minutes).
    let settings = DnsSettings {
        servers: vec![dns.addr()],
        concurrency: 256,
        rate: NonZeroU32::new(1_000_000).unwrap(),
        timeout: Duration::from_secs(2),
        ..DnsSettings::default()
    };
    let spec: Vec<String> = ZONES
        .iter()
        .map(|z| format!("spamcop={z}.bl.bench.test"))
        .collect();
    let zones = select(&spec.join(","), None).expect("zones");
    let dnsbl = Arc::new(Dnsbl::new(settings.resolver().expect("resolver"), zones));
    let started = Instant::now();
    let (listed, errors) = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..hosts {
            let dnsbl = Arc::clone(&dnsbl);
            let ip = IpAddr::V4(Ipv4Addr::from(u32::from(first) + i));
            tasks.spawn(async move { dnsbl.check(ip).await });
        }
        let (mut listed, mut errors) = (0u64, 0u64);
        while let Some(answers) = tasks.join_next().await {
            for a in answers.expect("task") {
                listed += u64::from(a.status == "listed");
                errors += u64::from(a.status == "error");
            }
        }
        (listed, errors)
    });
    let wall = started.elapsed();
    let lookups = u64::from(hosts) * ZONES.len() as u64;
    println!(
        "blocklists: {hosts} hosts × {} zones = {lookups} lookups in {:.2} s: {:.0} lookups/s; listed {listed}, errors {errors}; peak RSS {} KiB",
        ZONES.len(),
        wall.as_secs_f64(),
        lookups as f64 / wall.as_secs_f64(),
        peak_rss_kib()
    );
    let expected_listed = u64::from(hosts.div_ceil(LISTED_EVERY)) * ZONES.len() as u64;
    assert_eq!(
        listed, expected_listed,
        "every listed host found in every zone"
    );
    assert_eq!(errors, 0, "no lookup failed");
}
