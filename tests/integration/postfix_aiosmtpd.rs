//! A second, independent SMTP implementation beside Postfix: aiosmtpd (Debian's python3-aiosmtpd) on `nets::AIOSMTPD` with relay policies (tests/mta/aiosmtpd-relay.py).
//!
//! The servers are started and scanned once for the test binary (here and unchanged.rs),
//! then stopped before any test looks at the records. Without Debian's Python and aiosmtpd each test says SKIPPED and
//! why; under `CI=true` it fails instead.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddrV4};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;

use relayscan::assess::Verdict;
use relayscan::probe::Status;
use relayscan::report::ScanRecord;

use crate::postfix::{assert_never_data, free_port, mta_dir, wait_listening};
use crate::support::skip::{self, Need, PYTHON};
use crate::support::{both_ways, nets, scan_each};

/// One aiosmtpd server; killed when dropped (closing its stdin also stops it).
struct Server(Child);

impl Server {
    fn start(policy: &str, listen: SocketAddrV4) -> Server {
        let mut child = Command::new(PYTHON)
            .arg(mta_dir().join("aiosmtpd-relay.py"))
            .args([policy, &listen.ip().to_string(), &listen.port().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start aiosmtpd-relay.py");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        let _ = BufReader::new(stdout).read_line(&mut first);
        let server = Server(child);
        assert!(
            first.starts_with("ready "),
            "aiosmtpd {policy} did not start: {first:?}"
        );
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One aiosmtpd policy and what a correct scanner must conclude about it.
struct Case {
    policy: &'static str,
    verdict: Verdict,
    /// Whether catalogue test 2 (the plain foreign sender and recipient) relays.
    relays_test_2: bool,
}

const CASES: [Case; 4] = [
    Case {
        policy: "open",
        verdict: Verdict::OpenRelay,
        relays_test_2: true,
    },
    Case {
        policy: "closed",
        verdict: Verdict::RelayDenied,
        relays_test_2: false,
    },
    Case {
        policy: "defer",
        verdict: Verdict::Inconclusive,
        relays_test_2: false,
    },
    // aiosmtpd's auth_required: "530 5.7.0 Authentication required" before AUTH.
    Case {
        policy: "auth",
        verdict: Verdict::AuthRequired,
        relays_test_2: false,
    },
];

/// One aiosmtpd server as it was scanned; the server itself has stopped.
pub struct Scanned {
    pub policy: &'static str,
    /// The record of the scan every test here looks at (aiosmtpd does not advertise
    /// PIPELINING, so it is one command at a time too).
    pub record: ScanRecord,
    /// The record of the same scan with `--no-pipelining`, made at the same time.
    pub unpipelined: ScanRecord,
}

/// Every policy's server, in `CASES` order, scanned once for the whole test binary
/// (this module and unchanged.rs) as it is and with `--no-pipelining`, then stopped.
static SCANNED: LazyLock<Vec<Scanned>> = LazyLock::new(|| {
    let addr = |n: usize| nets::AIOSMTPD.host(1 + n as u32);
    let port = free_port(addr(0));
    let servers: Vec<Server> = CASES
        .iter()
        .enumerate()
        .map(|(n, case)| Server::start(case.policy, SocketAddrV4::new(addr(n), port)))
        .collect();
    for (n, case) in CASES.iter().enumerate() {
        wait_listening(SocketAddrV4::new(addr(n), port), case.policy);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let range = format!("{}-{}", addr(0), addr(CASES.len() - 1));
    let addrs: Vec<IpAddr> = (0..CASES.len()).map(|n| addr(n).into()).collect();
    let scan = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        let port = port.to_string();
        let mut args = vec![
            "scan",
            &range,
            "-p",
            &port,
            "-o",
            path_text(&prefix),
            "--no-progress",
        ];
        args.extend(extra);
        scan_each(&args, &prefix, &addrs)
    };
    let [records, unpipelined] = both_ways(scan);
    drop(servers);
    CASES
        .iter()
        .zip(records.into_iter().zip(unpipelined))
        .map(|(case, (record, unpipelined))| Scanned {
            policy: case.policy,
            record,
            unpipelined,
        })
        .collect()
});

/// The scanned servers; `None` after skipping (no aiosmtpd).
pub fn test_bed() -> Option<&'static [Scanned]> {
    if skip::unless(&[Need::PythonModule {
        module: "aiosmtpd",
        install: "apt-get install python3-aiosmtpd",
    }]) {
        return None;
    }
    Some(&SCANNED)
}

/// Each case with its record and a label; `None` after skipping (no aiosmtpd).
fn scanned() -> Option<Vec<(&'static Case, &'static ScanRecord, String)>> {
    Some(
        CASES
            .iter()
            .zip(test_bed()?)
            .map(|(c, s)| {
                let r = &s.record;
                (c, r, format!("aiosmtpd {} at {}", c.policy, r.endpoint()))
            })
            .collect(),
    )
}

#[test]
fn aiosmtpd_relay_policies_get_the_same_verdicts() {
    let Some(scanned) = scanned() else { return };
    for (case, r, what) in scanned {
        assert_eq!(r.status, Status::Completed, "{what}: {:?}", r.error);
        assert_eq!(r.verdict, Some(case.verdict), "{what}: {:?}", r.reason);
        assert_eq!(r.open_tests.contains(&2), case.relays_test_2, "{what}");
    }
}

#[test]
fn only_the_open_aiosmtpd_takes_any_recipient() {
    // The open policy takes any recipient: the control RCPT must say so.
    let Some(scanned) = scanned() else { return };
    for (case, r, what) in scanned {
        assert_eq!(r.accepts_any_recipient, case.policy == "open", "{what}");
    }
}

#[test]
fn each_aiosmtpd_is_named_by_its_greeting() {
    let Some(scanned) = scanned() else { return };
    for (case, r, what) in scanned {
        assert_eq!(
            r.server_name.as_deref(),
            Some(format!("{}.aio.test", case.policy).as_str()),
            "{what}"
        );
    }
}

#[test]
fn aiosmtpd_never_gets_data() {
    let Some(scanned) = scanned() else { return };
    for (_, r, what) in scanned {
        assert_never_data(r, &what);
    }
}

#[test]
fn aiosmtpd_does_not_advertise_pipelining_and_gets_one_command_at_a_time() {
    // RFC 2920: only a server that advertises PIPELINING gets a group.
    let Some(scanned) = scanned() else { return };
    for (_, r, what) in scanned {
        assert!(
            !r.pipelining && !r.timing.pipelined,
            "{what}: {:?}",
            r.timing
        );
    }
}

fn path_text(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}
