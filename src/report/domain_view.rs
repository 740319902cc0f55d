//! How a mail domain reads in the HTML and Markdown reports: its route, its mail hosts with each endpoint's result, and its SPF, DMARC, MTA-STS, TLS-RPT and DKIM in a few words. Pure; the text may hold what DNS answered, so each report escapes it.

use crate::dns::dkim::Dkim;
use crate::dns::policy::{Dmarc, Presence, Spf};

use super::domains::{DomainEntry, HostResult};
use super::overview::count;
use crate::assess::domain::DaneResult;

/// The route, and why when DNS failed: "mx", "null-mx: accepts no mail",
/// "servfail: SERVFAIL from 127.0.0.1:53".
pub fn route(e: &DomainEntry) -> String {
    let name = e.route.as_str();
    match (&e.route_error, e.route.as_str()) {
        (Some(why), _) if !why.is_empty() => format!("{name}: {why}"),
        (_, "null-mx") => format!("{name}: accepts no mail"),
        _ => name.to_string(),
    }
}

/// One line per mail host, by preference as DNS gave them: "10 mx1.example.com:
/// 192.0.2.1:25 relay-denied, 192.0.2.1:587 auth-required", or the host's error.
pub fn mail_hosts(e: &DomainEntry) -> Vec<String> {
    e.mx.iter()
        .map(|h| {
            let line = mail_host(h);
            match e.dane.iter().find(|d| d.host == h.host) {
                Some(d) => format!("{line}; DANE {}", dane(d)),
                None => line,
            }
        })
        .collect()
}

/// A host's TLSA records in words: "match (DNSSEC)", "no match (not DNSSEC-validated:
/// protects nothing)", "not checked (no certificate)", "lookup failed: ...".
pub fn dane(d: &DaneResult) -> String {
    if let Some(why) = &d.lookup_error {
        return format!("lookup failed: {why}");
    }
    let result = match d.matched {
        Some(true) => "match",
        Some(false) => "no match",
        None => "not checked (no usable record or no certificate)",
    };
    let dnssec = if d.authenticated {
        "DNSSEC"
    } else {
        "not DNSSEC-validated: protects nothing"
    };
    format!(
        "{result} ({dnssec}) of {}",
        count(d.records.len() as u64, "TLSA record")
    )
}

/// MTA-STS in words: the TXT record, then the policy when one was fetched: "present;
/// policy enforce, mx mx1.example.com mx2.example.com, max_age 86400", "present; no
/// policy: status 404 ...", "missing".
pub fn mta_sts(e: &DomainEntry) -> String {
    let txt = presence(&e.mta_sts);
    let Some(fetch) = &e.mta_sts_policy else {
        return txt;
    };
    let policy = match (&fetch.policy, &fetch.error) {
        (Some(p), _) if p.valid() => format!(
            "policy {}, mx {}, max_age {}",
            p.mode.map_or("?", |m| m.as_str()),
            if p.mx.is_empty() {
                "none".to_string()
            } else {
                p.mx.join(" ")
            },
            p.max_age.unwrap_or_default()
        ),
        (Some(p), _) => format!("policy invalid: {}", p.problems.join("; ")),
        (None, Some(why)) => format!("no policy: {why}"),
        (None, None) => "no policy".to_string(),
    };
    format!("{txt}; {policy}")
}

fn mail_host(h: &HostResult) -> String {
    let name = match h.preference {
        Some(p) => format!("{p} {}", h.host),
        None => h.host.clone(),
    };
    let endpoints: Vec<String> = h
        .addresses
        .iter()
        .flat_map(|a| {
            a.endpoints.iter().map(move |ep| {
                format!(
                    "{} {}",
                    std::net::SocketAddr::new(a.ip, ep.port),
                    ep.result()
                )
            })
        })
        .collect();
    match (&h.error, endpoints.is_empty()) {
        (Some(why), _) => format!("{name}: {why}"),
        (None, true) => format!("{name}: no address"),
        (None, false) => format!("{name}: {}", endpoints.join(", ")),
    }
}

/// What the reports say once about DKIM: selectors cannot be listed, only guessed.
pub const DKIM_GUESSED: &str = "DKIM keys were looked for under guessed selectors (a built-in list of common ones, or --dkim-selectors): no key found is not proof that a domain does not sign.";

/// SPF in words: "-all (fail), 2 DNS lookups", "-all (fail), 14 DNS lookups with
/// includes", "missing", "invalid: ...", "lookup failed: ...".
pub fn spf(s: &Spf) -> String {
    if let Some(why) = &s.lookup_error {
        return format!("lookup failed: {why}");
    }
    if !s.present {
        return "missing".into();
    }
    let ending = match (s.all, &s.redirect) {
        (Some(q), _) => format!("{q}all ({})", super::domains::spf_result(q)),
        (None, Some(to)) => format!("redirect={to}"),
        (None, None) => "no all".into(),
    };
    let mut lookups = count(u64::from(s.total_lookups()), "DNS lookup");
    if s.tree.chain.len() > 1 {
        lookups.push_str(" with includes");
    }
    if s.valid {
        format!("{ending}, {lookups}")
    } else {
        format!("invalid: {}; {ending}, {lookups}", s.problems.join("; "))
    }
}

/// DMARC in words: "p=reject", "p=none, sp=reject, pct=50, rua mailto:d@example.com",
/// "missing", "invalid: ...", "lookup failed: ...".
pub fn dmarc(d: &Dmarc) -> String {
    if let Some(why) = &d.lookup_error {
        return format!("lookup failed: {why}");
    }
    if !d.present {
        return "missing".into();
    }
    if !d.valid {
        return format!("invalid: {}", d.problems.join("; "));
    }
    let mut parts = vec![format!("p={}", d.p.as_deref().unwrap_or("?"))];
    if let Some(sp) = &d.sp {
        parts.push(format!("sp={sp}"));
    }
    if let Some(pct) = d.pct {
        parts.push(format!("pct={pct}"));
    }
    if !d.rua.is_empty() {
        parts.push(format!("rua {}", d.rua.join(" ")));
    }
    let unauthorized: Vec<&str> = d
        .report_authorizations
        .iter()
        .filter(|a| !a.authorized && a.lookup_error.is_none())
        .map(|a| a.destination.as_str())
        .collect();
    if !unauthorized.is_empty() {
        parts.push(format!("unauthorised {}", unauthorized.join(" ")));
    }
    if !d.unknown_tags.is_empty() {
        parts.push(format!("unknown {}", d.unknown_tags.join(" ")));
    }
    parts.join(", ")
}

/// DKIM in words: "s1 rsa 1024, k1 ed25519 (of 14 guessed selectors)", "s1 revoked",
/// "none found (14 guessed selectors)", "none published (_domainkey: NXDOMAIN)", "not
/// looked up".
pub fn dkim(d: &Dkim) -> String {
    if d.domainkey_nxdomain {
        return "none published (_domainkey: NXDOMAIN)".into();
    }
    if d.selectors_tried == 0 {
        return "not looked up".into();
    }
    let guessed = count(d.selectors_tried as u64, "guessed selector");
    if d.keys.is_empty() {
        return format!("none found ({guessed})");
    }
    let keys: Vec<String> = d
        .keys
        .iter()
        .map(|k| {
            let mut words = vec![k.selector.clone()];
            match (k.revoked, k.bits) {
                (true, _) => words.push("revoked".into()),
                (false, Some(bits)) => words.push(format!("{} {bits}", k.key_type)),
                (false, None) => words.push(k.key_type.clone()),
            }
            if k.testing {
                words.push("testing".into());
            }
            if !k.problems.is_empty() {
                words.push("invalid".into());
            }
            words.join(" ")
        })
        .collect();
    format!("{} (of {guessed})", keys.join(", "))
}

/// MTA-STS or TLS-RPT in words: "present", "missing", "lookup failed: ...".
pub fn presence(p: &Presence) -> String {
    match (&p.lookup_error, p.present) {
        (Some(why), _) => format!("lookup failed: {why}"),
        (None, true) => "present".into(),
        (None, false) => "missing".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::Verdict;
    use crate::dns::MailRoute;
    use crate::dns::policy::{parse_dmarc, parse_spf};
    use crate::probe::Status;
    use crate::report::domains::{AddressResult, EndpointResult};

    fn entry(route: MailRoute, route_error: Option<&str>, mx: Vec<HostResult>) -> DomainEntry {
        DomainEntry {
            domain: "d.example".into(),
            route,
            route_error: route_error.map(String::from),
            accepts_mail: true,
            mx,
            worst_verdict: None,
            spf: Spf::default(),
            dmarc: Dmarc::default(),
            mta_sts: Presence::default(),
            tls_rpt: Presence::default(),
            dkim: Dkim::default(),
            mta_sts_policy: None,
            dane: vec![],
            findings: vec![],
        }
    }

    fn host(
        name: &str,
        pref: Option<u16>,
        ends: &[(u16, Option<Status>, Option<Verdict>)],
    ) -> HostResult {
        HostResult {
            host: name.into(),
            preference: pref,
            error: None,
            cname: None,
            ip_literal: false,
            addresses: vec![AddressResult {
                ip: "192.0.2.1".parse().unwrap(),
                ptr: vec![],
                ptr_error: None,
                fcrdns: false,
                greeting_matches_ptr: None,
                endpoints: ends
                    .iter()
                    .map(|&(port, status, verdict)| EndpointResult {
                        port,
                        status,
                        verdict,
                        server_name: None,
                        worst_severity: None,
                        certificate_valid: None,
                        certificates: vec![],
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn route_table() {
        let table = [
            (MailRoute::Mx, None, "mx"),
            (MailRoute::NullMx, None, "null-mx: accepts no mail"),
            (MailRoute::Servfail, Some("SERVFAIL"), "servfail: SERVFAIL"),
            (MailRoute::Nxdomain, Some(""), "nxdomain"),
        ];
        for (r, why, want) in table {
            assert_eq!(route(&entry(r, why, vec![])), want);
        }
    }

    #[test]
    fn mail_hosts_table() {
        let mut failed = host("mx2.d.example", Some(20), &[]);
        failed.addresses.clear();
        failed.error = Some("nxdomain".into());
        let mut bare = host("d.example", None, &[]);
        bare.addresses.clear();
        let e = entry(
            MailRoute::Mx,
            None,
            vec![
                host(
                    "mx1.d.example",
                    Some(10),
                    &[
                        (25, Some(Status::Completed), Some(Verdict::OpenRelay)),
                        (587, Some(Status::Refused), None),
                        (465, None, None),
                    ],
                ),
                failed,
                bare,
            ],
        );
        assert_eq!(
            mail_hosts(&e),
            [
                "10 mx1.d.example: 192.0.2.1:25 open-relay, 192.0.2.1:587 refused, 192.0.2.1:465 no-answer",
                "20 mx2.d.example: nxdomain",
                "d.example: no address",
            ]
        );
    }

    #[test]
    fn policy_words_table() {
        let failed = |why: &str| Spf {
            lookup_error: Some(why.into()),
            ..Spf::default()
        };
        let spf_table = [
            (parse_spf("v=spf1 mx -all"), "-all (fail), 1 DNS lookup"),
            (
                parse_spf("v=spf1 ip4:192.0.2.1 ~all"),
                "~all (softfail), 0 DNS lookups",
            ),
            (parse_spf("v=spf1 a mx"), "no all, 2 DNS lookups"),
            (
                parse_spf("v=spf1 redirect=_spf.example.com"),
                "redirect=_spf.example.com, 1 DNS lookup",
            ),
            (Spf::default(), "missing"),
            (failed("timeout"), "lookup failed: timeout"),
        ];
        for (s, want) in spf_table {
            assert_eq!(spf(&s), want, "{s:?}");
        }
        assert!(spf(&parse_spf("v=spf1 bogus -all")).starts_with("invalid: "));

        let dmarc_table = [
            (parse_dmarc("v=DMARC1; p=reject"), "p=reject"),
            (
                parse_dmarc("v=DMARC1; p=none; sp=reject; pct=50; rua=mailto:d@example.com"),
                "p=none, sp=reject, pct=50, rua mailto:d@example.com",
            ),
            (Dmarc::default(), "missing"),
        ];
        for (d, want) in dmarc_table {
            assert_eq!(dmarc(&d), want, "{d:?}");
        }
        assert!(dmarc(&parse_dmarc("v=DMARC1; p=maybe")).starts_with("invalid: "));

        let presence_table = [
            (Presence::default(), "missing"),
            (
                Presence {
                    present: true,
                    raw: Some("v=STSv1; id=1".into()),
                    lookup_error: None,
                },
                "present",
            ),
            (
                Presence {
                    lookup_error: Some("servfail".into()),
                    ..Presence::default()
                },
                "lookup failed: servfail",
            ),
        ];
        for (p, want) in presence_table {
            assert_eq!(presence(&p), want);
        }

        let mut dmarc_more = parse_dmarc("v=DMARC1; p=reject; rua=mailto:r@v.example; pcx=5");
        dmarc_more.report_authorizations = vec![crate::dns::policy::ReportAuthorization {
            destination: "v.example".into(),
            record: "d.example._report._dmarc.v.example".into(),
            authorized: false,
            lookup_error: None,
        }];
        assert_eq!(
            dmarc(&dmarc_more),
            "p=reject, rua mailto:r@v.example, unauthorised v.example, unknown pcx=5"
        );
        let mut tree = parse_spf("v=spf1 include:a.example -all");
        tree.tree.dns_lookups = 12;
        tree.tree.chain = vec![
            "d.example: 1 lookups".into(),
            "  include:a.example: 11 lookups".into(),
        ];
        assert_eq!(spf(&tree), "-all (fail), 12 DNS lookups with includes");
    }

    #[test]
    fn dkim_words_table() {
        use crate::dns::dkim::{dkim as read, parse_key};
        use relayscan_lab::dns::dkim_keys::RSA_1024;
        let mut keys = read(&[
            ("s1".into(), Ok(vec![format!("p={}", RSA_1024.trim())])),
            ("old".into(), Ok(vec!["v=DKIM1; p=".into()])),
            ("x".into(), Err(crate::dns::LookupError::NxDomain)),
        ]);
        assert_eq!(
            dkim(&keys),
            "s1 rsa 1024, old revoked (of 3 guessed selectors)"
        );
        keys.keys = vec![parse_key("t", "v=DKIM1; k=ed25519; t=y; p=AAAA")];
        assert_eq!(
            dkim(&keys),
            "t ed25519 testing invalid (of 3 guessed selectors)"
        );
        keys.keys.clear();
        assert_eq!(dkim(&keys), "none found (3 guessed selectors)");
        assert_eq!(dkim(&Dkim::default()), "not looked up");
        let absent = Dkim {
            domainkey_nxdomain: true,
            ..Dkim::default()
        };
        assert_eq!(dkim(&absent), "none published (_domainkey: NXDOMAIN)");
    }
}
