//! The only file that imports the DNS library (hickory): a [`Resolve`] over hickory's stub resolver, and the wire format of the lab's authoritative server.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::client::{Client, ClientHandle};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TXT};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use super::zone::{Data, QType, Reply, Zone};
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
        let fqdn = format!("{}.", normalize_name(name));
        let name = Name::from_ascii(&fqdn)
            .map_err(|e| LookupError::Other(format!("{fqdn:?} is not a DNS name: {e}")))?;
        match self.inner.lookup(name, rtype).await {
            Ok(lookup) => Ok(lookup.answers().to_vec()),
            Err(e) => Err(map_error(&e)),
        }
    }
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

    async fn ptr(&self, ip: IpAddr) -> Answer<Vec<String>> {
        let reverse = super::zone::reverse_name(ip);
        let records = match self.servers.first() {
            Some(&server) if ip.is_loopback() => {
                let name = Name::from_ascii(format!("{reverse}."))
                    .map_err(|e| LookupError::Other(e.to_string()))?;
                self.direct(server, name, RecordType::PTR).await?
            }
            _ => self.query(&reverse, RecordType::PTR).await?,
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

fn qtype(t: RecordType) -> QType {
    match t {
        RecordType::A => QType::A,
        RecordType::AAAA => QType::Aaaa,
        RecordType::MX => QType::Mx,
        RecordType::TXT => QType::Txt,
        RecordType::CNAME => QType::Cname,
        RecordType::PTR => QType::Ptr,
        other => QType::Other(u16::from(other)),
    }
}

fn absolute(name: &str) -> Option<Name> {
    if name.is_empty() {
        return Some(Name::root());
    }
    Name::from_ascii(format!("{name}.")).ok()
}

fn record(owner: &str, data: &Data) -> Option<Record> {
    let owner = absolute(owner)?;
    let rdata = match data {
        Data::A(ip) => RData::A(A(*ip)),
        Data::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        Data::Mx(preference, exchange) => RData::MX(MX::new(*preference, absolute(exchange)?)),
        Data::Txt(strings) => RData::TXT(TXT::new(strings.clone())),
        Data::Cname(target) => RData::CNAME(CNAME(absolute(target)?)),
        Data::Ptr(target) => RData::PTR(PTR(absolute(target)?)),
    };
    Some(Record::from_rdata(owner, 300, rdata))
}

/// The lab server's reply to one DNS message in wire format: `None` to stay silent
/// (an undecodable packet, or a name the zone never answers).
pub fn respond(zone: &Zone, packet: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let id = request.metadata.id;
    let Some(query) = request.queries.first() else {
        return Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
            .to_vec()
            .ok();
    };
    let mut response = Message::response(id, request.metadata.op_code);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.add_query(query.clone());
    match zone.answer(&query.name.to_ascii(), qtype(query.query_type)) {
        Reply::Drop => return None,
        Reply::NxDomain => response.metadata.response_code = ResponseCode::NXDomain,
        Reply::ServFail => response.metadata.response_code = ResponseCode::ServFail,
        Reply::Refused => response.metadata.response_code = ResponseCode::Refused,
        Reply::NoData => {}
        Reply::Records(records) => {
            for (owner, data) in &records {
                if let Some(r) = record(owner, data) {
                    response.add_answer(r);
                }
            }
        }
    }
    response.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(zone: &Zone, name: &str, rtype: RecordType) -> Option<Message> {
        let mut q = Message::query();
        q.add_query(hickory_resolver::proto::op::Query::query(
            Name::from_ascii(name).unwrap(),
            rtype,
        ));
        let bytes = respond(zone, &q.to_vec().unwrap())?;
        let reply = Message::from_vec(&bytes).unwrap();
        assert_eq!(reply.metadata.id, q.metadata.id);
        Some(reply)
    }

    #[test]
    fn wire_answers_follow_the_zone() {
        let mut zone = Zone::new("lab.test");
        zone.add("lab.test", Data::Mx(0, String::new()))
            .add(
                "t.lab.test",
                Data::Txt(vec!["v=spf1 ip4:192.0.2.0/24 ".into(), "-all".into()]),
            )
            .servfail("bad.lab.test")
            .silent("quiet.lab.test");
        let mx = ask(&zone, "lab.test.", RecordType::MX).unwrap();
        assert_eq!(mx.answers.len(), 1);
        match &mx.answers[0].data {
            RData::MX(m) => assert!(m.exchange.is_root() && m.preference == 0),
            other => panic!("{other:?}"),
        }
        let txt = ask(&zone, "t.lab.test.", RecordType::TXT).unwrap();
        match &txt.answers[0].data {
            RData::TXT(t) => assert_eq!(t.txt_data.len(), 2, "two character-strings"),
            other => panic!("{other:?}"),
        }
        let nx = ask(&zone, "none.lab.test.", RecordType::A).unwrap();
        assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
        let sf = ask(&zone, "bad.lab.test.", RecordType::A).unwrap();
        assert_eq!(sf.metadata.response_code, ResponseCode::ServFail);
        assert!(ask(&zone, "quiet.lab.test.", RecordType::A).is_none());
        assert!(respond(&zone, b"\x00\x01garbage").is_none());
    }

    #[test]
    fn errors_map_to_distinct_kinds() {
        assert_eq!(from_code(ResponseCode::NXDomain), LookupError::NxDomain);
        assert_eq!(from_code(ResponseCode::NoError), LookupError::NoRecords);
        assert_eq!(from_code(ResponseCode::ServFail), LookupError::ServFail);
        assert_eq!(from_code(ResponseCode::Refused), LookupError::Refused);
        assert_eq!(map_error(&NetError::Timeout), LookupError::Timeout);
    }
}
