//! The lab's authoritative DNS server: the zone `lab.test` (a customer mail domain per persona, shared MX hosts, and one domain for each DNS corner case), served over UDP and TCP on loopback.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ipnetwork::Ipv4Network;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::designed::DesignedRoute;
use crate::server::LabHost;
use crate::sts_server::{STS_POLICY_ID, STS_POLICY_PERSONA, sts_policy_host};
use crate::tls::SpkiDigests;
use wire::respond;
use zone::{Data, QType, Zone};

pub mod wire;
pub mod zone;

/// DKIM public keys of the lab zone, made once with openssl (the private halves were
/// discarded: nothing in the lab signs), base64 with a trailing newline: RSA keys as
/// SubjectPublicKeyInfo (RFC 6376 §3.6.1), the Ed25519 key as its 32 bytes (RFC 8463).
pub mod dkim_keys {
    pub const RSA_512: &str = include_str!("../../data/dkim/rsa-512.spki.b64");
    pub const RSA_1024: &str = include_str!("../../data/dkim/rsa-1024.spki.b64");
    pub const RSA_2048: &str = include_str!("../../data/dkim/rsa-2048.spki.b64");
    /// The key every customer domain publishes under `default` (a key of its own, so that
    /// no customer shares the dkim-weak case's keys).
    pub const RSA_2048_CUSTOMERS: &str =
        include_str!("../../data/dkim/rsa-2048-customers.spki.b64");
    pub const ED25519: &str = include_str!("../../data/dkim/ed25519.raw.b64");
}

/// The lab's zone origin. `.test` is reserved (RFC 2606): it can never leak to real DNS.
pub const ZONE_ORIGIN: &str = "lab.test";

/// The lab's DNS blocklist, answering with Spamhaus ZEN's codes (scan it with
/// `--blocklists spamhaus-zen=zen.bl.lab.test`); every other address is NXDOMAIN.
pub const BLOCKLIST_ZONE: &str = "zen.bl.lab.test";

/// What the lab's blocklist answers for a persona's address: the open relay is listed as
/// an exploited host (XBL, 127.0.0.4), the closed server gets Spamhaus's "query through a
/// public resolver" refusal (127.255.255.254), which is no listing.
pub fn blocklist_code(persona: crate::Persona) -> Option<Ipv4Addr> {
    match persona {
        crate::Persona::OpenRelay => Some(Ipv4Addr::new(127, 0, 0, 4)),
        crate::Persona::Closed => Some(Ipv4Addr::new(127, 255, 255, 254)),
        _ => None,
    }
}

/// The persona whose mail host publishes a TLSA record that matches nothing it presents
/// (`_25._tcp.HOST 3 1 1 00...`): its customer domain gets `dane-tlsa-mismatch`.
pub const TLSA_MISMATCH_PERSONA: crate::Persona = crate::Persona::TlsRequired;

/// The persona whose mail host publishes a DNSSEC-validated (AD) TLSA record matching its
/// key (`_25._tcp.HOST 3 1 1 <SHA-256 of its SPKI>`): its customer domain gets no DANE
/// finding. A self-signed certificate is what DANE-EE exists for (RFC 7672 §3.1.1).
pub const TLSA_MATCH_PERSONA: crate::Persona = crate::Persona::StarttlsSelfSigned;

/// A DNS message over TCP is at most 65,535 bytes after its length prefix.
const MAX_TCP_MESSAGE: usize = 65_535;

/// What a lab makes at start that its zone publishes: the digests of its personas' keys
/// (for TLSA records) and the address of its MTA-STS policy host.
#[derive(Debug, Clone, Default)]
pub struct MadeAtStart {
    pub spki_sha256: SpkiDigests,
    pub sts_policy: Option<IpAddr>,
}

/// The domain of a persona's customer: `customer-open-relay.lab.test`.
pub fn customer_domain(persona_name: &str) -> String {
    format!("customer-{persona_name}.{ZONE_ORIGIN}")
}

/// Domains of the lab zone for each DNS case: the route relayscan must find, and why.
pub const CASE_DOMAINS: &[(&str, DesignedRoute, &str)] = &[
    (
        "shared-1.lab.test",
        DesignedRoute::Mx,
        "two MX preferences on hosts shared with shared-2 and shared-3",
    ),
    (
        "shared-2.lab.test",
        DesignedRoute::Mx,
        "the same MX hosts as shared-1",
    ),
    (
        "shared-3.lab.test",
        DesignedRoute::Mx,
        "the same MX hosts, SPF split over several TXT strings",
    ),
    (
        "implicit.lab.test",
        DesignedRoute::ImplicitMx,
        "no MX: its own A record receives mail (implicit MX)",
    ),
    (
        "nullmx.lab.test",
        DesignedRoute::NullMx,
        "MX 0 . (null MX): accepts no mail",
    ),
    ("gone.lab.test", DesignedRoute::Nxdomain, "NXDOMAIN"),
    (
        "nodata.lab.test",
        DesignedRoute::NoRecords,
        "exists without MX or A records",
    ),
    ("broken.lab.test", DesignedRoute::Servfail, "SERVFAIL"),
    (
        "silent.lab.test",
        DesignedRoute::Timeout,
        "never answered (a timeout)",
    ),
    (
        "dangling.lab.test",
        DesignedRoute::NoMailHosts,
        "MX to a host without an address: no fallback",
    ),
    (
        "alias.lab.test",
        DesignedRoute::Mx,
        "MX pointing at a CNAME",
    ),
    (
        "literal.lab.test",
        DesignedRoute::NoMailHosts,
        "MX naming an IP address (looked up as a name, it resolves nowhere)",
    ),
    (
        "dkim-weak.lab.test",
        DesignedRoute::Mx,
        "DKIM keys of 512 bits (selector default) and 1024 bits (selector1)",
    ),
    (
        "spf-deep.lab.test",
        DesignedRoute::Mx,
        "SPF of 3 lookups whose includes bring the tree to 12",
    ),
    (
        "spf-loop.lab.test",
        DesignedRoute::Mx,
        "SPF including a record that includes it back",
    ),
    (
        "dmarc-bad.lab.test",
        DesignedRoute::Mx,
        "DMARC with adkim=x, an unknown tag, and reports to another domain that never agreed",
    ),
];

/// Another organisation's domain served by the lab's DNS: the DMARC report receiver of
/// `dmarc-bad.lab.test`.
pub const REPORTS_ORIGIN: &str = "reports.test";

/// Findings the scanner must raise for a case domain, beside its route: (domain,
/// domain finding id). `relayscan demo` checks each.
pub const CASE_FINDINGS: &[(&str, &str)] = &[
    ("dkim-weak.lab.test", "dkim-weak-key"),
    ("dkim-weak.lab.test", "dkim-short-key"),
    ("spf-deep.lab.test", "spf-too-many-lookups"),
    ("spf-loop.lab.test", "spf-include-loop"),
    ("dmarc-bad.lab.test", "dmarc-invalid"),
    ("dmarc-bad.lab.test", "dmarc-unknown-tag"),
    ("dmarc-bad.lab.test", "dmarc-report-unauthorized"),
];

/// The SPF, DKIM and DMARC cases, all received by `host` (RFC 7208, 6376 and 7489).
fn policy_cases(zone: &mut Zone, host: &str) {
    for domain in [
        "dkim-weak.lab.test",
        "spf-deep.lab.test",
        "spf-loop.lab.test",
        "dmarc-bad.lab.test",
    ] {
        zone.add(domain, Data::Mx(10, host.to_string()));
    }
    let key = |selector: &str, record: String| {
        (format!("{selector}._domainkey.dkim-weak.lab.test"), record)
    };
    let keys = [
        key(
            "default",
            format!("v=DKIM1; k=rsa; p={}", dkim_keys::RSA_512.trim()),
        ),
        key(
            "selector1",
            format!("v=DKIM1; k=rsa; p={}", dkim_keys::RSA_1024.trim()),
        ),
        key(
            "google",
            format!("v=DKIM1; k=rsa; p={}", dkim_keys::RSA_2048.trim()),
        ),
        key(
            "k1",
            format!("v=DKIM1; k=ed25519; p={}", dkim_keys::ED25519.trim()),
        ),
    ];
    for (name, record) in keys {
        zone.add(&name, Data::long_txt(&record));
    }
    spf_and_dmarc(
        zone,
        "dkim-weak.lab.test",
        "v=spf1 mx -all",
        "v=DMARC1; p=reject",
    );
    // 3 + 4 + 3 + 2 = 12 DNS-querying terms over the tree; no record alone has over 4.
    let deep = [
        (
            "spf-deep.lab.test",
            "v=spf1 mx include:_a.spf-deep.lab.test include:_b.spf-deep.lab.test -all",
        ),
        (
            "_a.spf-deep.lab.test",
            "v=spf1 a mx exists:x.spf-deep.lab.test include:_c.spf-deep.lab.test -all",
        ),
        ("_b.spf-deep.lab.test", "v=spf1 a mx ptr -all"),
        ("_c.spf-deep.lab.test", "v=spf1 a mx -all"),
        (
            "spf-loop.lab.test",
            "v=spf1 include:_spf.spf-loop.lab.test -all",
        ),
        (
            "_spf.spf-loop.lab.test",
            "v=spf1 mx include:spf-loop.lab.test -all",
        ),
    ];
    for (name, spf) in deep {
        zone.add(name, Data::Txt(vec![spf.into()]));
    }
    for d in ["spf-deep.lab.test", "spf-loop.lab.test"] {
        zone.add(
            &format!("_dmarc.{d}"),
            Data::Txt(vec!["v=DMARC1; p=reject".into()]),
        );
    }
    // Aggregate reports to a.reports.test, which never agreed; forensic ones to
    // b.reports.test, which did (RFC 7489 §7.1).
    spf_and_dmarc(
        zone,
        "dmarc-bad.lab.test",
        "v=spf1 mx -all",
        "v=DMARC1; p=quarantine; adkim=x; pcx=50; rua=mailto:agg@a.reports.test; ruf=mailto:afrf@b.reports.test",
    );
    zone.also_serve(REPORTS_ORIGIN).add(
        &format!("dmarc-bad.lab.test._report._dmarc.b.{REPORTS_ORIGIN}"),
        Data::Txt(vec!["v=DMARC1".into()]),
    );
}

fn spf_and_dmarc(zone: &mut Zone, domain: &str, spf: &str, dmarc: &str) {
    zone.add(domain, Data::Txt(vec![spf.into()]));
    zone.add(&format!("_dmarc.{domain}"), Data::Txt(vec![dmarc.into()]));
}

/// The lab zone: each persona host under its own name (A and PTR, so that its greeting
/// name is forward-confirmed), a customer domain per persona, and the case domains.
/// `made` holds what the lab made at start ([`crate::Lab::made_at_start`]): the matching
/// TLSA record of [`TLSA_MATCH_PERSONA`] and the MTA-STS records are published only when
/// the lab made their key and policy host.
pub fn lab_zone(hosts: &[LabHost], made: &MadeAtStart) -> Zone {
    let spki_sha256 = &made.spki_sha256;
    let mut zone = Zone::new(ZONE_ORIGIN);
    for host in hosts {
        if let (Some(code), std::net::IpAddr::V4(ip)) =
            (blocklist_code(host.persona), host.addr.ip())
        {
            let [a, b, c, d] = ip.octets();
            zone.add(&format!("{d}.{c}.{b}.{a}.{BLOCKLIST_ZONE}"), Data::A(code));
        }
        zone.add_host(host.persona.hostname(), host.addr.ip());
        if host.persona == TLSA_MISMATCH_PERSONA {
            // A TLSA of a key no lab host holds (32 zero bytes for a SHA-256): DANE
            // senders would defer this customer's mail, a high finding.
            zone.add(
                &format!("_25._tcp.{}", host.persona.hostname()),
                Data::Tlsa(3, 1, 1, vec![0; 32]),
            );
        }
        if host.persona == TLSA_MATCH_PERSONA
            && let Some(digest) = spki_sha256.get(&host.persona)
        {
            let name = format!("_25._tcp.{}", host.persona.hostname());
            zone.add(&name, Data::Tlsa(3, 1, 1, digest.clone()))
                .authenticated(&name);
        }
        let domain = customer_domain(host.persona.name());
        zone.add(&domain, Data::Mx(10, host.persona.hostname().to_string()));
        // A sound DKIM key (RSA 2048) under the first guessed selector: no customer is a
        // DKIM case, so none gets the info dkim-not-found (the DKIM cases are dkim-weak's).
        zone.add(
            &format!("default._domainkey.{domain}"),
            Data::long_txt(&format!(
                "v=DKIM1; k=rsa; p={}",
                dkim_keys::RSA_2048_CUSTOMERS.trim()
            )),
        );
        // The open relay's customer also has the weakest policy records.
        if host.persona.name() == "open-relay" {
            spf_and_dmarc(&mut zone, &domain, "v=spf1 +all", "v=DMARC1; p=none");
        } else {
            spf_and_dmarc(
                &mut zone,
                &domain,
                "v=spf1 mx -all",
                "v=DMARC1; p=reject; rua=mailto:dmarc@lab.test",
            );
            // `_mta-sts` TXT only where the lab serves the policy: a TXT record without a
            // policy behind it is a medium finding (mta-sts-policy-missing).
            if host.persona == STS_POLICY_PERSONA
                && let Some(ip) = made.sts_policy
            {
                // An A record only: a second PTR would spoil the host's own.
                match ip {
                    IpAddr::V4(v4) => zone.add(&sts_policy_host(), Data::A(v4)),
                    IpAddr::V6(v6) => zone.add(&sts_policy_host(), Data::Aaaa(v6)),
                };
                zone.add(
                    &format!("_mta-sts.{domain}"),
                    Data::Txt(vec![format!("v=STSv1; id={STS_POLICY_ID}")]),
                );
            }
            zone.add(
                &format!("_smtp._tls.{domain}"),
                Data::Txt(vec!["v=TLSRPTv1; rua=mailto:tls@lab.test".into()]),
            );
        }
    }
    let first = hosts.first().map(|h| h.persona.hostname());
    let second = hosts.get(1).or(hosts.first()).map(|h| h.persona.hostname());
    if let (Some(first), Some(second)) = (first, second) {
        for d in ["shared-1", "shared-2", "shared-3"] {
            let domain = format!("{d}.{ZONE_ORIGIN}");
            zone.add(&domain, Data::Mx(10, first.to_string()))
                .add(&domain, Data::Mx(20, second.to_string()));
        }
        spf_and_dmarc(
            &mut zone,
            "shared-1.lab.test",
            "v=spf1 mx ?all",
            "v=DMARC1; p=quarantine; pct=50",
        );
        // A long SPF record published as several character-strings (RFC 7208 §3.3).
        zone.add(
            "shared-3.lab.test",
            Data::Txt(vec![
                "v=spf1 ip4:127.0.0.0/8 ".into(),
                "ip6:::1 mx ".into(),
                "-all".into(),
            ]),
        );
        zone.add("alias.lab.test", Data::Mx(10, "mail-alias.lab.test".into()))
            .add("mail-alias.lab.test", Data::Cname(first.to_string()));
        policy_cases(&mut zone, first);
    }
    if let Some(host) = hosts.first() {
        match host.addr.ip() {
            IpAddr::V4(v4) => zone.add("implicit.lab.test", Data::A(v4)),
            IpAddr::V6(v6) => zone.add("implicit.lab.test", Data::Aaaa(v6)),
        };
        zone.add("literal.lab.test", Data::Mx(10, host.addr.ip().to_string()));
    }
    zone.add("nullmx.lab.test", Data::Mx(0, String::new()))
        .add("nullmx.lab.test", Data::Txt(vec!["v=spf1 -all".into()]))
        .add("nodata.lab.test", Data::Txt(vec!["nothing here".into()]))
        .add("dangling.lab.test", Data::Mx(10, "nowhere.lab.test".into()))
        .servfail("broken.lab.test")
        .silent("silent.lab.test");
    zone
}

/// Every mail domain of the lab zone, customers first: what `demo` and the tests scan.
pub fn lab_domains(hosts: &[LabHost]) -> Vec<String> {
    hosts
        .iter()
        .map(|h| customer_domain(h.persona.name()))
        .chain(CASE_DOMAINS.iter().map(|(d, _, _)| d.to_string()))
        .collect()
}

/// Where the lab's DNS server listens: the last usable address of the lab network
/// (hosts are numbered from the first, so the two meet only in a full network, and
/// then on different ports).
pub fn dns_address(bind: Ipv4Network) -> Ipv4Addr {
    let last = u32::from(bind.broadcast());
    Ipv4Addr::from(last.saturating_sub(1).max(u32::from(bind.network())))
}

/// The questions a lab DNS server was asked, counted by name and type, so that a test can
/// say what a scan's lookups cost. Distinct questions past [`QueryLog::NAMES_KEPT`] are
/// counted in the total only: a long-running lab must not grow without bound.
#[derive(Debug, Default)]
pub struct QueryLog {
    asked: Mutex<HashMap<(String, QType), u64>>,
    total: AtomicU64,
}

impl QueryLog {
    /// 100,000 distinct questions: a few MiB, more than any test or bench asks.
    pub const NAMES_KEPT: usize = 100_000;

    fn note(&self, packet: &[u8]) {
        let Some(question) = wire::question(packet) else {
            return;
        };
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = asked.get_mut(&question) {
            *n += 1;
        } else if asked.len() < Self::NAMES_KEPT {
            asked.insert(question, 1);
        }
    }

    /// Every question asked, kept by name or not.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Questions of type `qtype` about `suffix` or names under it.
    pub fn under(&self, suffix: &str, qtype: QType) -> u64 {
        let suffix = zone::normalize_name(suffix);
        let asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        asked
            .iter()
            .filter(|((name, t), _)| {
                *t == qtype && (*name == suffix || name.ends_with(&format!(".{suffix}")))
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// A running lab DNS server; stops when dropped.
#[derive(Debug)]
pub struct LabDns {
    addr: SocketAddr,
    cancel: CancellationToken,
    log: Arc<QueryLog>,
}

impl LabDns {
    /// Serves `zone` on `addr` (UDP and TCP, the same port; port 0 picks a free one).
    /// Only loopback addresses are accepted.
    pub async fn start(addr: SocketAddr, zone: Zone) -> io::Result<LabDns> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("lab DNS address {addr} is not loopback"),
            ));
        }
        let udp = UdpSocket::bind(addr).await?;
        let addr = udp.local_addr()?;
        let tcp = TcpListener::bind(addr).await?;
        let zone = Arc::new(zone);
        let cancel = CancellationToken::new();
        let log = Arc::new(QueryLog::default());
        tokio::spawn(serve_udp(udp, zone.clone(), log.clone(), cancel.clone()));
        tokio::spawn(serve_tcp(tcp, zone, log.clone(), cancel.clone()));
        Ok(LabDns { addr, cancel, log })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The questions asked so far.
    pub fn queries(&self) -> &QueryLog {
        &self.log
    }
}

impl Drop for LabDns {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn serve_udp(
    socket: UdpSocket,
    zone: Arc<Zone>,
    log: Arc<QueryLog>,
    cancel: CancellationToken,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        // A bad packet or a full send buffer concerns one query, never the server.
        let Ok((n, peer)) = received else { continue };
        let Some(query) = buf.get(..n) else { continue };
        log.note(query);
        if let Some(reply) = respond(&zone, query) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

async fn serve_tcp(
    listener: TcpListener,
    zone: Arc<Zone>,
    log: Arc<QueryLog>,
    cancel: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let (zone, log) = (zone.clone(), log.clone());
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut len = [0u8; 2];
            loop {
                let read = tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = stream.read_exact(&mut len) => r,
                };
                if read.is_err() {
                    return;
                }
                let size = usize::from(u16::from_be_bytes(len)).min(MAX_TCP_MESSAGE);
                let mut query = vec![0u8; size];
                if stream.read_exact(&mut query).await.is_err() {
                    return;
                }
                log.note(&query);
                // Silence over TCP: keep the connection open and answer nothing.
                let Some(reply) = respond(&zone, &query) else {
                    continue;
                };
                let Ok(n) = u16::try_from(reply.len()) else {
                    return;
                };
                if stream.write_all(&n.to_be_bytes()).await.is_err()
                    || stream.write_all(&reply).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Persona;
    use zone::{QType, ZoneAnswer};

    fn hosts() -> Vec<LabHost> {
        [Persona::OpenRelay, Persona::Closed]
            .iter()
            .enumerate()
            .map(|(i, &persona)| LabHost {
                addr: SocketAddr::new(IpAddr::from([127, 0, 2, 1 + i as u8]), 2525),
                persona,
            })
            .collect()
    }

    #[test]
    fn the_zone_covers_every_case() {
        let zone = lab_zone(&hosts(), &MadeAtStart::default());
        let mx = |d: &str| zone.answer(d, QType::Mx);
        assert!(
            matches!(mx("customer-open-relay.lab.test"), ZoneAnswer::Records(r) if r.len() == 1)
        );
        assert!(matches!(mx("shared-2.lab.test"), ZoneAnswer::Records(r) if r.len() == 2));
        assert_eq!(mx("implicit.lab.test"), ZoneAnswer::NoData);
        assert_eq!(mx("gone.lab.test"), ZoneAnswer::NxDomain);
        assert_eq!(mx("nodata.lab.test"), ZoneAnswer::NoData);
        assert_eq!(mx("broken.lab.test"), ZoneAnswer::ServFail);
        assert_eq!(mx("silent.lab.test"), ZoneAnswer::Drop);
        assert!(
            matches!(zone.answer("shared-3.lab.test", QType::Txt), ZoneAnswer::Records(r) if matches!(&r[0].1, Data::Txt(s) if s.len() == 3))
        );
        assert!(matches!(
            zone.answer("1.2.0.127.in-addr.arpa", QType::Ptr),
            ZoneAnswer::Records(_)
        ));
        // The policy cases: keys under guessed selectors, the SPF tree, the receiver of
        // reports in another organisation's domain.
        let txt = |name: &str| match zone.answer(name, QType::Txt) {
            ZoneAnswer::Records(r) => match &r[0].1 {
                Data::Txt(s) => s.concat(),
                other => panic!("{name}: {other:?}"),
            },
            other => panic!("{name}: {other:?}"),
        };
        assert!(txt("default._domainkey.dkim-weak.lab.test").starts_with("v=DKIM1; k=rsa; p=MF"));
        // Every customer domain publishes the customers' 2048-bit key, in strings of at most
        // 255 bytes.
        for h in hosts() {
            let name = format!("default._domainkey.{}", customer_domain(h.persona.name()));
            let ZoneAnswer::Records(r) = zone.answer(&name, QType::Txt) else {
                panic!("{name}: no TXT")
            };
            let Data::Txt(strings) = &r[0].1 else {
                panic!("{name}: {:?}", r[0].1)
            };
            assert!(strings.iter().all(|s| s.len() <= 255), "{name}");
            assert_eq!(
                strings.concat(),
                format!("v=DKIM1; k=rsa; p={}", dkim_keys::RSA_2048_CUSTOMERS.trim())
            );
        }
        let long = zone.answer("google._domainkey.dkim-weak.lab.test", QType::Txt);
        assert!(
            matches!(&long, ZoneAnswer::Records(r) if matches!(&r[0].1, Data::Txt(s) if s.len() == 2 && s[0].len() == 255)),
            "{long:?}"
        );
        assert!(txt("_c.spf-deep.lab.test").starts_with("v=spf1"));
        assert_eq!(
            txt("dmarc-bad.lab.test._report._dmarc.b.reports.test"),
            "v=DMARC1"
        );
        assert_eq!(
            zone.answer(
                "dmarc-bad.lab.test._report._dmarc.a.reports.test",
                QType::Txt
            ),
            ZoneAnswer::NxDomain
        );
        assert_eq!(
            zone.answer("elsewhere.test", QType::Txt),
            ZoneAnswer::Refused
        );
        for (domain, _) in CASE_FINDINGS {
            assert!(CASE_DOMAINS.iter().any(|(d, _, _)| d == domain), "{domain}");
        }
        let domains = lab_domains(&hosts());
        assert_eq!(domains.len(), 2 + CASE_DOMAINS.len());
        for d in &domains {
            assert!(d.ends_with(".lab.test"), "{d}");
        }
    }

    #[test]
    fn the_matching_tlsa_carries_the_key_digest_and_ad() {
        let host = LabHost {
            addr: SocketAddr::new(IpAddr::from([127, 0, 2, 9]), 2525),
            persona: TLSA_MATCH_PERSONA,
        };
        let name = format!("_25._tcp.{}", TLSA_MATCH_PERSONA.hostname());
        let digest = vec![7u8; 32];
        let made = MadeAtStart {
            spki_sha256: SpkiDigests::from([(TLSA_MATCH_PERSONA, digest.clone())]),
            sts_policy: None,
        };
        let zone = lab_zone(std::slice::from_ref(&host), &made);
        assert_eq!(
            zone.answer(&name, QType::Tlsa),
            ZoneAnswer::Records(vec![(name.clone(), Data::Tlsa(3, 1, 1, digest))])
        );
        assert!(zone.is_authenticated(&name));
        // Without the persona's digest (no certificate made) no TLSA is published at all.
        let bare = lab_zone(&[host], &MadeAtStart::default());
        assert!(!matches!(
            bare.answer(&name, QType::Tlsa),
            ZoneAnswer::Records(_)
        ));
    }

    #[test]
    fn the_query_log_counts_questions_by_name_and_type() {
        use hickory_proto::op::{Message, Query};
        use hickory_proto::rr::{Name, RecordType};
        let packet = |name: &str, rtype| {
            let mut m = Message::query();
            m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
            m.to_vec().unwrap()
        };
        let log = QueryLog::default();
        for (name, rtype) in [
            ("4.3.2.1.ZEN.bl.lab.test.", RecordType::A),
            ("4.3.2.1.zen.bl.lab.test.", RecordType::A),
            ("4.3.2.1.zen.bl.lab.test.", RecordType::AAAA),
            ("open-relay.lab.test.", RecordType::A),
            ("xzen.bl.lab.test.", RecordType::A),
        ] {
            log.note(&packet(name, rtype));
        }
        log.note(b"not a DNS message");
        assert_eq!(log.total(), 5);
        assert_eq!(log.under("zen.bl.lab.test", QType::A), 2);
        assert_eq!(log.under("zen.bl.lab.test.", QType::Aaaa), 1);
        assert_eq!(log.under("lab.test", QType::A), 4);
        assert_eq!(log.under("bl.lab.test", QType::Mx), 0);
    }

    #[tokio::test]
    async fn refuses_addresses_off_loopback() {
        let err = LabDns::start("192.0.2.1:0".parse().unwrap(), Zone::new(ZONE_ORIGIN))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not loopback"));
    }
}
