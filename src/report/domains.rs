//! The per-domain report: which domains each probed address serves, what the scan saw of each domain's mail hosts (the input of `assess::domain`), which domains have every endpoint settled (ready to be assessed and written as a record of their own), and the rows of PREFIX.domains.csv (mail hosts by preference, each address's verdict and reverse DNS, the domain's policy records, and its assessment as given: worst verdict and findings).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv_writer::CsvWriter;
use super::{ReportError, ScanRecord, with_suffix};
use crate::assess::Severity;
use crate::assess::Verdict;
use crate::assess::domain::{AddressFacts, DaneResult, DomainAssessment, DomainFinding};
use crate::dns::dkim::Dkim;
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HostResult {
    pub host: String,
    pub preference: Option<u16>,
    pub error: Option<String>,
    pub cname: Option<String>,
    pub ip_literal: bool,
    pub addresses: Vec<AddressResult>,
}

/// One domain: its JSONL record (with `"record":"domain"`, see [`DomainLine`]), the JSON
/// `domains` entry and a row of PREFIX.domains.csv. Read back from the JSONL by `report`,
/// `merge`, `diff` and `--resume`, so every field added here travels through them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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

/// The discriminator of a domain record in the JSONL: a line whose `record` key is
/// `"domain"` is a [`DomainEntry`]; a line without one is a host record (every JSONL
/// written before domain records existed).
pub const DOMAIN_RECORD: &str = "domain";

/// A domain entry as one JSONL line: `{"record":"domain", ...the entry}`.
#[derive(Serialize)]
pub struct DomainLine<'a> {
    pub record: &'static str,
    #[serde(flatten)]
    pub entry: &'a DomainEntry,
}

impl<'a> DomainLine<'a> {
    pub fn of(entry: &'a DomainEntry) -> DomainLine<'a> {
        DomainLine {
            record: DOMAIN_RECORD,
            entry,
        }
    }
}

/// Where each domain of the plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// This many of its endpoints (address x port) are not settled yet.
    Waiting(u32),
    /// Every endpoint settled: to be assessed and written.
    Ready,
    /// Its record is written (this run, or replayed from the run resumed).
    Written,
}

/// Tracks what the domains need from the records, and when each domain is complete.
///
/// A domain is written as soon as all its endpoints are settled (recorded, or finished
/// without a record), so its record does not wait for the end of the run: the JSONL
/// and PREFIX.domains.csv grow as domains complete, and the whole-document reports read
/// the entries back from a spool (see `domain_spool`) instead of holding them. What stays
/// here is the plan and one small [`Seen`] per probed endpoint: the host-verdict cache
/// shared by every domain of a mail host.
pub struct DomainReport {
    plan: DomainPlan,
    default_ports: Vec<u16>,
    /// Each mail-host address and the domains it serves (indices into the plan), sorted
    /// by name. Keyed by canonical address, as records and DNS answers meet here.
    served: HashMap<Address, Vec<usize>>,
    /// Each settled endpoint, with what its record gave (`None`: finished without one).
    seen: HashMap<(Address, u16), Option<Seen>>,
    progress: Vec<Progress>,
    /// Domains made ready by the last settled endpoint, in plan order.
    ready: Vec<usize>,
    /// The plan index of each domain, for records read back by name (a resume's replay).
    index: HashMap<String, usize>,
    csv_path: PathBuf,
    /// Domains arrive one by one ([`DomainReport::add`]) and a written one is forgotten
    /// whole: its slot in the plan is reused, so memory follows the domains in flight.
    streamed: bool,
    /// Slots of forgotten domains, for the next to arrive.
    free: Vec<usize>,
}

/// One mail domain of a streamed run, resolved, as the domain stage hands it over: its
/// resolution, the ports it is scanned on (empty: the run's), the reverse DNS of its
/// addresses, and the endpoints the plan lets the scan probe (scope, excludes and
/// special blocks applied), which its record waits for.
#[derive(Debug, Clone)]
pub struct DomainArrival {
    pub resolution: DomainResolution,
    pub ports: Vec<u16>,
    pub ptr: Vec<(IpAddr, PtrCheck)>,
    pub planned: Vec<(IpAddr, u16)>,
}

impl DomainReport {
    pub fn new(plan: DomainPlan, default_ports: &[u16], prefix: &Path) -> DomainReport {
        let mut served: HashMap<Address, Vec<usize>> = HashMap::new();
        let mut index = HashMap::new();
        let mut progress = Vec::with_capacity(plan.domains.len());
        for (i, d) in plan.domains.iter().enumerate() {
            index.insert(d.domain.clone(), i);
            let addresses = d.addresses();
            for &ip in &addresses {
                let list = served.entry(Address::new(ip)).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
            let ports = ports_of(&plan, default_ports, &d.domain).len();
            let endpoints = distinct(&addresses) * ports;
            progress.push(match u32::try_from(endpoints) {
                Ok(0) => Progress::Ready,
                Ok(n) => Progress::Waiting(n),
                Err(_) => Progress::Waiting(u32::MAX),
            });
        }
        for list in served.values_mut() {
            list.sort_by(|a, b| plan.domains[*a].domain.cmp(&plan.domains[*b].domain));
        }
        // Domains with nothing to probe (a null MX, an NXDOMAIN) are ready at once.
        let ready = (0..progress.len())
            .filter(|&i| progress[i] == Progress::Ready)
            .collect();
        DomainReport {
            plan,
            default_ports: default_ports.to_vec(),
            served,
            seen: HashMap::new(),
            progress,
            ready,
            index,
            csv_path: with_suffix(prefix, "domains.csv"),
            streamed: false,
            free: Vec::new(),
        }
    }

    /// A report whose domains arrive while the scan runs ([`DomainReport::add`]).
    pub fn streamed(default_ports: &[u16], prefix: &Path) -> DomainReport {
        let mut report = DomainReport::new(DomainPlan::default(), default_ports, prefix);
        report.streamed = true;
        report
    }

    /// Takes in one domain of a streamed run. Endpoints already settled count at once
    /// (the host-verdict cache: a mail host shared by many domains is probed once); the
    /// domain waits for the rest, and is ready at once without any. A name already in
    /// flight is that domain: its first arrival stands.
    pub fn add(&mut self, arrival: DomainArrival) {
        let DomainArrival {
            resolution,
            ports,
            ptr,
            planned,
        } = arrival;
        if self.index.contains_key(&resolution.domain) {
            return;
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.plan.domains.push(resolution.clone());
                self.progress.push(Progress::Written);
                self.plan.domains.len() - 1
            }
        };
        self.index.insert(resolution.domain.clone(), i);
        self.plan.ports.insert(resolution.domain.clone(), ports);
        self.plan.domains[i] = resolution;
        self.plan.ptr.extend(ptr);
        let mut planned: Vec<(Address, u16)> = planned
            .into_iter()
            .map(|(ip, port)| (Address::new(ip), port))
            .collect();
        planned.sort_unstable();
        planned.dedup();
        let mut waiting = 0u32;
        for (ip, port) in planned {
            let list = self.served.entry(ip).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
            if !self.seen.contains_key(&(ip, port)) {
                waiting = waiting.saturating_add(1);
            }
        }
        self.progress[i] = if waiting == 0 {
            self.ready.push(i);
            Progress::Ready
        } else {
            Progress::Waiting(waiting)
        };
    }

    /// Forgets a written domain of a streamed run: its name, resolution and ports go,
    /// its slot is free. Its addresses stay in `served` (with what they gave in `seen`),
    /// bounded by the mail hosts, for the domains still to come.
    fn forget(&mut self, i: usize) {
        let d = &mut self.plan.domains[i];
        let name = std::mem::take(&mut d.domain);
        for ip in d.addresses() {
            if let Some(list) = self.served.get_mut(&Address::new(ip)) {
                list.retain(|&j| j != i);
            }
        }
        d.hosts = Vec::new();
        d.tlsa = Vec::new();
        d.dkim = Default::default();
        d.mta_sts_policy = None;
        self.index.remove(&name);
        self.plan.ports.remove(&name);
        self.free.push(i);
    }

    /// PREFIX.domains.csv.
    pub fn path(&self) -> &Path {
        &self.csv_path
    }

    /// Notes the record, and returns it with the domains its address serves when it
    /// serves any (the record as written then lists them).
    pub fn take(&mut self, r: &ScanRecord) -> Option<ScanRecord> {
        let ip = Address::new(r.ip);
        if self.streamed {
            self.served.entry(ip).or_default();
        }
        let domains: Vec<String> = self
            .served
            .get(&ip)?
            .iter()
            .map(|&i| self.plan.domains[i].domain.clone())
            .collect();
        let seen = Seen {
            status: r.status,
            verdict: r.verdict,
            server_name: r.server_name.clone(),
            severity: r.findings.iter().map(|f| f.severity).max(),
            certificates: r.tls.as_ref().map(|t| t.chain.clone()).unwrap_or_default(),
            certificate_valid: r.tls.as_ref().and_then(valid_for_target),
        };
        self.settle_as(ip, r.port, Some(seen));
        let mut annotated = r.clone();
        annotated.domains = domains;
        Some(annotated)
    }

    /// Notes an endpoint finished without a record (it did not answer and unanswered
    /// endpoints are not written): its domains stop waiting for it.
    pub fn settle(&mut self, ip: IpAddr, port: u16) {
        self.settle_as(Address::new(ip), port, None);
    }

    fn settle_as(&mut self, ip: Address, port: u16, seen: Option<Seen>) {
        // A streamed run keeps every verdict: a domain still to come may need it.
        if self.streamed {
            self.served.entry(ip).or_default();
        }
        let Some(domains) = self.served.get(&ip) else {
            return;
        };
        let first = !self.seen.contains_key(&(ip, port));
        // A record after an unrecorded finish of the same endpoint still shows.
        if first || seen.is_some() {
            self.seen.insert((ip, port), seen);
        }
        if !first {
            return;
        }
        for &i in domains {
            if !ports_of(
                &self.plan,
                &self.default_ports,
                &self.plan.domains[i].domain,
            )
            .contains(&port)
            {
                continue;
            }
            if let Progress::Waiting(n) = &mut self.progress[i] {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.progress[i] = Progress::Ready;
                    self.ready.push(i);
                }
            }
        }
    }

    /// The next domain whose endpoints are all settled and whose record is not written,
    /// for its assessment; call [`DomainReport::written`] with its entry.
    pub fn next_ready(&mut self) -> Option<DomainObserved<'_>> {
        while let Some(i) = self.ready.pop() {
            if self.progress[i] == Progress::Ready {
                return Some(self.observe(i));
            }
        }
        None
    }

    /// Every domain not written yet, at the end of the run (endpoints outside this run:
    /// excluded, another shard's, cut off by a stop), in plan order, made ready.
    pub fn ready_the_rest(&mut self) {
        self.ready = (0..self.progress.len())
            .rev()
            .filter(|&i| self.progress[i] != Progress::Written)
            .collect();
        for &i in &self.ready {
            self.progress[i] = Progress::Ready;
        }
    }

    /// Notes that the domain's record is written (now, or replayed by a resume), so that
    /// it is never written twice. A domain not in the plan is ignored.
    pub fn written(&mut self, domain: &str) {
        let Some(&i) = self.index.get(domain) else {
            return;
        };
        self.progress[i] = Progress::Written;
        if self.streamed {
            self.forget(i);
            return;
        }
        // Its record is out: keep its name (records still list it) and let its mail
        // hosts and policy records go, so a written domain costs a name, not a resolution.
        let d = &mut self.plan.domains[i];
        d.hosts = Vec::new();
        d.route_error = None;
        d.spf = Default::default();
        d.dmarc = Default::default();
        d.mta_sts = Default::default();
        d.tls_rpt = Default::default();
    }

    /// Whether every domain's record is written.
    pub fn all_written(&self) -> bool {
        self.progress.iter().all(|p| *p == Progress::Written)
    }

    fn address(&self, ip: IpAddr, ports: &[u16]) -> AddressResult {
        let ptr = self.plan.ptr.get(&ip).cloned().unwrap_or_else(|| PtrCheck {
            error: Some("not looked up".into()),
            ..PtrCheck::default()
        });
        let endpoints: Vec<EndpointResult> = ports
            .iter()
            .map(|&port| {
                let seen = self
                    .seen
                    .get(&(Address::new(ip), port))
                    .and_then(Option::as_ref);
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
        let greeting_matches_ptr = greeting_matches_ptr(&endpoints, &ptr);
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
    fn observe(&self, i: usize) -> DomainObserved<'_> {
        let d = &self.plan.domains[i];
        let ports = ports_of(&self.plan, &self.default_ports, &d.domain);
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

    /// What the scan saw of every domain so far, in input order.
    pub fn observed(&self) -> Vec<DomainObserved<'_>> {
        (0..self.plan.domains.len())
            .map(|i| self.observe(i))
            .collect()
    }
}

/// Whether the first greeting/EHLO name among `endpoints` is among the PTR names; `None`
/// without a name or without PTR names.
fn greeting_matches_ptr(endpoints: &[EndpointResult], ptr: &PtrCheck) -> Option<bool> {
    let greeting = endpoints.iter().find_map(|e| e.server_name.as_deref());
    match (greeting, ptr.names.is_empty()) {
        (Some(name), false) => Some(crate::dns::domain::name_matches_ptr(Some(name), ptr)),
        _ => None,
    }
}

/// One domain's records from several reports (the shards of one scan, each of which
/// probed its share of the mail hosts) as one: each endpoint's result from the copy that
/// has one, then the probed findings and the worst verdict drawn again from the joined
/// results (`assess::domain::reassess`). One copy is returned as it is.
pub fn join_copies(copies: Vec<DomainEntry>) -> Option<DomainEntry> {
    let mut copies = copies.into_iter();
    let mut joined = copies.next()?;
    let mut several = false;
    for other in copies {
        several = true;
        // A host's DANE result from the copy whose shard probed it (a chain was seen).
        for result in joined.dane.iter_mut().filter(|r| r.matched.is_none()) {
            if let Some(theirs) = other
                .dane
                .iter()
                .find(|t| t.host == result.host && t.matched.is_some())
            {
                *result = theirs.clone();
            }
        }
        for host in &mut joined.mx {
            let Some(other_host) = other.mx.iter().find(|h| h.host == host.host) else {
                continue;
            };
            for address in &mut host.addresses {
                let Some(other_address) = other_host.addresses.iter().find(|a| a.ip == address.ip)
                else {
                    continue;
                };
                for endpoint in &mut address.endpoints {
                    let theirs = other_address
                        .endpoints
                        .iter()
                        .find(|e| e.port == endpoint.port && e.status.is_some());
                    if let (None, Some(theirs)) = (endpoint.status, theirs) {
                        *endpoint = theirs.clone();
                    }
                }
                let ptr = PtrCheck {
                    names: address.ptr.clone(),
                    fcrdns: address.fcrdns,
                    error: address.ptr_error.clone(),
                };
                address.greeting_matches_ptr = greeting_matches_ptr(&address.endpoints, &ptr);
            }
        }
    }
    if several {
        let again = crate::assess::domain::reassess(
            &joined.findings,
            &address_facts(&joined.mx),
            std::mem::take(&mut joined.dane),
            joined.mta_sts_policy.as_ref(),
        );
        joined.worst_verdict = again.worst_verdict;
        joined.findings = again.findings;
        joined.dane = again.dane;
    }
    Some(joined)
}

/// The ports a domain is scanned on: its own, else the run's.
fn ports_of<'a>(plan: &'a DomainPlan, default_ports: &'a [u16], domain: &str) -> &'a [u16] {
    match plan.ports.get(domain) {
        Some(p) if !p.is_empty() => p,
        _ => default_ports,
    }
}

/// How many distinct canonical addresses: `::ffff:192.0.2.1` and 192.0.2.1 are one
/// endpoint to the scan.
fn distinct(addresses: &[IpAddr]) -> usize {
    let mut canonical: Vec<Address> = addresses.iter().map(|&ip| Address::new(ip)).collect();
    canonical.sort_unstable();
    canonical.dedup();
    canonical.len()
}

/// PREFIX.domains.csv as domains complete: the header at once, then one row per entry,
/// flushed, so the file is whole after every domain (as the records' CSV is).
pub struct DomainCsv {
    out: CsvWriter<std::io::BufWriter<File>>,
    path: PathBuf,
}

impl DomainCsv {
    /// Writes the header into `file` (opened for `path` by [`super::file`]).
    pub fn new(path: &Path, file: File) -> Result<DomainCsv, ReportError> {
        let mut csv = DomainCsv {
            out: CsvWriter::new(std::io::BufWriter::new(file)),
            path: path.to_path_buf(),
        };
        csv.write(|out| out.row(DOMAIN_CSV_COLUMNS))?;
        Ok(csv)
    }

    pub fn row(&mut self, e: &DomainEntry) -> Result<(), ReportError> {
        self.write(|out| out.row(csv_row(e)))
    }

    fn write(
        &mut self,
        f: impl FnOnce(&mut CsvWriter<std::io::BufWriter<File>>) -> std::io::Result<()>,
    ) -> Result<(), ReportError> {
        f(&mut self.out)
            .and_then(|()| self.out.flush())
            .map_err(|e| ReportError::new("write", &self.path, e))
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
        address_facts(&self.mx)
    }
}

/// Each mail-host address of `mx` as `assess::domain` weighs it.
fn address_facts(mx: &[HostResult]) -> Vec<AddressFacts> {
    mx.iter()
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
    use crate::dns::DomainResolution;
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
        let mut csv = DomainCsv::new(report.path(), file).unwrap();
        for e in entries {
            csv.row(e).unwrap();
        }
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

    /// a.example on two provider hosts, b.example on the first of them.
    fn provider_domains() -> Vec<DomainResolution> {
        vec![
            mail_domain(
                "a.example",
                &[
                    ("mx1.provider.example", 10, "192.0.2.1"),
                    ("mx2.provider.example", 20, "192.0.2.2"),
                ],
            ),
            mail_domain("b.example", &[("mx1.provider.example", 10, "192.0.2.1")]),
        ]
    }

    #[test]
    fn shared_hosts_are_credited_to_every_domain() {
        let plan = DomainPlan {
            domains: provider_domains(),
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

    /// The names of the domains ready now, each once.
    fn ready(report: &mut DomainReport) -> Vec<String> {
        let mut names = Vec::new();
        while let Some(o) = report.next_ready() {
            names.push(o.resolution.domain.clone());
            report.written(names.last().unwrap());
        }
        names
    }

    #[test]
    fn a_domain_is_ready_once_when_its_last_endpoint_settles() {
        let mut domains = provider_domains();
        domains.push(
            // The same address twice (in two spellings) is one endpoint per port.
            mail_domain(
                "c.example",
                &[
                    ("mx.c.example", 10, "192.0.2.3"),
                    ("mx2.c.example", 20, "::ffff:192.0.2.3"),
                ],
            ),
        );
        let plan = DomainPlan {
            domains,
            ports: HashMap::from([("c.example".to_string(), vec![25, 587])]),
            ..DomainPlan::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut report = DomainReport::new(plan, &[25], &dir.path().join("scan"));
        assert!(ready(&mut report).is_empty());
        report.take(&record("192.0.2.1", Verdict::RelayDenied));
        assert_eq!(ready(&mut report), ["b.example"], "b's one endpoint is in");
        // Settled again (a resume's replay): nothing more.
        report.settle("192.0.2.1".parse().unwrap(), 25);
        assert!(ready(&mut report).is_empty());
        // Unanswered and not written still settles; a port of no domain's does nothing.
        report.settle("192.0.2.2".parse().unwrap(), 587);
        assert!(ready(&mut report).is_empty());
        report.settle("192.0.2.2".parse().unwrap(), 25);
        assert_eq!(ready(&mut report), ["a.example"]);
        let mut on_25 = record("192.0.2.3", Verdict::OpenRelay);
        on_25.port = 25;
        report.take(&on_25);
        assert!(ready(&mut report).is_empty(), "c waits for port 587");
        report.settle("::ffff:192.0.2.3".parse().unwrap(), 587);
        assert_eq!(ready(&mut report), ["c.example"]);
        assert!(report.all_written());
    }

    /// A streamed run: a domain whose host was probed already is ready on arrival (the
    /// host-verdict cache), one whose host is in flight waits for it, a name in flight
    /// arrives once, and a written domain's slot is reused by the next.
    #[test]
    fn streamed_domains_use_the_verdicts_seen_and_leave_no_trace_once_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = DomainReport::streamed(&[25], &dir.path().join("scan"));
        let arrive = |report: &mut DomainReport, name: &str, ip: &str| {
            report.add(DomainArrival {
                resolution: mail_domain(name, &[("mx.provider.example", 10, ip)]),
                ports: Vec::new(),
                ptr: Vec::new(),
                planned: vec![(ip.parse().unwrap(), 25)],
            });
        };
        arrive(&mut report, "a.example", "192.0.2.1");
        arrive(&mut report, "a.example", "192.0.2.1");
        arrive(&mut report, "b.example", "192.0.2.1");
        assert!(ready(&mut report).is_empty(), "the host is in flight");
        let annotated = report
            .take(&record("192.0.2.1", Verdict::OpenRelay))
            .unwrap();
        assert_eq!(annotated.domains, ["a.example", "b.example"]);
        let mut names = ready(&mut report);
        names.sort();
        assert_eq!(names, ["a.example", "b.example"]);
        // Arriving after the probe: ready at once, with the verdict seen, in a reused slot.
        arrive(&mut report, "c.example", "192.0.2.1");
        let c = report.next_ready().unwrap();
        assert_eq!(c.address_facts()[0].verdicts, [Verdict::OpenRelay]);
        report.written("c.example");
        assert_eq!(report.plan.domains.len(), 2, "slots reused");
        assert!(report.index.is_empty() && report.plan.ports.is_empty());
        assert!(report.served.values().all(Vec::is_empty));
        // A host nobody waits for is still remembered for the domains to come.
        report.settle("192.0.2.9".parse().unwrap(), 25);
        arrive(&mut report, "d.example", "192.0.2.9");
        assert_eq!(ready(&mut report), ["d.example"]);
        assert!(report.all_written());
    }

    #[test]
    fn the_rest_is_ready_at_the_end_and_written_domains_are_not_again() {
        let plan = DomainPlan {
            domains: vec![
                mail_domain("a.example", &[("mx.a.example", 10, "192.0.2.1")]),
                mail_domain("b.example", &[("mx.b.example", 10, "192.0.2.2")]),
                mail_domain("c.example", &[("mx.c.example", 10, "192.0.2.3")]),
            ],
            ..DomainPlan::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut report = DomainReport::new(plan, &[25], &dir.path().join("scan"));
        // b's record was replayed from the run resumed.
        report.written("b.example");
        report.written("not-in-the-plan.example");
        report.take(&record("192.0.2.2", Verdict::RelayDenied));
        assert!(ready(&mut report).is_empty());
        assert!(!report.all_written());
        report.ready_the_rest();
        assert_eq!(ready(&mut report), ["a.example", "c.example"], "plan order");
        assert!(report.all_written());
    }

    #[test]
    fn copies_of_a_domain_from_shards_join_their_endpoints_and_are_reassessed() {
        let plan = DomainPlan {
            domains: vec![mail_domain(
                "a.example",
                &[
                    ("mx1.a.example", 10, "192.0.2.1"),
                    ("mx2.a.example", 20, "192.0.2.2"),
                ],
            )],
            ..DomainPlan::default()
        };
        // Each shard probed one of the two mail hosts.
        let shard = |ip: &str, verdict: Verdict| {
            let dir = tempfile::tempdir().unwrap();
            let mut report = DomainReport::new(plan.clone(), &[25], &dir.path().join("scan"));
            report.take(&record(ip, verdict));
            assessed(&report).remove(0)
        };
        let one = shard("192.0.2.1", Verdict::RelayDenied);
        let two = shard("192.0.2.2", Verdict::OpenRelay);
        assert_eq!(one.worst_verdict, Some(Verdict::RelayDenied));
        let joined = join_copies(vec![one.clone(), two]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut whole = DomainReport::new(plan, &[25], &dir.path().join("scan"));
        whole.take(&record("192.0.2.1", Verdict::RelayDenied));
        whole.take(&record("192.0.2.2", Verdict::OpenRelay));
        assert_eq!(
            joined,
            assessed(&whole).remove(0),
            "as if one run probed both"
        );
        assert_eq!(joined.worst_verdict, Some(Verdict::OpenRelay));
        assert_eq!(join_copies(vec![one.clone()]), Some(one));
        assert_eq!(join_copies(vec![]), None);
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
