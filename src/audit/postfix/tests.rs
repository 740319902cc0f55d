//! Table tests of the Postfix checks: Debian's real configuration files, and variations that Postfix's own `postconf -c DIR -n` accepts and whose defaults `postconf -x` confirms.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::audit::{MtaChoice, run};

type Found = Vec<(FindingId, String)>;

/// Lines 1-3 of every variation: a current compatibility level, VRFY off, rate limits on, so
/// that each variation shows only what it is about.
const HARDENED: &str = "compatibility_level = 3.6\ndisable_vrfy_command = yes\n\
                        smtpd_client_connection_rate_limit = 30\n";

/// A sender access table, found by the reader under the path main.cf names.
const SENDER_ACCESS: &str = "# senders we trust\nexample.com OK\nspam.example REJECT\n";

fn reader(path: &Path) -> Result<Option<String>, String> {
    Ok((path == Path::new("/etc/postfix/sender_access")).then(|| SENDER_ACCESS.to_string()))
}

fn audit_of(main: &str, master: Option<&str>) -> AuditReport {
    let mut sources = vec![Source::new("main.cf", main)];
    if let Some(m) = master {
        sources.push(Source::new("master.cf", m));
    }
    run(&sources, MtaChoice::Postfix, &reader).unwrap()
}

fn found(report: &AuditReport) -> Found {
    let mut v: Found = report
        .findings
        .iter()
        .map(|f| (f.finding.id, f.location.clone()))
        .collect();
    v.sort();
    v
}

fn at(id: FindingId, loc: &str) -> (FindingId, String) {
    (id, loc.to_string())
}

/// (name, main.cf after HARDENED, master.cf, expected findings).
fn variations() -> Vec<(&'static str, String, Option<&'static str>, Found)> {
    use FindingId::*;
    let v = |s: &str| format!("{HARDENED}{s}");
    vec![
        ("hardened", v(""), None, vec![]),
        (
            "permit first",
            v("smtpd_relay_restrictions = permit, reject_unauth_destination\n"),
            None,
            vec![at(OpenRelay, "main.cf:4")],
        ),
        (
            "no relay check in the relay list, permit in the recipient list",
            v("smtpd_relay_restrictions =\nsmtpd_recipient_restrictions =\n    permit_mynetworks,\n    permit,\n    reject_unauth_destination\n"),
            None,
            vec![at(OpenRelay, "main.cf:5")],
        ),
        (
            "the pre-2.10 recipient list, closed",
            v("smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n"),
            None,
            vec![],
        ),
        (
            "mynetworks everyone",
            v("mynetworks = 127.0.0.0/8, 0.0.0.0/0\n"),
            None,
            vec![at(OpenRelay, "main.cf:4"), at(TrustedNetworksTooWide, "main.cf:4")],
        ),
        (
            "mynetworks wide public IPv6",
            v("mynetworks = 127.0.0.0/8 [::1]/128\n  [2001:db8::]/32\n"),
            None,
            vec![at(TrustedNetworksTooWide, "main.cf:4")],
        ),
        (
            "mynetworks_style class",
            v("mynetworks_style = class\n"),
            None,
            vec![at(TrustedNetworksTooWide, "main.cf:4")],
        ),
        (
            "check_sender_access OKs a whole domain",
            v("smtpd_relay_restrictions = permit_mynetworks,\n  check_sender_access hash:/etc/postfix/sender_access,\n  reject_unauth_destination\n"),
            None,
            vec![at(OpenRelay, "main.cf:4")],
        ),
        (
            "check_helo_access inline OK",
            v("smtpd_relay_restrictions = check_helo_access inline:{ mx.example.com=OK }, defer_unauth_destination\n"),
            None,
            vec![at(OpenRelay, "main.cf:4")],
        ),
        (
            "permit_mx_backup without relay_recipient_maps",
            v("smtpd_relay_restrictions = permit_mynetworks, permit_mx_backup, reject_unauth_destination\n"),
            None,
            vec![at(RelayDomainsTooBroad, "main.cf:4")],
        ),
        (
            "permit_mx_backup with relay_recipient_maps",
            v("relay_recipient_maps = hash:/etc/postfix/relay_recipients\nsmtpd_relay_restrictions = permit_mynetworks, permit_mx_backup, reject_unauth_destination\n"),
            None,
            vec![],
        ),
        (
            "relay_domains with a top-level domain",
            v("relay_domains = example.com, com\n"),
            None,
            vec![at(RelayDomainsTooBroad, "main.cf:4")],
        ),
        (
            "AUTH without smtpd_tls_auth_only",
            v("smtpd_sasl_auth_enable = yes\n"),
            None,
            vec![at(AuthBeforeTls, "main.cf:4")],
        ),
        (
            "AUTH with smtpd_tls_auth_only",
            v("smtpd_sasl_auth_enable = yes\nsmtpd_tls_auth_only = yes\n"),
            None,
            vec![],
        ),
        (
            "version in the banner, through another parameter",
            v("my_banner = $myhostname ESMTP $mail_name ($mail_version)\nsmtpd_banner = $my_banner\n"),
            None,
            vec![at(BannerVersion, "main.cf:5")],
        ),
        (
            "VRFY on and no rate limits, by default",
            "compatibility_level = 3.6\n".to_string(),
            None,
            vec![at(VrfyEnabled, "main.cf (default)"), at(NoRateLimits, "main.cf (default)")],
        ),
        (
            "legacy compatibility level: mynetworks_style = subnet by default",
            "disable_vrfy_command = yes\nsmtpd_client_message_rate_limit = 100\n\
             smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n"
                .to_string(),
            None,
            vec![at(TrustedNetworksTooWide, "main.cf (default)")],
        ),
        (
            "legacy compatibility level on loopback only",
            "disable_vrfy_command = yes\nsmtpd_client_message_rate_limit = 100\ninet_interfaces = 127.0.0.1\n\
             smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n"
                .to_string(),
            None,
            vec![],
        ),
        (
            "master.cf undoes the policy on one port",
            v(""),
            Some(
                "smtp      inet  n       -       y       -       -       smtpd\n\
                 submission inet n       -       y       -       -       smtpd\n\
                 \x20 -o syslog_name=postfix/submission\n\
                 \x20 -o smtpd_sasl_auth_enable=yes\n\
                 \x20 -o smtpd_relay_restrictions=permit_sasl_authenticated,permit\n\
                 pickup    unix  n       -       y       60      1       pickup\n",
            ),
            vec![at(OpenRelay, "master.cf:5"), at(AuthBeforeTls, "master.cf:4")],
        ),
        (
            "master.cf submission done right",
            v(""),
            Some(
                "smtp      inet  n       -       y       -       -       smtpd\n\
                 submission inet n       -       y       -       -       smtpd\n\
                 \x20 -o smtpd_tls_security_level=encrypt\n\
                 \x20 -o smtpd_sasl_auth_enable=yes\n\
                 \x20 -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n",
            ),
            vec![],
        ),
    ]
}

#[test]
fn variations_table() {
    for (name, main, master, want) in variations() {
        let report = audit_of(&main, master);
        assert_eq!(found(&report), want, "{name}\n{main}");
        assert_eq!(
            report.verdict().is_some(),
            want.iter().any(|(id, _)| *id == FindingId::OpenRelay),
            "{name}"
        );
    }
}

#[test]
fn no_working_relay_check_is_a_note_not_an_open_relay() {
    // Postfix's backwards-compatible defaults (no compatibility_level) leave both lists
    // empty; smtpd then refuses to run ("specify at least one working instance of ...").
    let report = audit_of(
        "disable_vrfy_command = yes\nmynetworks = 127.0.0.0/8\n",
        None,
    );
    assert!(report.verdict().is_none());
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("smtpd refuses to run")),
        "{:?}",
        report.notes
    );
}

#[test]
fn findings_explain_and_quote_the_setting() {
    let report = audit_of(
        &format!(
            "{HARDENED}smtpd_relay_restrictions = permit_mynetworks,\n  check_sender_access hash:/etc/postfix/sender_access,\n  reject_unauth_destination\n"
        ),
        None,
    );
    let f = &report.findings[0];
    assert_eq!(f.finding.id, FindingId::OpenRelay);
    assert!(
        f.finding.detail.contains("\"example.com\""),
        "{}",
        f.finding.detail
    );
    assert!(
        f.finding.detail.contains("sender address"),
        "{}",
        f.finding.detail
    );
    assert!(
        f.finding.evidence[0].starts_with(
            "main.cf:4: smtpd_relay_restrictions = permit_mynetworks, check_sender_access"
        ),
        "{:?}",
        f.finding.evidence
    );
    assert!(f.finding.remediation.contains("reject_unauth_destination"));
    let override_report = audit_of(
        HARDENED,
        Some("2525 inet n - n - - smtpd -o smtpd_relay_restrictions=permit\n"),
    );
    let f = &override_report.findings[0];
    assert!(
        f.finding
            .detail
            .contains("on port 2525: master.cf service 2525 overrides main.cf"),
        "{}",
        f.finding.detail
    );
    assert_eq!(
        f.finding.evidence[0],
        "master.cf:1: 2525 -o smtpd_relay_restrictions=permit"
    );
}

#[test]
fn bad_main_cf_names_the_line() {
    let e = run(
        &[Source::new("main.cf", "biff = no\nthis is not a setting\n")],
        MtaChoice::Postfix,
        &reader,
    )
    .unwrap_err();
    assert_eq!(
        e,
        "main.cf:2: \"this is not a setting\": expected `name = value`"
    );
}

/// Postfix's command-line tools, when installed; under CI they must be.
fn postconf() -> Option<&'static str> {
    let installed = Command::new("postconf")
        .arg("-d")
        .arg("mail_version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "postconf is not installed (CI=true)"
        );
        eprintln!("skipped: postconf (Postfix) is not installed");
        return None;
    }
    Some("postconf")
}

fn postconf_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("postconf")
        .arg("-c")
        .arg(dir)
        .args(args)
        .output()
        .expect("run postconf");
    assert!(
        out.status.success(),
        "postconf -c {} {args:?}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn variations_are_valid_postfix_and_postconf_n_audits_the_same() {
    let Some(_) = postconf() else { return };
    for (name, main, master, want) in variations() {
        let dir = tempfile::tempdir().unwrap();
        // With myhostname and mydomain set, postconf has no reason to ask the system
        // resolver for this host's name (tests never use it; it also takes seconds).
        let named = format!("{main}myhostname = mx.example.com\nmydomain = example.com\n");
        for (file, text) in [
            ("main.cf", named.as_str()),
            ("master.cf", master.unwrap_or("")),
        ] {
            let path = dir.path().join(file);
            std::fs::write(&path, text).unwrap();
            // Postfix rereads a file changed within the last second or two until it settles
            // (1.8 s per call): date it a minute back.
            let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(past)
                .unwrap();
        }
        // Postfix itself reads the file (a syntax error fails here) ...
        let n = postconf_in(dir.path(), &["-n"]);
        // ... and `postconf -n` output audits to the same findings, at its own lines.
        let mut sources = vec![Source::new("postconf-n.txt", n.clone())];
        if let Some(m) = master {
            sources.push(Source::new("master.cf", m));
        }
        let from_n = run(&sources, MtaChoice::Postfix, &reader).unwrap();
        let ids = |r: &AuditReport| {
            let mut v: Vec<FindingId> = r.findings.iter().map(|f| f.finding.id).collect();
            v.sort();
            v
        };
        let mut want_ids: Vec<FindingId> = want.iter().map(|(id, _)| *id).collect();
        want_ids.sort();
        assert_eq!(ids(&from_n), want_ids, "{name}: postconf -n said\n{n}");
        // Our defaults are Postfix's: compare the effective values it computes.
        let params = Params::parse("main.cf", &main).unwrap();
        const PARAMS: [&str; 6] = [
            "smtpd_relay_restrictions",
            "mynetworks_style",
            "smtpd_recipient_restrictions",
            "disable_vrfy_command",
            "smtpd_tls_auth_only",
            "smtpd_client_message_rate_limit",
        ];
        let mut args = vec!["-x", "-h"];
        args.extend(PARAMS);
        let real = postconf_in(dir.path(), &args);
        let norm = |s: &str| {
            s.split([',', ' '])
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (param, real) in PARAMS.iter().zip(real.lines()) {
            assert_eq!(
                norm(&params.raw(param).unwrap_or_default()),
                norm(real),
                "{name}: {param}"
            );
        }
    }
}

/// Debian's shipped files, where the postfix package is installed (CI installs it).
#[test]
fn debian_default_configuration() {
    use FindingId::*;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit/postfix/debian");
    let mut table: Vec<(String, Option<String>, Vec<FindingId>)> = vec![(
        fixture.join("main.cf").display().to_string(),
        Some(fixture.join("master.cf").display().to_string()),
        vec![VrfyEnabled, NoRateLimits],
    )];
    let shipped = [
        // The packaged templates: compatibility level 3.6/3.7, no relay-control settings.
        "/usr/share/postfix/main.cf.debian",
        "/usr/share/postfix/main.cf.dist",
        "/etc/postfix/main.cf",
    ];
    let present: Vec<&str> = shipped
        .iter()
        .copied()
        .filter(|p| Path::new(p).exists())
        .collect();
    if present.len() < 2 && postconf().is_none() {
        return;
    }
    assert!(
        present.len() >= 2,
        "Postfix is installed but {shipped:?} are mostly missing"
    );
    for p in present {
        table.push((
            p.to_string(),
            Some("/etc/postfix/master.cf".to_string()),
            vec![VrfyEnabled, NoRateLimits],
        ));
    }
    for (main, master, want) in table {
        let mut sources = vec![Source::new(
            main.clone(),
            std::fs::read_to_string(&main).unwrap(),
        )];
        if let Some(m) = master.filter(|m| Path::new(m).exists()) {
            sources.push(Source::new(
                "master.cf",
                std::fs::read_to_string(&m).unwrap(),
            ));
        }
        let report = run(&sources, MtaChoice::Postfix, &|_| Ok(None)).unwrap();
        let mut got: Vec<FindingId> = report.findings.iter().map(|f| f.finding.id).collect();
        got.dedup();
        assert_eq!(got, want, "{main}: {:#?}", report.findings);
        assert!(report.verdict().is_none(), "{main}");
    }
}

#[test]
fn mynetworks_is_trusted_where_permit_mynetworks_lets_it_relay() {
    let table: [(&str, &[&str]); 3] = [
        (
            "mynetworks = 127.0.0.0/8 [::1]/128 192.0.2.0/24\n",
            &["127.0.0.0/8", "192.0.2.0/24", "::1/128"],
        ),
        (
            "mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = reject_unauth_destination\n",
            &[],
        ),
        (
            "mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = reject_unauth_destination\n\
             smtpd_recipient_restrictions = permit_mynetworks, reject\n",
            &["127.0.0.0/8"],
        ),
    ];
    for (text, want) in table {
        let main = Source::new("main.cf", format!("compatibility_level = 3.6\n{text}"));
        let r = run(&[main], MtaChoice::Postfix, &|_| Ok(None)).unwrap();
        let nets: Vec<&str> = r.trusted.iter().map(|t| t.network.as_str()).collect();
        assert_eq!(nets, want, "{text}");
    }
}
