//! A second, independent SMTP implementation beside Postfix: aiosmtpd (Debian's python3-aiosmtpd) on `nets::AIOSMTPD` with relay policies (tests/mta/aiosmtpd-relay.py).
//!
//! Without Debian's Python and aiosmtpd the test says SKIPPED and why; under `CI=true`
//! it fails instead.

use std::io::{BufRead, BufReader};
use std::net::SocketAddrV4;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use relayscan::probe::{Status, Verdict};

use crate::postfix::{assert_never_data, free_port, mta_dir, wait_listening};
use crate::support::skip::{self, Need, PYTHON};
use crate::support::{nets, read_jsonl, run, stderr};

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

#[test]
fn aiosmtpd_relay_policies_get_the_same_verdicts() {
    if skip::unless(&[Need::PythonModule {
        module: "aiosmtpd",
        install: "apt-get install python3-aiosmtpd",
    }]) {
        return;
    }
    // (policy, verdict, relays catalogue test 2: the plain foreign sender and recipient)
    let cases = [
        ("open", Verdict::OpenRelay, true),
        ("closed", Verdict::RelayDenied, false),
        ("defer", Verdict::Inconclusive, false),
        // aiosmtpd's auth_required: "530 5.7.0 Authentication required" before AUTH.
        ("auth", Verdict::AuthRequired, false),
    ];
    let addr = |n: usize| nets::AIOSMTPD.host(1 + n as u32);
    let port = free_port(addr(0));
    let _servers: Vec<Server> = cases
        .iter()
        .enumerate()
        .map(|(n, (policy, _, _))| Server::start(policy, SocketAddrV4::new(addr(n), port)))
        .collect();
    for (n, (policy, _, _)) in cases.iter().enumerate() {
        wait_listening(SocketAddrV4::new(addr(n), port), policy);
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("scan");
    let out = run(
        &[
            "scan",
            &format!("{}-{}", addr(0), addr(cases.len() - 1)),
            "-p",
            &port.to_string(),
            "-o",
            path_text(&prefix),
            "--no-progress",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), cases.len(), "{}", stderr(&out));
    for (n, (policy, verdict, relays_test_2)) in cases.iter().enumerate() {
        let r = records
            .iter()
            .find(|r| r.ip == addr(n))
            .unwrap_or_else(|| panic!("no record for aiosmtpd {policy}"));
        let what = format!("aiosmtpd {policy} at {}", r.endpoint());
        assert_eq!(r.status, Status::Completed, "{what}: {:?}", r.error);
        assert_eq!(r.verdict, Some(*verdict), "{what}: {:?}", r.reason);
        assert_eq!(r.open_tests.contains(&2), *relays_test_2, "{what}");
        // The open policy takes any recipient: the control RCPT must say so.
        assert_eq!(r.accepts_any_recipient, *policy == "open", "{what}");
        assert_eq!(
            r.server_name.as_deref(),
            Some(format!("{policy}.aio.test").as_str()),
            "{what}"
        );
        assert_never_data(r, &what);
        // aiosmtpd does not advertise PIPELINING: one command at a time (RFC 2920).
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
