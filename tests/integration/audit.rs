//! `relayscan audit-config`: the binary on configuration fixtures (Postfix, Exim, OpenSMTPD, Sendmail: tables, reports, exit codes, stdin, bad input), on Debian's own Exim template and Sendmail .mc files compiled by m4 with sendmail-cf, and on the real-MTA test bed's Postfix instances, where the audit and a live probe must agree (by the rule mtas.rs applies to Exim, OpenSMTPD and Sendmail too).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use relayscan::assess::Verdict;

use crate::postfix::test_bed;
use crate::support::skip::{self, Need};
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
    // Low findings only: the gate trips at low, not at medium or on open-relay; by id on
    // a finding it has, not on one it lacks; a mail-domain id is refused (exit 2).
    for (gate, code) in [
        ("low", 1),
        ("medium", 0),
        ("open-relay", 0),
        ("vrfy-enabled", 1),
        ("trusted-networks-too-wide", 0),
        ("dkim-weak-key", 2),
    ] {
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

/// Runs audit-config on `files` (fixture paths or absolute paths) plus `extra` arguments,
/// writing the JSON report; returns the exit code, the table and the JSON document.
pub(crate) fn audit_json(
    files: &[String],
    extra: &[&str],
) -> (Option<i32>, String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("audit");
    let mut args = vec!["audit-config".to_string()];
    args.extend(files.iter().cloned());
    args.extend(extra.iter().map(|a| a.to_string()));
    args.extend(["-o".into(), prefix.display().to_string()]);
    args.extend(["--format".into(), "json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, LIMIT);
    let doc = read_json(&prefix.with_extension("json"));
    (out.status.code(), stdout(&out), doc)
}

/// The exit code audit-config's default gate (`--fail-on high`) gives the audit `doc`
/// reports: 1 when a finding is high or critical, else 0.
pub(crate) fn default_gate_code(doc: &serde_json::Value) -> Option<i32> {
    let high = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| ["critical", "high"].contains(&f["finding"]["severity"].as_str().unwrap()));
    Some(i32::from(high))
}

/// (id, location) of every finding of an audit's JSON document, and its trusted networks.
pub(crate) fn findings_of(doc: &serde_json::Value) -> (Vec<(String, String)>, Vec<String>) {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let found = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (text(&f["finding"]["id"]), text(&f["location"])))
        .collect();
    let trusted = doc["trusted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| text(&t["network"]))
        .collect();
    (found, trusted)
}

/// One audit of fixtures through the binary, with `--fail-on open-relay`.
struct Case {
    files: &'static [&'static str],
    /// `--mta`.
    mta: &'static str,
    /// Where an open-relay finding is (the end of its location), or none when there is none.
    open_at: Option<&'static str>,
    /// Networks the report must list as trusted.
    trusts: &'static [&'static str],
    code: i32,
}

const fn case(
    files: &'static [&'static str],
    mta: &'static str,
    open_at: Option<&'static str>,
    trusts: &'static [&'static str],
    code: i32,
) -> Case {
    Case {
        files,
        mta,
        open_at,
        trusts,
        code,
    }
}

/// Runs `c` and checks its exit code, open-relay location and trusted networks; the JSON.
fn assert_audit(c: &Case) -> serde_json::Value {
    let files: Vec<String> = c.files.iter().map(|f| fixture(f)).collect();
    let args = ["--mta", c.mta, "--fail-on", "open-relay"];
    let (got, table, doc) = audit_json(&files, &args);
    assert_eq!(got, Some(c.code), "{:?}: {table}", c.files);
    let (found, trusted) = findings_of(&doc);
    let open: Vec<&String> = found
        .iter()
        .filter(|(id, _)| id == "open-relay")
        .map(|(_, at)| at)
        .collect();
    match c.open_at {
        Some(at) => assert!(
            open.iter().any(|o| o.ends_with(at)),
            "{:?}: open-relay at {open:?}, want {at}: {table}",
            c.files
        ),
        None => assert!(open.is_empty(), "{:?}: {table}", c.files),
    }
    for net in c.trusts {
        assert!(
            trusted.iter().any(|t| t == net),
            "{:?}: {net} not in {trusted:?}",
            c.files
        );
    }
    doc
}

#[test]
fn exim_and_opensmtpd_fixtures_get_their_findings_and_exit_codes() {
    let table = [
        case(&["exim/closed.conf"], "auto", None, &["192.0.2.0/24"], 0),
        case(
            &["exim/open-relay.conf"],
            "exim",
            Some("exim/open-relay.conf:4"),
            &["0.0.0.0/0"],
            1,
        ),
        case(
            &["exim/accept-all.conf"],
            "auto",
            Some("exim/accept-all.conf:12"),
            &[],
            1,
        ),
        case(
            &["exim/auth-required.conf"],
            "auto",
            None,
            &["192.0.2.0/24"],
            0,
        ),
        case(&["exim/deferring.conf"], "auto", None, &[], 0),
        case(&["exim/starttls-required.conf"], "auto", None, &[], 0),
        case(
            &["exim/debian-open/update-exim4.conf.conf"],
            "auto",
            Some("update-exim4.conf.conf:12"),
            &["0.0.0.0/0"],
            1,
        ),
        case(
            &["opensmtpd/open-relay.conf"],
            "opensmtpd",
            Some("opensmtpd/open-relay.conf:11"),
            &[],
            1,
        ),
        case(
            &["opensmtpd/closed.conf"],
            "auto",
            None,
            &["192.0.2.0/24"],
            0,
        ),
        case(
            &["opensmtpd/debian-smtpd.conf"],
            "auto",
            None,
            &["127.0.0.0/8"],
            0,
        ),
    ];
    for c in &table {
        let doc = assert_audit(c);
        let want = if c.files[0].starts_with("exim/") {
            "exim"
        } else {
            "opensmtpd"
        };
        assert_eq!(doc["files"][0]["mta"], want, "{:?}", c.files);
        for f in doc["findings"].as_array().unwrap() {
            assert_eq!(f["mta"], want, "{:?}", c.files);
        }
    }
}

#[test]
fn exim_includes_are_read_beside_the_file_and_located_there() {
    let (code, table, doc) = audit_json(&[fixture("exim/split/exim4.conf")], &[]);
    // No --fail-on: the default gate (high) decides.
    assert_eq!(code, default_gate_code(&doc), "{table}");
    let (found, trusted) = findings_of(&doc);
    for (id, at) in [
        ("trusted-networks-too-wide", "exim/split/macros.conf:2"),
        ("relay-domains-too-broad", "exim/split/macros.conf:3"),
        ("vrfy-enabled", "exim/split/exim4.conf:8"),
    ] {
        assert!(
            found.iter().any(|(i, l)| i == id && l.ends_with(at)),
            "{id} at {at}: {found:?}"
        );
    }
    assert_eq!(trusted, ["192.0.2.0/24", "198.51.0.0/16"]);
}

/// Debian's exim4.conf.template as the exim4-config package ships it (unpacked by
/// tests/mta/unpack-mtas.sh); `None` after saying SKIPPED when it is not there.
fn debian_exim_template() -> Option<String> {
    let root = std::env::var("RELAYSCAN_MTA_ROOT")
        .unwrap_or_else(|_| "/var/cache/relayscan-mtas/root".into());
    let path = format!("{root}/etc/exim4/exim4.conf.template");
    if skip::unless(&[Need::File(&path)]) {
        return None;
    }
    Some(path)
}

#[test]
fn debians_exim_template_with_each_update_exim4_conf_conf() {
    let Some(template) = debian_exim_template() else {
        return;
    };
    // (folder, open relay?, the relay nets the template's relay_from_hosts trusts)
    let table: [(&str, bool, &[&str]); 5] = [
        ("debian-internet", false, &["127.0.0.1/32", "::1/128"]),
        ("debian-open", true, &["0.0.0.0/0"]),
        (
            "debian-smarthost",
            false,
            &["127.0.0.1/32", "192.0.2.0/24", "2001:db8::/32", "::1/128"],
        ),
        ("debian-local", false, &["127.0.0.1/32", "::1/128"]),
        ("debian-none", false, &[]),
    ];
    for (folder, open, nets) in table {
        let ue4cc = fixture(&format!("exim/{folder}/update-exim4.conf.conf"));
        let (_, table, doc) = audit_json(&[ue4cc, template.clone()], &[]);
        assert_eq!(doc["verdict"] == "open-relay", open, "{folder}: {table}");
        let (found, trusted) = findings_of(&doc);
        assert_eq!(trusted, nets.to_vec(), "{folder}: {table}");
        // The template's authenticators are clients (for a smarthost): never advertised.
        assert!(
            !found.iter().any(|(id, _)| id == "auth-before-tls"),
            "{folder}: {table}"
        );
        let wide = found.iter().any(|(id, at)| {
            id == "trusted-networks-too-wide" && at.ends_with("update-exim4.conf.conf:12")
        });
        assert_eq!(wide, folder == "debian-smarthost", "{folder}: {table}");
        if open {
            let f = &doc["findings"][0];
            assert_eq!(f["setting"], "dc_relay_nets", "{table}");
            assert_eq!(f["mta"], "exim");
            let fix = f["finding"]["remediation"].as_str().unwrap();
            assert!(fix.contains("relay_from_hosts"), "{fix}");
        }
    }
}

/// m4 and sendmail-cf's macros; false after saying SKIPPED when either is missing.
fn sendmail_cf_available() -> bool {
    let m4 = Need::Tool {
        names: &["m4"],
        install: "apt-get install m4, or tests/mta/unpack-mtas.sh",
    };
    if skip::unless(&[m4]) {
        return false;
    }
    relayscan::audit::sendmail::compile::cf_dir().is_some()
        || !skip::because(
            "sendmail-cf's macros are not installed (tests/mta/unpack-mtas.sh, or \
             RELAYSCAN_SENDMAIL_CF)",
        )
}

#[test]
fn sendmail_mc_files_are_compiled_with_m4_and_judged_by_their_rules() {
    if !sendmail_cf_available() {
        return;
    }
    let table = [
        case(
            &["sendmail/open-relay.mc"],
            "auto",
            Some("open-relay.mc:9"),
            &["0.0.0.0/0", "::/0"],
            1,
        ),
        case(
            &["sendmail/closed.mc"],
            "auto",
            None,
            &["127.0.0.1/32", "192.0.2.0/24", "::1/128"],
            0,
        ),
        // Connect:127 RELAY: the whole loopback network, where the scanner runs in tests.
        case(
            &["sendmail/closed.mc", "sendmail/connect-127.access"],
            "auto",
            None,
            &[
                "127.0.0.0/8",
                "127.0.0.1/32",
                "192.0.2.0/24",
                "192.0.2.10/32",
                "::1/128",
            ],
            0,
        ),
        case(
            &["sendmail/wide-trust.mc", "sendmail/access"],
            "sendmail",
            Some("access:18"),
            &["198.51.0.0/16"],
            1,
        ),
        case(
            &["sendmail/debian-sendmail.mc"],
            "auto",
            None,
            &["127.0.0.1/32", "::1/128"],
            0,
        ),
    ];
    for c in &table {
        let doc = assert_audit(c);
        let notes = doc["notes"].to_string();
        assert!(
            notes.contains("compiled with m4 with sendmail-cf"),
            "{:?}: {notes}",
            c.files
        );
    }
    // The scanner's loopback address is trusted by Connect:127, not by the closed .mc alone.
    let scanner: IpAddr = "127.0.170.1".parse().unwrap();
    let covers = |files: &[&str]| {
        let paths: Vec<String> = files.iter().map(|f| fixture(f)).collect();
        let (_, _, doc) = audit_json(&paths, &[]);
        findings_of(&doc).1.iter().any(|n| {
            n.parse::<ipnetwork::IpNetwork>()
                .is_ok_and(|net| net.contains(scanner))
        })
    };
    assert!(covers(&[
        "sendmail/closed.mc",
        "sendmail/connect-127.access"
    ]));
    assert!(!covers(&["sendmail/closed.mc"]));
}

#[test]
fn without_sendmail_cf_an_mc_is_read_by_its_calls_and_says_so() {
    let (code, table, doc) = {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("audit");
        let out = relayscan()
            .args(["audit-config", &fixture("sendmail/open-relay.mc"), "-o"])
            .arg(&prefix)
            .args(["--format", "json"])
            .env("RELAYSCAN_SENDMAIL_CF", dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            stdout(&out),
            read_json(&prefix.with_extension("json")),
        )
    };
    // An open relay trips the default gate (--fail-on high).
    assert_eq!(code, Some(1), "{table}");
    assert!(
        doc["notes"].to_string().contains("not compiled"),
        "{}",
        doc["notes"]
    );
    assert_eq!(doc["verdict"], "open-relay", "{table}");
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
            "--fail-on",
            "never",
        ],
        LIMIT,
    );
    // `--fail-on never` turns the default gate off: 0 whatever the findings.
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

/// A client no test configuration trusts unless it trusts every address.
const STRANGER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1));

/// Issue 19's rule for an audit and a probe of one server, which see it from two places: the
/// audit judges for a stranger, the probe comes from `sources`. Where the configuration
/// trusts a source (`trusts`), the probe is trusted and relays, a vantage point (and a
/// configuration that trusts the stranger too is the audit's open relay); elsewhere the
/// audit's open-relay and the probe's go together. Returns whether a source is trusted.
pub(crate) fn assert_audit_and_probe_agree(
    server: &str,
    audit_open: bool,
    trusts: &dyn Fn(IpAddr) -> bool,
    sources: &[IpAddr],
    record: &relayscan::report::ScanRecord,
) -> bool {
    let probe_open = record.verdict == Some(Verdict::OpenRelay);
    let inside = sources.iter().any(|ip| trusts(*ip));
    if inside {
        assert!(
            probe_open,
            "{server}: a trusted client must relay: {:?} {:?}",
            record.verdict, record.reason
        );
        if trusts(STRANGER) {
            assert!(audit_open, "{server}: the configuration trusts {STRANGER}");
        }
    } else {
        assert_eq!(
            audit_open, probe_open,
            "{server}: audit open={audit_open}, probe {:?}: {:?}",
            record.verdict, record.reason
        );
    }
    inside
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
        let files = [main, master].map(|f| f.display().to_string());
        let (code, table, report) = audit_json(&files, &[]);
        let policy = &s.policy;
        assert_eq!(code, default_gate_code(&report), "{policy}: {table}");
        let audit_open = report["verdict"] == "open-relay";
        let record = &s.record;
        // Trust as Postfix itself has it: its effective mynetworks (`postconf -x`).
        let inside = assert_audit_and_probe_agree(
            policy,
            audit_open,
            &|ip| trusted(&s.mynetworks, ip),
            &[IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(s.addr)],
            record,
        );
        eprintln!(
            "{policy}: audit open-relay={audit_open}, probe {:?}, scanner trusted={inside}",
            record.verdict
        );
    }
}

/// The table says what to change: each finding's line keeps its `file:line`, its remediation
/// follows under it (wrapped within 100 columns), and the counts run from critical down.
#[test]
fn the_table_gives_each_finding_its_remediation_and_counts_worst_first() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.cf");
    std::fs::write(
        &main,
        "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit\ndisable_vrfy_command = no\n",
    )
    .unwrap();
    let main = main.display().to_string();
    let out = run(&["audit-config", &main], LIMIT);
    // A config audit is a gate: without --fail-on, a critical finding exits 1; never opts out.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let never = run(&["audit-config", &main, "--fail-on", "never", "-q"], LIMIT);
    assert_eq!(never.status.code(), Some(0), "{}", stderr(&never));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    let open = lines
        .iter()
        .position(|l| l.starts_with("critical  open-relay"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(lines[open].contains("main.cf:2"), "{table}");
    assert!(
        lines[open + 1].starts_with("          fix: Postfix: in main.cf set"),
        "{table}"
    );
    let fix: Vec<&str> = lines[open + 1..]
        .iter()
        .take_while(|l| l.starts_with("               ") || l.starts_with("          fix: "))
        .copied()
        .collect();
    assert!(fix.len() > 1, "wrapped: {table}");
    assert!(fix.iter().all(|l| l.chars().count() <= 100), "{table}");
    assert!(
        fix.join(" ").contains("reject_unauth_destination"),
        "{table}"
    );
    let last = lines.last().unwrap();
    let critical = last.find(" critical").unwrap_or_else(|| panic!("{last}"));
    let low = last.find(" low").unwrap_or_else(|| panic!("{last}"));
    assert!(critical < low, "{last}");
}

/// A folder audits the known configuration files in it, says which it took, and one with
/// none is an error naming it (exit 2).
#[test]
fn a_folder_audits_the_known_files_in_it_and_one_without_any_is_refused() {
    let postfix = fixture("postfix/debian");
    let out = run(&["audit-config", &postfix], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        format!("relayscan: {postfix}: auditing main.cf, master.cf")
    );
    let table = stdout(&out);
    assert!(
        table.contains("debian/main.cf (Postfix main.cf)")
            && table.contains("debian/master.cf (Postfix master.cf)"),
        "{table}"
    );

    // An OpenSMTPD folder with an open relay: the default gate trips.
    let dir = tempfile::tempdir().unwrap();
    let smtpd = dir.path().join("smtpd.conf");
    std::fs::copy(fixture("opensmtpd/open-relay.conf"), &smtpd).unwrap();
    std::fs::write(dir.path().join("README"), "not a configuration\n").unwrap();
    let folder = dir.path().display().to_string();
    let out = run(&["audit-config", &folder], LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(": auditing smtpd.conf\n"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("critical  open-relay"),
        "{}",
        stdout(&out)
    );

    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().display().to_string();
    let out = run(&["audit-config", &empty], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "relayscan: error: {empty}: a folder with no configuration file"
        )) && err.contains("main.cf")
            && err.contains("smtpd.conf")
            && err.contains("sendmail.mc"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}
