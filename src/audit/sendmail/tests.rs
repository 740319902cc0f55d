//! Table tests of the Sendmail checks over .mc, .cf and access fixtures (tests/fixtures/audit/sendmail/).

use super::*;
use crate::audit::{MtaChoice, run};

type Expected = &'static [(FindingId, Option<usize>)];

fn findings(name: &str, text: &str) -> Vec<(FindingId, Option<usize>)> {
    let report = run(&[Source::new(name, text)], MtaChoice::Auto, &|_| Ok(None)).unwrap();
    let mut got: Vec<(FindingId, Option<usize>)> = report
        .findings
        .iter()
        .map(|f| (f.finding.id, f.line))
        .collect();
    got.sort();
    got
}

#[test]
fn mc_fixtures() {
    use FindingId::*;
    let table: [(&str, &str, Expected); 4] = [
        (
            // sendmail's own generic-linux.mc: every default applies.
            "generic-linux.mc",
            include_str!("../../../tests/fixtures/audit/sendmail/generic-linux.mc"),
            &[
                (BannerVersion, None),
                (VrfyEnabled, None),
                (NoRateLimits, None),
            ],
        ),
        (
            // Debian's sendmail.mc: rate control on, but needvrfyhelo does not stop VRFY.
            "debian-sendmail.mc",
            include_str!("../../../tests/fixtures/audit/sendmail/debian-sendmail.mc"),
            &[(BannerVersion, None), (VrfyEnabled, Some(37))],
        ),
        (
            "open-relay.mc",
            include_str!("../../../tests/fixtures/audit/sendmail/open-relay.mc"),
            &[
                (OpenRelay, Some(9)),
                (AcceptsUnresolvableDomains, Some(12)),
                (BannerVersion, Some(7)),
                (NoRateLimits, None),
            ],
        ),
        (
            "wide-trust.mc",
            include_str!("../../../tests/fixtures/audit/sendmail/wide-trust.mc"),
            &[
                // relay_mail_from (line 11) only enables From: RELAY entries in access.
                (OpenRelay, Some(10)),
                (AuthBeforeTls, Some(14)),
                (TrustedNetworksTooWide, Some(8)),
                (RelayDomainsTooBroad, Some(9)),
                (RelayDomainsTooBroad, Some(12)),
            ],
        ),
    ];
    for (name, text, want) in table {
        let mut want = want.to_vec();
        want.sort();
        assert_eq!(findings(name, text), want, "{name}");
    }
}

#[test]
fn relay_feature_findings_quote_the_line() {
    let r = run(
        &[Source::new(
            "open-relay.mc",
            include_str!("../../../tests/fixtures/audit/sendmail/open-relay.mc"),
        )],
        MtaChoice::Auto,
        &|_| Ok(None),
    )
    .unwrap();
    let open = r
        .findings
        .iter()
        .find(|f| f.finding.id == FindingId::OpenRelay)
        .unwrap();
    assert_eq!(open.location, "open-relay.mc:9");
    assert_eq!(open.setting, "FEATURE(promiscuous_relay)");
    assert_eq!(
        open.finding.evidence,
        vec!["open-relay.mc:9: FEATURE(`promiscuous_relay')dnl"]
    );
    assert!(
        open.finding.remediation.contains("relay_hosts_only"),
        "{}",
        open.finding.remediation
    );
    assert_eq!(r.verdict(), Some(crate::assess::Verdict::OpenRelay));
}

#[test]
fn access_with_the_mc_that_enables_relay_mail_from() {
    use FindingId::*;
    let access = Source::new(
        "access",
        include_str!("../../../tests/fixtures/audit/sendmail/access"),
    );
    let plain = Source::new(
        "generic-linux.mc",
        include_str!("../../../tests/fixtures/audit/sendmail/generic-linux.mc"),
    );
    let relay_from = Source::new(
        "wide-trust.mc",
        include_str!("../../../tests/fixtures/audit/sendmail/wide-trust.mc"),
    );
    let access_ids = |mc: &Source| -> Vec<(FindingId, Option<usize>)> {
        let r = run(&[mc.clone(), access.clone()], MtaChoice::Sendmail, &|_| {
            Ok(None)
        })
        .unwrap();
        r.findings
            .iter()
            .filter(|f| f.file == "access")
            .map(|f| (f.finding.id, f.line))
            .collect()
    };
    assert_eq!(
        access_ids(&plain),
        vec![
            (TrustedNetworksTooWide, Some(16)),
            (RelayDomainsTooBroad, Some(17))
        ]
    );
    assert_eq!(
        access_ids(&relay_from),
        vec![
            (OpenRelay, Some(18)),
            (TrustedNetworksTooWide, Some(16)),
            (RelayDomainsTooBroad, Some(17))
        ]
    );
}

#[test]
fn cf_options_rules_and_classes() {
    use FindingId::*;
    let closed = "V10/Berkeley\nO PrivacyOptions=authwarnings,goaway\n\
                  O SmtpGreetingMessage=$j ESMTP\nO ConnectionRateThrottle=5\nCRexample.com\n\
                  Scheck_rcpt\nR$*\t$#error $@ 5.7.1 $: \"550 Relaying denied\"\n";
    assert!(
        findings("sendmail.cf", closed).is_empty(),
        "{:?}",
        findings("sendmail.cf", closed)
    );
    let open = "V10/Berkeley\nO PrivacyOptions=authwarnings\nO AuthMechanisms=LOGIN PLAIN\n\
                CRcom example.org\nScheck_rcpt\nR$*\t$: $1\n";
    let mut want = vec![
        (OpenRelay, Some(5)),
        (AuthBeforeTls, Some(3)),
        (RelayDomainsTooBroad, Some(4)),
        (BannerVersion, None),
        (VrfyEnabled, Some(2)),
        (NoRateLimits, None),
    ];
    want.sort();
    assert_eq!(findings("sendmail.cf", open), want);
}

#[test]
fn a_compiled_mc_is_judged_by_its_rules_placed_at_its_own_lines() {
    use crate::audit::sendmail::compile::Compiled;
    use crate::audit::{Env, run_in};
    let mc = Source::new(
        "x.mc",
        "divert(0)dnl\nFEATURE(`relay_entire_domain')dnl\nRELAY_DOMAIN(`198.51 example.org')dnl\n",
    );
    // What m4 writes for those two lines, cut down to the rules that matter.
    let cf = "C{R}198.51 example.org\nScheck_rcpt\nR$*\t\t\t$#error $@ 5.7.1 $: \"550 Relaying denied\"\n\
              SRcpt_ok\nR$*\t\t\t$: $>ParseRecipient $1\nR$+ < @ $* $=m >\t$@ RELAY\n\
              SRelay_ok\nR127.0.0.1\t\t$@ RELAY\t\toriginated locally\n";
    let compile = |_: &Source| Compiled::Cf {
        text: cf.into(),
        how: "a test compiler".into(),
        warnings: Vec::new(),
    };
    let env = Env {
        read: &|_| Ok(None),
        compile_mc: &compile,
    };
    let r = run_in(std::slice::from_ref(&mc), MtaChoice::Auto, &env).unwrap();
    let got: Vec<(FindingId, &str)> = r
        .findings
        .iter()
        .filter(|f| f.setting != "confPRIVACY_FLAGS" && f.setting != "confSMTP_LOGIN_MSG")
        .filter(|f| f.finding.id != FindingId::NoRateLimits)
        .map(|f| (f.finding.id, f.location.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (FindingId::TrustedNetworksTooWide, "x.mc:2"),
            (FindingId::TrustedNetworksTooWide, "x.mc:3"),
        ]
    );
    let trusted: Vec<(&str, &str)> = r
        .trusted
        .iter()
        .map(|t| (t.network.as_str(), t.location.as_str()))
        .collect();
    assert_eq!(
        trusted,
        vec![
            ("127.0.0.1/32", "x.mc (compiled):8"),
            ("198.51.0.0/16", "x.mc:3")
        ]
    );
    assert!(
        r.notes
            .contains(&"x.mc: compiled with a test compiler".to_string())
    );
    // Without a compiler the .mc is read by its calls, and the note says so.
    let r = run(&[mc], MtaChoice::Auto, &|_| Ok(None)).unwrap();
    assert!(
        r.notes.iter().any(|n| n.contains("not compiled")),
        "{:?}",
        r.notes
    );
}
