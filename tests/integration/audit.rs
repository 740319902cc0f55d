//! `relayscan audit-config`: the binary on configuration fixtures (tables, reports, exit codes, stdin, bad input), and on the real-MTA test bed's Postfix instances, where the audit and a live probe must agree.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use relayscan::assess::Verdict;

use crate::postfix::test_bed;
use crate::support::{read_csv, read_json, relayscan, run, stderr, stdout};

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
fn sendmail_fixtures_get_their_findings_locations_and_exit_codes() {
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

#[test]
fn csv_cells_show_terminal_controls_from_a_config_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let main_cf = dir.path().join("main.cf");
    // A banner that clears the screen, rings the bell and reverses the text after it.
    std::fs::write(
        &main_cf,
        "mynetworks = 0.0.0.0/0 \u{1b}[2J\u{7}\u{202e}\n\
         smtpd_banner = $myhostname ESMTP $mail_name ($mail_version) \u{1b}]8;;http://evil.example/\u{7}\n",
    )
    .unwrap();
    let prefix = dir.path().join("audit");
    let out = run(
        &[
            "audit-config",
            main_cf.to_str().unwrap(),
            "-q",
            "--format",
            "csv,json",
            "-o",
            prefix.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let raw = std::fs::read_to_string(prefix.with_extension("csv")).unwrap();
    let control = |c: char| c.is_control() && c != '\n' || ('\u{202a}'..='\u{202e}').contains(&c);
    assert!(!raw.chars().any(control), "{raw:?}");
    assert!(raw.contains("\\x1b[2J\\x07\\u{202e}"), "{raw}");
    // The JSON keeps the configuration's text as it is.
    let json = std::fs::read_to_string(prefix.with_extension("json")).unwrap();
    assert!(json.contains("\\u001b[2J"), "{json}");
}

/// Whether a client at `ip` is in a Postfix instance's effective mynetworks, as
/// `postconf -x -h mynetworks` printed it.
fn trusted(mynetworks: &str, ip: IpAddr) -> bool {
    mynetworks
        .split([' ', ',', '\n'])
        .filter_map(relayscan::audit::networks::parse_network)
        .filter_map(|(a, l)| ipnetwork::IpNetwork::new(a, l).ok())
        .any(|n| n.contains(ip))
}

#[test]
fn audit_and_probe_agree_on_every_test_bed_postfix_instance() {
    let Some(bed) = test_bed() else {
        return;
    };
    assert!(bed.len() >= 5, "{} policies", bed.len());
    let dir = tempfile::tempdir().unwrap();
    for s in bed {
        // The instance's own configuration files, as audit-config reads them.
        let folder = dir.path().join(&s.policy);
        std::fs::create_dir(&folder).unwrap();
        let (main, master) = (folder.join("main.cf"), folder.join("master.cf"));
        std::fs::write(&main, &s.main_cf).unwrap();
        std::fs::write(&master, &s.master_cf).unwrap();
        let report = folder.join("audit");
        let out = run(
            &[
                "audit-config",
                main.to_str().unwrap(),
                master.to_str().unwrap(),
                "-q",
                "-o",
                report.to_str().unwrap(),
                "--format",
                "json",
            ],
            LIMIT,
        );
        let policy = &s.policy;
        assert_eq!(out.status.code(), Some(0), "{policy}: {}", stderr(&out));
        let audit_open = read_json(&report.with_extension("json"))["verdict"] == "open-relay";
        let record = &s.record;
        let probe_open = record.verdict == Some(Verdict::OpenRelay);
        // The audit judges for a stranger; the probe runs from loopback. Where loopback is in
        // mynetworks the probe is trusted and relays: a vantage point, not a disagreement.
        let inside = [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(s.addr)]
            .into_iter()
            .any(|ip| trusted(&s.mynetworks, ip));
        if inside {
            assert!(
                probe_open,
                "{policy}: a trusted client must relay: {:?}",
                record.reason
            );
            // A mynetworks that trusts a stranger too (0.0.0.0/0) is the audit's open relay.
            let stranger = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
            if trusted(&s.mynetworks, stranger) {
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
