//! The only file that imports the DNS library (hickory): a [`Resolve`] over hickory's stub resolver, and the TLSA questions DANE sends itself, asking the resolver to validate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::client::Client;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::tcp::TcpClientStream;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::DnsHandle;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::{
    DnsRequest, DnsRequestOptions, Edns, Message, Query, ResponseCode,
};
use hickory_resolver::proto::rr::rdata::{CNAME, PTR};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_resolver::system_conf::read_system_conf;
use hickory_resolver::{Resolver, TokioResolver};

use super::dane::{TlsaAnswer, TlsaRecord, hex};
use super::{Addresses, Answer, LookupError, Mx, Resolve, combine_addresses, normalize_name};

/// hickory's stub resolver, configured from `--resolver` or the system.
#[derive(Clone)]
pub struct HickoryResolver {
    inner: TokioResolver,
    /// The servers given with --resolver (empty: the system's).
    servers: Vec<SocketAddr>,
    /// Where the questions relayscan sends itself go: the --resolver servers, else the
    /// system's (UDP port of each), in order.
    direct_servers: Vec<SocketAddr>,
    timeout: Duration,
    attempts: usize,
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
        let (mut builder, direct_servers) = if servers.is_empty() {
            // What `Resolver::builder` reads, read here so that the TLSA questions
            // (asked past the stub, see `validated`) go to the same servers.
            let (config, system_opts) = read_system_conf()
                .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
            let direct = config.name_servers().iter().map(udp_address).collect();
            let mut builder = Resolver::builder_with_config(config, provider);
            *builder.options_mut() = system_opts;
            (builder, direct)
        } else {
            let mut config = ResolverConfig::from_parts(None, vec![], vec![]);
            for server in servers {
                let mut ns = NameServerConfig::udp_and_tcp(server.ip());
                for connection in &mut ns.connections {
                    connection.port = server.port();
                }
                config.add_name_server(ns);
            }
            (
                Resolver::builder_with_config(config, provider),
                servers.to_vec(),
            )
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
            direct_servers,
            timeout,
            attempts,
        })
    }

    /// Sends `request` to `server` over UDP, past hickory's stub and its special-use
    /// rules (it answers every 127/8 PTR with "localhost" itself, RFC 6761, which would
    /// hide the lab's reverse zone), and again over TCP when the answer came back
    /// truncated (TC: cut to fit the datagram, RFC 7766 §5); the whole response, header
    /// bits included.
    async fn direct(&self, server: SocketAddr, request: DnsRequest) -> Answer<Message> {
        let provider = TokioRuntimeProvider::default();
        let stream = UdpClientStream::builder(server, provider.clone())
            .with_timeout(Some(self.timeout))
            .build();
        let (client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
        let mut response = run_client(client, background, request.clone()).await?;
        if response.metadata.truncation {
            let (connect, sender) =
                TcpClientStream::new(server, None, Some(self.timeout), provider);
            let stream = connect.await.map_err(|e| map_error(&e))?;
            let (client, background) =
                Client::<TokioRuntimeProvider>::with_timeout(stream, sender, self.timeout);
            response = run_client(client, background, request).await?;
        }
        match response.metadata.response_code {
            // Still cut (a server that truncates over TCP too): the records are not all
            // there; an unknown is honest, a partial answer would not be.
            ResponseCode::NoError if response.metadata.truncation => Err(LookupError::Other(
                "the answer was truncated (TC) over UDP and TCP".into(),
            )),
            ResponseCode::NoError => Ok(response),
            code => Err(from_code(code)),
        }
    }

    /// `name`/`rtype` asked of the direct servers with AD=1 (see [`validating_query`]):
    /// the answer's records and whether the resolver vouched for them. Each of the
    /// `attempts` goes to the next server; a server's own answer (NXDOMAIN, SERVFAIL)
    /// is final, only silence or a network error moves on.
    async fn validated(&self, name: Name, rtype: RecordType) -> Answer<(Vec<Record>, bool)> {
        let mut last = LookupError::Other("no name server is configured".into());
        for server in self
            .direct_servers
            .iter()
            .cycle()
            .take(self.attempts.max(1))
        {
            let request = DnsRequest::new(
                validating_query(name.clone(), rtype),
                DnsRequestOptions::default(),
            );
            match self.direct(*server, request).await {
                Ok(response) => {
                    return Ok((response.answers.clone(), authenticated(&response)));
                }
                Err(e @ (LookupError::Timeout | LookupError::Other(_))) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn query(&self, name: &str, rtype: RecordType) -> Answer<Vec<Record>> {
        self.lookup(dns_name(name)?, rtype).await
    }

    async fn lookup(&self, name: Name, rtype: RecordType) -> Answer<Vec<Record>> {
        match self.inner.lookup(name, rtype).await {
            Ok(lookup) => Ok(lookup.answers().to_vec()),
            Err(e) => Err(map_error(&e)),
        }
    }
}

/// EDNS payload size of the questions sent directly: 1232 bytes, the DNS Flag Day 2020
/// value, fits an IPv6 datagram unfragmented.
const EDNS_PAYLOAD: u16 = 1232;

/// A recursive question that asks the resolver to say whether it validated the answer:
/// AD=1 in the header, which RFC 6840 §5.8 defines as the client's signal that it wants
/// the answer's AD bit (§5.7: a validating resolver sets AD only for a query with AD or
/// DO set, and unbound leaves it clear otherwise). CD stays clear, so the resolver
/// validates and answers SERVFAIL for bogus data. DO stays clear too: it would bring the
/// RRSIGs, which relayscan does not check (the resolver does), and they could push the
/// answer past one datagram.
fn validating_query(name: Name, rtype: RecordType) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(name, rtype));
    message.metadata.recursion_desired = true;
    message.metadata.authentic_data = true;
    message.metadata.checking_disabled = false;
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD).set_dnssec_ok(false);
    message.set_edns(edns);
    message
}

/// Whether a response counts as DNSSEC-authenticated: the resolver set AD. The one place
/// that decides it; it means something only for an answer to [`validating_query`], and
/// only as far as the path to the resolver is trusted (RFC 4035 §4.9.3: a local resolver,
/// or a secured channel to it).
fn authenticated(response: &Message) -> bool {
    response.metadata.authentic_data
}

/// The UDP address of a configured name server (port 53 unless it says otherwise).
fn udp_address(ns: &NameServerConfig) -> SocketAddr {
    let port = ns
        .connections
        .iter()
        .find(|c| matches!(c.protocol, ProtocolConfig::Udp))
        .map_or(53, |c| c.port);
    SocketAddr::new(ns.ip, port)
}

/// The first response `client` gets to `request`, its `background` (which does the
/// network work) running meanwhile and stopped after.
async fn run_client<B>(
    client: Client<TokioRuntimeProvider>,
    background: B,
    request: DnsRequest,
) -> Answer<Message>
where
    B: Future<Output = ()> + Send + 'static,
{
    use futures::StreamExt;
    let task = tokio::spawn(background);
    let answer = client.send(request).next().await;
    task.abort();
    match answer {
        Some(Ok(response)) => Ok(response.into_message()),
        Some(Err(e)) => Err(map_error(&e)),
        None => Err(LookupError::Timeout),
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

    /// Asked past the stub with AD=1 ([`validating_query`]), so that a validating
    /// resolver says whether DNSSEC authenticated the records (hickory's stub, built
    /// without its DNSSEC feature, asks neither AD nor DO, and would get AD clear).
    async fn tlsa(&self, name: &str) -> Answer<TlsaAnswer> {
        let (records, authenticated) = self.validated(dns_name(name)?, RecordType::TLSA).await?;
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
                let mut query = Query::query(reverse, RecordType::PTR);
                query.set_query_class(DNSClass::IN);
                let request = DnsRequest::from_query(query, DnsRequestOptions::default());
                self.direct(server, request).await?.answers
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

    /// The TLSA question on the wire: RD and AD set, CD clear (RFC 6840 §5.8), one
    /// question, and an EDNS OPT record whose DO bit is clear.
    #[test]
    fn the_validating_query_asks_for_ad_in_its_header() {
        let name = Name::from_ascii("_25._tcp.mx.example.com.").unwrap();
        let wire = validating_query(name.clone(), RecordType::TLSA)
            .to_vec()
            .unwrap();
        let (flags_hi, flags_lo) = (wire[2], wire[3]);
        assert_eq!(flags_hi & 0x80, 0, "QR: a query");
        assert_eq!(flags_hi & 0x78, 0, "OPCODE: QUERY");
        assert_eq!(flags_hi & 0x01, 0x01, "RD");
        assert_eq!(flags_lo & 0x20, 0x20, "AD");
        assert_eq!(flags_lo & 0x10, 0, "CD");
        let count = |at: usize| u16::from_be_bytes([wire[at], wire[at + 1]]);
        assert_eq!((count(4), count(6), count(8), count(10)), (1, 0, 0, 1));
        // The OPT record closes the message: type 41, class = payload size, then the
        // TTL field (extended RCODE, version, DO in the top bit of the flags), RDLEN 0.
        let opt = &wire[wire.len() - 11..];
        assert_eq!(opt[0], 0, "OPT is owned by the root");
        assert_eq!(u16::from_be_bytes([opt[1], opt[2]]), 41);
        assert_eq!(u16::from_be_bytes([opt[3], opt[4]]), EDNS_PAYLOAD);
        assert_eq!(opt[7] & 0x80, 0, "DO");
        // And it reads back as the question asked.
        let read = Message::from_vec(&wire).unwrap();
        assert_eq!(read.queries[0].name(), &name);
        assert_eq!(read.queries[0].query_type(), RecordType::TLSA);
        assert!(read.metadata.authentic_data && !read.metadata.checking_disabled);
    }

    /// A response is authenticated exactly when its AD bit is set, whatever else it says.
    #[test]
    fn authenticated_is_the_response_s_ad_bit() {
        for (ad, aa, want) in [
            (true, false, true),
            (false, false, false),
            (false, true, false),
        ] {
            let mut response = Message::response(7, hickory_resolver::proto::op::OpCode::Query);
            response.metadata.authentic_data = ad;
            response.metadata.authoritative = aa;
            let read = Message::from_vec(&response.to_vec().unwrap()).unwrap();
            assert_eq!(authenticated(&read), want, "AD={ad} AA={aa}");
        }
    }

    #[test]
    fn a_system_name_server_is_asked_on_its_udp_port() {
        let ip: IpAddr = "192.0.2.53".parse().unwrap();
        assert_eq!(
            udp_address(&NameServerConfig::udp_and_tcp(ip)),
            SocketAddr::new(ip, 53)
        );
        let mut tcp_first = NameServerConfig::udp_and_tcp(ip);
        tcp_first.connections.reverse();
        tcp_first.connections[1].port = 5353;
        assert_eq!(udp_address(&tcp_first), SocketAddr::new(ip, 5353));
    }

    /// TLSA through the lab's DNS (which sets AD only when asked, as unbound does): the
    /// AD bit read per answer, a server that never answers passed over for the next one,
    /// and a server's own SERVFAIL final.
    #[tokio::test]
    async fn tlsa_is_asked_for_ad_and_moves_past_a_silent_server() {
        use relayscan_lab::dns::LabDns;
        use relayscan_lab::dns::zone::{Data, Zone};
        let mut zone = Zone::new("dane.test");
        zone.add(
            "_25._tcp.signed.dane.test",
            Data::Tlsa(3, 1, 1, vec![0xab; 32]),
        )
        .authenticated("_25._tcp.signed.dane.test")
        .add(
            "_25._tcp.plain.dane.test",
            Data::Tlsa(3, 1, 1, vec![0xcd; 32]),
        )
        .servfail("_25._tcp.broken.dane.test");
        let server = LabDns::start("127.0.0.1:0".parse().unwrap(), zone)
            .await
            .unwrap();
        // Bound and never read: every question to it times out.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let servers = [silent.local_addr().unwrap(), server.addr()];
        let dns = HickoryResolver::new(&servers, Duration::from_millis(200), 2).unwrap();
        let signed = dns.tlsa("_25._tcp.signed.dane.test").await.unwrap();
        assert!(signed.authenticated);
        assert_eq!(signed.records[0].data, "ab".repeat(32));
        let plain = dns.tlsa("_25._tcp.plain.dane.test").await.unwrap();
        assert!(!plain.authenticated);
        assert_eq!(
            dns.tlsa("_25._tcp.broken.dane.test").await,
            Err(LookupError::ServFail)
        );
        assert_eq!(
            dns.tlsa("_25._tcp.none.dane.test").await,
            Err(LookupError::NxDomain)
        );
        // One attempt reaches only the silent server.
        let once = HickoryResolver::new(&servers, Duration::from_millis(200), 1).unwrap();
        assert_eq!(
            once.tlsa("_25._tcp.signed.dane.test").await,
            Err(LookupError::Timeout)
        );
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
