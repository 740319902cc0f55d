//! `relayscan audit-config`: the binary on configuration fixtures (tables, reports, exit codes, stdin, bad input), and on the real-MTA test bed's Postfix instances, where the audit and a live probe must agree.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use relayscan::probe::Verdict;

use crate::postfix::{Instance, POSTFIX_NEEDS, free_port, mta_dir, wait_listening};
use crate::support::skip;
use crate::support::{nets, read_csv, read_json, read_jsonl, relayscan, run, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(30);

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audit")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn debian_postfix_default_is_not_a_relay_and_the_gate_follows_severity() {
    let main = fixture("postfix/debian/main.cf");
    let master = fixture("postfix/debian/master.cf");
    let out = run(&["audit-config", &main, &master], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("(Postfix main.cf)") && table.contains("(Postfix master.cf)"),
        "{table}"
    );
    assert!(
        table.contains("vrfy-enabled") && table.contains("no-rate-limits"),
        "{table}"
    );
    assert!(
        table.contains("no setting lets a stranger relay"),
        "{table}"
    );
    // Low findings only: the gate trips at low, not at medium or on open-relay.
    for (gate, code) in [("low", 1), ("medium", 0), ("open-relay", 0)] {
        let out = run(
            &["audit-config", &main, &master, "--fail-on", gate, "-q"],
            LIMIT,
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "--fail-on {gate}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "-q prints nothing");
    }
}

#[test]
fn postconf_n_on_stdin_writes_csv_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("audit/pf");
    // What `postconf -n` prints for a server with a wide-open relay list.
    let postconf_n = "compatibility_level = 3.6\nconfig_directory = /etc/postfix\n\
                      mynetworks = 127.0.0.0/8 [2001:db8::]/32\n\
                      smtpd_relay_restrictions = permit_mynetworks, permit, reject_unauth_destination\n";
    let mut child = relayscan()
        .args(["audit-config", "--mta", "postfix", "-", "-o"])
        .arg(&prefix)
        .args(["--fail-on", "open-relay"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(postconf_n.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("critical  open-relay"), "{table}");
    assert!(table.contains("<stdin>:4"), "{table}");

    let doc = read_json(&prefix.with_extension("json"));
    assert_eq!(doc["verdict"], "open-relay");
    let findings = doc["findings"].as_array().unwrap();
    let located: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["finding"]["id"].as_str().unwrap().to_string(),
                f["location"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("open-relay", "<stdin>:4"),
        ("trusted-networks-too-wide", "<stdin>:3"),
    ] {
        assert!(
            located.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {located:?}"
        );
    }
    assert_eq!(doc["files"][0]["mta"], "postfix");

    let (header, rows) = read_csv(&prefix.with_extension("csv"));
    assert_eq!(header, relayscan::audit::output::AUDIT_COLUMNS);
    assert_eq!(rows.len(), findings.len());
    assert_eq!(
        (rows[0][0].as_str(), rows[0][5].as_str()),
        ("<stdin>:4", "critical")
    );

    let html = std::fs::read_to_string(prefix.with_extension("html")).unwrap();
    assert!(
        html.contains("verdict open") && html.contains("<code>&lt;stdin&gt;:4</code>"),
        "{html}"
    );
}

#[test]
fn sendmail_fixtures_table() {
    let table = [
        (
            vec!["sendmail/open-relay.mc"],
            "critical  open-relay",
            "open-relay.mc:9",
            1,
        ),
        (
            vec!["sendmail/debian-sendmail.mc"],
            "low       vrfy-enabled",
            "debian-sendmail.mc:37",
            0,
        ),
        (
            vec!["sendmail/wide-trust.mc", "sendmail/access"],
            "critical  open-relay",
            "access:18",
            1,
        ),
    ];
    for (files, line, location, code) in table {
        let mut args = vec![
            "audit-config".to_string(),
            "--fail-on".into(),
            "open-relay".into(),
        ];
        args.extend(files.iter().map(|f| fixture(f)));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, LIMIT);
        let table = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{files:?}: {table}{}",
            stderr(&out)
        );
        assert!(
            table.contains(line) && table.contains(location),
            "{files:?}: {table}"
        );
        assert!(table.contains("(Sendmail"), "{table}");
    }
}

#[test]
fn bad_input_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad_main = dir.path().join("main.cf");
    std::fs::write(&bad_main, "biff = no\n  continued\nnot a setting\n").unwrap();
    let unknown = dir.path().join("notes.txt");
    std::fs::write(&unknown, "hello there\n").unwrap();
    let missing = dir.path().join("missing.cf");
    let table = [
        (
            vec![bad_main.display().to_string()],
            format!(
                "{}:3: \"not a setting\": expected `name = value`",
                bad_main.display()
            ),
        ),
        (
            vec![unknown.display().to_string()],
            format!("{}: cannot tell what this file is", unknown.display()),
        ),
        (
            vec![missing.display().to_string()],
            format!("{}: cannot read", missing.display()),
        ),
        (
            vec![
                "--mta".into(),
                "sendmail".into(),
                fixture("postfix/debian/main.cf"),
            ],
            "looks like a main.cf file, not Sendmail".to_string(),
        ),
        (
            vec!["-".into(), "-".into()],
            "`-` (stdin) given twice".to_string(),
        ),
        (
            vec![
                fixture("postfix/debian/main.cf"),
                "--format".into(),
                "jsonl".into(),
            ],
            "audit-config writes csv, json and html".to_string(),
        ),
    ];
    for (args, want) in table {
        let mut all = vec!["audit-config".to_string()];
        all.extend(args.iter().cloned());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = run(&all, LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(&want), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

/// The Postfix policies of the real-MTA test bed (tests/mta/postfix/*.cf but the shared
/// base.cf and master.cf), so that a new policy is audited without touching this file.
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

/// Whether a client at `ip` is in the instance's effective mynetworks (Postfix computes it).
fn trusted(dir: &Path, ip: IpAddr) -> bool {
    let out = Command::new("postconf")
        .arg("-c")
        .arg(dir)
        .args(["-x", "-h", "mynetworks"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split([' ', ',', '\n'])
        .filter_map(relayscan::audit::networks::parse_network)
        .filter_map(|(a, l)| ipnetwork::IpNetwork::new(a, l).ok())
        .any(|n| n.contains(ip))
}

#[test]
fn audit_and_probe_agree_on_every_test_bed_postfix_instance() {
    if skip::unless(POSTFIX_NEEDS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = |n: usize| nets::AUDIT_POSTFIX.host(1 + n as u32);
    let port = free_port(addr(0));
    let policies = policies();
    assert!(policies.len() >= 5, "{policies:?}");
    let running: Vec<Instance> = std::thread::scope(|s| {
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
    let prefix = dir.path().join("scan");
    let range = format!("{}-{}", addr(0), addr(policies.len() - 1));
    let out = run(
        &[
            "scan",
            &range,
            "-p",
            &port.to_string(),
            "-o",
            prefix.to_str().unwrap(),
            "--format",
            "jsonl",
            "--no-progress",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"));

    for (n, (policy, instance)) in policies.iter().zip(&running).enumerate() {
        let main = instance.dir().join("main.cf").display().to_string();
        let master = instance.dir().join("master.cf").display().to_string();
        let report = dir.path().join(format!("audit-{policy}"));
        let out = run(
            &[
                "audit-config",
                &main,
                &master,
                "-q",
                "-o",
                report.to_str().unwrap(),
                "--format",
                "json",
            ],
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(0), "{policy}: {}", stderr(&out));
        let audit_open = read_json(&report.with_extension("json"))["verdict"] == "open-relay";
        let record = records
            .iter()
            .find(|r| r.ip == IpAddr::V4(addr(n)))
            .expect("a record per instance");
        let probe_open = record.verdict == Some(Verdict::OpenRelay);
        // The audit judges for a stranger; the probe runs from loopback. Where loopback is in
        // mynetworks the probe is trusted and relays: a vantage point, not a disagreement.
        let inside = [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(addr(n))]
            .into_iter()
            .any(|ip| trusted(instance.dir(), ip));
        if inside {
            assert!(
                probe_open,
                "{policy}: a trusted client must relay: {:?}",
                record.reason
            );
            // A mynetworks that trusts a stranger too (0.0.0.0/0) is the audit's open relay.
            let stranger = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
            if trusted(instance.dir(), stranger) {
                assert!(audit_open, "{policy}: mynetworks trusts {stranger}");
            }
        } else {
            assert_eq!(
                audit_open, probe_open,
                "{policy}: audit open={audit_open}, probe {:?}: {:?}",
                record.verdict, record.reason
            );
        }
        eprintln!(
            "{policy}: audit open-relay={audit_open}, probe {:?}, scanner trusted={inside}",
            record.verdict
        );
    }
}
