//! The only file that imports the DNS library (hickory): a [`Resolve`] over hickory's stub resolver.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::client::{Client, ClientHandle};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::rdata::{CNAME, PTR};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use super::dane::{TlsaAnswer, TlsaRecord, hex};
use super::{Addresses, Answer, LookupError, Mx, Resolve, combine_addresses, normalize_name};

/// hickory's stub resolver, configured from `--resolver` or the system.
#[derive(Clone)]
pub struct HickoryResolver {
    inner: TokioResolver,
    /// The servers given with --resolver (empty: the system's).
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl HickoryResolver {
    /// Asks `servers` (UDP, then TCP for truncated answers) with `timeout` per attempt
    /// and `attempts` tries; an empty list means the system configuration
    /// (/etc/resolv.conf). hickory's own cache is kept small: [`super::Limited`] caches.
    pub fn new(
        servers: &[SocketAddr],
        timeout: Duration,
        attempts: usize,
    ) -> Result<HickoryResolver, String> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if servers.is_empty() {
            Resolver::builder(provider)
                .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?
        } else {
            let mut config = ResolverConfig::from_parts(None, vec![], vec![]);
            for server in servers {
                let mut ns = NameServerConfig::udp_and_tcp(server.ip());
                for connection in &mut ns.connections {
                    connection.port = server.port();
                }
                config.add_name_server(ns);
            }
            Resolver::builder_with_config(config, provider)
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = attempts;
        opts.cache_size = 64;
        // CNAMEs stay in the answer, so that an MX pointing at an alias is visible.
        opts.preserve_intermediates = true;
        // Names are absolute: never try a search domain (`mx.example.com.lan`).
        opts.ndots = 0;
        let inner = builder
            .build()
            .map_err(|e| format!("cannot set up the DNS resolver: {e}"))?;
        Ok(HickoryResolver {
            inner,
            servers: servers.to_vec(),
            timeout,
        })
    }

    /// Asks the first --resolver server directly, past hickory's special-use rules:
    /// hickory answers every 127/8 PTR with "localhost" itself (RFC 6761), which would
    /// hide the lab's reverse zone.
    async fn direct(
        &self,
        server: SocketAddr,
        name: Name,
        rtype: RecordType,
    ) -> Answer<Vec<Record>> {
        let stream = UdpClientStream::builder(server, TokioRuntimeProvider::default())
            .with_timeout(Some(self.timeout))
            .build();
        let (mut client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
        let task = tokio::spawn(background);
        let answer = client.query(name, DNSClass::IN, rtype).await;
        task.abort();
        match answer {
            Ok(response) => match response.metadata.response_code {
                ResponseCode::NoError => Ok(response.answers.clone()),
                code => Err(from_code(code)),
            },
            Err(e) => Err(map_error(&e)),
        }
    }

    async fn query(&self, name: &str, rtype: RecordType) -> Answer<Vec<Record>> {
        self.lookup(dns_name(name)?, rtype).await
    }

    async fn lookup(&self, name: Name, rtype: RecordType) -> Answer<Vec<Record>> {
        self.lookup_authenticated(name, rtype)
            .await
            .map(|(records, _)| records)
    }

    /// The answer's records and its AD bit (the resolver validated it with DNSSEC).
    async fn lookup_authenticated(
        &self,
        name: Name,
        rtype: RecordType,
    ) -> Answer<(Vec<Record>, bool)> {
        match self.inner.lookup(name, rtype).await {
            Ok(lookup) => Ok((
                lookup.answers().to_vec(),
                lookup.message().metadata.authentic_data,
            )),
            Err(e) => Err(map_error(&e)),
        }
    }
}

/// `name` as an absolute DNS name.
fn dns_name(name: &str) -> Answer<Name> {
    let fqdn = format!("{}.", normalize_name(name));
    Name::from_ascii(&fqdn)
        .map_err(|e| LookupError::Other(format!("{fqdn:?} is not a DNS name: {e}")))
}

fn from_code(code: ResponseCode) -> LookupError {
    match code {
        ResponseCode::NXDomain => LookupError::NxDomain,
        ResponseCode::NoError => LookupError::NoRecords,
        ResponseCode::ServFail => LookupError::ServFail,
        ResponseCode::Refused => LookupError::Refused,
        other => LookupError::Other(format!("response code {other}")),
    }
}

fn map_error(e: &NetError) -> LookupError {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => from_code(nr.response_code),
        NetError::Dns(DnsError::ResponseCode(code)) => from_code(*code),
        NetError::Timeout => LookupError::Timeout,
        other => LookupError::Other(other.to_string()),
    }
}

fn name_text(name: &Name) -> String {
    normalize_name(&name.to_ascii())
}

/// The first CNAME in `records` whose owner is `queried`: the name was an alias.
fn alias_of(records: &[Record], queried: &str) -> Option<String> {
    records.iter().find_map(|r| match &r.data {
        RData::CNAME(CNAME(target)) if name_text(&r.name) == queried => Some(name_text(target)),
        _ => None,
    })
}

impl Resolve for HickoryResolver {
    async fn mx(&self, name: &str) -> Answer<Vec<Mx>> {
        let records = self.query(name, RecordType::MX).await?;
        let list: Vec<Mx> = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(mx) => Some(Mx {
                    preference: mx.preference,
                    exchange: name_text(&mx.exchange),
                }),
                _ => None,
            })
            .collect();
        if list.is_empty() {
            return Err(LookupError::NoRecords);
        }
        Ok(list)
    }

    async fn addresses(&self, name: &str) -> Answer<Addresses> {
        let queried = normalize_name(name);
        let (v4, v6) = tokio::join!(
            self.query(name, RecordType::A),
            self.query(name, RecordType::AAAA)
        );
        let pick = |answer: Answer<Vec<Record>>| {
            answer.map(|records| Addresses {
                ips: records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    })
                    .collect(),
                cname: alias_of(&records, &queried),
            })
        };
        combine_addresses(pick(v4), pick(v6))
    }

    async fn ipv4(&self, name: &str) -> Answer<Vec<Ipv4Addr>> {
        let records = self.query(name, RecordType::A).await?;
        let ips: Vec<Ipv4Addr> = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect();
        if ips.is_empty() {
            return Err(LookupError::NoRecords);
        }
        Ok(ips)
    }

    async fn txt(&self, name: &str) -> Answer<Vec<String>> {
        let records = self.query(name, RecordType::TXT).await?;
        let texts: Vec<String> = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect();
        if texts.is_empty() {
            return Err(LookupError::NoRecords);
        }
        Ok(texts)
    }

    /// The AD bit is read as the resolver sent it. hickory's stub (built without its
    /// DNSSEC feature) sets neither AD nor DO in the query, and RFC 6840 §5.7-5.8 lets a
    /// validating resolver then leave AD clear: such answers show as not authenticated.
    async fn tlsa(&self, name: &str) -> Answer<TlsaAnswer> {
        let (records, authenticated) = self
            .lookup_authenticated(dns_name(name)?, RecordType::TLSA)
            .await?;
        let records: Vec<TlsaRecord> = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::TLSA(t) => Some(TlsaRecord {
                    usage: u8::from(t.cert_usage),
                    selector: u8::from(t.selector),
                    matching: u8::from(t.matching),
                    data: hex(&t.cert_data),
                }),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return Err(LookupError::NoRecords);
        }
        Ok(TlsaAnswer {
            records,
            authenticated,
        })
    }

    async fn ptr(&self, ip: IpAddr) -> Answer<Vec<String>> {
        // `4.3.2.1.in-addr.arpa.` or the 32 nibbles under `ip6.arpa.`, spelled by hickory.
        let reverse = Name::from(ip);
        let records = match self.servers.first() {
            Some(&server) if ip.is_loopback() => {
                self.direct(server, reverse, RecordType::PTR).await?
            }
            _ => self.lookup(reverse, RecordType::PTR).await?,
        };
        let names: Vec<String> = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::PTR(PTR(name)) => Some(name_text(name)),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            return Err(LookupError::NoRecords);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_as_ptr_queries_ask_them() {
        let table = [
            ("192.0.2.7", "7.2.0.192.in-addr.arpa."),
            (
                "2001:db8::1",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
            ),
        ];
        for (ip, want) in table {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(Name::from(ip).to_ascii(), want, "{ip}");
        }
    }

    #[test]
    fn errors_map_to_distinct_kinds() {
        assert_eq!(from_code(ResponseCode::NXDomain), LookupError::NxDomain);
        assert_eq!(from_code(ResponseCode::NoError), LookupError::NoRecords);
        assert_eq!(from_code(ResponseCode::ServFail), LookupError::ServFail);
        assert_eq!(from_code(ResponseCode::Refused), LookupError::Refused);
        assert_eq!(map_error(&NetError::Timeout), LookupError::Timeout);
    }

    /// The resolver against the lab's DNS server, over loopback UDP: every answer kind.
    #[tokio::test]
    async fn hickory_reads_every_case_from_the_server() {
        use crate::dns::{MailRoute, resolve_domain};
        use relayscan_lab::dns::{LabDns, lab_zone};
        use relayscan_lab::{LabHost, Persona};

        // The lab's first two personas, where the lab puts them.
        let hosts: Vec<LabHost> = [Persona::OpenRelay, Persona::Closed]
            .into_iter()
            .zip(1..)
            .map(|(persona, n)| LabHost {
                addr: SocketAddr::new(IpAddr::from([127, 0, 2, n]), 2525),
                persona,
            })
            .collect();
        let server = LabDns::start(
            "127.0.0.1:0".parse().unwrap(),
            lab_zone(&hosts, &Default::default()),
        )
        .await
        .unwrap();
        let dns = HickoryResolver::new(&[server.addr()], Duration::from_millis(300), 1).unwrap();
        let route = |d: &'static str| {
            let dns = dns.clone();
            async move { resolve_domain(&dns, d, &[]).await }
        };
        let shared = route("shared-3.lab.test").await;
        assert_eq!(shared.route, MailRoute::Mx);
        let prefs: Vec<Option<u16>> = shared.hosts.iter().map(|h| h.preference).collect();
        assert_eq!(prefs, [Some(10), Some(20)]);
        assert_eq!(
            shared.hosts[0].addresses,
            vec![IpAddr::from([127, 0, 2, 1])]
        );
        assert!(shared.spf.valid, "{:?}", shared.spf);
        assert_eq!(
            shared.spf.raw.as_deref(),
            Some("v=spf1 ip4:127.0.0.0/8 ip6:::1 mx -all")
        );
        assert_eq!(
            route("implicit.lab.test").await.route,
            MailRoute::ImplicitMx
        );
        assert_eq!(route("nullmx.lab.test").await.route, MailRoute::NullMx);
        assert_eq!(route("gone.lab.test").await.route, MailRoute::Nxdomain);
        assert_eq!(route("nodata.lab.test").await.route, MailRoute::NoRecords);
        assert_eq!(route("broken.lab.test").await.route, MailRoute::Servfail);
        assert_eq!(route("silent.lab.test").await.route, MailRoute::Timeout);
        assert_eq!(
            route("dangling.lab.test").await.route,
            MailRoute::NoMailHosts
        );
        let alias = route("alias.lab.test").await;
        assert_eq!(alias.hosts[0].cname.as_deref(), Some("open-relay.lab.test"));
        let literal = route("literal.lab.test").await;
        assert!(literal.hosts[0].ip_literal);
        let open = route("customer-open-relay.lab.test").await;
        assert_eq!(
            (open.spf.all, open.dmarc.p.as_deref()),
            (Some('+'), Some("none"))
        );
        assert_eq!(
            dns.ptr(IpAddr::from([127, 0, 2, 2])).await,
            Ok(vec!["closed.lab.test".to_string()])
        );
        assert_eq!(
            dns.ptr(IpAddr::from([127, 0, 2, 99])).await,
            Err(LookupError::NxDomain)
        );
    }
}
