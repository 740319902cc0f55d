//! One mail domain, resolved: its route (MX, implicit MX, null MX or a lookup failure), its mail hosts with their addresses, its policy records, and PTR/FCrDNS of an address.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::dane::{HostTlsa, tlsa_name};
use super::dkim::Dkim;
use super::mta_sts::StsFetch;
use super::mx::{Oddity, Route, route};
use super::policy::{Dmarc, Presence, Spf, dmarc, presence, report_authorization, spf};
use super::{LookupError, Resolve, normalize_name};
use crate::target::Address;

/// How a domain receives mail. Stable kebab-case names in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailRoute {
    /// MX records, and at least one exchange has an address.
    Mx,
    /// No MX records; the domain's own A/AAAA records receive mail (RFC 5321 §5.1).
    ImplicitMx,
    /// `MX 0 .` (RFC 7505): accepts no mail; nothing is probed.
    NullMx,
    /// MX records whose exchanges all failed to resolve: mail cannot be delivered, and
    /// RFC 5321 §5.1 forbids falling back to the domain's own address.
    NoMailHosts,
    /// The domain does not exist.
    Nxdomain,
    /// Neither MX nor A/AAAA records.
    NoRecords,
    Servfail,
    Timeout,
    /// Another lookup failure (REFUSED, a malformed answer).
    Error,
}

impl MailRoute {
    pub fn as_str(self) -> &'static str {
        match self {
            MailRoute::Mx => "mx",
            MailRoute::ImplicitMx => "implicit-mx",
            MailRoute::NullMx => "null-mx",
            MailRoute::NoMailHosts => "no-mail-hosts",
            MailRoute::Nxdomain => "nxdomain",
            MailRoute::NoRecords => "no-records",
            MailRoute::Servfail => "servfail",
            MailRoute::Timeout => "timeout",
            MailRoute::Error => "error",
        }
    }

    fn of_error(e: &LookupError) -> MailRoute {
        match e {
            LookupError::NxDomain => MailRoute::Nxdomain,
            LookupError::NoRecords => MailRoute::NoRecords,
            LookupError::ServFail => MailRoute::Servfail,
            LookupError::Timeout => MailRoute::Timeout,
            LookupError::Refused | LookupError::Other(_) => MailRoute::Error,
        }
    }
}

/// One mail host of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailHost {
    pub name: String,
    /// The MX preference; `None` for the implicit MX.
    pub preference: Option<u16>,
    pub addresses: Vec<IpAddr>,
    /// Why the host has no address (`nxdomain`, `timeout`...).
    pub error: Option<String>,
    /// The exchange is an alias (CNAME) for this name: RFC 2181 §10.3 forbids it.
    pub cname: Option<String>,
    /// The exchange is written as an IP address, not a name.
    pub ip_literal: bool,
}

/// Everything DNS says about one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainResolution {
    pub domain: String,
    pub route: MailRoute,
    /// The failed lookup behind the route, in words.
    pub route_error: Option<String>,
    /// Mail hosts, most preferred first.
    pub hosts: Vec<MailHost>,
    /// A null MX stands next to real MX records.
    pub null_mx_mixed: bool,
    pub spf: Spf,
    pub dmarc: Dmarc,
    pub mta_sts: Presence,
    pub tls_rpt: Presence,
    /// Keys found under the guessed DKIM selectors.
    #[serde(default)]
    pub dkim: Dkim,
    /// The TLSA records of each mail host with an address (`_25._tcp.HOST`).
    #[serde(default)]
    pub tlsa: Vec<HostTlsa>,
    /// The MTA-STS policy, fetched over HTTPS when the domain publishes an `_mta-sts`
    /// TXT record (`crate::dns::sts_fetch`); `None` when it was not fetched.
    #[serde(default)]
    pub mta_sts_policy: Option<StsFetch>,
}

impl DomainResolution {
    /// Every address to probe, once each, in preference order.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for ip in self.hosts.iter().flat_map(|h| &h.addresses) {
            if !out.contains(ip) {
                out.push(*ip);
            }
        }
        out
    }
}

/// Resolves `domain`: MX, then each exchange's A/AAAA (or the domain's own for an
/// implicit MX), and the SPF, DMARC, MTA-STS and TLS-RPT records, concurrently; then, for
/// a domain that answered, its SPF tree, the authorisation of its external DMARC report
/// destinations, and a DKIM key under each of `dkim_selectors`.
pub async fn resolve_domain<R: Resolve>(
    dns: &R,
    domain: &str,
    dkim_selectors: &[String],
) -> DomainResolution {
    let domain = normalize_name(domain);
    let dmarc_name = format!("_dmarc.{domain}");
    let sts_name = format!("_mta-sts.{domain}");
    let rpt_name = format!("_smtp._tls.{domain}");
    let (mail, spf_txt, dmarc_txt, sts_txt, rpt_txt) = tokio::join!(
        mail_hosts(dns, &domain),
        dns.txt(&domain),
        dns.txt(&dmarc_name),
        dns.txt(&sts_name),
        dns.txt(&rpt_name),
    );
    let (route, route_error, hosts, null_mx_mixed) = mail;
    let mut resolution = DomainResolution {
        domain,
        route,
        route_error,
        hosts,
        null_mx_mixed,
        spf: spf(&spf_txt),
        dmarc: dmarc(&dmarc_txt),
        mta_sts: presence(&sts_txt, "v=STSv1"),
        tls_rpt: presence(&rpt_txt, "v=TLSRPTv1"),
        dkim: Dkim::default(),
        tlsa: Vec::new(),
        mta_sts_policy: None,
    };
    // A domain that does not exist, or whose DNS failed, has no more to ask about.
    if matches!(
        route,
        MailRoute::Nxdomain | MailRoute::Servfail | MailRoute::Timeout | MailRoute::Error
    ) {
        return resolution;
    }
    let d = &resolution.domain;
    let (tree, authorizations, dkim, tlsa) = tokio::join!(
        async {
            match resolution.spf.present {
                true => Some(super::spf_tree::follow(dns, d, &spf_txt).await),
                false => None,
            }
        },
        report_authorizations(dns, d, &resolution.dmarc),
        super::dkim::lookup(dns, d, dkim_selectors),
        host_tlsa(dns, &resolution.hosts),
    );
    if let Some(tree) = tree {
        resolution.spf.tree = tree;
    }
    resolution.dmarc.report_authorizations = authorizations;
    resolution.tlsa = tlsa;
    resolution.dkim = dkim;
    resolution
}

/// The authorisation record of each external DMARC report destination (RFC 7489 §7.1).
async fn report_authorizations<R: Resolve>(
    dns: &R,
    domain: &str,
    dmarc: &Dmarc,
) -> Vec<super::policy::ReportAuthorization> {
    let destinations = dmarc.external_destinations(domain);
    let answers = futures::future::join_all(destinations.iter().map(|dest| async move {
        dns.txt(&super::policy::report_authorization_name(domain, dest))
            .await
    }))
    .await;
    destinations
        .iter()
        .zip(answers)
        .map(|(dest, answer)| report_authorization(domain, dest, &answer))
        .collect()
}

/// The TLSA records of every mail host that has an address, concurrently. NXDOMAIN and
/// "no records" mean the host publishes none; other failures are kept as unknown.
async fn host_tlsa<R: Resolve>(dns: &R, hosts: &[MailHost]) -> Vec<HostTlsa> {
    let names: Vec<(&str, String)> = hosts
        .iter()
        .filter(|h| !h.addresses.is_empty() && !h.ip_literal)
        .map(|h| (h.name.as_str(), tlsa_name(&h.name)))
        .collect();
    let answers = futures::future::join_all(names.iter().map(|(_, n)| dns.tlsa(n))).await;
    names
        .into_iter()
        .zip(answers)
        .map(|((host, name), answer)| {
            let mut found = HostTlsa {
                host: host.to_string(),
                name,
                ..HostTlsa::default()
            };
            match answer {
                Ok(a) => {
                    found.records = a.records;
                    found.authenticated = a.authenticated;
                }
                Err(LookupError::NxDomain | LookupError::NoRecords) => {}
                Err(e) => found.lookup_error = Some(e.to_string()),
            }
            found
        })
        .collect()
}

type Mail = (MailRoute, Option<String>, Vec<MailHost>, bool);

async fn mail_hosts<R: Resolve>(dns: &R, domain: &str) -> Mail {
    let (route, oddities) = route(&dns.mx(domain).await);
    let mixed = oddities.contains(&Oddity::NullMixed);
    match route {
        Route::Null => (MailRoute::NullMx, None, Vec::new(), mixed),
        Route::Failed(e) => (
            MailRoute::of_error(&e),
            Some(e.to_string()),
            Vec::new(),
            mixed,
        ),
        Route::Implicit => match dns.addresses(domain).await {
            Ok(found) => {
                let host = MailHost {
                    name: domain.to_string(),
                    preference: None,
                    addresses: found.ips,
                    error: None,
                    cname: found.cname,
                    ip_literal: false,
                };
                (MailRoute::ImplicitMx, None, vec![host], mixed)
            }
            Err(e) => {
                let shown = format!("no MX records, and the domain's own address lookup: {e}");
                (MailRoute::of_error(&e), Some(shown), Vec::new(), mixed)
            }
        },
        Route::Exchanges(list) => {
            let answers =
                futures::future::join_all(list.iter().map(|mx| dns.addresses(&mx.exchange))).await;
            let hosts: Vec<MailHost> = list
                .iter()
                .zip(answers)
                .map(|(mx, answer)| {
                    let (addresses, error, cname) = match answer {
                        Ok(found) => (found.ips, None, found.cname),
                        Err(e) => (Vec::new(), Some(e.as_str().to_string()), None),
                    };
                    MailHost {
                        name: mx.exchange.clone(),
                        preference: Some(mx.preference),
                        addresses,
                        error,
                        cname,
                        ip_literal: super::mx::is_ip_literal(&mx.exchange),
                    }
                })
                .collect();
            if hosts.iter().all(|h| h.addresses.is_empty()) {
                let why: Vec<String> = hosts
                    .iter()
                    .map(|h| format!("{}: {}", h.name, h.error.as_deref().unwrap_or("no address")))
                    .collect();
                let shown = format!("no MX host resolves ({})", why.join("; "));
                (MailRoute::NoMailHosts, Some(shown), hosts, mixed)
            } else {
                (MailRoute::Mx, None, hosts, mixed)
            }
        }
    }
}

/// Reverse DNS of one probed address: its PTR names and whether one of them resolves
/// back to the address (forward-confirmed reverse DNS).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PtrCheck {
    pub names: Vec<String>,
    pub fcrdns: bool,
    /// The PTR lookup failed or found nothing (`nxdomain`, `timeout`...).
    pub error: Option<String>,
}

/// PTR of `ip`, then A/AAAA of each name it gives. Both compared in canonical form: the
/// PTR of `::ffff:192.0.2.1` is asked of 192.0.2.1 (in-addr.arpa), and an AAAA that spells
/// it in IPv6 confirms it.
pub async fn check_ptr<R: Resolve>(dns: &R, ip: IpAddr) -> PtrCheck {
    let ip = Address::new(ip);
    match dns.ptr(ip.ip()).await {
        Err(e) => PtrCheck {
            error: Some(e.as_str().to_string()),
            ..PtrCheck::default()
        },
        Ok(names) => {
            let forward = futures::future::join_all(names.iter().map(|n| dns.addresses(n))).await;
            let fcrdns = forward.iter().any(|a| {
                a.as_ref()
                    .is_ok_and(|found| found.ips.iter().any(|&f| Address::new(f) == ip))
            });
            PtrCheck {
                names,
                fcrdns,
                error: None,
            }
        }
    }
}

/// Whether a server's own name (greeting or EHLO) is one of its PTR names.
pub fn name_matches_ptr(server_name: Option<&str>, ptr: &PtrCheck) -> bool {
    server_name.is_some_and(|n| ptr.names.contains(&normalize_name(n)))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::super::{Addresses, Answer, Mx};
    use super::*;

    /// A resolver from tables: what each name answers.
    #[derive(Default)]
    pub(crate) struct Table {
        pub mx: HashMap<String, Answer<Vec<Mx>>>,
        pub a: HashMap<String, Answer<Addresses>>,
        pub txt: HashMap<String, Answer<Vec<String>>>,
        pub ptr: HashMap<IpAddr, Answer<Vec<String>>>,
        pub tlsa: HashMap<String, Answer<super::super::dane::TlsaAnswer>>,
    }

    fn get<K: std::hash::Hash + Eq, T: Clone>(m: &HashMap<K, Answer<T>>, k: &K) -> Answer<T> {
        m.get(k).cloned().unwrap_or(Err(LookupError::NxDomain))
    }

    impl Resolve for Table {
        async fn mx(&self, name: &str) -> Answer<Vec<Mx>> {
            get(&self.mx, &name.to_string())
        }
        async fn addresses(&self, name: &str) -> Answer<Addresses> {
            get(&self.a, &name.to_string())
        }
        async fn txt(&self, name: &str) -> Answer<Vec<String>> {
            // A name with TXT names below it exists (an empty non-terminal, RFC 8020):
            // no records, not NXDOMAIN.
            let below = format!(".{name}");
            match get(&self.txt, &name.to_string()) {
                Err(LookupError::NxDomain) if self.txt.keys().any(|k| k.ends_with(&below)) => {
                    Err(LookupError::NoRecords)
                }
                answer => answer,
            }
        }
        async fn ptr(&self, ip: IpAddr) -> Answer<Vec<String>> {
            get(&self.ptr, &ip)
        }
        async fn tlsa(&self, name: &str) -> Answer<super::super::dane::TlsaAnswer> {
            get(&self.tlsa, &name.to_string())
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> Table {
        let mut t = Table::default();
        let mx = |p, e: &str| Mx {
            preference: p,
            exchange: e.into(),
        };
        let at = |list: &[&str]| {
            Ok(Addresses {
                ips: list.iter().map(|s| ip(s)).collect(),
                cname: None,
            })
        };
        t.mx.insert(
            "two.example".into(),
            Ok(vec![mx(20, "mx2.example"), mx(10, "mx1.example")]),
        );
        t.mx.insert("implicit.example".into(), Err(LookupError::NoRecords));
        t.mx.insert("bare.example".into(), Err(LookupError::NoRecords));
        t.mx.insert("null.example".into(), Ok(vec![mx(0, "")]));
        t.mx.insert("dead.example".into(), Ok(vec![mx(10, "gone.example")]));
        t.mx.insert("slow.example".into(), Err(LookupError::Timeout));
        t.mx.insert("alias.example".into(), Ok(vec![mx(10, "www.example")]));
        t.a.insert("mx1.example".into(), at(&["192.0.2.1"]));
        t.a.insert("mx2.example".into(), at(&["192.0.2.2", "2001:db8::2"]));
        t.a.insert("implicit.example".into(), at(&["192.0.2.9"]));
        t.a.insert("bare.example".into(), Err(LookupError::NoRecords));
        t.a.insert(
            "www.example".into(),
            Ok(Addresses {
                ips: vec![ip("192.0.2.1")],
                cname: Some("mx1.example".into()),
            }),
        );
        t.txt
            .insert("two.example".into(), Ok(vec!["v=spf1 mx -all".into()]));
        t.txt.insert(
            "_dmarc.two.example".into(),
            Ok(vec!["v=DMARC1; p=reject".into()]),
        );
        t.txt.insert(
            "_mta-sts.two.example".into(),
            Ok(vec!["v=STSv1; id=1".into()]),
        );
        t.txt
            .insert("_smtp._tls.two.example".into(), Err(LookupError::Timeout));
        t.ptr
            .insert(ip("192.0.2.1"), Ok(vec!["mx1.example".into()]));
        t.ptr
            .insert(ip("192.0.2.2"), Ok(vec!["elsewhere.example".into()]));
        t
    }

    #[tokio::test]
    async fn routes_and_hosts() {
        let t = table();
        // (domain, route, hosts as "name:pref=addresses")
        let cases: Vec<(&str, MailRoute, Vec<&str>)> = vec![
            (
                "two.example",
                MailRoute::Mx,
                vec![
                    "mx1.example:10=192.0.2.1",
                    "mx2.example:20=192.0.2.2,2001:db8::2",
                ],
            ),
            (
                "Implicit.Example.",
                MailRoute::ImplicitMx,
                vec!["implicit.example:-=192.0.2.9"],
            ),
            ("bare.example", MailRoute::NoRecords, vec![]),
            ("null.example", MailRoute::NullMx, vec![]),
            (
                "dead.example",
                MailRoute::NoMailHosts,
                vec!["gone.example:10="],
            ),
            ("slow.example", MailRoute::Timeout, vec![]),
            ("missing.example", MailRoute::Nxdomain, vec![]),
            (
                "alias.example",
                MailRoute::Mx,
                vec!["www.example:10=192.0.2.1"],
            ),
        ];
        for (domain, want_route, want_hosts) in cases {
            let got = resolve_domain(&t, domain, &[]).await;
            let hosts: Vec<String> = got
                .hosts
                .iter()
                .map(|h| {
                    let pref = h.preference.map_or("-".to_string(), |p| p.to_string());
                    let ips: Vec<String> = h.addresses.iter().map(|i| i.to_string()).collect();
                    format!("{}:{pref}={}", h.name, ips.join(","))
                })
                .collect();
            assert_eq!(
                (got.route, hosts),
                (
                    want_route,
                    want_hosts.iter().map(|s| s.to_string()).collect()
                ),
                "{domain}"
            );
            assert_eq!(
                got.route_error.is_some(),
                !matches!(
                    want_route,
                    MailRoute::Mx | MailRoute::ImplicitMx | MailRoute::NullMx
                ),
                "{domain}"
            );
        }
        let alias = resolve_domain(&t, "alias.example", &[]).await;
        assert_eq!(alias.hosts[0].cname.as_deref(), Some("mx1.example"));
        let dead = resolve_domain(&t, "dead.example", &[]).await;
        assert!(
            dead.route_error
                .as_deref()
                .unwrap_or("")
                .contains("gone.example: nxdomain")
        );
        assert!(dead.addresses().is_empty());
        let two = resolve_domain(&t, "two.example", &[]).await;
        assert_eq!(two.addresses().len(), 3);
        assert!(two.spf.valid && two.spf.all == Some('-'));
        assert_eq!(two.dmarc.p.as_deref(), Some("reject"));
        assert!(two.mta_sts.present);
        assert!(!two.tls_rpt.present && two.tls_rpt.lookup_error.is_some());
    }

    #[tokio::test]
    async fn ptr_and_fcrdns() {
        let t = table();
        let good = check_ptr(&t, ip("192.0.2.1")).await;
        assert_eq!(
            (good.names.clone(), good.fcrdns),
            (vec!["mx1.example".to_string()], true)
        );
        assert!(name_matches_ptr(Some("MX1.example."), &good));
        assert!(!name_matches_ptr(Some("other.example"), &good));
        assert!(!name_matches_ptr(None, &good));
        let unconfirmed = check_ptr(&t, ip("192.0.2.2")).await;
        assert!(!unconfirmed.fcrdns && unconfirmed.error.is_none());
        let none = check_ptr(&t, ip("192.0.2.99")).await;
        assert_eq!(none.error.as_deref(), Some("nxdomain"));

        // IPv6 spellings of IPv4 addresses, on either side of the check.
        let mut t = table();
        t.ptr
            .insert(ip("192.0.2.40"), Ok(vec!["spelt.example".to_string()]));
        t.a.insert(
            "spelt.example".into(),
            Ok(Addresses {
                ips: vec![ip("::ffff:192.0.2.40")],
                cname: None,
            }),
        );
        for asked in ["192.0.2.40", "::ffff:192.0.2.40"] {
            let got = check_ptr(&t, ip(asked)).await;
            assert_eq!(
                (got.names, got.fcrdns),
                (vec!["spelt.example".to_string()], true),
                "{asked}"
            );
        }
    }
}
