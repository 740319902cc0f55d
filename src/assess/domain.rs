//! What a mail domain as a whole (its DNS and its mail hosts) means, beside the per-endpoint assessments: the catalogue of domain findings (stable ids, severity, title, remediation) and the pure [`assess`] step, run once per domain when every endpoint of the scan is in.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::findings::Severity;
use super::verdict::Verdict;
use crate::dns::policy::SPF_DNS_LIMIT;
use crate::dns::{DomainResolution, MailRoute};

/// The catalogue of domain findings. The kebab-case name is the stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainFindingId {
    MxOpenRelay,
    SpfPassAll,
    NoMailHosts,
    DnsLookupFailed,
    SpfMissing,
    SpfInvalid,
    SpfNeutralAll,
    SpfTooManyLookups,
    DmarcMissing,
    DmarcInvalid,
    MxIpLiteral,
    DmarcPolicyNone,
    SpfNoAll,
    MxCname,
    NullMxMixed,
    PtrMissing,
    FcrdnsFailed,
    NullMx,
    DomainNxdomain,
    NoMailRecords,
    MtaStsMissing,
    TlsRptMissing,
    GreetingPtrMismatch,
}

impl DomainFindingId {
    pub const ALL: [DomainFindingId; 23] = [
        DomainFindingId::MxOpenRelay,
        DomainFindingId::SpfPassAll,
        DomainFindingId::NoMailHosts,
        DomainFindingId::DnsLookupFailed,
        DomainFindingId::SpfMissing,
        DomainFindingId::SpfInvalid,
        DomainFindingId::SpfNeutralAll,
        DomainFindingId::SpfTooManyLookups,
        DomainFindingId::DmarcMissing,
        DomainFindingId::DmarcInvalid,
        DomainFindingId::MxIpLiteral,
        DomainFindingId::DmarcPolicyNone,
        DomainFindingId::SpfNoAll,
        DomainFindingId::MxCname,
        DomainFindingId::NullMxMixed,
        DomainFindingId::PtrMissing,
        DomainFindingId::FcrdnsFailed,
        DomainFindingId::NullMx,
        DomainFindingId::DomainNxdomain,
        DomainFindingId::NoMailRecords,
        DomainFindingId::MtaStsMissing,
        DomainFindingId::TlsRptMissing,
        DomainFindingId::GreetingPtrMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        use DomainFindingId as D;
        match self {
            D::MxOpenRelay => "mx-open-relay",
            D::SpfPassAll => "spf-pass-all",
            D::NoMailHosts => "no-mail-hosts",
            D::DnsLookupFailed => "dns-lookup-failed",
            D::SpfMissing => "spf-missing",
            D::SpfInvalid => "spf-invalid",
            D::SpfNeutralAll => "spf-neutral-all",
            D::SpfTooManyLookups => "spf-too-many-lookups",
            D::DmarcMissing => "dmarc-missing",
            D::DmarcInvalid => "dmarc-invalid",
            D::MxIpLiteral => "mx-ip-literal",
            D::DmarcPolicyNone => "dmarc-policy-none",
            D::SpfNoAll => "spf-no-all",
            D::MxCname => "mx-cname",
            D::NullMxMixed => "null-mx-mixed",
            D::PtrMissing => "ptr-missing",
            D::FcrdnsFailed => "fcrdns-failed",
            D::NullMx => "null-mx",
            D::DomainNxdomain => "domain-nxdomain",
            D::NoMailRecords => "no-mail-records",
            D::MtaStsMissing => "mta-sts-missing",
            D::TlsRptMissing => "tls-rpt-missing",
            D::GreetingPtrMismatch => "greeting-ptr-mismatch",
        }
    }

    pub fn severity(self) -> Severity {
        use DomainFindingId as D;
        match self {
            D::MxOpenRelay => Severity::Critical,
            D::SpfPassAll | D::NoMailHosts => Severity::High,
            D::DnsLookupFailed
            | D::SpfMissing
            | D::SpfInvalid
            | D::SpfNeutralAll
            | D::SpfTooManyLookups
            | D::DmarcMissing
            | D::DmarcInvalid
            | D::MxIpLiteral => Severity::Medium,
            D::DmarcPolicyNone
            | D::SpfNoAll
            | D::MxCname
            | D::NullMxMixed
            | D::PtrMissing
            | D::FcrdnsFailed => Severity::Low,
            D::NullMx
            | D::DomainNxdomain
            | D::NoMailRecords
            | D::MtaStsMissing
            | D::TlsRptMissing
            | D::GreetingPtrMismatch => Severity::Info,
        }
    }

    pub fn title(self) -> &'static str {
        use DomainFindingId as D;
        match self {
            D::MxOpenRelay => "A mail host of the domain is an open relay",
            D::SpfPassAll => "SPF ends in +all: anyone may send as the domain",
            D::NoMailHosts => {
                "MX records present, but no mail host resolves: mail to the domain bounces"
            }
            D::DnsLookupFailed => "DNS lookup failed (SERVFAIL, timeout or refused)",
            D::SpfMissing => "No SPF record",
            D::SpfInvalid => "SPF record invalid (a permerror for receivers)",
            D::SpfNeutralAll => "SPF ends in ?all: no statement about other senders",
            D::SpfTooManyLookups => "SPF needs more than 10 DNS lookups (permerror)",
            D::DmarcMissing => "No DMARC record",
            D::DmarcInvalid => "DMARC record invalid",
            D::MxIpLiteral => "An MX record names an IP address instead of a host name",
            D::DmarcPolicyNone => "DMARC p=none: forged mail is reported, not refused",
            D::SpfNoAll => "SPF record without an all mechanism",
            D::MxCname => "An MX record points at an alias (CNAME)",
            D::NullMxMixed => "A null MX stands beside real MX records",
            D::PtrMissing => "A mail host address has no reverse DNS (PTR)",
            D::FcrdnsFailed => "A mail host's reverse DNS is not forward-confirmed",
            D::NullMx => "Null MX: the domain accepts no mail (RFC 7505)",
            D::DomainNxdomain => "The domain does not exist (NXDOMAIN)",
            D::NoMailRecords => "Neither MX nor address records: the domain receives no mail",
            D::MtaStsMissing => "No MTA-STS record (_mta-sts TXT)",
            D::TlsRptMissing => "No TLS-RPT record (_smtp._tls TXT)",
            D::GreetingPtrMismatch => "A mail host's greeting name is not its reverse DNS name",
        }
    }

    pub fn remediation(self) -> &'static str {
        use DomainFindingId as D;
        match self {
            D::MxOpenRelay => {
                "Close the relay on the mail host (see its host finding), then rescan the domain."
            }
            D::SpfPassAll => {
                "End the SPF record in -all (or ~all while testing) and list only your senders."
            }
            D::NoMailHosts => {
                "Give every MX host name an A or AAAA record, or publish a null MX (MX 0 .) if the domain takes no mail."
            }
            D::DnsLookupFailed => {
                "Check the domain's name servers: every one must answer authoritatively."
            }
            D::SpfMissing => {
                "Publish a TXT record \"v=spf1 mx -all\" (or your senders), or \"v=spf1 -all\" for a domain that sends no mail."
            }
            D::SpfInvalid => {
                "Fix the record so that it parses (one v=spf1 record, known mechanisms, valid addresses)."
            }
            D::SpfNeutralAll => "End the SPF record in -all or ~all.",
            D::SpfTooManyLookups => {
                "Flatten includes or use ip4:/ip6: so that evaluation needs at most 10 lookups."
            }
            D::DmarcMissing => {
                "Publish _dmarc TXT \"v=DMARC1; p=quarantine; rua=mailto:...\" and move to p=reject."
            }
            D::DmarcInvalid => {
                "Fix the record: v=DMARC1 first, a p= of none, quarantine or reject, pct 0-100."
            }
            D::MxIpLiteral => {
                "MX records must name a host (RFC 7505 §3); add an A record for a name and point the MX at it."
            }
            D::DmarcPolicyNone => {
                "Once reports show your own mail aligned, raise the policy to quarantine, then reject."
            }
            D::SpfNoAll => "End the SPF record with -all (or ~all) so that other senders fail.",
            D::MxCname => {
                "Point the MX at the canonical name (RFC 2181 §10.3 forbids aliases there)."
            }
            D::NullMxMixed => {
                "Publish either a null MX alone or real MX records, not both (RFC 7505 §3)."
            }
            D::PtrMissing => "Ask the address owner for a PTR record naming the mail host.",
            D::FcrdnsFailed => "Make the PTR name resolve back to the same address.",
            D::NullMx => "Nothing to do if the domain is meant to take no mail.",
            D::DomainNxdomain => "Remove the domain from the list, or register and configure it.",
            D::NoMailRecords => {
                "Publish MX records, or a null MX (MX 0 .) to say that the domain takes no mail."
            }
            D::MtaStsMissing => "Publish an MTA-STS policy (RFC 8461) so that senders require TLS.",
            D::TlsRptMissing => {
                "Publish _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:...\" to receive TLS failure reports."
            }
            D::GreetingPtrMismatch => {
                "Make the server greet with the name its address's PTR gives."
            }
        }
    }
}

impl fmt::Display for DomainFindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One domain finding, with the detail for this domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainFinding {
    pub id: DomainFindingId,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub remediation: String,
}

impl DomainFinding {
    pub fn new(id: DomainFindingId, detail: String) -> DomainFinding {
        DomainFinding {
            id,
            severity: id.severity(),
            title: id.title().to_string(),
            detail,
            remediation: id.remediation().to_string(),
        }
    }
}

/// What the scan saw at one mail-host address, for the domain's assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFacts {
    pub host: String,
    pub address: String,
    /// The verdicts of its endpoints that answered (one per port probed).
    pub verdicts: Vec<Verdict>,
    pub ptr_names: Vec<String>,
    pub ptr_error: Option<String>,
    pub fcrdns: bool,
    /// The greeting/EHLO name is among the PTR names (`None`: no name seen or no PTR).
    pub name_matches_ptr: Option<bool>,
}

/// What one domain means: the worst verdict among its mail hosts' endpoints, and its
/// findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainAssessment {
    pub worst_verdict: Option<Verdict>,
    /// Most severe first.
    pub findings: Vec<DomainFinding>,
}

/// Assesses one domain from its resolution and what the scan saw at each of its
/// mail-host addresses. Pure: the same facts give the same assessment.
pub fn assess(d: &DomainResolution, addresses: &[AddressFacts]) -> DomainAssessment {
    DomainAssessment {
        worst_verdict: worst(addresses.iter().flat_map(|a| a.verdicts.iter().copied())),
        findings: findings(d, addresses),
    }
}

/// The most worrying of `verdicts`, for a domain: open-relay, inconclusive, not-smtp,
/// not-tested, auth-required, relay-denied.
pub fn worst(verdicts: impl IntoIterator<Item = Verdict>) -> Option<Verdict> {
    verdicts.into_iter().max_by_key(|v| concern(*v))
}

/// How worrying a verdict is: a relay no one could prove closed (inconclusive) worries
/// more than a port that does not speak SMTP.
fn concern(v: Verdict) -> u8 {
    match v {
        Verdict::OpenRelay => 5,
        Verdict::Inconclusive => 4,
        Verdict::NotSmtp => 3,
        // A banner grab leaves relaying unknown, which worries more than a proven refusal.
        Verdict::NotTested => 2,
        Verdict::AuthRequired => 1,
        Verdict::RelayDenied => 0,
    }
}

/// The findings of one domain, most severe first.
pub fn findings(d: &DomainResolution, addresses: &[AddressFacts]) -> Vec<DomainFinding> {
    use DomainFindingId as D;
    let mut out = Vec::new();
    let mut add = |id, detail: String| out.push(DomainFinding::new(id, detail));
    let error = d.route_error.clone().unwrap_or_default();
    match d.route {
        MailRoute::NullMx => add(D::NullMx, format!("{} publishes MX 0 .", d.domain)),
        MailRoute::NoMailHosts => add(D::NoMailHosts, error),
        MailRoute::Nxdomain => add(D::DomainNxdomain, error),
        MailRoute::NoRecords => add(D::NoMailRecords, error),
        MailRoute::Servfail | MailRoute::Timeout | MailRoute::Error => {
            add(D::DnsLookupFailed, format!("MX of {}: {error}", d.domain))
        }
        MailRoute::Mx | MailRoute::ImplicitMx => {}
    }
    if d.null_mx_mixed {
        add(
            D::NullMxMixed,
            "MX 0 . next to other MX records; the others are used".into(),
        );
    }
    for h in &d.hosts {
        if h.ip_literal {
            add(D::MxIpLiteral, format!("MX {}", h.name));
        }
        if let Some(target) = &h.cname {
            add(
                D::MxCname,
                format!("MX {} is an alias for {target}", h.name),
            );
        }
    }
    // A domain that does not exist has no policy to audit.
    if d.route != MailRoute::Nxdomain {
        policy_findings(d, &mut add);
    }
    for a in addresses {
        if a.ptr_error.is_some() || (a.ptr_names.is_empty() && !a.fcrdns) {
            let why = a.ptr_error.as_deref().unwrap_or("no PTR");
            add(D::PtrMissing, format!("{} ({}): {why}", a.host, a.address));
        } else if !a.fcrdns {
            add(
                D::FcrdnsFailed,
                format!(
                    "{} PTR {} does not resolve back to it",
                    a.address,
                    a.ptr_names.join(", ")
                ),
            );
        }
    }
    out.extend(probed_findings(addresses));
    out.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.id));
    out
}

/// The findings that depend on what the probes saw (verdicts, greetings), with their
/// ids in [`PROBED_FINDINGS`]; every other domain finding comes from DNS alone.
fn probed_findings(addresses: &[AddressFacts]) -> Vec<DomainFinding> {
    use DomainFindingId as D;
    let mut out = Vec::new();
    let open: Vec<String> = addresses
        .iter()
        .filter(|a| a.verdicts.contains(&Verdict::OpenRelay))
        .map(|a| format!("{} ({})", a.host, a.address))
        .collect();
    if !open.is_empty() {
        out.push(DomainFinding::new(
            D::MxOpenRelay,
            format!("open relay: {}", open.join(", ")),
        ));
    }
    for a in addresses
        .iter()
        .filter(|a| a.name_matches_ptr == Some(false))
    {
        out.push(DomainFinding::new(
            D::GreetingPtrMismatch,
            format!(
                "{} greets with a name other than its PTR ({})",
                a.address,
                a.ptr_names.join(", ")
            ),
        ));
    }
    out
}

/// The ids [`probed_findings`] gives.
pub const PROBED_FINDINGS: [DomainFindingId; 2] = [
    DomainFindingId::MxOpenRelay,
    DomainFindingId::GreetingPtrMismatch,
];

/// A domain assessed again when its endpoints' results were joined from several
/// reports (shards of one scan, each of which probed some of its mail hosts): the DNS
/// findings as the reports gave them, the probed ones and the worst verdict drawn anew.
pub fn reassess(dns_assessed: &[DomainFinding], addresses: &[AddressFacts]) -> DomainAssessment {
    let mut findings: Vec<DomainFinding> = dns_assessed
        .iter()
        .filter(|f| !PROBED_FINDINGS.contains(&f.id))
        .cloned()
        .collect();
    findings.extend(probed_findings(addresses));
    findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.id));
    DomainAssessment {
        worst_verdict: worst(addresses.iter().flat_map(|a| a.verdicts.iter().copied())),
        findings,
    }
}

fn policy_findings(d: &DomainResolution, add: &mut impl FnMut(DomainFindingId, String)) {
    use DomainFindingId as D;
    let spf = &d.spf;
    let raw = |r: &Option<String>| r.clone().unwrap_or_default();
    if let Some(e) = &spf.lookup_error {
        add(D::DnsLookupFailed, format!("TXT of {}: {e}", d.domain));
    } else if !spf.present {
        add(
            D::SpfMissing,
            format!("no v=spf1 TXT record at {}", d.domain),
        );
    } else {
        if spf.dns_lookups > SPF_DNS_LIMIT {
            add(
                D::SpfTooManyLookups,
                format!("{} lookups in {:?}", spf.dns_lookups, raw(&spf.raw)),
            );
        }
        let other: Vec<&String> = spf
            .problems
            .iter()
            .filter(|p| !p.contains("§4.6.4"))
            .collect();
        if !other.is_empty() {
            add(
                D::SpfInvalid,
                other
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
        match spf.all {
            Some('+') => add(D::SpfPassAll, raw(&spf.raw)),
            Some('?') => add(D::SpfNeutralAll, raw(&spf.raw)),
            None if spf.redirect.is_none() => add(D::SpfNoAll, raw(&spf.raw)),
            _ => {}
        }
    }
    let dmarc = &d.dmarc;
    if let Some(e) = &dmarc.lookup_error {
        add(
            D::DnsLookupFailed,
            format!("TXT of _dmarc.{}: {e}", d.domain),
        );
    } else if !dmarc.present {
        add(
            D::DmarcMissing,
            format!("no v=DMARC1 TXT record at _dmarc.{}", d.domain),
        );
    } else if !dmarc.valid {
        add(D::DmarcInvalid, dmarc.problems.join("; "));
    } else if dmarc.p.as_deref() == Some("none") {
        add(D::DmarcPolicyNone, raw(&dmarc.raw));
    }
    // MTA-STS and TLS-RPT matter only for a domain that receives mail.
    if matches!(d.route, MailRoute::Mx | MailRoute::ImplicitMx) {
        if !d.mta_sts.present && d.mta_sts.lookup_error.is_none() {
            add(
                D::MtaStsMissing,
                format!("no v=STSv1 TXT record at _mta-sts.{}", d.domain),
            );
        }
        if !d.tls_rpt.present && d.tls_rpt.lookup_error.is_none() {
            add(
                D::TlsRptMissing,
                format!("no v=TLSRPTv1 TXT record at _smtp._tls.{}", d.domain),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::MailHost;
    use crate::dns::policy::Presence;
    use crate::dns::policy::{parse_dmarc, parse_spf};

    fn domain(route: MailRoute) -> DomainResolution {
        DomainResolution {
            domain: "example.com".into(),
            route,
            route_error: None,
            hosts: vec![MailHost {
                name: "mx.example.com".into(),
                preference: Some(10),
                addresses: vec!["192.0.2.1".parse().unwrap()],
                error: None,
                cname: None,
                ip_literal: false,
            }],
            null_mx_mixed: false,
            spf: parse_spf("v=spf1 mx -all"),
            dmarc: parse_dmarc("v=DMARC1; p=reject"),
            mta_sts: Presence {
                present: true,
                raw: Some("v=STSv1; id=1".into()),
                lookup_error: None,
            },
            tls_rpt: Presence {
                present: true,
                raw: Some("v=TLSRPTv1; rua=mailto:x@example.com".into()),
                lookup_error: None,
            },
        }
    }

    fn facts(verdict: Option<Verdict>, fcrdns: bool, matches: Option<bool>) -> AddressFacts {
        AddressFacts {
            host: "mx.example.com".into(),
            address: "192.0.2.1".into(),
            verdicts: verdict.into_iter().collect(),
            ptr_names: vec!["mx.example.com".into()],
            ptr_error: None,
            fcrdns,
            name_matches_ptr: matches,
        }
    }

    fn ids(found: &[DomainFinding]) -> Vec<&'static str> {
        found.iter().map(|f| f.id.as_str()).collect()
    }

    /// Joining shards re-derives the probed findings from the joined facts and keeps
    /// the DNS ones: the same as assessing the domain with every fact at once.
    #[test]
    fn reassessing_joined_facts_equals_assessing_them() {
        let mut d = domain(MailRoute::Mx);
        d.spf = parse_spf("v=spf1 +all");
        // (what one shard saw, what the joined report saw)
        let table = [
            (
                facts(None, true, None),
                facts(Some(Verdict::OpenRelay), true, Some(false)),
            ),
            (
                facts(Some(Verdict::OpenRelay), false, Some(false)),
                facts(Some(Verdict::RelayDenied), false, Some(true)),
            ),
            (facts(None, true, None), facts(None, true, None)),
        ];
        for (partial, joined) in table {
            let shard = assess(&d, std::slice::from_ref(&partial));
            let again = reassess(&shard.findings, std::slice::from_ref(&joined));
            assert_eq!(
                again,
                assess(&d, std::slice::from_ref(&joined)),
                "{partial:?} -> {joined:?}"
            );
        }
        // Every id the probes decide is listed, so none is kept stale from a shard.
        let probed = probed_findings(&[facts(Some(Verdict::OpenRelay), true, Some(false))]);
        let ids: Vec<DomainFindingId> = probed.iter().map(|f| f.id).collect();
        assert_eq!(ids, PROBED_FINDINGS);
    }

    #[test]
    fn a_clean_domain_has_none() {
        let d = domain(MailRoute::Mx);
        let a = assess(&d, &[facts(Some(Verdict::RelayDenied), true, Some(true))]);
        assert_eq!(a.worst_verdict, Some(Verdict::RelayDenied));
        assert!(a.findings.is_empty(), "{:?}", a.findings);
    }

    #[test]
    fn the_worst_verdict_is_the_most_worrying_of_every_endpoint() {
        use Verdict::*;
        // (each address's endpoint verdicts, the domain's worst)
        let table: [(&[&[Verdict]], Option<Verdict>); 7] = [
            (&[], None),
            (&[&[], &[]], None),
            (&[&[RelayDenied, AuthRequired]], Some(AuthRequired)),
            (&[&[AuthRequired], &[NotSmtp]], Some(NotSmtp)),
            (&[&[NotSmtp, Inconclusive]], Some(Inconclusive)),
            (
                &[&[RelayDenied], &[Inconclusive, OpenRelay]],
                Some(OpenRelay),
            ),
            (&[&[OpenRelay], &[RelayDenied]], Some(OpenRelay)),
        ];
        let d = domain(MailRoute::Mx);
        for (verdicts, want) in table {
            let addresses: Vec<AddressFacts> = verdicts
                .iter()
                .map(|v| AddressFacts {
                    verdicts: v.to_vec(),
                    ..facts(None, true, Some(true))
                })
                .collect();
            let a = assess(&d, &addresses);
            assert_eq!(a.worst_verdict, want, "{verdicts:?}");
            // An open relay on any port of any address is the domain's finding.
            let open = a
                .findings
                .iter()
                .any(|f| f.id == DomainFindingId::MxOpenRelay);
            assert_eq!(open, want == Some(OpenRelay), "{verdicts:?}");
        }
    }

    #[test]
    fn findings_by_table() {
        let base = || domain(MailRoute::Mx);
        let ok = || vec![facts(Some(Verdict::RelayDenied), true, Some(true))];
        let table: Vec<(DomainResolution, Vec<AddressFacts>, Vec<&str>)> = vec![
            (
                base(),
                vec![facts(Some(Verdict::OpenRelay), true, Some(true))],
                vec!["mx-open-relay"],
            ),
            (
                {
                    let mut d = base();
                    d.spf = parse_spf("v=spf1 +all");
                    d
                },
                ok(),
                vec!["spf-pass-all"],
            ),
            (
                {
                    let mut d = base();
                    d.spf = parse_spf("v=spf1 ?all");
                    d
                },
                ok(),
                vec!["spf-neutral-all"],
            ),
            (
                {
                    let mut d = base();
                    d.spf = parse_spf("v=spf1 mx");
                    d
                },
                ok(),
                vec!["spf-no-all"],
            ),
            (
                {
                    let mut d = base();
                    d.spf = parse_spf("v=spf1 redirect=_spf.example.com");
                    d
                },
                ok(),
                vec![],
            ),
            (
                {
                    let mut d = base();
                    d.spf = Default::default();
                    d
                },
                ok(),
                vec!["spf-missing"],
            ),
            (
                {
                    let mut d = base();
                    d.spf = parse_spf("v=spf1 bogus -all");
                    d
                },
                ok(),
                vec!["spf-invalid"],
            ),
            (
                {
                    let mut d = base();
                    d.spf = parse_spf(&format!("v=spf1 {}-all", "a ".repeat(11)));
                    d
                },
                ok(),
                vec!["spf-too-many-lookups"],
            ),
            (
                {
                    let mut d = base();
                    d.dmarc = parse_dmarc("v=DMARC1; p=none");
                    d
                },
                ok(),
                vec!["dmarc-policy-none"],
            ),
            (
                {
                    let mut d = base();
                    d.dmarc = Default::default();
                    d
                },
                ok(),
                vec!["dmarc-missing"],
            ),
            (
                {
                    let mut d = base();
                    d.dmarc = parse_dmarc("v=DMARC1; p=maybe");
                    d
                },
                ok(),
                vec!["dmarc-invalid"],
            ),
            (
                {
                    let mut d = base();
                    d.mta_sts = Default::default();
                    d.tls_rpt = Default::default();
                    d
                },
                ok(),
                vec!["mta-sts-missing", "tls-rpt-missing"],
            ),
            (
                base(),
                vec![facts(Some(Verdict::RelayDenied), false, Some(true))],
                vec!["fcrdns-failed"],
            ),
            (
                base(),
                vec![facts(Some(Verdict::RelayDenied), true, Some(false))],
                vec!["greeting-ptr-mismatch"],
            ),
            (
                base(),
                vec![AddressFacts {
                    ptr_names: vec![],
                    ptr_error: Some("nxdomain".into()),
                    ..facts(None, false, None)
                }],
                vec!["ptr-missing"],
            ),
            (
                {
                    let mut d = base();
                    d.route = MailRoute::NullMx;
                    d.hosts.clear();
                    d.mta_sts = Default::default();
                    d
                },
                vec![],
                vec!["null-mx"],
            ),
            (
                {
                    let mut d = base();
                    d.route = MailRoute::Nxdomain;
                    d.hosts.clear();
                    d.spf = Default::default();
                    d
                },
                vec![],
                vec!["domain-nxdomain"],
            ),
            (
                {
                    let mut d = base();
                    d.route = MailRoute::Timeout;
                    d.hosts.clear();
                    d
                },
                vec![],
                vec!["dns-lookup-failed"],
            ),
            (
                {
                    let mut d = base();
                    d.route = MailRoute::NoMailHosts;
                    d
                },
                vec![],
                vec!["no-mail-hosts"],
            ),
            (
                {
                    let mut d = base();
                    d.hosts[0].cname = Some("real.example.com".into());
                    d.hosts[0].ip_literal = true;
                    d
                },
                ok(),
                vec!["mx-ip-literal", "mx-cname"],
            ),
        ];
        for (d, addresses, want) in table {
            let got = findings(&d, &addresses);
            assert_eq!(ids(&got), want, "{d:?}");
        }
    }

    #[test]
    fn catalogue_is_complete_and_ordered() {
        let names: std::collections::HashSet<&str> =
            DomainFindingId::ALL.iter().map(|i| i.as_str()).collect();
        assert_eq!(names.len(), DomainFindingId::ALL.len());
        let sev: Vec<Severity> = DomainFindingId::ALL.iter().map(|i| i.severity()).collect();
        assert!(
            sev.windows(2).all(|w| w[0] >= w[1]),
            "ALL is most severe first"
        );
        for id in DomainFindingId::ALL {
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
            assert!(!id.title().is_empty() && !id.remediation().is_empty());
        }
    }
}
