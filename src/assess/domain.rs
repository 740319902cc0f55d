//! What a mail domain as a whole (its DNS and its mail hosts) means, beside the per-endpoint assessments: the catalogue of domain findings (stable ids, severity, title, remediation) and the pure [`assess`] step, run once per domain when every endpoint of the scan is in.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::findings::Severity;
use super::verdict::Verdict;
use crate::dns::dane::{HostTlsa, TlsaCheck, TlsaRecord, check as check_tlsa};
use crate::dns::dkim::{RSA_MINIMUM_BITS, RSA_RECOMMENDED_BITS};
use crate::dns::mta_sts::{StsMode, txt_id};
use crate::dns::policy::SPF_DNS_LIMIT;
use crate::dns::{DomainResolution, MailRoute};
use crate::smtp::tls::CertInfo;

/// The catalogue of domain findings. The kebab-case name is the stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainFindingId {
    MxOpenRelay,
    SpfPassAll,
    NoMailHosts,
    DkimWeakKey,
    DaneTlsaMismatch,
    MtaStsMxNotCovered,
    MtaStsMxCertInvalid,
    DnsLookupFailed,
    SpfMissing,
    SpfInvalid,
    SpfNeutralAll,
    SpfTooManyLookups,
    DmarcMissing,
    DmarcInvalid,
    MxIpLiteral,
    SpfTooManyVoidLookups,
    SpfIncludeLoop,
    SpfIncludeBroken,
    DkimShortKey,
    DkimInvalid,
    DaneTlsaUnauthenticated,
    MtaStsPolicyMissing,
    MtaStsPolicyInvalid,
    MtaStsTxtInvalid,
    DmarcPolicyNone,
    SpfNoAll,
    MxCname,
    NullMxMixed,
    PtrMissing,
    FcrdnsFailed,
    DmarcUnknownTag,
    DmarcReportUnauthorized,
    DkimTesting,
    MtaStsTesting,
    DaneTlsaUnusable,
    NullMx,
    DomainNxdomain,
    NoMailRecords,
    MtaStsMissing,
    TlsRptMissing,
    GreetingPtrMismatch,
    DkimRevoked,
    DkimNotFound,
    MtaStsModeNone,
}

impl DomainFindingId {
    pub const ALL: [DomainFindingId; 44] = [
        DomainFindingId::MxOpenRelay,
        DomainFindingId::SpfPassAll,
        DomainFindingId::NoMailHosts,
        DomainFindingId::DkimWeakKey,
        DomainFindingId::DaneTlsaMismatch,
        DomainFindingId::MtaStsMxNotCovered,
        DomainFindingId::MtaStsMxCertInvalid,
        DomainFindingId::DnsLookupFailed,
        DomainFindingId::SpfMissing,
        DomainFindingId::SpfInvalid,
        DomainFindingId::SpfNeutralAll,
        DomainFindingId::SpfTooManyLookups,
        DomainFindingId::DmarcMissing,
        DomainFindingId::DmarcInvalid,
        DomainFindingId::MxIpLiteral,
        DomainFindingId::SpfTooManyVoidLookups,
        DomainFindingId::SpfIncludeLoop,
        DomainFindingId::SpfIncludeBroken,
        DomainFindingId::DkimShortKey,
        DomainFindingId::DkimInvalid,
        DomainFindingId::DaneTlsaUnauthenticated,
        DomainFindingId::MtaStsPolicyMissing,
        DomainFindingId::MtaStsPolicyInvalid,
        DomainFindingId::MtaStsTxtInvalid,
        DomainFindingId::DmarcPolicyNone,
        DomainFindingId::SpfNoAll,
        DomainFindingId::MxCname,
        DomainFindingId::NullMxMixed,
        DomainFindingId::PtrMissing,
        DomainFindingId::FcrdnsFailed,
        DomainFindingId::DmarcUnknownTag,
        DomainFindingId::DmarcReportUnauthorized,
        DomainFindingId::DkimTesting,
        DomainFindingId::MtaStsTesting,
        DomainFindingId::DaneTlsaUnusable,
        DomainFindingId::NullMx,
        DomainFindingId::DomainNxdomain,
        DomainFindingId::NoMailRecords,
        DomainFindingId::MtaStsMissing,
        DomainFindingId::TlsRptMissing,
        DomainFindingId::GreetingPtrMismatch,
        DomainFindingId::DkimRevoked,
        DomainFindingId::DkimNotFound,
        DomainFindingId::MtaStsModeNone,
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
            D::DkimWeakKey => "dkim-weak-key",
            D::SpfTooManyVoidLookups => "spf-too-many-void-lookups",
            D::SpfIncludeLoop => "spf-include-loop",
            D::SpfIncludeBroken => "spf-include-broken",
            D::DkimShortKey => "dkim-short-key",
            D::DkimInvalid => "dkim-invalid",
            D::DmarcUnknownTag => "dmarc-unknown-tag",
            D::DmarcReportUnauthorized => "dmarc-report-unauthorized",
            D::DkimTesting => "dkim-testing",
            D::DkimRevoked => "dkim-revoked",
            D::DkimNotFound => "dkim-not-found",
            D::DaneTlsaMismatch => "dane-tlsa-mismatch",
            D::MtaStsMxNotCovered => "mta-sts-mx-not-covered",
            D::MtaStsMxCertInvalid => "mta-sts-mx-cert-invalid",
            D::DaneTlsaUnauthenticated => "dane-tlsa-unauthenticated",
            D::MtaStsPolicyMissing => "mta-sts-policy-missing",
            D::MtaStsPolicyInvalid => "mta-sts-policy-invalid",
            D::MtaStsTxtInvalid => "mta-sts-txt-invalid",
            D::MtaStsTesting => "mta-sts-testing",
            D::DaneTlsaUnusable => "dane-tlsa-unusable",
            D::MtaStsModeNone => "mta-sts-mode-none",
        }
    }

    pub fn severity(self) -> Severity {
        use DomainFindingId as D;
        match self {
            D::MxOpenRelay => Severity::Critical,
            D::SpfPassAll
            | D::NoMailHosts
            | D::DkimWeakKey
            | D::DaneTlsaMismatch
            | D::MtaStsMxNotCovered
            | D::MtaStsMxCertInvalid => Severity::High,
            D::DnsLookupFailed
            | D::SpfMissing
            | D::SpfInvalid
            | D::SpfNeutralAll
            | D::SpfTooManyLookups
            | D::DmarcMissing
            | D::DmarcInvalid
            | D::MxIpLiteral
            | D::SpfTooManyVoidLookups
            | D::SpfIncludeLoop
            | D::SpfIncludeBroken
            | D::DkimShortKey
            | D::DkimInvalid
            | D::DaneTlsaUnauthenticated
            | D::MtaStsPolicyMissing
            | D::MtaStsPolicyInvalid
            | D::MtaStsTxtInvalid => Severity::Medium,
            D::DmarcPolicyNone
            | D::SpfNoAll
            | D::MxCname
            | D::NullMxMixed
            | D::PtrMissing
            | D::FcrdnsFailed
            | D::DmarcUnknownTag
            | D::DmarcReportUnauthorized
            | D::DkimTesting
            | D::MtaStsTesting
            | D::DaneTlsaUnusable => Severity::Low,
            D::NullMx
            | D::DomainNxdomain
            | D::NoMailRecords
            | D::MtaStsMissing
            | D::TlsRptMissing
            | D::GreetingPtrMismatch
            | D::DkimRevoked
            | D::DkimNotFound
            | D::MtaStsModeNone => Severity::Info,
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
            D::DkimWeakKey => "DKIM RSA key under 1024 bits: signatures can be forged",
            D::SpfTooManyVoidLookups => {
                "SPF includes or redirects to more than 2 names without a record (permerror)"
            }
            D::SpfIncludeLoop => "SPF include or redirect loop (permerror)",
            D::SpfIncludeBroken => {
                "An SPF include or redirect target has no usable SPF record (permerror)"
            }
            D::DkimShortKey => "DKIM RSA key shorter than 2048 bits",
            D::DkimInvalid => "DKIM key record invalid: it verifies nothing",
            D::DmarcUnknownTag => "DMARC record with a tag RFC 7489 does not define",
            D::DmarcReportUnauthorized => {
                "DMARC reports go to another domain that has not authorised them"
            }
            D::DkimTesting => "DKIM key in testing mode (t=y)",
            D::DkimRevoked => "DKIM key revoked (empty p=)",
            D::DkimNotFound => {
                "No DKIM key found: none published (no _domainkey name), or none under the guessed selectors (not proof that the domain does not sign)"
            }
            D::DaneTlsaMismatch => {
                "A mail host's TLSA records match no certificate it presents: DANE senders defer its mail"
            }
            D::MtaStsMxNotCovered => "An MX host matches no mx pattern of the MTA-STS policy",
            D::MtaStsMxCertInvalid => {
                "Under MTA-STS, an MX host's certificate is not valid for its name"
            }
            D::DaneTlsaUnauthenticated => {
                "TLSA records without DNSSEC: the answer was not authenticated, so they protect nothing"
            }
            D::MtaStsPolicyMissing => "An MTA-STS TXT record, but no policy could be fetched",
            D::MtaStsPolicyInvalid => "The MTA-STS policy is invalid",
            D::MtaStsTxtInvalid => {
                "An MTA-STS policy is served, but the _mta-sts TXT record is not valid: senders never fetch it"
            }
            D::MtaStsTesting => "MTA-STS in testing mode: failures are reported, not enforced",
            D::DaneTlsaUnusable => "TLSA records that SMTP cannot use (usage 0/1 or unknown types)",
            D::MtaStsModeNone => "MTA-STS mode none: the policy asks nothing of senders",
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
            D::DkimWeakKey => {
                "Generate a 2048-bit RSA (or Ed25519) key, publish it under a new selector, sign with it, then revoke the old one (empty p=)."
            }
            D::SpfTooManyVoidLookups => {
                "Remove includes of names that publish no SPF record (RFC 7208 §4.6.4 allows 2 void lookups)."
            }
            D::SpfIncludeLoop => {
                "Break the loop: no record may include or redirect back to itself."
            }
            D::SpfIncludeBroken => {
                "Point include: and redirect= only at names that publish one v=spf1 record, or remove them."
            }
            D::DkimShortKey => {
                "Move to a 2048-bit RSA key (RFC 8301) under a new selector, then revoke the old one."
            }
            D::DkimInvalid => {
                "Republish the key record as v=DKIM1; k=rsa (or ed25519); p=<base64 public key>."
            }
            D::DmarcUnknownTag => {
                "Remove or correct the tag (receivers ignore unknown tags: a typo there is a setting lost)."
            }
            D::DmarcReportUnauthorized => {
                "Ask the report receiver to publish DOMAIN._report._dmarc.DEST TXT \"v=DMARC1\" (RFC 7489 §7.1), or send reports within your domain."
            }
            D::DkimTesting => {
                "Remove t=y once signing works: receivers treat failures of a testing key as unsigned mail."
            }
            D::DkimRevoked => {
                "Nothing to do if the selector is retired; remove the record when no mail signed with it is in transit."
            }
            D::DkimNotFound => {
                "If the domain sends mail, sign it with DKIM; if it does, rescan with --dkim-selectors naming your selectors."
            }
            D::DaneTlsaMismatch => {
                "Publish TLSA records for the certificate the host presents now (3 1 1 of its key is the usual choice), keeping the old ones until a rollover is done."
            }
            D::MtaStsMxNotCovered => {
                "Add an mx: line for the host to the policy (and bump the TXT id), or remove the MX record."
            }
            D::MtaStsMxCertInvalid => {
                "Give the host a certificate from a public CA that names it (SAN), with the full chain."
            }
            D::DaneTlsaUnauthenticated => {
                "Sign the zone with DNSSEC (and check that the resolver validates), or drop the TLSA records."
            }
            D::MtaStsPolicyMissing => {
                "Serve the policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (200, text/plain, a valid certificate), or remove the TXT record."
            }
            D::MtaStsPolicyInvalid => {
                "Fix the policy: version: STSv1, mode, one mx: line per MX, max_age up to 31557600."
            }
            D::MtaStsTxtInvalid => {
                "Publish _mta-sts TXT \"v=STSv1; id=...\" with an id of 1 to 32 letters and digits."
            }
            D::MtaStsTesting => {
                "Once TLS-RPT reports show every MX passing, switch the policy to mode: enforce."
            }
            D::DaneTlsaUnusable => {
                "Use usage 3 (DANE-EE) or 2 (DANE-TA) with selector 0/1 and matching type 0/1/2 (RFC 7672)."
            }
            D::MtaStsModeNone => "Nothing to do if the policy is being withdrawn on purpose.",
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
    /// Each chain its endpoints presented (leaf first), for DANE.
    pub certificates: Vec<Vec<CertInfo>>,
    /// The chain verifies and covers the host's name (MTA-STS); `None`: no certificate.
    pub certificate_valid: Option<bool>,
}

/// One mail host's TLSA records (`_25._tcp.HOST`) against the chain its endpoints
/// presented.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DaneResult {
    pub host: String,
    pub name: String,
    /// `3 1 1 HEX`, as in a zone file.
    pub records: Vec<String>,
    /// The resolver set the AD bit: the answer was DNSSEC-validated. A TLSA without it
    /// protects nothing.
    pub authenticated: bool,
    pub lookup_error: Option<String>,
    /// A usable record matched a captured chain; `None` without a usable record or a
    /// captured chain.
    pub matched: Option<bool>,
}

/// What one domain means: the worst verdict among its mail hosts' endpoints, and its
/// findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainAssessment {
    pub worst_verdict: Option<Verdict>,
    /// Most severe first.
    pub findings: Vec<DomainFinding>,
    /// Each mail host's TLSA records against its captured chains.
    pub dane: Vec<DaneResult>,
}

/// Assesses one domain from its resolution and what the scan saw at each of its
/// mail-host addresses. Pure: the same facts give the same assessment.
pub fn assess(d: &DomainResolution, addresses: &[AddressFacts]) -> DomainAssessment {
    DomainAssessment {
        worst_verdict: worst(addresses.iter().flat_map(|a| a.verdicts.iter().copied())),
        findings: findings(d, addresses),
        dane: dane_results(&d.tlsa, addresses),
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
    if matches!(d.route, MailRoute::Mx | MailRoute::ImplicitMx) {
        mta_sts_findings(d, addresses, &mut add);
        dane_findings(&d.tlsa, &dane_results(&d.tlsa, addresses), &mut add);
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

/// The ids that depend on what the probes saw (a verdict, a greeting, a captured
/// certificate chain), drawn again by [`reassess`]: [`probed_findings`], the DANE ones
/// (TLSA records against the chains) and the MTA-STS certificate check.
pub const PROBED_FINDINGS: [DomainFindingId; 6] = [
    DomainFindingId::MxOpenRelay,
    DomainFindingId::GreetingPtrMismatch,
    DomainFindingId::DaneTlsaMismatch,
    DomainFindingId::DaneTlsaUnauthenticated,
    DomainFindingId::DaneTlsaUnusable,
    DomainFindingId::MtaStsMxCertInvalid,
];

/// A domain assessed again when its endpoints' results were joined from several
/// reports (shards of one scan, each of which probed some of its mail hosts): the DNS
/// findings as the reports gave them; the probed ones, the DANE ones from `dane` (each
/// host's result from the report that probed it: a record keeps no certificate chain,
/// only what it matched), the MTA-STS certificate check and the worst verdict drawn anew.
pub fn reassess(
    dns_assessed: &[DomainFinding],
    addresses: &[AddressFacts],
    dane: Vec<DaneResult>,
    mta_sts_policy: Option<&crate::dns::mta_sts::StsFetch>,
) -> DomainAssessment {
    let mut findings: Vec<DomainFinding> = dns_assessed
        .iter()
        .filter(|f| !PROBED_FINDINGS.contains(&f.id))
        .cloned()
        .collect();
    findings.extend(probed_findings(addresses));
    let tlsa: Vec<HostTlsa> = dane.iter().map(DaneResult::host_tlsa).collect();
    let mut add = |id, detail| findings.push(DomainFinding::new(id, detail));
    dane_findings(&tlsa, &dane, &mut add);
    mta_sts_certificate_findings(mta_sts_policy, addresses, &mut add);
    findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.id));
    DomainAssessment {
        worst_verdict: worst(addresses.iter().flat_map(|a| a.verdicts.iter().copied())),
        findings,
        dane,
    }
}

impl DaneResult {
    /// The TLSA answer this result was drawn from, read back from its records'
    /// presentation form (a record that does not read back is left out).
    pub fn host_tlsa(&self) -> HostTlsa {
        HostTlsa {
            host: self.host.clone(),
            name: self.name.clone(),
            records: self
                .records
                .iter()
                .filter_map(|r| TlsaRecord::from_presentation(r))
                .collect(),
            authenticated: self.authenticated,
            lookup_error: self.lookup_error.clone(),
        }
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
        let tree = &spf.tree;
        // The chain without its indentation: a finding's detail is one line.
        let chain = || {
            let steps: Vec<&str> = tree.chain.iter().map(|l| l.trim()).collect();
            steps.join("; ")
        };
        if spf.total_lookups() > SPF_DNS_LIMIT {
            let detail = match tree.chain.len() {
                0 | 1 => format!("{} lookups in {:?}", spf.total_lookups(), raw(&spf.raw)),
                _ => format!("{} lookups across {}", spf.total_lookups(), chain()),
            };
            add(D::SpfTooManyLookups, detail);
        }
        if tree.over_void_limit() {
            add(
                D::SpfTooManyVoidLookups,
                format!("{} void lookups across {}", tree.void_lookups, chain()),
            );
        }
        if !tree.loops.is_empty() {
            add(D::SpfIncludeLoop, tree.loops.join("; "));
        }
        if !tree.problems.is_empty() {
            add(D::SpfIncludeBroken, tree.problems.join("; "));
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
    if !dmarc.unknown_tags.is_empty() {
        add(
            D::DmarcUnknownTag,
            format!("{} in {:?}", dmarc.unknown_tags.join(", "), raw(&dmarc.raw)),
        );
    }
    for auth in &dmarc.report_authorizations {
        match &auth.lookup_error {
            Some(e) => add(D::DnsLookupFailed, format!("TXT of {}: {e}", auth.record)),
            None if !auth.authorized => add(
                D::DmarcReportUnauthorized,
                format!(
                    "reports to {} but no v=DMARC1 TXT record at {}: receivers send it none",
                    auth.destination, auth.record
                ),
            ),
            None => {}
        }
    }
    dkim_findings(d, add);
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

fn dkim_findings(d: &DomainResolution, add: &mut impl FnMut(DomainFindingId, String)) {
    use DomainFindingId as D;
    let dkim = &d.dkim;
    for key in &dkim.keys {
        let at = crate::dns::dkim::key_name(&key.selector, &d.domain);
        if !key.problems.is_empty() {
            add(D::DkimInvalid, format!("{at}: {}", key.problems.join("; ")));
        }
        match key.bits {
            Some(bits) if bits < RSA_MINIMUM_BITS => {
                add(D::DkimWeakKey, format!("{at}: RSA {bits} bits"))
            }
            Some(bits) if bits < RSA_RECOMMENDED_BITS => {
                add(D::DkimShortKey, format!("{at}: RSA {bits} bits"))
            }
            _ => {}
        }
        if key.revoked {
            add(D::DkimRevoked, format!("{at}: p= is empty"));
        }
        if key.testing {
            add(D::DkimTesting, format!("{at}: t=y"));
        }
    }
    if !dkim.lookup_errors.is_empty() {
        add(
            D::DnsLookupFailed,
            format!(
                "DKIM selectors of {}: {}",
                d.domain,
                dkim.lookup_errors.join(", ")
            ),
        );
    }
    // Only a domain that takes mail is expected to send it, and so to sign.
    let receives = matches!(d.route, MailRoute::Mx | MailRoute::ImplicitMx);
    if receives && dkim.domainkey_nxdomain {
        add(
            D::DkimNotFound,
            format!(
                "_domainkey.{} does not exist (NXDOMAIN), so no DKIM key is published under any selector (RFC 8020: nothing exists below it)",
                d.domain
            ),
        );
    } else if receives
        && dkim.selectors_tried > 0
        && dkim.keys.is_empty()
        && dkim.lookup_errors.is_empty()
    {
        add(
            D::DkimNotFound,
            format!(
                "none of {} guessed selectors has a key at SELECTOR._domainkey.{}; selectors cannot be listed, so the domain may sign under another",
                dkim.selectors_tried, d.domain
            ),
        );
    }
}

/// MTA-STS (RFC 8461): the TXT record and the policy must both be there and valid; the
/// mode; every MX covered by an `mx` pattern, and (unless the mode is none) each MX's
/// captured certificate valid for its name.
fn mta_sts_findings(
    d: &DomainResolution,
    addresses: &[AddressFacts],
    add: &mut impl FnMut(DomainFindingId, String),
) {
    use DomainFindingId as D;
    let Some(fetch) = &d.mta_sts_policy else {
        return;
    };
    let Some(policy) = &fetch.policy else {
        let why = fetch.error.as_deref().unwrap_or("not fetched");
        add(D::MtaStsPolicyMissing, format!("{}: {why}", fetch.url));
        return;
    };
    if let Err(why) = txt_id(d.mta_sts.raw.as_deref().unwrap_or_default()) {
        add(
            D::MtaStsTxtInvalid,
            format!(
                "_mta-sts.{}: {why}; {} serves a policy",
                d.domain, fetch.url
            ),
        );
    }
    if !policy.valid() {
        add(D::MtaStsPolicyInvalid, policy.problems.join("; "));
    }
    match policy.mode {
        Some(StsMode::Testing) => add(D::MtaStsTesting, format!("{}: mode testing", fetch.url)),
        Some(StsMode::None) => add(D::MtaStsModeNone, format!("{}: mode none", fetch.url)),
        Some(StsMode::Enforce) | None => {}
    }
    if policy.mode == Some(StsMode::None) || policy.mode.is_none() {
        return;
    }
    let patterns = policy.mx.join(", ");
    for h in d.hosts.iter().filter(|h| !policy.covers(&h.name)) {
        add(
            D::MtaStsMxNotCovered,
            format!("MX {} matches none of mx: {patterns}", h.name),
        );
    }
    mta_sts_certificate_findings(Some(fetch), addresses, add);
}

/// Under an MTA-STS policy in force (enforce or testing), each covered MX address whose
/// captured certificate does not verify for its name. Probed: drawn again when shards'
/// copies of a domain are joined ([`reassess`]).
fn mta_sts_certificate_findings(
    fetch: Option<&crate::dns::mta_sts::StsFetch>,
    addresses: &[AddressFacts],
    add: &mut impl FnMut(DomainFindingId, String),
) {
    use DomainFindingId as D;
    let Some(policy) = fetch.and_then(|f| f.policy.as_ref()) else {
        return;
    };
    if !matches!(policy.mode, Some(StsMode::Enforce | StsMode::Testing)) {
        return;
    }
    for a in addresses {
        if policy.covers(&a.host) && a.certificate_valid == Some(false) {
            add(
                D::MtaStsMxCertInvalid,
                format!(
                    "{} ({}): the certificate does not verify for {}",
                    a.host, a.address, a.host
                ),
            );
        }
    }
}

/// Each mail host's TLSA records checked against every chain its addresses presented.
pub fn dane_results(tlsa: &[HostTlsa], addresses: &[AddressFacts]) -> Vec<DaneResult> {
    tlsa.iter()
        .filter(|t| published(t))
        .map(|t| {
            let chains: Vec<&Vec<CertInfo>> = addresses
                .iter()
                .filter(|a| a.host == t.host)
                .flat_map(|a| &a.certificates)
                .collect();
            let usable: Vec<_> = t
                .records
                .iter()
                .filter(|r| {
                    !matches!(
                        check_tlsa(r, chains.first().map_or(&[][..], |c| c)),
                        TlsaCheck::Unusable(_)
                    )
                })
                .collect();
            let matched = (!usable.is_empty() && !chains.is_empty()).then(|| {
                // Every chain seen must match one usable record: a sender may reach any.
                chains.iter().all(|chain| {
                    usable
                        .iter()
                        .any(|r| check_tlsa(r, chain) == TlsaCheck::Matches)
                })
            });
            DaneResult {
                host: t.host.clone(),
                name: t.name.clone(),
                records: t.records.iter().map(|r| r.presentation()).collect(),
                authenticated: t.authenticated,
                lookup_error: t.lookup_error.clone(),
                matched,
            }
        })
        .collect()
}

/// A host's TLSA answer worth reporting: records, or a failed lookup.
fn published(t: &HostTlsa) -> bool {
    !t.records.is_empty() || t.lookup_error.is_some()
}

/// DANE (RFC 7672): a host whose usable TLSA records match none of its chains (or that
/// presented none), records without DNSSEC, records SMTP cannot use, failed lookups.
fn dane_findings(
    tlsa: &[HostTlsa],
    results: &[DaneResult],
    add: &mut impl FnMut(DomainFindingId, String),
) {
    use DomainFindingId as D;
    for (r, t) in results.iter().zip(tlsa.iter().filter(|t| published(t))) {
        if let Some(e) = &r.lookup_error {
            add(D::DnsLookupFailed, format!("TLSA of {}: {e}", r.name));
            continue;
        }
        let unusable: Vec<String> = t
            .records
            .iter()
            .filter_map(|rec| match check_tlsa(rec, &[]) {
                TlsaCheck::Unusable(why) => Some(format!("{} ({why})", rec.presentation())),
                _ => None,
            })
            .collect();
        if !unusable.is_empty() {
            add(
                D::DaneTlsaUnusable,
                format!("{}: {}", r.name, unusable.join("; ")),
            );
        }
        if !r.authenticated {
            add(
                D::DaneTlsaUnauthenticated,
                format!("{}: the resolver did not set AD (DNSSEC-validated)", r.name),
            );
        }
        let usable = unusable.len() < t.records.len();
        if usable && r.matched != Some(true) {
            let why = match r.matched {
                Some(_) => "no record matches the certificate chain it presented",
                None => "it presented no certificate (no TLS was established)",
            };
            add(D::DaneTlsaMismatch, format!("{} {}: {why}", r.host, r.name));
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
            dkim: Default::default(),
            tlsa: Vec::new(),
            mta_sts_policy: None,
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
            certificates: vec![],
            certificate_valid: None,
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
        // A TLSA without DNSSEC that matches no chain: DANE findings travel through the
        // records the report carried (`DaneResult::host_tlsa`).
        d.tlsa = vec![HostTlsa {
            host: "mx.example.com".into(),
            name: "_25._tcp.mx.example.com".into(),
            records: vec![TlsaRecord {
                usage: 3,
                selector: 1,
                matching: 1,
                data: "00".repeat(32),
            }],
            authenticated: false,
            lookup_error: None,
        }];
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
            let tlsa: Vec<HostTlsa> = shard.dane.iter().map(DaneResult::host_tlsa).collect();
            assert_eq!(tlsa, d.tlsa);
            let again = reassess(
                &shard.findings,
                std::slice::from_ref(&joined),
                dane_results(&d.tlsa, std::slice::from_ref(&joined)),
                d.mta_sts_policy.as_ref(),
            );
            assert_eq!(
                again,
                assess(&d, std::slice::from_ref(&joined)),
                "{partial:?} -> {joined:?}"
            );
        }
        // Every id the probes decide is listed, so none is kept stale from a shard.
        let probed = probed_findings(&[facts(Some(Verdict::OpenRelay), true, Some(false))]);
        let ids: Vec<DomainFindingId> = probed.iter().map(|f| f.id).collect();
        assert_eq!(ids, PROBED_FINDINGS[..2]);
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

    /// The findings of the whole SPF tree, DMARC's tags and report destinations, and
    /// DKIM keys: (what changes from a clean domain, the findings).
    #[test]
    fn tree_tag_and_key_findings_by_table() {
        use crate::dns::dkim::dkim;
        use crate::dns::policy::ReportAuthorization;
        use crate::dns::spf_tree::walk;
        use relayscan_lab::dns::dkim_keys::{RSA_512, RSA_1024, RSA_2048};
        type Change = Box<dyn Fn(&mut DomainResolution)>;
        let tree = |records: &'static [(&'static str, &'static str)]| -> Change {
            Box::new(move |d: &mut DomainResolution| {
                let answers = records
                    .iter()
                    .map(|(n, t)| match *t {
                        "" => (n.to_string(), Err(crate::dns::LookupError::NxDomain)),
                        _ => (n.to_string(), Ok(vec![t.to_string()])),
                    })
                    .collect();
                d.spf = parse_spf(records[0].1);
                d.spf.tree = walk("example.com", &answers);
            })
        };
        let key = |record: String| -> Change {
            Box::new(move |d: &mut DomainResolution| {
                d.dkim = dkim(&[("s1".into(), Ok(vec![record.clone()]))]);
            })
        };
        let table: Vec<(Change, Vec<&str>)> = vec![
            (
                tree(&[
                    (
                        "example.com",
                        "v=spf1 include:a.example include:b.example -all",
                    ),
                    (
                        "a.example",
                        "v=spf1 a mx ptr exists:x.example include:c.example -all",
                    ),
                    ("b.example", "v=spf1 a mx ptr exists:y.example -all"),
                    ("c.example", "v=spf1 a -all"),
                ]),
                vec!["spf-too-many-lookups"],
            ),
            (
                tree(&[
                    ("example.com", "v=spf1 include:a.example -all"),
                    ("a.example", "v=spf1 include:example.com -all"),
                ]),
                vec!["spf-include-loop"],
            ),
            (
                tree(&[
                    (
                        "example.com",
                        "v=spf1 include:g1.example include:g2.example include:g3.example -all",
                    ),
                    ("g1.example", ""),
                    ("g2.example", ""),
                    ("g3.example", ""),
                ]),
                vec!["spf-too-many-void-lookups", "spf-include-broken"],
            ),
            (
                Box::new(|d: &mut DomainResolution| {
                    d.dmarc = parse_dmarc("v=DMARC1; p=reject; adkim=x");
                }),
                vec!["dmarc-invalid"],
            ),
            (
                Box::new(|d: &mut DomainResolution| {
                    d.dmarc = parse_dmarc("v=DMARC1; p=reject; pcx=50");
                }),
                vec!["dmarc-unknown-tag"],
            ),
            (
                Box::new(|d: &mut DomainResolution| {
                    d.dmarc.report_authorizations = vec![ReportAuthorization {
                        destination: "vendor.example".into(),
                        record: "example.com._report._dmarc.vendor.example".into(),
                        authorized: false,
                        lookup_error: None,
                    }];
                }),
                vec!["dmarc-report-unauthorized"],
            ),
            (
                key(format!("v=DKIM1; p={}", RSA_512.trim())),
                vec!["dkim-weak-key"],
            ),
            (
                key(format!("v=DKIM1; p={}", RSA_1024.trim())),
                vec!["dkim-short-key"],
            ),
            (
                key(format!("v=DKIM1; t=y; p={}", RSA_2048.trim())),
                vec!["dkim-testing"],
            ),
            (key(format!("v=DKIM1; p={}", RSA_2048.trim())), vec![]),
            (key("v=DKIM1; p=".into()), vec!["dkim-revoked"]),
            (key("v=DKIM1; k=rsa".into()), vec!["dkim-invalid"]),
            (
                Box::new(|d: &mut DomainResolution| {
                    d.dkim = dkim(&[("s1".into(), Err(crate::dns::LookupError::NxDomain))]);
                }),
                vec!["dkim-not-found"],
            ),
            (
                Box::new(|d: &mut DomainResolution| {
                    d.dkim = crate::dns::dkim::Dkim {
                        domainkey_nxdomain: true,
                        ..Default::default()
                    };
                }),
                vec!["dkim-not-found"],
            ),
            (
                Box::new(|d: &mut DomainResolution| {
                    d.dkim = dkim(&[("s1".into(), Err(crate::dns::LookupError::Timeout))]);
                }),
                vec!["dns-lookup-failed"],
            ),
        ];
        let ok = vec![facts(Some(Verdict::RelayDenied), true, Some(true))];
        for (change, want) in table {
            let mut d = domain(MailRoute::Mx);
            change(&mut d);
            assert_eq!(ids(&findings(&d, &ok)), want, "{d:?}");
        }
    }

    /// MTA-STS and DANE: (policy body or fetch error, TXT, TLSA records and AD, the
    /// certificate's validity for its name, the leaf's SHA-256) -> finding ids.
    #[test]
    fn mta_sts_and_dane_by_table() {
        use crate::dns::dane::{HostTlsa, TlsaRecord};
        use crate::dns::mta_sts::{StsFetch, parse_policy};
        const ENFORCE: &str = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n";
        let tlsa = |records: &[(u8, &str)], authenticated| HostTlsa {
            host: "mx.example.com".into(),
            name: "_25._tcp.mx.example.com".into(),
            records: records
                .iter()
                .map(|&(usage, data)| TlsaRecord {
                    usage,
                    selector: 0,
                    matching: 1,
                    data: data.into(),
                })
                .collect(),
            authenticated,
            lookup_error: None,
        };
        type Row = (
            Result<&'static str, &'static str>,
            &'static str,
            Option<HostTlsa>,
            Option<bool>,
            Vec<&'static str>,
        );
        let table: Vec<Row> = vec![
            (Ok(ENFORCE), "v=STSv1; id=1", None, Some(true), vec![]),
            (
                Ok("version: STSv1\nmode: enforce\nmx: *.other.example\nmax_age: 60\n"),
                "v=STSv1; id=1",
                None,
                Some(true),
                vec!["mta-sts-mx-not-covered"],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1; id=1",
                None,
                Some(false),
                vec!["mta-sts-mx-cert-invalid"],
            ),
            (
                Ok("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 60\n"),
                "v=STSv1; id=1",
                None,
                Some(true),
                vec!["mta-sts-testing"],
            ),
            (
                Ok("version: STSv1\nmode: none\nmax_age: 60\n"),
                "v=STSv1; id=1",
                None,
                Some(false),
                vec!["mta-sts-mode-none"],
            ),
            (
                Ok("version: STSv1\nmode: enforce\n"),
                "v=STSv1; id=1",
                None,
                Some(true),
                vec!["mta-sts-mx-not-covered", "mta-sts-policy-invalid"],
            ),
            (
                Err("status 404"),
                "v=STSv1; id=1",
                None,
                Some(true),
                vec!["mta-sts-policy-missing"],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1",
                None,
                Some(true),
                vec!["mta-sts-txt-invalid"],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1; id=1",
                Some(tlsa(&[(3, "aa")], true)),
                Some(true),
                vec![],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1; id=1",
                Some(tlsa(&[(3, "aa")], false)),
                Some(true),
                vec!["dane-tlsa-unauthenticated"],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1; id=1",
                Some(tlsa(&[(3, "bb")], true)),
                Some(true),
                vec!["dane-tlsa-mismatch"],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1; id=1",
                Some(tlsa(&[(1, "aa")], true)),
                Some(true),
                vec!["dane-tlsa-unusable"],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1; id=1",
                Some(tlsa(&[(1, "aa"), (3, "aa")], true)),
                Some(true),
                vec!["dane-tlsa-unusable"],
            ),
            (
                Ok(ENFORCE),
                "v=STSv1; id=1",
                Some(tlsa(&[(3, "aa")], true)),
                None,
                vec!["dane-tlsa-mismatch"],
            ),
        ];
        let mut matched = Vec::new();
        for (policy, txt, host_tlsa, valid, want) in table {
            let mut d = domain(MailRoute::Mx);
            d.mta_sts.raw = Some(txt.into());
            d.mta_sts_policy = Some(StsFetch {
                url: "https://mta-sts.example.com/.well-known/mta-sts.txt".into(),
                address: None,
                policy: policy.ok().map(parse_policy),
                error: policy.err().map(String::from),
            });
            d.tlsa = host_tlsa.into_iter().collect();
            let leaf = CertInfo {
                sha256: "aa".into(),
                ..CertInfo::default()
            };
            let a = AddressFacts {
                certificates: if valid.is_some() {
                    vec![vec![leaf]]
                } else {
                    vec![]
                },
                certificate_valid: valid,
                ..facts(Some(Verdict::RelayDenied), true, Some(true))
            };
            let got = findings(&d, std::slice::from_ref(&a));
            assert_eq!(ids(&got), want, "{policy:?} {txt} {valid:?}");
            matched.extend(dane_results(&d.tlsa, &[a]).into_iter().map(|r| r.matched));
        }
        // The rows with TLSA, in order: whether a usable record matched a chain.
        let want = [Some(true), Some(true), Some(false), None, Some(true), None];
        assert_eq!(matched, want);
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
