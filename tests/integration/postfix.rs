//! Real MTAs: Postfix instances on `nets::POSTFIX`, one relay policy each (tests/mta/postfix/), none able to deliver; relayscan's verdicts must match Postfix's documented behaviour.
//!
//! Needs root and Debian's postfix (`.ci/run` installs it). Elsewhere the test says
//! SKIPPED and why; under `CI=true` a missing Postfix fails it.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use relayscan::probe::{Status, Verdict};
use relayscan::report::ScanRecord;

use crate::support::skip::{self, Need};
use crate::support::{nets, read_jsonl, run, stderr};

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

/// A running Postfix instance; stopped when dropped.
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

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
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

fn record_at(records: &[ScanRecord], ip: Ipv4Addr) -> &ScanRecord {
    records
        .iter()
        .find(|r| r.ip == ip)
        .unwrap_or_else(|| panic!("no record for {ip}"))
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
fn postfix_instances_get_their_documented_verdicts() {
    if skip::unless(POSTFIX_NEEDS) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = |n: usize| nets::POSTFIX.host(1 + n as u32);
    let port = free_port(addr(0));
    // Start side by side: each start takes a second or so.
    let instances: Vec<Instance> = std::thread::scope(|s| {
        let handles: Vec<_> = CASES
            .iter()
            .enumerate()
            .map(|(n, case)| {
                let path = dir.path().join(case.policy);
                let listen = SocketAddrV4::new(addr(n), port);
                s.spawn(move || Instance::start(case.policy, path, listen))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("instance start"))
            .collect()
    });
    for (n, case) in CASES.iter().enumerate() {
        wait_listening(SocketAddrV4::new(addr(n), port), case.policy);
    }

    let prefix = dir.path().join("scan");
    let range = format!("{}-{}", addr(0), addr(CASES.len() - 1));
    let out = run(
        &[
            "scan",
            &range,
            "-p",
            &port.to_string(),
            "-o",
            prefix.to_str().expect("utf-8 path"),
            "--no-progress",
            "--read-timeout",
            "10s",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), CASES.len(), "{}", stderr(&out));

    for (n, (case, instance)) in CASES.iter().zip(&instances).enumerate() {
        let r = record_at(&records, addr(n));
        let what = format!("postfix {} at {}", case.policy, r.endpoint());
        assert_eq!(r.status, Status::Completed, "{what}: {:?}", r.error);
        assert_eq!(r.verdict, Some(case.verdict), "{what}: {:?}", r.reason);
        assert_eq!(r.open_tests, case.open_tests, "{what}");
        assert_eq!(
            r.accepts_any_recipient, case.accepts_any_recipient,
            "{what}"
        );
        assert_eq!(
            serde_json::to_value(r.mta).expect("mta"),
            "postfix",
            "{what}: the greeting names Postfix"
        );
        assert_eq!(
            r.server_name.as_deref(),
            Some(format!("{}.postfix.test", case.policy).as_str()),
            "{what}"
        );
        // Postfix advertises PIPELINING: the verdicts above came from pipelined tests.
        assert!(r.pipelining && r.timing.pipelined, "{what}: {:?}", r.timing);
        // Never DATA: not in our transcript, and Postfix's own count agrees.
        assert_never_data(r, &what);
        let log = instance.log();
        let disconnects: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("disconnect from"))
            .collect();
        assert!(
            !disconnects.is_empty(),
            "{what}: no disconnect logged\n{log}"
        );
        assert!(
            disconnects.iter().all(|l| !l.contains(" data=")),
            "{what}: Postfix saw DATA\n{log}"
        );
        match case.policy {
            "tls-required" => {
                let tls = r.tls.as_ref().expect("a TLS report");
                assert!(tls.established, "{what}: {:?}", tls.error);
                let reason = r.reason.as_deref().unwrap_or("");
                assert!(reason.contains("after STARTTLS"), "{what}: {reason}");
            }
            "auth-only" => {
                assert!(r.auth.iter().any(|m| m == "PLAIN"), "{what}: {:?}", r.auth);
            }
            "postscreen" => {
                // We waited for the final 220: postscreen passed us, never PREGREET.
                assert!(log.contains("PASS NEW"), "{what}\n{log}");
                assert!(!log.contains("PREGREET"), "{what}\n{log}");
            }
            _ => {}
        }
    }
}
