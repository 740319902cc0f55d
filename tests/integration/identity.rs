//! The warning about the probe's identity: a scan that reaches beyond loopback with the
//! default --rcpt-to or a --helo that is not fully qualified says so once on stderr; a
//! loopback scan never does. The rule itself is table-tested beside its code
//! (`config::probe::identity_warning`); here the real binary shows where it is said.
//!
//! No traffic leaves loopback: the non-loopback plan is scanned as the empty shard 2/2 of
//! its one endpoint (nothing to probe), and inside a network namespace with no route out
//! besides (`run_without_a_route_out`), so that even a broken shard could send nothing.

use std::time::Duration;

use crate::support::{nets, relayscan, run_command, run_without_a_route_out, stderr};

const LIMIT: Duration = Duration::from_secs(30);
const WARNING: &str = "relayscan: warning: this scan reaches beyond loopback";

#[test]
fn a_loopback_scan_never_warns_about_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("scan");
    let target = nets::IDENTITY.host(1).to_string();
    let args = [
        "scan",
        &target,
        "-p",
        "1",
        "--helo",
        "myhost",
        "--format",
        "jsonl",
        "-o",
        prefix.to_str().unwrap(),
    ];
    let mut command = relayscan();
    command.env_remove("RELAYSCAN_RCPT_TO").args(args);
    let out = run_command(command, &args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn a_plan_beyond_loopback_with_the_default_identity_warns_once_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("scan");
    let prefix = prefix.to_str().unwrap();
    // 192.0.2.1 (documentation range) is the plan's only endpoint; shard 2/2 is empty.
    let base = [
        "scan",
        "192.0.2.1",
        "--shard",
        "2/2",
        "--seed",
        "1",
        "-p",
        "25",
        "--format",
        "jsonl",
        "-o",
        prefix,
    ];
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["--helo", "myhost", "-q"],
            &[
                "--rcpt-to is the default relaytest@example.com",
                "--helo \"myhost\"",
            ],
        ),
        (
            &[
                "--helo",
                "scanner.example.net",
                "--rcpt-to",
                "probe@example.net",
            ],
            &[],
        ),
        (
            &["--helo", "scanner.example.net"],
            &["--rcpt-to is the default"],
        ),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let out = run_without_a_route_out(&args, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", stderr(&out));
        let err = stderr(&out);
        let records = std::fs::read_to_string(format!("{prefix}.jsonl")).unwrap();
        assert_eq!(records, "", "the empty shard probed something");
        if expected.is_empty() {
            assert!(!err.contains("warning"), "{extra:?}: {err}");
            continue;
        }
        assert_eq!(err.matches(WARNING).count(), 1, "{extra:?}: {err}");
        for part in expected {
            assert!(err.contains(part), "{extra:?}: {err}");
        }
    }
}
