//! Table tests of the Exim checks over the fixtures in tests/fixtures/audit/exim/: each configuration's findings by id and file:line, the networks it trusts, and the notes that say what was assumed.

use std::path::Path;

use crate::assess::FindingId;
use crate::audit::testing::{Case, assert_case, fixture, read_fixture};
use crate::audit::{AuditReport, MtaChoice, Source, run};

/// Reads a fixture by its path under the exim folder (and `.include`d files through it).
fn read(path: &Path) -> Result<Option<String>, String> {
    read_fixture("exim", path)
}

fn audit(files: &[&str]) -> AuditReport {
    let sources: Vec<Source> = files
        .iter()
        .map(|f| {
            Source::new(
                format!("exim/{f}"),
                fixture("exim", &Path::new("exim").join(f)),
            )
        })
        .collect();
    run(&sources, MtaChoice::Auto, &read).unwrap()
}

#[test]
fn configure_files() {
    use FindingId::*;
    let table: [Case; 7] = [
        ("closed.conf", &[], &["192.0.2.0/24"]),
        (
            "open-relay.conf",
            &[(OpenRelay, "exim/open-relay.conf:4")],
            &["0.0.0.0/0"],
        ),
        (
            "accept-all.conf",
            &[
                (OpenRelay, "exim/accept-all.conf:12"),
                (AuthBeforeTls, "exim/accept-all.conf:19"),
                (BannerVersion, "exim/accept-all.conf (default)"),
                (NoRateLimits, "exim/accept-all.conf (default)"),
            ],
            &["127.0.0.1/32", "::1/128"],
        ),
        ("auth-required.conf", &[], &["192.0.2.0/24"]),
        (
            "deferring.conf",
            &[(BannerVersion, "exim/deferring.conf (default)")],
            &["192.0.2.0/24"],
        ),
        (
            "starttls-required.conf",
            &[(BannerVersion, "exim/starttls-required.conf (default)")],
            &["192.0.2.0/24"],
        ),
        (
            "split/exim4.conf",
            &[
                (TrustedNetworksTooWide, "exim/split/macros.conf:2"),
                (RelayDomainsTooBroad, "exim/split/macros.conf:3"),
                (BannerVersion, "exim/split/exim4.conf (default)"),
                (NoRateLimits, "exim/split/exim4.conf (default)"),
                (VrfyEnabled, "exim/split/exim4.conf:8"),
            ],
            &["192.0.2.0/24", "198.51.0.0/16"],
        ),
    ];
    for case in &table {
        let r = audit(&[case.0]);
        assert_case(&r, case);
        assert_eq!(r.files[0].kind, "configure", "{}", case.0);
    }
}

#[test]
fn open_relay_names_the_culprit_and_quotes_it() {
    let r = audit(&["open-relay.conf"]);
    let f = &r.findings[0];
    assert_eq!(f.setting, "MAIN_RELAY_NETS");
    assert!(
        f.finding.detail.contains("`0.0.0.0/0`"),
        "{}",
        f.finding.detail
    );
    assert!(
        f.finding.evidence[0].ends_with("MAIN_RELAY_NETS = <; 0.0.0.0/0 ; ::/0"),
        "{:?}",
        f.finding.evidence
    );
    assert!(f.finding.remediation.contains("relay_from_hosts"));
    assert_eq!(f.mta, crate::assess::Mta::Exim);
    let stranger = "203.0.113.9".parse().unwrap();
    assert!(r.trusts(stranger));
    assert!(!audit(&["closed.conf"]).trusts(stranger));
}

#[test]
fn debian_update_exim4_conf_conf_variants() {
    use FindingId::*;
    // Alone, without exim4.conf.template beside it: Debian's stock policy, noted.
    let table: [Case; 5] = [
        ("debian-internet", &[], &["127.0.0.1/32", "::1/128"]),
        (
            "debian-open",
            &[(OpenRelay, "exim/debian-open/update-exim4.conf.conf:12")],
            // The walk stops at the item that matches everyone.
            &["0.0.0.0/0"],
        ),
        (
            "debian-smarthost",
            &[(
                TrustedNetworksTooWide,
                "exim/debian-smarthost/update-exim4.conf.conf:12",
            )],
            &["127.0.0.1/32", "192.0.2.0/24", "2001:db8::/32", "::1/128"],
        ),
        ("debian-local", &[], &["127.0.0.1/32", "::1/128"]),
        // `none`: no dc_ value reaches the configuration; MAIN_RELAY_NETS stays a word.
        ("debian-none", &[], &[]),
    ];
    for case in &table {
        let dir = case.0;
        let mut r = audit(&[&format!("{dir}/update-exim4.conf.conf")]);
        // Debian's stock policy has no banner or rate settings: only its relay findings count.
        r.findings
            .retain(|f| !matches!(f.finding.id, BannerVersion | NoRateLimits));
        assert_case(&r, case);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("Debian's stock acl_check_rcpt")),
            "{dir}: {:?}",
            r.notes
        );
        assert_eq!(r.files[0].kind, "update-exim4.conf.conf");
    }
    let local = audit(&["debian-local/update-exim4.conf.conf"]);
    assert!(local.trusts("127.0.0.1".parse().unwrap()));
    let none = audit(&["debian-none/update-exim4.conf.conf"]);
    assert!(
        none.notes.iter().any(|n| n.contains("substitutes none")),
        "{:?}",
        none.notes
    );
    let open = audit(&["debian-open/update-exim4.conf.conf"]);
    assert_eq!(open.findings[0].setting, "dc_relay_nets");
}

#[test]
fn debconf_values_reach_a_template_given_beside_it() {
    let template = "domainlist local_domains = MAIN_LOCAL_DOMAINS\n\
                    domainlist relay_to_domains = MAIN_RELAY_TO_DOMAINS\n\
                    hostlist relay_from_hosts = MAIN_RELAY_NETS\nacl_smtp_rcpt = rcpt\n\
                    begin acl\nrcpt:\n  accept hosts = +relay_from_hosts\n  require domains = +local_domains : +relay_to_domains\n  accept\n";
    let ue4cc = "dc_eximconfig_configtype='internet'\ndc_relay_domains='*'\ndc_relay_nets=''\n";
    let sources = [
        Source::new("etc/exim4/update-exim4.conf.conf", ue4cc),
        Source::new("etc/exim4/exim4.conf.template", template),
    ];
    let r = run(&sources, MtaChoice::Auto, &|_| Ok(None)).unwrap();
    let open: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.finding.id == FindingId::OpenRelay)
        .map(|f| f.location.as_str())
        .collect();
    assert_eq!(open, ["etc/exim4/update-exim4.conf.conf:2"]);
    // The same template found beside the debconf file by name.
    let beside = |p: &Path| {
        Ok((p == Path::new("etc/exim4/exim4.conf.template")).then(|| template.to_string()))
    };
    let r = run(&sources[..1], MtaChoice::Auto, &beside).unwrap();
    assert!(
        r.findings
            .iter()
            .any(|f| f.finding.id == FindingId::OpenRelay)
    );
    assert!(r.notes.is_empty(), "{:?}", r.notes);
}

#[test]
fn bad_exim_input_names_the_line() {
    let r = run(
        &[Source::new(
            "exim.conf",
            "acl_smtp_rcpt = a\nbegin acl\na:\n  accept\n  what is this\n",
        )],
        MtaChoice::Exim,
        &|_| Ok(None),
    );
    assert_eq!(
        r.unwrap_err(),
        "exim.conf:5: \"what is this\": expected `condition = value`"
    );
}

#[test]
fn a_star_in_relay_from_hosts_trusts_every_address() {
    let text = "hostlist relay_from_hosts = *\nacl_smtp_rcpt = rcpt\nbegin acl\nrcpt:\n  accept hosts = +relay_from_hosts\n";
    let r = run(&[Source::new("exim.conf", text)], MtaChoice::Auto, &|_| {
        Ok(None)
    })
    .unwrap();
    let nets: Vec<(&str, &str)> = r
        .trusted
        .iter()
        .map(|t| (t.network.as_str(), t.setting.as_str()))
        .collect();
    assert_eq!(
        nets,
        [
            ("0.0.0.0/0", "hostlist relay_from_hosts"),
            ("::/0", "hostlist relay_from_hosts")
        ]
    );
    assert!(r.trusts("127.0.0.1".parse().unwrap()));
    assert_eq!(r.findings[0].location, "exim.conf:1");
}
