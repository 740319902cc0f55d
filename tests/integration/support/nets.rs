//! The loopback networks of the tests and the benches, in one table: tests run in parallel
//! threads, each lab binds its own addresses, and two users of one address would collide.
//!
//! A test takes its network from here (`nets::VERDICTS.lab_network()`); the unit tests
//! below check that no two entries overlap, and that every loopback address written in
//! tests/ and benches/ lies inside an entry (benches cannot import this file, so they are
//! listed here by hand and their sources are read to keep the list true).

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

/// One registered block of loopback addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub name: &'static str,
    first: Ipv4Addr,
    prefix: u8,
}

impl Net {
    const fn new(name: &'static str, [a, b, c, d]: [u8; 4], prefix: u8) -> Net {
        Net {
            name,
            first: Ipv4Addr::new(a, b, c, d),
            prefix,
        }
    }

    /// The network address for `LabProcess::start`, which always binds a /24.
    pub fn lab_network(self) -> Ipv4Addr {
        assert_eq!(self.prefix, 24, "LabProcess binds a /24, not {self:?}");
        self.first
    }

    /// Address `n` of the block (`host(1)` is the lab's first host, .1).
    pub fn host(self, n: u32) -> Ipv4Addr {
        let addr = Ipv4Addr::from(u32::from(self.first) + n);
        assert!(self.contains(addr), "{addr} is outside {self:?}");
        addr
    }

    /// `a.b.c.d/len`.
    pub fn cidr(self) -> String {
        format!("{}/{}", self.first, self.prefix)
    }

    fn span(self) -> RangeInclusive<u32> {
        let first = u32::from(self.first);
        let size = 1u64 << (32 - u32::from(self.prefix));
        first..=(u64::from(first) + size - 1) as u32
    }

    pub fn contains(self, ip: Ipv4Addr) -> bool {
        self.span().contains(&u32::from(ip))
    }

    fn overlaps(self, other: Net) -> bool {
        let (a, b) = (self.span(), other.span());
        a.start() <= b.end() && b.start() <= a.end()
    }
}

/// Declares each network as a `Net` constant and lists every one of them in [`ALL`], so
/// that a network cannot exist outside the overlap check.
macro_rules! networks {
    ($( $(#[$doc:meta])+ $name:ident = $octets:expr, $prefix:literal; )+) => {
        $( $(#[$doc])+ pub const $name: Net = Net::new(stringify!($name), $octets, $prefix); )+
        /// Every registered network, tests' and benches'.
        pub const ALL: &[Net] = &[$($name),+];
    };
}

networks! {
    // Outside the tests: what `relayscan lab` and `relayscan demo` bind by default, so that
    // someone trying the README's commands while the tests run collides with nothing.
    /// The default `--bind` of `relayscan lab` and `relayscan demo` (README); no test uses it.
    MANUAL_LAB = [127, 0, 2, 0], 24;

    // Tests, by module.
    /// mta_sts_dane.rs: the lab (one STARTTLS persona, the domains' mail host).
    MTA_STS_DANE_LAB = [127, 12, 1, 0], 24;
    /// mta_sts_dane.rs: the test's own DNS server (TLSA, MTA-STS TXT, AD bits).
    MTA_STS_DANE_DNS = [127, 12, 2, 0], 24;
    /// mta_sts_dane.rs: the HTTPS server of the MTA-STS policy (port 443).
    MTA_STS_POLICY = [127, 12, 3, 0], 24;
    /// dane_dnssec.rs: the lab (one STARTTLS persona) whose key the test's TLSA records name.
    DANE_DNSSEC_LAB = [127, 15, 1, 0], 24;
    /// dane_dnssec.rs: unbound validating the test's signed zone (and serving an unsigned
    /// one), on .1.
    DANE_DNSSEC_UNBOUND = [127, 15, 2, 0], 24;
    /// verdicts.rs: every persona, scanned once for the module.
    VERDICTS = [127, 0, 3, 0], 24;
    /// reports.rs: three personas and two silent addresses, scanned once for the module.
    REPORTS = [127, 0, 6, 0], 24;
    /// reports.rs: the excludes test's lab (its log must see no other scan).
    EXCLUDES = [127, 0, 7, 0], 24;
    /// input.rs: a lab that a bad target list must never reach.
    BAD_TARGET_LINE = [127, 0, 8, 0], 24;
    /// demo.rs: `relayscan demo --bind`.
    DEMO = [127, 0, 13, 0], 24;
    /// demo.rs: `relayscan lab --hosts 1000`, its summary per persona, and `-v`.
    LAB_SUMMARY = [127, 0, 196, 0], 22;
    /// old_checkpoint.rs: data only: the fixture's checkpoint is complete, so resuming it
    /// replays its records and probes nothing.
    OLD_CHECKPOINT = [127, 0, 9, 0], 24;
    /// old_checkpoint.rs: the fixture's resolver, port 1 of 127.0.0.1, where nothing
    /// listens (never asked: no name is left to resolve).
    OLD_CHECKPOINT_RESOLVER = [127, 0, 0, 1], 32;
    /// input.rs: targets read from stdin.
    STDIN_TARGETS = [127, 0, 10, 0], 24;
    /// interrupt.rs: Ctrl-C mid-dialogue.
    INTERRUPT = [127, 0, 11, 0], 24;
    /// Targets of command lines refused before any traffic (bad flags); nothing listens.
    NEVER_REACHED = [127, 0, 12, 0], 24;
    /// resume.rs: the uninterrupted scan that the resumed one must equal.
    RESUME_REFERENCE = [127, 0, 21, 0], 24;
    /// resume.rs: interrupted, then resumed.
    RESUME = [127, 0, 22, 0], 24;
    /// shards.rs: three shards and the whole.
    SHARDS = [127, 0, 23, 0], 24;
    /// plan.rs: `relayscan targets` dry runs only; nothing is ever sent to it.
    PLAN_LISTING = [127, 0, 24, 0], 24;
    /// plan.rs: refusals before any traffic.
    PLAN_REFUSALS = [127, 0, 25, 0], 24;
    /// plan.rs: a scan inside its scope, with a per-subnet rate.
    PLAN_SCOPE = [127, 0, 26, 0], 24;
    /// plan_mapped.rs: targets and excludes written as IPv4-mapped IPv6 addresses.
    PLAN_MAPPED = [127, 0, 140, 0], 24;
    /// tls.rs: every TLS persona, scanned once for the module.
    TLS = [127, 0, 48, 0], 24;
    /// tls.rs: the STARTTLS and relay-over flags, one scan each.
    TLS_FLAGS = [127, 0, 49, 0], 24;
    /// compliance.rs: every persona with every report format, scanned once for the module,
    /// then its greylister and closed server again.
    COMPLIANCE = [127, 0, 60, 0], 24;
    /// compliance.rs: `scan --fail-on` exit codes.
    FAIL_ON = [127, 0, 63, 0], 24;
    /// injection.rs: the hostile personas, scanned once for the module.
    INJECTION = [127, 0, 64, 0], 24;
    /// report_pages.rs: personas, silent addresses and mail domains through the lab's DNS
    /// (on .254), scanned once for the module with every format.
    REPORT_PAGES = [127, 0, 180, 0], 24;
    /// dns.rs: the lab with its own DNS zone (the DNS server on .254).
    DNS_LAB = [127, 0, 80, 0], 24;
    /// blocklists.rs: personas checked against the lab's blocklist zone (DNS on .254).
    BLOCKLISTS = [127, 5, 0, 0], 24;
    /// blocklist_reports.rs: the listed, refused, vulnerable and policy-listed personas.
    BLOCKLIST_REPORTS = [127, 13, 0, 0], 24;
    /// blocklist_reports.rs: the test's own DNS server (the lab zone and a PBL listing),
    /// which counts the questions asked, on .53.
    BLOCKLIST_REPORTS_DNS = [127, 13, 1, 0], 24;
    /// dns.rs: the lab whose mail hosts unbound's zone names.
    UNBOUND_LAB = [127, 0, 81, 0], 24;
    /// dns.rs: unbound itself, on .1.
    UNBOUND = [127, 0, 82, 0], 24;
    /// dns.rs: a UDP socket that never answers, on .1.
    SILENT_RESOLVER = [127, 0, 83, 0], 24;
    /// dns.rs: the lab and its DNS (on .254) for `-d name:PORT`.
    DNS_PORT_LAB = [127, 0, 200, 0], 24;
    /// dns.rs: nothing listens here: a wrong `--resolver` (.53).
    NO_RESOLVER = [127, 0, 201, 0], 24;
    /// dns.rs: the lab and its DNS (on .254) for the domains' summary and `--fail-on`.
    DNS_GATE_LAB = [127, 0, 202, 0], 24;
    /// mail_auth.rs: the lab's SPF, DMARC and DKIM cases through its DNS (on .254),
    /// scanned once for the module.
    MAIL_AUTH_LAB = [127, 11, 1, 0], 24;
    /// mail_auth.rs: the lab and its DNS (on .254) for `--fail-on` on a DKIM key and
    /// `--dkim-selectors`.
    MAIL_AUTH_GATE_LAB = [127, 11, 2, 0], 24;
    /// mail_auth.rs: the lab whose mail host unbound's policy cases name.
    MAIL_AUTH_UNBOUND_LAB = [127, 11, 3, 0], 24;
    /// mail_auth.rs: unbound serving the policy cases, on .1.
    MAIL_AUTH_UNBOUND = [127, 11, 4, 0], 24;
    /// pipelining.rs: every persona, pipelined.
    PIPELINED = [127, 0, 92, 0], 24;
    /// pipelining.rs: every persona, one command at a time.
    ONE_AT_A_TIME = [127, 0, 93, 0], 24;
    /// pipelining.rs: the hostile servers, pipelined.
    HOSTILE_PIPELINED = [127, 0, 94, 0], 24;
    /// pipelining.rs: the hostile servers, one command at a time.
    HOSTILE_ONE_AT_A_TIME = [127, 0, 95, 0], 24;
    /// misbehave.rs: the hostile servers, scanned once for the module.
    HOSTILE = [127, 0, 100, 0], 24;
    /// faults.rs: a disk that fills mid-scan.
    DISK_FILLS = [127, 0, 102, 0], 24;
    /// faults.rs: a read-only report folder.
    READ_ONLY = [127, 0, 103, 0], 24;
    /// faults.rs: a report name linked to /dev/full.
    FULL_DEVICE = [127, 0, 104, 0], 24;
    /// faults.rs: out of file descriptors.
    EMFILE = [127, 0, 105, 0], 24;
    /// faults.rs: Ctrl-C under full load.
    CTRL_C_LOAD = [127, 0, 106, 0], 24;
    /// pace.rs: the pace line.
    PACE = [127, 0, 110, 0], 24;
    /// desync.rs: the personas whose replies fall out of step, pipelined and not.
    DESYNC = [127, 0, 111, 0], 24;
    /// unchanged.rs: the lab of the personas of main's conclusions, every scan mode.
    UNCHANGED_LAB = [127, 0, 130, 0], 24;
    /// unchanged.rs: the hostile lab, pipelined and not.
    UNCHANGED_HOSTILE = [127, 0, 131, 0], 24;
    /// report_files.rs: scans whose report names are symlinks, folders or an earlier set.
    REPORT_FILES = [127, 0, 150, 0], 24;
    /// report_files.rs: a slow lab, killed before its first record.
    REPORT_FILES_SLOW = [127, 0, 151, 0], 24;
    /// report_files.rs: prefixes refused before any traffic (a device, a fifo).
    REPORT_FILES_REFUSED = [127, 0, 152, 0], 24;
    /// interrupt.rs: SIGHUP mid-dialogue.
    HANGUP = [127, 0, 153, 0], 24;
    /// interrupt.rs: SIGTERM mid-dialogue.
    TERMINATE = [127, 0, 154, 0], 24;
    /// interrupt.rs: SIGHUP to a scan started with SIGHUP ignored (nohup).
    NOHUP = [127, 0, 155, 0], 24;
    /// depth.rs: `--tests none`, then full, and the diff of the two.
    DEPTH_NONE = [127, 7, 1, 0], 24;
    /// depth.rs: `--tests quick` against full.
    DEPTH_QUICK = [127, 7, 2, 0], 24;
    /// verbose.rs: `-vv` on a mail domain of the lab's zone (its DNS on .254).
    VERBOSE_DNS = [127, 7, 3, 0], 24;
    /// postfix.rs: the real-MTA test bed, one Postfix instance per policy (.1 upwards), for
    /// postfix.rs, audit.rs and unchanged.rs.
    POSTFIX = [127, 1, 0, 0], 24;
    /// postfix_aiosmtpd.rs: aiosmtpd servers (.1 upwards), for it and unchanged.rs.
    AIOSMTPD = [127, 1, 1, 0], 24;
    /// round_trips.rs: closed, open and sink personas with a reply delay, each scanned
    /// pipelined and the lab log's flights counted.
    ROUND_TRIPS = [127, 6, 0, 0], 24;
    /// round_trips.rs: the same personas scanned with `--no-pipelining`.
    ROUND_TRIPS_ONE_AT_A_TIME = [127, 6, 1, 0], 24;
    /// deploy.rs: the CronJob's script run twice, for real, against a closed server and
    /// an open relay.
    CRONJOB = [127, 6, 2, 0], 24;
    /// tests/mta/postfix/base.cf: the only client the test-bed Postfix trusts; never used.
    POSTFIX_TRUSTED_CLIENT = [127, 255, 255, 254], 32;
    /// tests/mta/sealed.sh: the sealed namespace's own host name, mta-testbed.test (.1).
    MTA_NAMESPACE = [127, 2, 0, 0], 24;
    /// mtas.rs: the Exim cases of tests/mta/cases.json (.1 upwards), inside sealed.sh.
    MTA_EXIM = [127, 2, 1, 0], 24;
    /// mtas.rs: the OpenSMTPD cases.
    MTA_OPENSMTPD = [127, 2, 2, 0], 24;
    /// mtas.rs: the Sendmail cases.
    MTA_SENDMAIL = [127, 2, 3, 0], 24;
    /// Nothing listens here: the sealed namespace's resolver (.53) and the relay host of
    /// the OpenSMTPD cases (.25).
    MTA_NOWHERE = [127, 2, 255, 0], 24;
    /// logs.rs: the Postfix instances whose logs `relayscan logs` reads (.1 open, .2
    /// closed, .3 auth-only).
    LOGS_POSTFIX = [127, 4, 0, 0], 24;
    /// logs.rs: the source addresses swaks sends from (one per role, `--local-interface`).
    LOGS_CLIENTS = [127, 4, 1, 0], 24;
    /// mtas.rs: the one address swaks sends its relay attempts from to every case of the
    /// sealed test bed (testbed.sh), so that `relayscan logs` on the MTAs' own logs must
    /// name it.
    MTA_SWAKS_CLIENT = [127, 10, 1, 1], 32;
    /// scale.rs: a /20 where nothing listens.
    SILENT_SLASH_20 = [127, 201, 0, 0], 20;
    /// domain_records.rs: the mail hosts of a domain scan (.1 upwards) and its DNS
    /// server (.254), scanned whole, interrupted and resumed, and in two shards.
    DOMAIN_RECORDS = [127, 8, 1, 0], 24;
    /// domain_stream.rs: two mail hosts (.1, .2) of domains read lazily from a pipe, and
    /// the tests' DNS servers (.253, .254).
    DOMAIN_STREAM = [127, 14, 1, 0], 24;

    // Benches (benches/*.rs, benches/*.sh): run by hand on a quiet machine, never with the
    // tests, but kept apart all the same.
    /// benches/lab_scan.rs: the plain-SMTP lab.
    BENCH_LAB_SCAN = [127, 50, 0, 0], 16;
    /// benches/lab_scan.rs: plaintext, STARTTLS and implicit TLS on a /21.
    BENCH_LAB_SCAN_TLS = [127, 0, 40, 0], 21;
    /// benches/lab_scan.rs: the silent /20.
    BENCH_SILENT_SLASH_20 = [127, 203, 0, 0], 20;
    /// benches/lab_scan.rs: the silent /16.
    BENCH_SILENT_SLASH_16 = [127, 202, 0, 0], 16;
    /// benches/reports.rs: the lab it scans once.
    BENCH_REPORTS_LAB = [127, 0, 70, 0], 24;
    /// benches/reports.rs: addresses written into synthetic records (data, never scanned).
    BENCH_REPORTS_DATA = [127, 64, 0, 0], 10;
    /// benches/throughput.rs: labs of closed hosts, a /17 each from 127.61.0.0 (two at the
    /// default 50,000 hosts).
    BENCH_THROUGHPUT = [127, 61, 0, 0], 16;
    /// benches/domains.rs: the lab on a /23, its DNS on .91.254.
    BENCH_DOMAINS = [127, 0, 90, 0], 23;
    /// benches/domains.rs (RELAYSCAN_BENCH_DOMAINS): 10,000 closed mail hosts on a /18.
    BENCH_DOMAINS_FLAT = [127, 8, 64, 0], 18;
    /// benches/domains.rs (RELAYSCAN_BENCH_DOMAINS): its DNS server on .254.
    BENCH_DOMAINS_FLAT_DNS = [127, 8, 128, 0], 24;
    /// benches/blocklists.rs: host addresses named in DNSBL queries (never contacted) and
    /// the authoritative DNS server on 127.5.127.254.
    BENCH_BLOCKLISTS = [127, 5, 64, 0], 18;
    /// audit.rs: data only: a scanner's loopback address, checked against the networks a
    /// configuration trusts (Sendmail's `Connect:127 RELAY`); nothing binds or connects.
    AUDIT_SCANNER = [127, 0, 170, 0], 24;
    /// benches/plan.rs: the silent /16.
    BENCH_PLAN_SILENT = [127, 220, 0, 0], 16;
    /// benches/nmap_side_by_side.sh: the lab on port 25.
    BENCH_NMAP = [127, 0, 96, 0], 24;
    /// benches/record_cost.sh: the `closed` lab whose scans callgrind counts.
    BENCH_RECORD_COST = [127, 9, 0, 0], 22;
    /// stream.rs: `-o -` piped into jq.
    STREAM = [127, 0, 190, 0], 24;
    /// cli_words.rs: targets of refused command lines and dry runs (nothing listens).
    CLI_WORDS = [127, 0, 191, 0], 24;
    /// site.rs: site defaults (relayscan.toml, RELAYSCAN_*): dry runs and refused scans
    /// only (nothing listens, nothing is sent).
    SITE_DEFAULTS = [127, 3, 0, 0], 24;
    /// site.rs: the target outside SITE_DEFAULTS that a file's scope refuses.
    SITE_OUTSIDE = [127, 3, 1, 0], 24;
    /// identity.rs: a loopback scan with the default recipient (port 1: refused at once).
    IDENTITY = [127, 3, 2, 0], 24;
    /// messages.rs: a resume from the checkpoint alone (port 1: refused at once).
    RESUME_ALONE = [127, 3, 3, 0], 24;
    /// messages.rs: a lab with DNS whose domain is scanned on port 25, where it does not listen.
    DOMAIN_PORT_HINT = [127, 3, 4, 0], 24;
}

/// `relayscan targets 127.0.0.0/8 --count` and the like: plan arithmetic over the whole of
/// loopback, never connected. The one literal that may overlap everything.
const WHOLE_LOOPBACK: &str = "127.0.0.0/8";

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn no_two_networks_overlap() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert!(
                    !a.overlaps(*b),
                    "{} {} overlaps {} {}",
                    a.name,
                    a.cidr(),
                    b.name,
                    b.cidr()
                );
                assert_ne!(a.name, b.name);
            }
            assert_eq!(
                u32::from(a.first) & !(u32::MAX.checked_shr(u32::from(a.prefix)).unwrap_or(0)),
                u32::from(a.first),
                "{}: {} is not a network address",
                a.name,
                a.cidr()
            );
            assert_eq!(a.first.octets()[0], 127, "{}: loopback only", a.name);
        }
    }

    #[test]
    fn overlap_is_detected() {
        let wide = Net::new("wide", [127, 0, 40, 0], 21);
        let inside = Net::new("inside", [127, 0, 41, 0], 24);
        let beside = Net::new("beside", [127, 0, 48, 0], 24);
        assert!(wide.overlaps(inside) && inside.overlaps(wide));
        assert!(!wide.overlaps(beside));
        assert!(wide.contains(Ipv4Addr::new(127, 0, 47, 255)));
        assert!(!wide.contains(Ipv4Addr::new(127, 0, 48, 0)));
    }

    /// Every loopback address or CIDR written in `text`: dotted quads ("127.0.3.0/24") and
    /// `Ipv4Addr::new(127, a, b, c)`; a CIDR as its first and last address.
    fn loopback_literals(text: &str) -> Vec<(String, Ipv4Addr, Ipv4Addr)> {
        let mut found = Vec::new();
        let bytes = text.as_bytes();
        for (at, _) in text.match_indices("127.") {
            if at > 0 && (bytes[at - 1].is_ascii_digit() || bytes[at - 1] == b'.') {
                continue;
            }
            let literal: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '/')
                .collect();
            let literal = literal.trim_end_matches(['.', '/']).to_string();
            let (addr, prefix) = match literal.split_once('/') {
                Some((a, p)) => (a, p.parse::<u8>().ok()),
                None => (literal.as_str(), Some(32)),
            };
            if let (Ok(ip), Some(prefix)) = (addr.parse::<Ipv4Addr>(), prefix) {
                let net = Net::new("literal", ip.octets(), prefix.min(32));
                found.push((literal.clone(), ip, Ipv4Addr::from(*net.span().end())));
            }
        }
        for (at, _) in text.match_indices("Ipv4Addr::new(127,") {
            let args: Vec<u8> = text[at + "Ipv4Addr::new(".len()..]
                .split(')')
                .next()
                .unwrap_or_default()
                .split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect();
            if let [a, b, c, d] = args[..] {
                let ip = Ipv4Addr::new(a, b, c, d);
                found.push((format!("Ipv4Addr::new({ip})"), ip, ip));
            }
        }
        found
    }

    fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
        while let Some(dir) = stack.pop() {
            for entry in
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if exts
                    .iter()
                    .any(|e| path.extension().is_some_and(|x| x == *e))
                {
                    out.push(path);
                }
            }
        }
        out.sort();
        out
    }

    /// Each literal of `paths` lies wholly inside one entry that `allowed` accepts.
    fn assert_registered(paths: &[PathBuf], allowed: impl Fn(&Net) -> bool) {
        assert!(!paths.is_empty());
        for path in paths {
            let text = std::fs::read_to_string(path).expect("source file");
            for (literal, first, last) in loopback_literals(&text) {
                if literal == WHOLE_LOOPBACK {
                    continue;
                }
                let home = ALL
                    .iter()
                    .find(|n| allowed(n) && n.contains(first) && n.contains(last));
                assert!(
                    home.is_some(),
                    "{}: {literal} lies in no network of tests/integration/support/nets.rs",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn every_bench_address_is_registered() {
        let paths = files("benches", &["rs", "sh"]);
        assert_registered(&paths, |n| n.name.starts_with("BENCH_"));
    }

    #[test]
    fn every_test_address_is_registered() {
        let mut paths = files("tests/integration", &["rs"]);
        paths.extend(files(
            "tests/mta",
            &["sh", "cf", "py", "conf", "mc", "access", "json"],
        ));
        // This file's own examples aside.
        paths.retain(|p| !p.ends_with("support/nets.rs"));
        assert_registered(&paths, |n| !n.name.starts_with("BENCH_"));
    }

    #[test]
    fn the_manual_lab_is_what_lab_and_demo_bind_by_default() {
        for command in ["lab", "demo"] {
            let out = crate::support::relayscan()
                .args([command, "--help"])
                .output()
                .expect("relayscan --help");
            let help = String::from_utf8_lossy(&out.stdout);
            let default = format!("[default: {}]", MANUAL_LAB.cidr());
            assert!(help.contains(&default), "{command} --help:\n{help}");
        }
    }

    #[test]
    fn literals_are_found_in_both_spellings() {
        let text = "bind 127.0.3.0/24, at 127.0.91.254; new(Ipv4Addr::new(127, 1, 0, 1 + n)) \
                    Ipv4Addr::new(127, 61, 0, 0); 127.0.0.300; v1.127.0.0.1";
        let found: Vec<String> = loopback_literals(text)
            .into_iter()
            .map(|(l, _, _)| l)
            .collect();
        assert_eq!(
            found,
            ["127.0.3.0/24", "127.0.91.254", "Ipv4Addr::new(127.61.0.0)"]
        );
    }
}
