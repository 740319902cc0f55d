//! Real MTAs: Postfix instances on `nets::POSTFIX`, one relay policy each (tests/mta/postfix/), none able to deliver; relayscan's verdicts must match Postfix's documented behaviour.
//!
//! The test bed (every policy, side by side) is started and scanned once for the test
//! binary, then stopped before any test looks at it; audit.rs audits the same instances.
//! Needs root and Debian's postfix (`.ci/run` installs it). Elsewhere each test says
//! SKIPPED and why; under `CI=true` a missing Postfix fails it.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use relayscan::assess::Verdict;
use relayscan::probe::Status;
use relayscan::report::ScanRecord;

use crate::support::skip::{self, Need};
use crate::support::{both_ways, nets, scan_each};

/// One Postfix policy and what a correct scanner must conclude about it.
struct Case {
    policy: &'static str,
    verdict: Verdict,
    open_tests: &'static [u8],
    accepts_any_recipient: bool,
}

const ALL_TESTS: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// Expected results, each from Postfix's documentation and checked by hand with
/// `swaks --quit-after RCPT` against tests/mta/postfix-instance.sh first.
const CASES: [Case; 9] = [
    // mynetworks = 0.0.0.0/0: permit_mynetworks lets everyone relay, to any domain
    // (no DNS: nothing checks that the control recipient's domain exists).
    Case {
        policy: "open",
        verdict: Verdict::OpenRelay,
        open_tests: ALL_TESTS,
        accepts_any_recipient: true,
    },
    // mynetworks = 127.0.0.0/8 (the classic default): the scanner is inside.
    Case {
        policy: "trusted-network",
        verdict: Verdict::OpenRelay,
        open_tests: ALL_TESTS,
        accepts_any_recipient: true,
    },
    // reject_unauth_destination: 554 5.7.1 Relay access denied.
    Case {
        policy: "closed",
        verdict: Verdict::RelayDenied,
        open_tests: &[],
        accepts_any_recipient: false,
    },
    // defer_unauth_destination: 454 4.7.1, so no conclusion (nmap would say "closed").
    Case {
        policy: "defer",
        verdict: Verdict::Inconclusive,
        open_tests: &[],
        accepts_any_recipient: false,
    },
    // soft_bounce = yes turns the 554 into 454: equally inconclusive.
    Case {
        policy: "soft-bounce",
        verdict: Verdict::Inconclusive,
        open_tests: &[],
        accepts_any_recipient: false,
    },
    // permit_sasl_authenticated: Postfix refuses unauthenticated relaying with its
    // ordinary 554 (not 530), so the verdict is relay-denied, with AUTH offered.
    Case {
        policy: "auth-only",
        verdict: Verdict::RelayDenied,
        open_tests: &[],
        accepts_any_recipient: false,
    },
    // smtpd_tls_security_level = encrypt: 530 5.7.0 until STARTTLS, closed over TLS.
    Case {
        policy: "tls-required",
        verdict: Verdict::RelayDenied,
        open_tests: &[],
        accepts_any_recipient: false,
    },
    // check_sender_access trusting the server's own domain: test 3 forges it.
    Case {
        policy: "sender-trusting",
        verdict: Verdict::OpenRelay,
        open_tests: &[3],
        accepts_any_recipient: false,
    },
    // postscreen's pregreet test before a closed smtpd.
    Case {
        policy: "postscreen",
        verdict: Verdict::RelayDenied,
        open_tests: &[],
        accepts_any_recipient: false,
    },
];

/// A port free on `ip` right now (bound, read, released), so that concurrent test runs
/// on one machine do not collide on a fixed port.
pub fn free_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind(SocketAddrV4::new(ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until `addr` accepts connections.
pub fn wait_listening(addr: SocketAddrV4, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "{what} never listened on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// tests/mta in the repository.
pub fn mta_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mta")
}

/// What a test-bed Postfix instance needs (openssl makes the STARTTLS certificates).
pub const POSTFIX_NEEDS: &[Need] = &[
    Need::Root("Postfix instances start as root, then drop to the postfix user"),
    Need::Tool {
        names: &["/usr/sbin/postfix"],
        install: "apt-get install postfix",
    },
    Need::Tool {
        names: &["/usr/bin/openssl"],
        install: "apt-get install openssl",
    },
];

/// The Postfix policies of the test bed (tests/mta/postfix/*.cf but the shared base.cf and
/// master.cf), sorted: a new policy file joins the bed without touching this file.
fn policies() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(mta_dir().join("postfix"))
        .expect("tests/mta/postfix")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".cf").map(String::from))
        .filter(|n| n != "base" && n != "master")
        .collect();
    v.sort();
    v
}

/// A running Postfix instance (tests/mta/postfix-instance.sh); stopped when dropped.
pub struct Instance {
    dir: PathBuf,
}

impl Instance {
    pub fn start(policy: &str, dir: PathBuf, listen: SocketAddrV4) -> Instance {
        let out = Command::new(mta_dir().join("postfix-instance.sh"))
            .arg("start")
            .arg(policy)
            .arg(&dir)
            .arg(listen.to_string())
            .output()
            .expect("run tests/mta/postfix-instance.sh");
        let instance = Instance { dir };
        assert!(
            out.status.success(),
            "postfix {policy} did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            instance.log()
        );
        instance
    }

    /// The instance's configuration and queue folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Postfix's own log (`maillog_file`, written by postlogd).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).expect("an instance file")
    }

    /// `postconf -x -h mynetworks`: the networks Postfix trusts, as it computes them.
    fn mynetworks(&self) -> String {
        let out = Command::new("postconf")
            .arg("-c")
            .arg(&self.dir)
            .args(["-x", "-h", "mynetworks"])
            .output()
            .expect("run postconf");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = Command::new(mta_dir().join("postfix-instance.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

/// One test-bed instance as it was scanned; the instance itself has stopped.
pub struct Scanned {
    pub policy: String,
    pub addr: Ipv4Addr,
    /// The record of the pipelined scan, which every test here looks at.
    pub record: ScanRecord,
    /// The record of the same scan with `--no-pipelining`, made at the same time.
    pub unpipelined: ScanRecord,
    /// Postfix's own log of both scans.
    pub log: String,
    /// The instance's main.cf and master.cf.
    pub main_cf: String,
    pub master_cf: String,
    /// `postconf -x -h mynetworks`.
    pub mynetworks: String,
}

/// Every policy of the test bed, each on its own instance, started side by side, scanned
/// once for the whole test binary (postfix.rs, audit.rs, unchanged.rs) pipelined and once
/// with `--no-pipelining`, then stopped.
static TEST_BED: LazyLock<Vec<Scanned>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let policies = policies();
    let addr = |n: usize| nets::POSTFIX.host(1 + n as u32);
    let port = free_port(addr(0));
    // Side by side: each start takes a second or so.
    let instances: Vec<Instance> = std::thread::scope(|s| {
        let handles: Vec<_> = policies
            .iter()
            .enumerate()
            .map(|(n, policy)| {
                let path = dir.path().join(policy);
                let listen = SocketAddrV4::new(addr(n), port);
                s.spawn(move || Instance::start(policy, path, listen))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("instance start"))
            .collect()
    });
    for (n, policy) in policies.iter().enumerate() {
        wait_listening(SocketAddrV4::new(addr(n), port), policy);
    }

    let range = format!("{}-{}", addr(0), addr(policies.len() - 1));
    let addrs: Vec<IpAddr> = (0..policies.len()).map(|n| addr(n).into()).collect();
    let scan = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        let port = port.to_string();
        let mut args = vec![
            "scan",
            &range,
            "-p",
            &port,
            "-o",
            prefix.to_str().expect("utf-8 path"),
            "--format",
            "jsonl",
            "--no-progress",
            "--read-timeout",
            "10s",
        ];
        args.extend(extra);
        scan_each(&args, &prefix, &addrs)
    };
    // Pipelined (what Postfix advertises) and one command at a time.
    let [records, unpipelined] = both_ways(scan);
    let scanned = policies
        .into_iter()
        .zip(&instances)
        .zip(records.into_iter().zip(unpipelined))
        .enumerate()
        .map(|(n, ((policy, instance), (record, unpipelined)))| {
            Scanned {
                // One session per scan.
                log: logged_disconnects(instance, 2),
                main_cf: instance.file("main.cf"),
                master_cf: instance.file("master.cf"),
                mynetworks: instance.mynetworks(),
                policy,
                addr: addr(n),
                record,
                unpipelined,
            }
        })
        .collect();
    // Stopped side by side too (dropping one is a `postfix stop`).
    std::thread::scope(|s| {
        for instance in instances {
            s.spawn(move || drop(instance));
        }
    });
    scanned
});

/// The instance's log once it holds the end of `sessions` sessions (Postfix writes each as
/// the client leaves, maybe after the scan has ended); waits 10 s at most.
fn logged_disconnects(instance: &Instance, sessions: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = instance.log();
        if log.matches("disconnect from").count() >= sessions || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The scanned test bed; `None` after skipping (no root, Postfix or openssl).
pub fn test_bed() -> Option<&'static [Scanned]> {
    if skip::unless(POSTFIX_NEEDS) {
        return None;
    }
    Some(&TEST_BED)
}

/// The expected results of each scanned instance, with a label for messages.
fn cases() -> Option<Vec<(&'static Case, &'static Scanned, String)>> {
    let bed = test_bed()?;
    Some(
        bed.iter()
            .map(|s| {
                let case = CASES
                    .iter()
                    .find(|c| c.policy == s.policy)
                    .unwrap_or_else(|| panic!("no Case for the policy {}", s.policy));
                (
                    case,
                    s,
                    format!("postfix {} at {}", s.policy, s.record.endpoint()),
                )
            })
            .collect(),
    )
}

/// relayscan never sent DATA to this endpoint (its transcript has every client line).
pub fn assert_never_data(record: &ScanRecord, what: &str) {
    let sent_data = record
        .transcript
        .iter()
        .filter(|l| l.dir == relayscan::smtp::Direction::Client)
        .any(|l| l.text.eq_ignore_ascii_case("DATA"));
    assert!(!sent_data, "{what}: relayscan sent DATA");
}

#[test]
fn every_test_bed_policy_has_its_documented_case() {
    let mut documented: Vec<&str> = CASES.iter().map(|c| c.policy).collect();
    documented.sort();
    assert_eq!(documented, policies());
}

#[test]
fn postfix_instances_get_their_documented_verdicts() {
    let Some(cases) = cases() else { return };
    for (case, s, what) in cases {
        let r = &s.record;
        assert_eq!(r.status, Status::Completed, "{what}: {:?}", r.error);
        assert_eq!(r.verdict, Some(case.verdict), "{what}: {:?}", r.reason);
        assert_eq!(r.open_tests, case.open_tests, "{what}");
        assert_eq!(
            r.accepts_any_recipient, case.accepts_any_recipient,
            "{what}"
        );
    }
}

#[test]
fn the_greeting_names_postfix_and_the_instance() {
    let Some(cases) = cases() else { return };
    for (_, s, what) in cases {
        let r = &s.record;
        assert_eq!(
            serde_json::to_value(r.mta).expect("mta"),
            "postfix",
            "{what}: the greeting names Postfix"
        );
        assert_eq!(
            r.server_name.as_deref(),
            Some(format!("{}.postfix.test", s.policy).as_str()),
            "{what}"
        );
    }
}

#[test]
fn postfix_advertises_pipelining_and_gets_pipelined_tests() {
    // The verdicts above came from pipelined tests.
    let Some(cases) = cases() else { return };
    for (_, s, what) in cases {
        let r = &s.record;
        assert!(r.pipelining && r.timing.pipelined, "{what}: {:?}", r.timing);
    }
}

#[test]
fn postfix_never_sees_data() {
    // Not in our transcript, and Postfix's own count agrees.
    let Some(cases) = cases() else { return };
    for (_, s, what) in cases {
        assert_never_data(&s.record, &what);
        let disconnects: Vec<&str> = s
            .log
            .lines()
            .filter(|l| l.contains("disconnect from"))
            .collect();
        assert!(
            !disconnects.is_empty(),
            "{what}: no disconnect logged\n{}",
            s.log
        );
        assert!(
            disconnects.iter().all(|l| !l.contains(" data=")),
            "{what}: Postfix saw DATA\n{}",
            s.log
        );
    }
}

/// The scanned instance of `policy`.
fn policy(policy: &str) -> Option<&'static Scanned> {
    test_bed().map(|bed| {
        bed.iter()
            .find(|s| s.policy == policy)
            .unwrap_or_else(|| panic!("no {policy} in the test bed"))
    })
}

#[test]
fn postfix_demanding_tls_is_tested_after_starttls() {
    let Some(s) = policy("tls-required") else {
        return;
    };
    let tls = s.record.tls.as_ref().expect("a TLS report");
    assert!(tls.established, "{:?}", tls.error);
    let reason = s.record.reason.as_deref().unwrap_or("");
    assert!(reason.contains("after STARTTLS"), "{reason}");
}

#[test]
fn postfix_for_authenticated_clients_only_offers_auth() {
    let Some(s) = policy("auth-only") else {
        return;
    };
    assert!(
        s.record.auth.iter().any(|m| m == "PLAIN"),
        "{:?}",
        s.record.auth
    );
}

#[test]
fn postscreen_passes_the_scanner_that_waits_for_the_final_220() {
    // Never PREGREET: we waited for the final 220.
    let Some(s) = policy("postscreen") else {
        return;
    };
    assert!(s.log.contains("PASS NEW"), "{}", s.log);
    assert!(!s.log.contains("PREGREET"), "{}", s.log);
}
