//! The per-domain report: which domains each probed address serves, what the scan saw of each domain's mail hosts (the input of `assess::domain`), and at the end of the run PREFIX.domains.csv and the JSON `domains` section (mail hosts by preference, each address's verdict and reverse DNS, the domain's policy records, and its assessment as given: worst verdict and findings).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::csv_writer::CsvWriter;
use super::{ReportError, ScanRecord, with_suffix};
use crate::assess::Severity;
use crate::assess::Verdict;
use crate::dns::dkim::Dkim;
use crate::assess::domain::{AddressFacts, DaneResult, DomainAssessment, DomainFinding};
use crate::dns::mta_sts::StsFetch;
use crate::dns::plan::DomainPlan;
use crate::dns::policy::{Dmarc, Presence, Spf};
use crate::dns::{DomainResolution, MailRoute, PtrCheck};
use crate::probe::Status;
use crate::smtp::tls::{CertInfo, NameSource, TlsReport};
use crate::target::Address;

/// What one probed endpoint gave, kept for the domains it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    status: Status,
    verdict: Option<Verdict>,
    server_name: Option<String>,
    severity: Option<Severity>,
    certificates: Vec<CertInfo>,
    certificate_valid: Option<bool>,
}

/// One probed endpoint of a mail host, in the domain report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EndpointResult {
    pub port: u16,
    /// `None` when no record was written for it (it did not answer, or the run stopped).
    pub status: Option<Status>,
    pub verdict: Option<Verdict>,
    pub server_name: Option<String>,
    pub worst_severity: Option<Severity>,
    /// The chain verified to the trust roots and the leaf covers the mail host's name
    /// (what MTA-STS requires of an MX); `None` when no certificate was captured.
    pub certificate_valid: Option<bool>,
    /// The chain the probe captured, leaf first (in the host's own record; kept here for
    /// the domain's DANE and MTA-STS checks).
    #[serde(skip)]
    pub certificates: Vec<CertInfo>,
}

impl EndpointResult {
    /// What the endpoint gave, in one word: its verdict, else its status, else
    /// `no-answer` (no record was written for it).
    pub fn result(&self) -> &'static str {
        match (self.verdict, self.status) {
            (Some(v), _) => v.as_str(),
            (None, Some(s)) => s.as_str(),
            (None, None) => "no-answer",
        }
    }
}

/// One address of a mail host.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AddressResult {
    pub ip: IpAddr,
    pub ptr: Vec<String>,
    pub ptr_error: Option<String>,
    pub fcrdns: bool,
    /// The greeting/EHLO name is among the PTR names; `None` without both.
    pub greeting_matches_ptr: Option<bool>,
    pub endpoints: Vec<EndpointResult>,
}

/// One mail host of a domain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HostResult {
    pub host: String,
    pub preference: Option<u16>,
    pub error: Option<String>,
    pub cname: Option<String>,
    pub ip_literal: bool,
    pub addresses: Vec<AddressResult>,
}

/// One domain: the JSON `domains` entry and a row of PREFIX.domains.csv.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DomainEntry {
    pub domain: String,
    /// `mx`, `implicit-mx`, `null-mx`, `no-mail-hosts`, `nxdomain`, `no-records`,
    /// `servfail`, `timeout`, `error`.
    pub route: MailRoute,
    pub route_error: Option<String>,
    /// False for a null MX, and when DNS gave no mail host.
    pub accepts_mail: bool,
    pub mx: Vec<HostResult>,
    /// The most worrying verdict of any of its endpoints: open-relay, inconclusive,
    /// not-smtp, auth-required, relay-denied.
    pub worst_verdict: Option<Verdict>,
    pub spf: Spf,
    pub dmarc: Dmarc,
    pub mta_sts: Presence,
    pub tls_rpt: Presence,
    /// Keys found under the guessed DKIM selectors.
    pub dkim: Dkim,
    /// The MTA-STS policy as fetched, when the `_mta-sts` TXT record was there.
    pub mta_sts_policy: Option<StsFetch>,
    /// Each mail host's TLSA records and what they say of its captured chain.
    pub dane: Vec<DaneResult>,
    pub findings: Vec<DomainFinding>,
}

/// PREFIX.domains.csv columns.
pub const DOMAIN_CSV_COLUMNS: &[&str] = &[
    "domain",
    "route",
    "accepts_mail",
    "mx_hosts",
    "addresses",
    "worst_verdict",
    "host_verdicts",
    "spf_present",
    "spf_valid",
    "spf_all",
    "spf_dns_lookups",
    "spf_record",
    "dmarc_present",
    "dmarc_valid",
    "dmarc_p",
    "dmarc_sp",
    "dmarc_pct",
    "dmarc_rua",
    "dmarc_record",
    "mta_sts",
    "tls_rpt",
    "severity",
    "findings",
    "error",
    "spf_total_lookups",
    "spf_void_lookups",
    "spf_chain",
    "dmarc_ruf",
    "dmarc_unknown_tags",
    "dmarc_unauthorized_destinations",
    "dkim_selectors_tried",
    "dkim_keys",
    "mta_sts_policy",
    "dane",
];

/// Collects what the domains need from the records and writes the domain reports.
pub struct DomainReport {
    plan: DomainPlan,
    default_ports: Vec<u16>,
    /// Each mail-host address and the domains it serves, sorted.
    /// Keyed by canonical address, as records and DNS answers meet here.
    served: HashMap<Address, Vec<String>>,
    seen: HashMap<(Address, u16), Seen>,
    csv_path: PathBuf,
}

impl DomainReport {
    pub fn new(plan: DomainPlan, default_ports: &[u16], prefix: &Path) -> DomainReport {
        let mut served: HashMap<Address, Vec<String>> = HashMap::new();
        for d in &plan.domains {
            for ip in d.addresses() {
                let list = served.entry(Address::new(ip)).or_default();
                if !list.contains(&d.domain) {
                    list.push(d.domain.clone());
                }
            }
        }
        for list in served.values_mut() {
            list.sort();
        }
        DomainReport {
            plan,
            default_ports: default_ports.to_vec(),
            served,
            seen: HashMap::new(),
            csv_path: with_suffix(prefix, "domains.csv"),
        }
    }

    /// PREFIX.domains.csv.
    pub fn path(&self) -> &Path {
        &self.csv_path
    }

    /// Notes the record, and returns it with the domains its address serves when it
    /// serves any (the record as written then lists them).
    pub fn take(&mut self, r: &ScanRecord) -> Option<ScanRecord> {
        let ip = Address::new(r.ip);
        let domains = self.served.get(&ip)?;
        self.seen.insert(
            (ip, r.port),
            Seen {
                status: r.status,
                verdict: r.verdict,
                server_name: r.server_name.clone(),
                severity: r.findings.iter().map(|f| f.severity).max(),
                certificates: r.tls.as_ref().map(|t| t.chain.clone()).unwrap_or_default(),
                certificate_valid: r.tls.as_ref().and_then(valid_for_target),
            },
        );
        let mut annotated = r.clone();
        annotated.domains = domains.clone();
        Some(annotated)
    }

    fn ports_of(&self, domain: &str) -> &[u16] {
        match self.plan.ports.get(domain) {
            Some(p) if !p.is_empty() => p,
            _ => &self.default_ports,
        }
    }

    fn address(&self, ip: IpAddr, ports: &[u16]) -> AddressResult {
        let ptr = self.plan.ptr.get(&ip).cloned().unwrap_or_else(|| PtrCheck {
            error: Some("not looked up".into()),
            ..PtrCheck::default()
        });
        let endpoints: Vec<EndpointResult> = ports
            .iter()
            .map(|&port| {
                let seen = self.seen.get(&(Address::new(ip), port));
                EndpointResult {
                    port,
                    status: seen.map(|s| s.status),
                    verdict: seen.and_then(|s| s.verdict),
                    server_name: seen.and_then(|s| s.server_name.clone()),
                    worst_severity: seen.and_then(|s| s.severity),
                    certificate_valid: seen.and_then(|s| s.certificate_valid),
                    certificates: seen.map(|s| s.certificates.clone()).unwrap_or_default(),
                }
            })
            .collect();
        let greeting = endpoints.iter().find_map(|e| e.server_name.as_deref());
        let greeting_matches_ptr = match (greeting, ptr.names.is_empty()) {
            (Some(name), false) => Some(crate::dns::domain::name_matches_ptr(Some(name), &ptr)),
            _ => None,
        };
        AddressResult {
            ip,
            ptr: ptr.names,
            ptr_error: ptr.error,
            fcrdns: ptr.fcrdns,
            greeting_matches_ptr,
            endpoints,
        }
    }

    /// What the scan saw of one domain's mail hosts.
    fn observe<'a>(&self, d: &'a DomainResolution) -> DomainObserved<'a> {
        let ports = self.ports_of(&d.domain);
        let mx: Vec<HostResult> = d
            .hosts
            .iter()
            .map(|h| HostResult {
                host: h.name.clone(),
                preference: h.preference,
                error: h.error.clone(),
                cname: h.cname.clone(),
                ip_literal: h.ip_literal,
                addresses: h
                    .addresses
                    .iter()
                    .map(|&ip| self.address(ip, ports))
                    .collect(),
            })
            .collect();
        DomainObserved { resolution: d, mx }
    }

    /// What the scan saw of every domain, in input order: the input of each domain's
    /// assessment.
    pub fn observed(&self) -> Vec<DomainObserved<'_>> {
        self.plan.domains.iter().map(|d| self.observe(d)).collect()
    }

    /// Writes PREFIX.domains.csv into `file` (opened for it by [`super::file`]): one row
    /// per entry, as given.
    pub fn write(&self, file: File, entries: &[DomainEntry]) -> Result<(), ReportError> {
        let mut out = CsvWriter::new(std::io::BufWriter::new(file));
        out.row(DOMAIN_CSV_COLUMNS)
            .and_then(|()| entries.iter().try_for_each(|e| out.row(csv_row(e))))
            .and_then(|()| out.flush())
            .map_err(|e| ReportError::new("write", &self.csv_path, e))
    }
}

/// What the scan saw of one domain: its resolution, and per mail-host address its reverse
/// DNS and its endpoints' results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainObserved<'a> {
    pub resolution: &'a DomainResolution,
    pub mx: Vec<HostResult>,
}

impl DomainObserved<'_> {
    /// Each mail-host address as `assess::domain` weighs it.
    pub fn address_facts(&self) -> Vec<AddressFacts> {
        self.mx
            .iter()
            .flat_map(|h| {
                h.addresses.iter().map(|a| AddressFacts {
                    host: h.host.clone(),
                    address: a.ip.to_string(),
                    verdicts: a.endpoints.iter().filter_map(|e| e.verdict).collect(),
                    ptr_names: a.ptr.clone(),
                    ptr_error: a.ptr_error.clone(),
                    fcrdns: a.fcrdns,
                    name_matches_ptr: a.greeting_matches_ptr,
                    certificates: a
                        .endpoints
                        .iter()
                        .map(|e| e.certificates.clone())
                        .filter(|c| !c.is_empty())
                        .collect(),
                    certificate_valid: a.endpoints.iter().find_map(|e| e.certificate_valid),
                })
            })
            .collect()
    }
}

impl DomainEntry {
    /// One domain's entry: what the scan saw, and its assessment, rendered as given.
    pub fn new(observed: DomainObserved<'_>, assessment: DomainAssessment) -> DomainEntry {
        let d = observed.resolution;
        DomainEntry {
            domain: d.domain.clone(),
            route: d.route,
            route_error: d.route_error.clone(),
            accepts_mail: matches!(d.route, MailRoute::Mx | MailRoute::ImplicitMx),
            mx: observed.mx,
            worst_verdict: assessment.worst_verdict,
            spf: d.spf.clone(),
            dmarc: d.dmarc.clone(),
            mta_sts: d.mta_sts.clone(),
            tls_rpt: d.tls_rpt.clone(),
            dkim: d.dkim.clone(),
            mta_sts_policy: d.mta_sts_policy.clone(),
            dane: assessment.dane,
            findings: assessment.findings,
        }
    }
}

/// Whether a captured chain is what MTA-STS asks of an MX (RFC 8461 §4.2): it verifies
/// to the trust roots and the leaf covers the name the host was probed by. `None`
/// without a certificate.
fn valid_for_target(tls: &TlsReport) -> Option<bool> {
    let chain_valid = tls.chain_valid?;
    let name = tls
        .names
        .iter()
        .any(|n| n.source == NameSource::Target && n.matches);
    Some(chain_valid && name)
}

/// An SPF qualifier by its RFC 7208 result name: a CSV cell of `+` or `-` alone would
/// be read as a formula (and so get a leading quote).
pub(crate) fn spf_result(qualifier: char) -> &'static str {
    match qualifier {
        '+' => "pass",
        '-' => "fail",
        '~' => "softfail",
        _ => "neutral",
    }
}

/// The cells of one domain, raw, in [`DOMAIN_CSV_COLUMNS`] order.
pub fn csv_row(e: &DomainEntry) -> Vec<String> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let flag = |b: bool| b.to_string();
    let mx_hosts: Vec<String> =
        e.mx.iter()
            .map(|h| match h.preference {
                Some(p) => format!("{p} {}", h.host),
                None => h.host.clone(),
            })
            .collect();
    let mut addresses: BTreeMap<IpAddr, ()> = BTreeMap::new();
    let mut verdicts = Vec::new();
    for a in e.mx.iter().flat_map(|h| &h.addresses) {
        if addresses.insert(a.ip, ()).is_none() {
            for ep in &a.endpoints {
                verdicts.push(format!(
                    "{}={}",
                    std::net::SocketAddr::new(a.ip, ep.port),
                    ep.result()
                ));
            }
        }
    }
    let addresses: Vec<String> = addresses.keys().map(|ip| ip.to_string()).collect();
    vec![
        e.domain.clone(),
        e.route.as_str().to_string(),
        flag(e.accepts_mail),
        mx_hosts.join(";"),
        addresses.join(";"),
        e.worst_verdict
            .map(|v| v.as_str().to_string())
            .unwrap_or_default(),
        verdicts.join(";"),
        flag(e.spf.present),
        flag(e.spf.valid),
        e.spf.all.map(spf_result).unwrap_or_default().to_string(),
        e.spf.dns_lookups.to_string(),
        opt(&e.spf.raw),
        flag(e.dmarc.present),
        flag(e.dmarc.valid),
        opt(&e.dmarc.p),
        opt(&e.dmarc.sp),
        e.dmarc.pct.map(|n| n.to_string()).unwrap_or_default(),
        e.dmarc.rua.join(";"),
        opt(&e.dmarc.raw),
        flag(e.mta_sts.present),
        flag(e.tls_rpt.present),
        e.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        e.findings
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        opt(&e.route_error),
        e.spf.total_lookups().to_string(),
        e.spf.tree.void_lookups.to_string(),
        e.spf
            .tree
            .chain
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(";"),
        e.dmarc.ruf.join(";"),
        e.dmarc.unknown_tags.join(";"),
        e.dmarc
            .report_authorizations
            .iter()
            .filter(|a| !a.authorized && a.lookup_error.is_none())
            .map(|a| a.destination.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        e.dkim.selectors_tried.to_string(),
        e.dkim
            .keys
            .iter()
            .map(|k| match (k.revoked, k.bits) {
                (true, _) => format!("{}:revoked", k.selector),
                (false, Some(bits)) => format!("{}:{}-{bits}", k.selector, k.key_type),
                (false, None) => format!("{}:{}", k.selector, k.key_type),
            })
            .collect::<Vec<_>>()
            .join(";"),
        e.mta_sts_policy
            .as_ref()
            .map(|f| match (&f.policy, &f.error) {
                (Some(p), _) if p.valid() => p.mode.map_or("", |m| m.as_str()).to_string(),
                (Some(_), _) => "invalid".to_string(),
                (None, _) => "unavailable".to_string(),
            })
            .unwrap_or_default(),
        e.dane
            .iter()
            .map(|d| {
                let result = match (d.matched, &d.lookup_error) {
                    (_, Some(_)) => "lookup-failed",
                    (Some(true), _) => "match",
                    (Some(false), _) => "no-match",
                    (None, _) => "not-checked",
                };
                let dnssec = if d.authenticated {
                    "dnssec"
                } else {
                    "insecure"
                };
                format!("{}={result}/{dnssec}", d.host)
            })
            .collect::<Vec<_>>()
            .join(";"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::domain::{DomainFindingId, assess};
    use crate::report::testdata::{self, mail_domain, one_domain_plan};

    /// Every domain's entry with its real assessment, as the scan's writer makes them.
    fn assessed(report: &DomainReport) -> Vec<DomainEntry> {
        let entry = |o: DomainObserved<'_>| {
            let assessment = assess(o.resolution, &o.address_facts());
            DomainEntry::new(o, assessment)
        };
        report.observed().into_iter().map(entry).collect()
    }

    /// Writes the domain CSV where the report names it.
    fn write(report: &DomainReport, entries: &[DomainEntry]) {
        let file = File::create(report.path()).unwrap();
        report.write(file, entries).unwrap();
    }

    fn csv_rows(report: &DomainReport) -> Vec<csv::StringRecord> {
        let text = std::fs::read_to_string(report.path()).unwrap();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            rows.headers().unwrap().iter().collect::<Vec<_>>(),
            DOMAIN_CSV_COLUMNS
        );
        rows.records().map(|r| r.unwrap()).collect()
    }

    fn record(ip: &str, verdict: Verdict) -> ScanRecord {
        let mut r = ScanRecord::of_outcome(testdata::open_relay_outcome());
        r.ip = ip.parse().unwrap();
        r.port = 25;
        r.verdict = Some(verdict);
        r
    }

    #[test]
    fn shared_hosts_are_credited_to_every_domain() {
        let plan = DomainPlan {
            domains: vec![
                mail_domain(
                    "a.example",
                    &[
                        ("mx1.provider.example", 10, "192.0.2.1"),
                        ("mx2.provider.example", 20, "192.0.2.2"),
                    ],
                ),
                mail_domain("b.example", &[("mx1.provider.example", 10, "192.0.2.1")]),
            ],
            ..DomainPlan::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut report = DomainReport::new(plan, &[25], &dir.path().join("scan"));
        let shared = report
            .take(&record("192.0.2.1", Verdict::RelayDenied))
            .unwrap();
        assert_eq!(shared.domains, ["a.example", "b.example"]);
        let only_a = report
            .take(&record("192.0.2.2", Verdict::OpenRelay))
            .unwrap();
        assert_eq!(only_a.domains, ["a.example"]);
        assert!(
            report
                .take(&record("192.0.2.99", Verdict::OpenRelay))
                .is_none()
        );

        // What the domains' assessment weighs: every address, with its endpoints' verdicts.
        let observed = report.observed();
        let facts: Vec<(String, Vec<Verdict>)> = observed[0]
            .address_facts()
            .into_iter()
            .map(|a| (a.address, a.verdicts))
            .collect();
        assert_eq!(
            facts,
            [
                ("192.0.2.1".to_string(), vec![Verdict::RelayDenied]),
                ("192.0.2.2".to_string(), vec![Verdict::OpenRelay])
            ]
        );
        assert_eq!(observed[1].address_facts()[0].host, "mx1.provider.example");

        let entries = assessed(&report);
        assert_eq!(entries[0].worst_verdict, Some(Verdict::OpenRelay));
        assert_eq!(entries[1].worst_verdict, Some(Verdict::RelayDenied));
        assert_eq!(entries[0].mx[0].preference, Some(10));
        let ids: Vec<&str> = entries[0].findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids[0], "mx-open-relay");
        assert!(ids.contains(&"dmarc-policy-none"), "{ids:?}");

        write(&report, &entries);
        let rows = csv_rows(&report);
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], "a.example");
        assert_eq!(
            &rows[0][3],
            "10 mx1.provider.example;20 mx2.provider.example"
        );
        assert_eq!(
            &rows[0][6],
            "192.0.2.1:25=relay-denied;192.0.2.2:25=open-relay"
        );
        assert_eq!(&rows[1][5], "relay-denied");
        // A cell a spreadsheet would run as a formula is neutralised.
        assert_eq!(&rows[0][17], "'@cmd");
    }

    #[test]
    fn a_mail_host_address_meets_its_record_in_either_spelling() {
        // (the mail host's address as DNS gave it, the record's address)
        let cases = [
            ("::ffff:192.0.2.31", "192.0.2.31"),
            ("192.0.2.32", "::ffff:192.0.2.32"),
            ("192.0.2.33", "192.0.2.33"),
        ];
        for (answered, probed) in cases {
            let plan = one_domain_plan("m.example", "mx.m.example", answered);
            let dir = tempfile::tempdir().unwrap();
            let mut report = DomainReport::new(plan, &[25], &dir.path().join("scan"));
            let taken = report.take(&record(probed, Verdict::OpenRelay));
            assert_eq!(
                taken.map(|r| r.domains),
                Some(vec!["m.example".to_string()]),
                "{answered} / {probed}"
            );
            let facts = report.observed()[0].address_facts();
            assert_eq!(facts[0].verdicts, [Verdict::OpenRelay], "{answered}");
        }
    }

    #[test]
    fn unanswered_endpoints_show_as_such() {
        let plan = one_domain_plan("c.example", "mx.c.example", "192.0.2.5");
        let dir = tempfile::tempdir().unwrap();
        let report = DomainReport::new(plan, &[25, 587], &dir.path().join("scan"));
        assert!(report.observed()[0].address_facts()[0].verdicts.is_empty());
        let entries = assessed(&report);
        assert_eq!(entries[0].worst_verdict, None);
        assert_eq!(entries[0].mx[0].addresses[0].endpoints.len(), 2);
        let row = csv_row(&entries[0]);
        assert_eq!(row[6], "192.0.2.5:25=no-answer;192.0.2.5:587=no-answer");
        assert_eq!(
            entries[0].mx[0].addresses[0].ptr_error.as_deref(),
            Some("not looked up")
        );
    }

    /// The report renders the assessment it is given and computes none of its own: here
    /// the facts (an open relay, DMARC p=none) and the assessment disagree on purpose.
    #[test]
    fn the_report_renders_the_assessment_it_is_given() {
        let plan = one_domain_plan("d.example", "mx.d.example", "192.0.2.7");
        let dir = tempfile::tempdir().unwrap();
        let mut report = DomainReport::new(plan, &[25], &dir.path().join("scan"));
        report
            .take(&record("192.0.2.7", Verdict::OpenRelay))
            .unwrap();
        let given = DomainAssessment {
            worst_verdict: Some(Verdict::NotSmtp),
            findings: vec![DomainFinding::new(
                DomainFindingId::NullMx,
                "given, not computed".into(),
            )],
            dane: vec![],
        };
        let observed = report.observed().remove(0);
        let seen = observed.mx.clone();
        let entry = DomainEntry::new(observed, given.clone());
        assert_eq!(entry.worst_verdict, given.worst_verdict);
        assert_eq!(entry.findings, given.findings);
        assert_eq!(entry.mx, seen, "what the scan saw is kept as it was");
        assert_eq!(
            entry.mx[0].addresses[0].endpoints[0].verdict,
            Some(Verdict::OpenRelay)
        );

        write(&report, std::slice::from_ref(&entry));
        let row = &csv_rows(&report)[0];
        let cell = |name: &str| {
            let i = DOMAIN_CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
            row[i].to_string()
        };
        assert_eq!(cell("worst_verdict"), "not-smtp");
        assert_eq!(cell("findings"), "null-mx");
        assert_eq!(cell("severity"), "info");
        assert_eq!(cell("host_verdicts"), "192.0.2.7:25=open-relay");
    }

    #[test]
    fn spf_and_dmarc_text_with_terminal_controls_is_shown_escaped_in_the_csv() {
        let plan = one_domain_plan("d.example", "mx.d.example", "192.0.2.7");
        let report = DomainReport::new(plan, &[25], Path::new(""));
        let dir = tempfile::tempdir().unwrap();
        let report = DomainReport {
            csv_path: dir.path().join("scan.domains.csv"),
            ..report
        };
        let mut entry = assessed(&report).remove(0);
        // A TXT record may hold any byte: a screen clear, a bell, a bidi override, CR, LF.
        entry.spf.raw = Some("v=spf1 \u{1b}[2J\u{7}\u{202e}-all\r\nx".into());
        entry.dmarc.raw = Some("v=DMARC1; p=none \u{1b}]8;;http://evil.example/\u{7}".into());
        write(&report, std::slice::from_ref(&entry));
        let text = std::fs::read_to_string(report.path()).unwrap();
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
            "{text:?}"
        );
        let row = &csv_rows(&report)[0];
        let cell = |name: &str| {
            let i = DOMAIN_CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
            row[i].to_string()
        };
        assert_eq!(
            cell("spf_record"),
            "v=spf1 \\x1b[2J\\x07\\u{202e}-all\\x0d\\x0ax"
        );
        assert_eq!(
            cell("dmarc_record"),
            "v=DMARC1; p=none \\x1b]8;;http://evil.example/\\x07"
        );
        // The JSON keeps the record as published.
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["spf"]["raw"], "v=spf1 \u{1b}[2J\u{7}\u{202e}-all\r\nx");
    }
}
