//! Table tests of the OpenSMTPD checks over the fixtures in tests/fixtures/audit/opensmtpd/ (Debian's own smtpd.conf among them).

use std::path::Path;

use crate::assess::FindingId;
use crate::audit::testing::{Case, assert_case, fixture, read_fixture};
use crate::audit::{AuditReport, MtaChoice, Source, run};

fn read(path: &Path) -> Result<Option<String>, String> {
    read_fixture("opensmtpd", path)
}

fn audit(file: &str) -> AuditReport {
    let name = format!("opensmtpd/{file}");
    let text = fixture("opensmtpd", Path::new(&name));
    run(&[Source::new(name, text)], MtaChoice::Auto, &read).unwrap()
}

#[test]
fn smtpd_conf_fixtures() {
    use FindingId::*;
    let table: [Case; 7] = [
        // A filter defers every stranger before the relay rule.
        ("deferring.conf", &[], &[]),
        // Debian's: relays for local clients only, listens on localhost.
        ("debian-smtpd.conf", &[], &["127.0.0.0/8", "::1/128"]),
        (
            "open-relay.conf",
            &[(OpenRelay, "opensmtpd/open-relay.conf:11")],
            &["0.0.0.0/0", "::/0"],
        ),
        ("closed.conf", &[], &["192.0.2.0/24"]),
        ("auth-required.conf", &[], &["127.0.0.0/8", "::1/128"]),
        ("starttls-required.conf", &[], &["192.0.2.0/24"]),
        (
            "wide-networks.conf",
            &[
                (OpenRelay, "opensmtpd/wide-networks.conf:11"),
                (TrustedNetworksTooWide, "opensmtpd/relaynets:3"),
                (RelayDomainsTooBroad, "opensmtpd/wide-networks.conf:5"),
            ],
            &["192.0.2.0/24", "198.51.0.0/16"],
        ),
    ];
    for case in &table {
        let r = audit(case.0);
        assert_case(&r, case);
        assert_eq!(r.files[0].kind, "smtpd.conf");
    }
    let open = audit("open-relay.conf");
    let f = &open.findings[0];
    assert!(
        f.finding.remediation.contains("OpenSMTPD"),
        "{}",
        f.finding.remediation
    );
    assert!(f.finding.evidence[0].ends_with("match from any for any action \"outbound\""));
    let deferring = audit("deferring.conf");
    assert!(
        deferring
            .notes
            .iter()
            .any(|n| n.contains("451 4.7.1 Try again later")),
        "{:?}",
        deferring.notes
    );
    let forged = audit("wide-networks.conf");
    assert!(forged.findings[0].finding.detail.contains("mail-from"));
}

#[test]
fn match_options_table() {
    // (rules, open relay?)
    let table = [
        ("match from any for any action \"r\"", true),
        ("match auth from any for any action \"r\"", false),
        ("match from auth for any action \"r\"", false),
        (
            "match from any for any reject\nmatch from any for any action \"r\"",
            false,
        ),
        ("match for any action \"r\"", false),
        ("match from any action \"r\"", false),
        ("match !from local for any action \"r\"", true),
        ("match from rdns for any action \"r\"", true),
        (
            "match from rdns \"mx.example.org\" for any action \"r\"",
            false,
        ),
        ("match from any tls for any action \"r\"", true),
        ("match from src 0.0.0.0/0 for any action \"r\"", true),
        ("match from any for domain \"*\" action \"r\"", true),
        ("match from any for any action \"local\"", false),
        ("m = \"any\"\nmatch from $m for any action \"r\"", true),
        // What stands before the rules: a listener demanding AUTH, filters.
        (
            "listen on 0.0.0.0 auth\nmatch from any for any action \"r\"",
            false,
        ),
        (
            "listen on 0.0.0.0 auth-optional\nmatch from any for any action \"r\"",
            true,
        ),
        (
            "listen on socket\nmatch from any for any action \"r\"",
            false,
        ),
        (
            "filter \"f\" phase rcpt-to match !src 192.0.2.1 reject \"550 no\"\n\
             listen on 0.0.0.0 filter \"f\"\nmatch from any for any action \"r\"",
            false,
        ),
        // Not attached to the listener: no effect.
        (
            "filter \"f\" phase rcpt-to match !src 192.0.2.1 reject \"550 no\"\n\
             listen on 0.0.0.0\nmatch from any for any action \"r\"",
            true,
        ),
        // Whether a stranger has a PTR record is its own affair.
        (
            "filter \"f\" phase connect match !rdns disconnect \"550 no\"\n\
             listen on 0.0.0.0 filter \"f\"\nmatch from any for any action \"r\"",
            true,
        ),
        (
            "filter \"f\" phase mail-from match !auth reject \"451 later\"\n\
             filter \"c\" chain { \"f\" }\nlisten on 0.0.0.0 filter \"c\"\n\
             match from any for any action \"r\"",
            false,
        ),
        // Two listeners, one without the filter: the stranger uses that one.
        (
            "filter \"f\" phase rcpt-to match !src 192.0.2.1 reject \"550 no\"\n\
             listen on 0.0.0.0 filter \"f\"\nlisten on :: port 587\n\
             match from any for any action \"r\"",
            true,
        ),
    ];
    for (rules, open) in table {
        let listens = rules.contains("listen on");
        let listen = if listens { "" } else { "listen on 0.0.0.0\n" };
        let text = format!("action \"r\" relay\naction \"local\" mbox\n{listen}{rules}\n");
        let r = run(&[Source::new("smtpd.conf", text)], MtaChoice::Auto, &|_| {
            Ok(None)
        })
        .unwrap();
        let got = r.verdict().is_some();
        assert_eq!(got, open, "{rules}: {:#?}", r.findings);
    }
}

#[test]
fn bad_smtpd_conf_names_the_line() {
    let table = [
        (
            "action \"r\" relay\nmatch from any for any\n",
            "smtpd.conf:2: \"match from any for any\": a match needs `action NAME` or `reject`",
        ),
        (
            "match from any for any action \"x\"\n",
            "smtpd.conf:1: \"match from any for any action \\\"x\\\"\": no `action \"x\"` is defined",
        ),
        (
            "listen on \"lo\n",
            "smtpd.conf:1: \"listen on \\\"lo\": unclosed quote",
        ),
        (
            "match from any sideways action \"r\"\n",
            "smtpd.conf:1: \"match from any sideways action \\\"r\\\"\": unknown match option \"sideways\"",
        ),
    ];
    for (text, want) in table {
        let e = run(
            &[Source::new("smtpd.conf", text)],
            MtaChoice::Opensmtpd,
            &|_| Ok(None),
        )
        .unwrap_err();
        assert_eq!(e, want);
    }
}
