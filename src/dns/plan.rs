//! Mail-domain targets resolved into the host-name targets the plan scans: each domain's mail hosts with their addresses, the PTR of every address, and what the DNS side cost.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use futures::stream::{self, StreamExt};

use super::domain::{DomainResolution, MailRoute, PtrCheck, check_ptr, resolve_domain};
use super::{DnsStats, Resolve};
use crate::target::{Origin, Target, TargetSpec};

/// Mail-host names and their addresses, as the plan takes resolved names.
pub type NameAddresses = HashMap<String, Vec<IpAddr>>;

/// The domains of a run, resolved.
#[derive(Debug, Clone, Default)]
pub struct DomainPlan {
    /// One per distinct domain, in input order.
    pub domains: Vec<DomainResolution>,
    /// The ports each domain is scanned on; empty means the default ports.
    pub ports: HashMap<String, Vec<u16>>,
    /// Reverse DNS of every mail-host address.
    pub ptr: BTreeMap<IpAddr, PtrCheck>,
    pub stats: DnsStats,
    pub elapsed_ms: u64,
}

impl DomainPlan {
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The first domain whose mail route is a failed lookup (SERVFAIL, a timeout, another
    /// error), when every domain's is: the name servers never answered usefully (a wrong
    /// `--resolver`, a DNS outage). `None` when any domain got an answer (NXDOMAIN and
    /// "no records" are answers), or when there are no domains.
    pub fn every_lookup_failed(&self) -> Option<&DomainResolution> {
        let failed = |d: &&DomainResolution| {
            matches!(
                d.route,
                MailRoute::Servfail | MailRoute::Timeout | MailRoute::Error
            )
        };
        if self.domains.iter().all(|d| failed(&d)) {
            self.domains.first()
        } else {
            None
        }
    }

    /// The first domain that gave no address to probe, with why in words: its route's
    /// error, else its route's name (`null-mx`, `no-mail-hosts`).
    pub fn first_without_addresses(&self) -> Option<(&str, String)> {
        let d = self.domains.iter().find(|d| d.addresses().is_empty())?;
        let why = match &d.route_error {
            Some(e) => e.clone(),
            None => d.route.as_str().to_string(),
        };
        Some((d.domain.as_str(), why))
    }

    /// One line on what the mail domains resolved to: `3 mail domains (mx 2, null-mx 1); 4
    /// mail-host addresses; 12 DNS lookups (30 answered from the cache) in 15 ms`.
    /// Each domain's DNS steps in a line, for `-vv`: "dns: example.com: mx; MX 10
    /// mx1.example.com -> 192.0.2.1, 192.0.2.2; MX 20 mx2.example.com: nxdomain".
    pub fn steps(&self) -> Vec<String> {
        self.domains.iter().map(domain_steps).collect()
    }

    pub fn summary(&self) -> String {
        let mut counts: Vec<(MailRoute, usize)> = Vec::new();
        for d in &self.domains {
            match counts.iter_mut().find(|(r, _)| *r == d.route) {
                Some((_, n)) => *n += 1,
                None => counts.push((d.route, 1)),
            }
        }
        let routes: Vec<String> = counts
            .iter()
            .map(|(r, n)| format!("{} {n}", r.as_str()))
            .collect();
        format!(
            "{} mail domains ({}); {} mail-host addresses; {} DNS lookups ({} answered from the cache) in {} ms",
            self.domains.len(),
            routes.join(", "),
            self.ptr.len(),
            self.stats.queries,
            self.stats.cache_hits,
            self.elapsed_ms
        )
    }

    /// Host-name targets for every mail host with an address (each with the port and
    /// origin of its domain target), and their addresses for the plan. A mail host
    /// shared by many domains is one name with one address set: the plan probes each
    /// address once.
    pub fn host_targets(
        &self,
        domain_targets: &[(Origin, Target)],
    ) -> (Vec<(Origin, Target)>, NameAddresses) {
        let by_name: HashMap<&str, &DomainResolution> = self
            .domains
            .iter()
            .map(|d| (d.domain.as_str(), d))
            .collect();
        let mut targets = Vec::new();
        let mut addresses = NameAddresses::new();
        for (origin, target) in domain_targets {
            let TargetSpec::Domain(name) = &target.spec else {
                continue;
            };
            let Some(resolution) = by_name.get(name.as_str()) else {
                continue;
            };
            for host in resolution.hosts.iter().filter(|h| !h.addresses.is_empty()) {
                targets.push((
                    origin.clone(),
                    Target::new(TargetSpec::Host(host.name.clone()), target.port),
                ));
                addresses
                    .entry(host.name.clone())
                    .or_insert_with(|| host.addresses.clone());
            }
        }
        (targets, addresses)
    }
}

/// Resolves every distinct domain among `targets` (at most `concurrency` at once; the
/// resolver paces the queries; DKIM keys asked under `dkim_selectors`), then the PTR and FCrDNS of every mail-host address.
pub async fn resolve_domains<R: Resolve>(
    dns: &R,
    targets: &[(Origin, Target)],
    concurrency: usize,
    dkim_selectors: &[String],
    stats: impl Fn() -> DnsStats,
) -> DomainPlan {
    let started = Instant::now();
    let mut order: Vec<String> = Vec::new();
    let mut ports: HashMap<String, Vec<u16>> = HashMap::new();
    for (_, target) in targets {
        if let TargetSpec::Domain(name) = &target.spec {
            let entry = ports.entry(name.clone()).or_insert_with(|| {
                order.push(name.clone());
                Vec::new()
            });
            if let Some(port) = target.port
                && !entry.contains(&port)
            {
                entry.push(port);
            }
        }
    }
    let mut domains: Vec<DomainResolution> = stream::iter(order.iter())
        .map(|name| resolve_domain(dns, name, dkim_selectors))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    domains.sort_by_key(|d| order.iter().position(|n| *n == d.domain));
    let mut ips: Vec<IpAddr> = domains.iter().flat_map(|d| d.addresses()).collect();
    ips.sort();
    ips.dedup();
    let ptr: BTreeMap<IpAddr, PtrCheck> = stream::iter(ips)
        .map(|ip| async move { (ip, check_ptr(dns, ip).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    DomainPlan {
        domains,
        ports,
        ptr,
        stats: stats(),
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// One domain's DNS steps in a line (see [`DomainPlan::steps`]).
pub fn domain_steps(d: &DomainResolution) -> String {
    let mut line = format!("dns: {}: {}", d.domain, d.route.as_str());
    if let Some(e) = &d.route_error {
        line.push_str(&format!(" ({e})"));
    }
    for h in &d.hosts {
        let mx = h
            .preference
            .map_or("implicit MX".to_string(), |p| format!("MX {p}"));
        line.push_str(&format!("; {mx} {}", h.name));
        match &h.error {
            Some(e) => line.push_str(&format!(": {e}")),
            None => line.push_str(&format!(" -> {}", ips_text(&h.addresses))),
        }
    }
    line
}

/// "192.0.2.1, 192.0.2.2"; "no address" for none.
pub fn ips_text(ips: &[IpAddr]) -> String {
    if ips.is_empty() {
        return "no address".to_string();
    }
    ips.iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::domain::tests::Table;
    use super::super::{Addresses, LookupError, Mx};
    use super::*;

    #[tokio::test]
    async fn the_dns_steps_name_each_host_its_preference_and_answer() {
        let mut t = Table::default();
        let mx = |preference, exchange: &str| Mx {
            preference,
            exchange: exchange.into(),
        };
        t.mx.insert(
            "a.example".into(),
            Ok(vec![mx(10, "mx1.a.example"), mx(20, "mx2.a.example")]),
        );
        t.a.insert(
            "mx1.a.example".into(),
            Ok(Addresses {
                ips: vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()],
                cname: None,
            }),
        );
        let targets = [
            (
                Origin::argument(1),
                Target::new(TargetSpec::Domain("a.example".into()), None),
            ),
            (
                Origin::argument(2),
                Target::new(TargetSpec::Domain("b.example".into()), None),
            ),
        ];
        let plan = resolve_domains(&t, &targets, 4, &[], DnsStats::default).await;
        let steps = plan.steps();
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert!(
            steps[0].starts_with(
                "dns: a.example: mx; MX 10 mx1.a.example -> 192.0.2.1, 192.0.2.2; MX 20 mx2.a.example: "
            ),
            "{steps:?}"
        );
        assert!(
            steps[1].starts_with("dns: b.example: nxdomain"),
            "{steps:?}"
        );
        assert_eq!(ips_text(&[]), "no address");
    }

    /// (each domain's MX answer; the first domain `every_lookup_failed` names; the first
    /// domain without an address). A domain's own A lookup answers NXDOMAIN.
    #[tokio::test]
    async fn when_every_lookup_failed_and_which_domain_gave_nothing() {
        type Row = (
            Vec<(&'static str, Answer)>,
            Option<&'static str>,
            Option<&'static str>,
        );
        type Answer = Result<Vec<Mx>, LookupError>;
        let null = || {
            Ok(vec![Mx {
                preference: 0,
                exchange: String::new(),
            }])
        };
        let table: Vec<Row> = vec![
            (vec![], None, None),
            (
                vec![
                    ("a.example", Err(LookupError::Timeout)),
                    ("b.example", Err(LookupError::ServFail)),
                ],
                Some("a.example"),
                Some("a.example"),
            ),
            (
                vec![("a.example", Err(LookupError::Refused))],
                Some("a.example"),
                Some("a.example"),
            ),
            (
                vec![
                    ("a.example", Err(LookupError::Timeout)),
                    ("b.example", Err(LookupError::NxDomain)),
                ],
                None,
                Some("a.example"),
            ),
            (vec![("a.example", null())], None, Some("a.example")),
        ];
        for (answers, failed, empty) in &table {
            let mut t = Table::default();
            let mut targets = Vec::new();
            for (domain, answer) in answers.iter() {
                t.mx.insert(domain.to_string(), answer.clone());
                targets.push((
                    Origin::argument(1),
                    Target::new(TargetSpec::Domain(domain.to_string()), None),
                ));
            }
            let plan = resolve_domains(&t, &targets, 4, &[], DnsStats::default).await;
            let got = plan.every_lookup_failed().map(|d| d.domain.as_str());
            assert_eq!(got, *failed, "{answers:?}");
            let got = plan.first_without_addresses().map(|(d, _)| d);
            assert_eq!(got, *empty, "{answers:?}");
        }
    }

    #[tokio::test]
    async fn shared_hosts_become_one_target_name_each() {
        let mut t = Table::default();
        let shared = || {
            Ok(vec![Mx {
                preference: 10,
                exchange: "mx.provider.example".into(),
            }])
        };
        t.mx.insert("a.example".into(), shared());
        t.mx.insert("b.example".into(), shared());
        t.mx.insert(
            "c.example".into(),
            Ok(vec![Mx {
                preference: 0,
                exchange: String::new(),
            }]),
        );
        t.a.insert(
            "mx.provider.example".into(),
            Ok(Addresses {
                ips: vec!["192.0.2.10".parse().unwrap()],
                cname: None,
            }),
        );
        t.ptr
            .insert("192.0.2.10".parse().unwrap(), Err(LookupError::NxDomain));
        let targets: Vec<(Origin, Target)> =
            ["@a.example", "@b.example:2525", "@c.example", "@a.example"]
                .iter()
                .enumerate()
                .map(|(i, s)| (Origin::argument(i + 1), s.parse().unwrap()))
                .collect();
        let plan = resolve_domains(&t, &targets, 4, &[], DnsStats::default).await;
        let names: Vec<&str> = plan.domains.iter().map(|d| d.domain.as_str()).collect();
        assert_eq!(names, ["a.example", "b.example", "c.example"]);
        assert_eq!(plan.ports["b.example"], vec![2525]);
        assert!(plan.ports["a.example"].is_empty());
        assert_eq!(plan.ptr.len(), 1);
        let (hosts, addresses) = plan.host_targets(&targets);
        let shown: Vec<String> = hosts.iter().map(|(_, t)| t.to_string()).collect();
        assert_eq!(
            shown,
            [
                "mx.provider.example",
                "mx.provider.example:2525",
                "mx.provider.example"
            ]
        );
        assert_eq!(addresses.len(), 1);
        let summary = plan.summary();
        assert!(
            summary.starts_with(
                "3 mail domains (mx 2, null-mx 1); 1 mail-host addresses; 0 DNS lookups (0 answered from the cache) in "
            ),
            "{summary}"
        );
    }
}
