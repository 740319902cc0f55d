//! Mail domains end to end: the lab's own DNS zone, a third-party DNS server (unbound from Debian) started on loopback by the test, and a server that never answers. Never the system resolver.
//!
//! The lab's zone and unbound's are each scanned once for the module (lab and server stop
//! before any test looks at the reports); each test checks one behaviour against them.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};

use relayscan::report::ScanRecord;
use relayscan_lab::Persona;
use serde_json::Value;

use crate::support::personas::start_lab;
use crate::support::{
    LabProcess, domain_entry as domain, domain_finding_ids as finding_ids, nets, read_csv,
    read_json, read_jsonl, run, skip, stderr, stdout,
};

fn scan(args: &[&str]) -> std::process::Output {
    let out = run(args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    out
}

/// A scan of mail domains, read; the lab and the DNS server have stopped.
struct DomainScan {
    /// Lab host n's address.
    addrs: Vec<IpAddr>,
    records: Vec<ScanRecord>,
    /// The JSON document (its `domains` section).
    doc: Value,
    /// The domains CSV and the hosts CSV: header and rows.
    domains_csv: (Vec<String>, Vec<Vec<String>>),
    hosts_csv: (Vec<String>, Vec<Vec<String>>),
}

impl DomainScan {
    /// Scans `domains` through `resolver` for the mail hosts of `lab`, with `extra` flags.
    fn run(lab: &LabProcess, dir: &Path, resolver: &str, domains: &[&str], extra: &[&str]) -> Self {
        let prefix = dir.join("scan");
        let port = lab.port_arg();
        let mut args = vec!["scan", "--resolver", resolver, "-p", &port, "-q", "-o"];
        args.push(prefix.to_str().unwrap());
        args.extend(extra);
        for d in domains {
            args.extend(["-d", d]);
        }
        scan(&args);
        DomainScan {
            addrs: (0..lab.hosts).map(|n| lab.addr(n)).collect(),
            records: read_jsonl(&prefix.with_extension("jsonl")),
            doc: read_json(&prefix.with_extension("json")),
            domains_csv: read_csv(&dir.join("scan.domains.csv")),
            hosts_csv: read_csv(&prefix.with_extension("csv")),
        }
    }

    /// The addresses probed, sorted.
    fn probed(&self) -> Vec<IpAddr> {
        let mut probed: Vec<IpAddr> = self.records.iter().map(|r| r.ip).collect();
        probed.sort();
        probed
    }

    fn record(&self, ip: IpAddr) -> &ScanRecord {
        self.records
            .iter()
            .find(|r| r.ip == ip)
            .unwrap_or_else(|| panic!("no record for {ip}"))
    }
}

/// The lab's zone (lab.test), asked of the lab's own DNS server.
const LAB_DOMAINS: [&str; 12] = [
    "customer-open-relay.lab.test",
    "shared-1.lab.test",
    "shared-2.lab.test",
    "shared-3.lab.test",
    "implicit.lab.test",
    "nullmx.lab.test",
    "gone.lab.test",
    "nodata.lab.test",
    "broken.lab.test",
    "silent.lab.test",
    "dangling.lab.test",
    "alias.lab.test",
];

static LAB_ZONE: LazyLock<DomainScan> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let personas = [Persona::OpenRelay, Persona::Closed];
    let lab = start_lab(nets::DNS_LAB, dir.path(), &personas, &["--dns-port", "0"]);
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let extra = ["--dns-timeout", "300ms", "--seed", "1"];
    DomainScan::run(&lab, dir.path(), &dns, &LAB_DOMAINS, &extra)
});

#[test]
fn two_mail_hosts_behind_twelve_domains_are_probed_once_each() {
    let scan = &LAB_ZONE;
    assert_eq!(scan.probed(), scan.addrs, "each address once");
}

#[test]
fn a_host_record_lists_every_domain_it_serves() {
    let open = LAB_ZONE.record(LAB_ZONE.addrs[0]);
    assert_eq!(
        open.domains,
        [
            "alias.lab.test",
            "customer-open-relay.lab.test",
            "implicit.lab.test",
            "shared-1.lab.test",
            "shared-2.lab.test",
            "shared-3.lab.test"
        ]
    );
    assert_eq!(open.name.as_deref(), Some("open-relay.lab.test"));
}

#[test]
fn every_dns_outcome_is_its_own_route() {
    let route = |d: &str| {
        domain(&LAB_ZONE.doc, d)["route"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    };
    let table = [
        ("customer-open-relay.lab.test", "mx"),
        ("shared-1.lab.test", "mx"),
        ("implicit.lab.test", "implicit-mx"),
        ("nullmx.lab.test", "null-mx"),
        ("gone.lab.test", "nxdomain"),
        ("nodata.lab.test", "no-records"),
        ("broken.lab.test", "servfail"),
        ("silent.lab.test", "timeout"),
        ("dangling.lab.test", "no-mail-hosts"),
        ("alias.lab.test", "mx"),
    ];
    for (d, want) in table {
        assert_eq!(route(d), want, "{d}");
    }
}

#[test]
fn a_domain_shows_its_mx_hosts_by_preference_with_their_worst_verdict_and_policies() {
    let shared = domain(&LAB_ZONE.doc, "shared-1.lab.test");
    let prefs: Vec<(i64, String)> = shared["mx"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["preference"].as_i64().unwrap(),
                h["host"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        prefs,
        [
            (10, "open-relay.lab.test".into()),
            (20, "closed.lab.test".into())
        ]
    );
    assert_eq!(shared["worst_verdict"], "open-relay");
    assert_eq!(shared["spf"]["all"], "?");
    assert_eq!(shared["dmarc"]["pct"], 50);
    let address = &shared["mx"][0]["addresses"][0];
    assert_eq!(address["ptr"][0], "open-relay.lab.test");
    assert_eq!(address["fcrdns"], true);
    assert_eq!(address["greeting_matches_ptr"], true);
    assert!(finding_ids(shared).contains(&"spf-neutral-all".to_string()));
}

#[test]
fn a_txt_record_split_in_strings_is_read_as_one() {
    let split = domain(&LAB_ZONE.doc, "shared-3.lab.test");
    assert_eq!(
        split["spf"]["raw"],
        "v=spf1 ip4:127.0.0.0/8 ip6:::1 mx -all"
    );
}

#[test]
fn a_null_mx_takes_no_mail_and_is_never_probed() {
    let null = domain(&LAB_ZONE.doc, "nullmx.lab.test");
    assert_eq!(null["accepts_mail"], false);
    assert!(null["mx"].as_array().unwrap().is_empty());
    assert!(finding_ids(null).contains(&"null-mx".to_string()));
}

#[test]
fn domain_findings_name_what_dns_shows() {
    let customer = finding_ids(domain(&LAB_ZONE.doc, "customer-open-relay.lab.test"));
    assert_eq!(
        customer[..2],
        ["mx-open-relay", "spf-pass-all"],
        "{customer:?}"
    );
    assert!(
        customer.contains(&"dmarc-policy-none".to_string()),
        "{customer:?}"
    );
    let alias = domain(&LAB_ZONE.doc, "alias.lab.test");
    assert_eq!(alias["mx"][0]["cname"], "open-relay.lab.test");
    assert!(finding_ids(alias).contains(&"mx-cname".to_string()));
    let ids = |d: &str| finding_ids(domain(&LAB_ZONE.doc, d));
    assert!(ids("dangling.lab.test").contains(&"no-mail-hosts".to_string()));
    assert!(ids("broken.lab.test").contains(&"dns-lookup-failed".to_string()));
}

#[test]
fn csv_has_a_row_per_domain_and_each_host_row_names_its_domains() {
    let (header, rows) = &LAB_ZONE.domains_csv;
    assert_eq!(header[0], "domain");
    assert_eq!(rows.len(), LAB_DOMAINS.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = rows.iter().find(|r| r[0] == "shared-2.lab.test").unwrap();
    assert_eq!(
        row[col("mx_hosts")],
        "10 open-relay.lab.test;20 closed.lab.test"
    );
    assert_eq!(row[col("worst_verdict")], "open-relay");
    let (host_header, host_rows) = &LAB_ZONE.hosts_csv;
    let dcol = host_header.iter().position(|h| h == "domains").unwrap();
    let closed = LAB_ZONE.addrs[1].to_string();
    let closed = host_rows.iter().find(|r| r[0] == closed).unwrap();
    assert_eq!(
        closed[dcol],
        "shared-1.lab.test;shared-2.lab.test;shared-3.lab.test"
    );
}

#[test]
fn domain_input_errors_name_the_flag_or_file_line_before_any_traffic() {
    // These name real domains and would fall back on the system resolver were a refusal
    // to break: they run where nothing can leave.
    if crate::support::no_namespace() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("domains.txt");
    std::fs::write(&list, "# customers\nexample.com\n\n192.0.2.7\n").unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, "@example.com\n@192.0.2.1\n").unwrap();
    let out_prefix = dir.path().join("x");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["scan", "--domains", list.to_str().unwrap()],
            "domains.txt:4",
        ),
        (
            vec!["scan", "-iL", targets.to_str().unwrap()],
            "targets.txt:2",
        ),
        (vec!["scan", "-d", "192.0.2.1"], "--domain \"192.0.2.1\""),
        (
            vec!["scan", "-d", "exa_mple.com"],
            "--domain \"exa_mple.com\"",
        ),
        (
            vec!["scan", "-d", "example.com", "--resolver", "dns.example"],
            "--resolver",
        ),
        (
            vec!["scan", "-d", "example.com", "--dns-rate", "0"],
            "--dns-rate",
        ),
        (
            vec!["scan", "-d", "example.com", "--exclude", "@example.com"],
            "cannot be excluded",
        ),
    ];
    for (mut args, needle) in cases {
        args.extend(["-o", out_prefix.to_str().unwrap()]);
        let out = crate::support::run_without_a_route_out(&args, Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(!dir.path().join("x.jsonl").exists());
}

/// The terminal summary lists the domains with an open relay and the lookups that
/// failed, and `--fail-on` counts domain findings: a dangling MX (`no-mail-hosts`, high)
/// beside a closed relay trips `--fail-on high` although no host record is that severe,
/// and `--fail-on no-mail-hosts` by its id.
#[test]
fn domain_results_are_in_the_terminal_summary_and_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::DNS_GATE_LAB,
        dir.path(),
        &[Persona::OpenRelay, Persona::Closed],
        &["--dns-port", "0"],
    );
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let port = lab.port_arg();
    let scan_domains = |name: &str, domains: &[&str], gate: &str| {
        let prefix = dir.path().join(name);
        let mut args = vec!["scan", "--resolver", &dns, "-p", &port, "--fail-on", gate];
        for d in domains {
            args.extend(["-d", d]);
        }
        args.extend(["-q", "-o", prefix.to_str().unwrap()]);
        let out = run(&args, Duration::from_secs(30));
        (out, read_jsonl(&prefix.with_extension("jsonl")))
    };

    let (out, _) = scan_domains("open", &["customer-open-relay.lab.test"], "open-relay");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        text.contains("Open relays by domain (1):\n  customer-open-relay.lab.test\n"),
        "{text}"
    );

    let (out, records) = scan_domains(
        "closed",
        &["customer-closed.lab.test", "dangling.lab.test"],
        "high",
    );
    let text = stdout(&out);
    assert_eq!(records.len(), 1, "{records:?}");
    let worst = records[0].findings.iter().map(|f| f.severity).max();
    assert!(
        worst < Some(relayscan::assess::Severity::High),
        "the closed relay's own findings would trip the gate: {worst:?}"
    );
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("Lookups that failed (1):\n  dangling.lab.test: "),
        "{text}"
    );
    assert!(!text.contains("Open relays by domain"), "{text}");

    // By id: a domain finding's id trips on that finding alone (the dangling MX's
    // no-mail-hosts); an id the run lacks does not, nor the same id without the dangling MX.
    let only_closed = ["customer-closed.lab.test"];
    let both = ["customer-closed.lab.test", "dangling.lab.test"];
    for (name, domains, gate, code) in [
        ("by-id", &both[..], "no-mail-hosts", 1),
        ("by-absent-id", &both[..], "dkim-weak-key", 0),
        ("by-id-elsewhere", &only_closed[..], "no-mail-hosts", 0),
    ] {
        let (out, _) = scan_domains(name, domains, gate);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{gate} {domains:?}: {}",
            stderr(&out)
        );
    }
}

/// A resolver that never answers (bound and never read: queries vanish, as with a
/// firewalled server), or where nothing listens (`--resolver` without its port): every
/// lookup fails, so the run stops with exit 2 naming the resolver and the first failure,
/// even with `--fail-on low`, within the DNS timeout; nothing is sent, no report written.
#[test]
fn a_run_whose_every_lookup_failed_exits_2_naming_the_resolver() {
    let dir = tempfile::tempdir().unwrap();
    let silent = UdpSocket::bind((nets::SILENT_RESOLVER.host(1), 0)).unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let nowhere = SocketAddr::from((nets::NO_RESOLVER.host(53), 53)).to_string();
    for resolver in [&silent_addr, &nowhere] {
        let prefix = dir.path().join("scan");
        let started = Instant::now();
        let out = run(
            &[
                "scan",
                "-d",
                "example.test",
                "-d",
                "other.test",
                "--resolver",
                resolver,
                "--dns-timeout",
                "200ms",
                "--fail-on",
                "low",
                "-q",
                "-o",
                prefix.to_str().unwrap(),
            ],
            Duration::from_secs(30),
        );
        let took = started.elapsed();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{resolver}: {err}");
        assert!(err.contains("every DNS lookup failed"), "{err}");
        assert!(err.contains(&format!("resolver {resolver}")), "{err}");
        assert!(err.contains("first example.test: "), "{err}");
        assert!(!dir.path().join("scan.jsonl").exists(), "{resolver}");
        // --dns-timeout bounds each try: the default (2 s, two tries) would take 4 s at least.
        let default = relayscan::dns::settings::DEFAULT_TIMEOUT * 2;
        assert!(
            took < default,
            "{took:?}: --dns-timeout 200ms was not applied"
        );
    }
    drop(silent);
}

/// `-d name:PORT` is `@name:PORT`: the domain's mail host is probed on that port (the
/// lab's), with no `-p`. A run whose domains give nothing to probe (a null MX) stops
/// with exit 2 naming the resolver and the domain, not "planned 0" and exit 0.
#[test]
fn a_domain_flag_with_a_port_scans_that_port_and_nothing_to_scan_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::DNS_PORT_LAB,
        dir.path(),
        &[Persona::OpenRelay],
        &["--dns-port", "0"],
    );
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let prefix = dir.path().join("scan");
    let target = format!("customer-open-relay.lab.test:{}", lab.port);
    scan(&[
        "scan",
        "--resolver",
        &dns,
        "-d",
        &target,
        "-q",
        "-o",
        prefix.to_str().unwrap(),
    ]);
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].ip, lab.addr(0));
    assert_eq!(records[0].port, lab.port);
    assert_eq!(
        records[0].verdict,
        Some(relayscan::assess::Verdict::OpenRelay)
    );

    let nothing = dir.path().join("nothing");
    let out = run(
        &[
            "scan",
            "--resolver",
            &dns,
            "-d",
            "nullmx.lab.test",
            "-q",
            "-o",
            nothing.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nothing to scan"), "{err}");
    assert!(err.contains(&format!("resolver {dns}")), "{err}");
    assert!(err.contains("first nullmx.lab.test: null-mx"), "{err}");
    assert!(!nothing.with_extension("jsonl").exists());
}

/// unbound from Debian, serving `ub.test` on `nets::UNBOUND`; killed when dropped.
pub(crate) struct Unbound {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` serving `zone` (local data under ub.test); ready once it accepts a
/// connection.
pub(crate) fn start_unbound(
    binary: &Path,
    dir: &Path,
    ip: std::net::Ipv4Addr,
    zone: &[String],
) -> Unbound {
    let mut server = vec![
        "module-config: \"iterator\"".to_string(),
        "local-zone: \"ub.test.\" static".to_string(),
    ];
    server.extend_from_slice(zone);
    start_sealed_unbound(binary, dir, ip, &server, "")
}

/// Starts `binary` on `ip` (a free port) with `server` lines added to its `server:`
/// clause and `clauses` (e.g. `auth-zone:`) after it; ready once it accepts a connection.
/// Sealed: it never sends a query anywhere (every address is on its do-not-query list),
/// and names outside the zones the caller opens are refused locally.
pub(crate) fn start_sealed_unbound(
    binary: &Path,
    dir: &Path,
    ip: std::net::Ipv4Addr,
    server: &[String],
    clauses: &str,
) -> Unbound {
    // A free port on our address: bind, note it, release it for unbound.
    let port = UdpSocket::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::from((ip, port));
    // `local-zone: "." refuse` keeps unbound from ever recursing: a name outside the
    // test's zones is refused locally instead of being chased to the root servers. The
    // do-not-query list covers every address, so that even a root priming (its built-in
    // hints are the real root servers) sends nothing: the tests' answers are all local.
    let mut conf = format!(
        "server:\n  interface: {ip}\n  port: {port}\n  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n  directory: \"{}\"\n  pidfile: \"\"\n  use-syslog: no\n  logfile: \"\"\n  do-ip6: no\n  access-control: 127.0.0.0/8 allow\n  do-not-query-address: 0.0.0.0/0\n  do-not-query-address: ::/0\n  local-zone: \".\" refuse\n",
        dir.display()
    );
    for line in server {
        conf.push_str(&format!("  {line}\n"));
    }
    conf.push_str(clauses);
    let path = dir.join("unbound.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(binary)
        .arg("-d")
        .arg("-c")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("unbound.log")).unwrap())
        .spawn()
        .expect("start unbound");
    let server = Unbound { child, addr };
    // Ready when it answers a query (a TCP connect proves the listener is up).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "unbound did not start on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// unbound's zone (ub.test) for a lab of open-relay, closed and auth-required.
fn unbound_zone(lab: &LabProcess) -> Vec<String> {
    let (a, b, c) = (lab.addr(0), lab.addr(1), lab.addr(2));
    vec![
        "local-data: \"pref.ub.test. MX 20 mx2.ub.test.\"".to_string(),
        "local-data: \"pref.ub.test. MX 10 mx1.ub.test.\"".to_string(),
        "local-data: \"other.ub.test. MX 5 mx1.ub.test.\"".to_string(),
        format!("local-data: \"mx1.ub.test. A {a}\""),
        format!("local-data: \"mx2.ub.test. A {b}\""),
        format!("local-data: \"implicit.ub.test. A {c}\""),
        "local-data: \"null.ub.test. MX 0 .\"".to_string(),
        format!(
            "local-data: 'pref.ub.test. TXT \"v=spf1 ip4:{} \" \"mx -all\"'",
            nets::UNBOUND_LAB.cidr()
        ),
        "local-data: '_dmarc.pref.ub.test. TXT \"v=DMARC1; p=none; \" \"rua=mailto:d@ub.test\"'"
            .to_string(),
        format!("local-data-ptr: \"{a} mx1.ub.test.\""),
        // The lab's blocklist answers, served by unbound: mx1 listed, mx2 refused.
        blocklist_entry(a, Persona::OpenRelay),
        blocklist_entry(b, Persona::Closed),
    ]
}

/// The unbound line that answers for `ip` in `zen.bl.ub.test` what the lab's blocklist
/// answers for `persona`.
fn blocklist_entry(ip: IpAddr, persona: Persona) -> String {
    let IpAddr::V4(v4) = ip else {
        panic!("the lab is IPv4")
    };
    let [w, x, y, z] = v4.octets();
    let code = relayscan_lab::dns::blocklist_code(persona).unwrap();
    format!("local-data: \"{z}.{y}.{x}.{w}.zen.bl.ub.test. A {code}\"")
}

static UNBOUND_SCAN: OnceLock<DomainScan> = OnceLock::new();

/// The ub.test domains scanned through unbound, once; `None` after skipping (no unbound).
fn through_unbound() -> Option<&'static DomainScan> {
    let binary = skip::tool(
        &["/usr/sbin/unbound", "/usr/bin/unbound"],
        "apt-get install unbound",
    )?;
    Some(UNBOUND_SCAN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let personas = [Persona::OpenRelay, Persona::Closed, Persona::AuthRequired];
        let lab = start_lab(nets::UNBOUND_LAB, dir.path(), &personas, &[]);
        let ip = nets::UNBOUND.host(1);
        let unbound = start_unbound(&binary, dir.path(), ip, &unbound_zone(&lab));
        let domains = [
            "pref.ub.test",
            "other.ub.test",
            "implicit.ub.test",
            "null.ub.test",
            "gone.ub.test",
        ];
        let resolver = unbound.addr.to_string();
        let blocklists = ["--blocklists", "spamhaus-zen=zen.bl.ub.test"];
        DomainScan::run(&lab, dir.path(), &resolver, &domains, &blocklists)
    }))
}

#[test]
fn unbound_s_blocklist_answers_list_one_host_and_refuse_another() {
    let Some(scan) = through_unbound() else {
        return;
    };
    let status = |n: usize| {
        let answers = scan.record(scan.addrs[n]).blocklists.as_ref().unwrap();
        assert_eq!(answers[0].zone, "zen.bl.ub.test");
        (answers[0].status.clone(), answers[0].error.clone())
    };
    assert_eq!(status(0).0, "listed");
    let (refused, cause) = status(1);
    assert_eq!(refused, "error");
    assert!(cause.unwrap().contains("public or open resolver"));
    assert_eq!(status(2).0, "not-listed");
    let open = scan.record(scan.addrs[0]);
    assert!(open.findings.iter().any(|f| f.id.as_str() == "blocklisted"));
}

#[test]
fn unbound_s_three_mail_host_addresses_are_probed_once_each() {
    let Some(scan) = through_unbound() else {
        return;
    };
    assert_eq!(scan.probed(), scan.addrs);
    let shared = scan.record(scan.addrs[0]);
    assert_eq!(shared.domains, ["other.ub.test", "pref.ub.test"]);
}

#[test]
fn unbound_s_mx_preferences_split_spf_dmarc_and_ptr_are_read() {
    let Some(scan) = through_unbound() else {
        return;
    };
    let pref = domain(&scan.doc, "pref.ub.test");
    assert_eq!(pref["route"], "mx");
    assert_eq!(pref["mx"][0]["host"], "mx1.ub.test");
    assert_eq!(pref["mx"][0]["preference"], 10);
    assert_eq!(pref["mx"][1]["preference"], 20);
    assert_eq!(pref["worst_verdict"], "open-relay");
    assert_eq!(
        pref["spf"]["raw"],
        format!("v=spf1 ip4:{} mx -all", nets::UNBOUND_LAB.cidr())
    );
    assert_eq!(pref["spf"]["valid"], true);
    assert_eq!(pref["dmarc"]["p"], "none");
    assert_eq!(pref["dmarc"]["rua"][0], "mailto:d@ub.test");
    assert_eq!(pref["mx"][0]["addresses"][0]["ptr"][0], "mx1.ub.test");
    assert_eq!(pref["mx"][0]["addresses"][0]["fcrdns"], true);
    // The lab greets as open-relay.lab.test, not as its PTR name.
    assert_eq!(pref["mx"][0]["addresses"][0]["greeting_matches_ptr"], false);
    assert!(finding_ids(pref).contains(&"dmarc-policy-none".to_string()));
    assert!(finding_ids(pref).contains(&"greeting-ptr-mismatch".to_string()));
}

#[test]
fn unbound_s_implicit_null_and_missing_domains_get_their_routes() {
    let Some(scan) = through_unbound() else {
        return;
    };
    assert_eq!(
        domain(&scan.doc, "other.ub.test")["worst_verdict"],
        "open-relay"
    );
    let implicit = domain(&scan.doc, "implicit.ub.test");
    assert_eq!(implicit["route"], "implicit-mx");
    assert_eq!(implicit["worst_verdict"], "auth-required");
    assert_eq!(domain(&scan.doc, "null.ub.test")["route"], "null-mx");
    assert_eq!(domain(&scan.doc, "gone.ub.test")["route"], "nxdomain");
}
